"""Run every benchmark in bench/ one after another; each prints `name value unit`.

.venv/bin/python -m bench.run_all [name ...]    # e.g. api_bench list_bench
"""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NOT_BENCHMARKS = {
    "harness",
    "run_all",
    "emailgen",
    "agent_pool_setup",
    "ws_floor_app",
    "__init__",
}


def main() -> int:
    wanted = set(sys.argv[1:])
    failed = []
    for script in sorted(HERE.glob("*.py")):
        name = script.stem
        if name in NOT_BENCHMARKS or (wanted and name not in wanted):
            continue
        print(f"# {name}", flush=True)
        code = subprocess.call([sys.executable, "-m", f"bench.{name}"], cwd=ROOT)
        if code:
            failed.append(name)
    if failed:
        print(f"# failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
