import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "command", [["triage_classify"], ["ingest_email", "missing.eml"]]
)
def test_a_command_on_an_unmigrated_database_says_to_migrate(tmp_path, command):
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {"DATABASE_URL", "REDIS_URL", "SQLITE_PATH", "DJANGO_SETTINGS_MODULE"}
    }
    env["SUPPORTDESK_VAR_DIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "manage.py", *command],
        cwd=ROOT,
        env=env,
        input='{"text": "my card never came", "channel": "chat"}\n',
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "python manage.py migrate" in done.stderr
    assert "Traceback" not in done.stderr
