import os
import subprocess
import sys

import pytest

from supportdesk.env import ConfigError, env_bool, env_int


def test_env_bool_rejects_anything_but_true_or_false(monkeypatch):
    monkeypatch.setenv("FLAG", "yes")
    with pytest.raises(ConfigError, match="FLAG must be 'true' or 'false'"):
        env_bool("FLAG", False)


def test_env_bool_reads_true_and_default(monkeypatch):
    monkeypatch.setenv("FLAG", "TRUE")
    assert env_bool("FLAG", False) is True
    monkeypatch.delenv("FLAG")
    assert env_bool("FLAG", False) is False


def test_env_int_rejects_words(monkeypatch):
    monkeypatch.setenv("N", "ten")
    with pytest.raises(ConfigError):
        env_int("N", 1)


def _import_settings(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    return subprocess.run(
        [sys.executable, "-c", "import supportdesk.settings"],
        env={**clean, **env},
        capture_output=True,
        text=True,
    )


def test_refuses_to_start_without_debug_and_with_default_key():
    result = _import_settings(DEBUG="false")
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


def test_starts_without_debug_when_a_key_is_set():
    assert _import_settings(DEBUG="false", SECRET_KEY="s3cret").returncode == 0
