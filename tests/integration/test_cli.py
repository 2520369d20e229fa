"""The console script as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

GLASSDESK = str(Path(sys.executable).parent / "glassdesk")


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [GLASSDESK, *args], capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}
    )


def test_help_lists_the_commands() -> None:
    out = _run("--help")
    assert out.returncode == 0
    for command in ("run", "web", "worker", "smtp", "config", "db", "demo"):
        assert command in out.stdout


def test_config_masks_secrets(tmp_path: Path) -> None:
    out = _run(
        "config",
        "--json",
        env={
            "GLASSDESK_TWILIO_AUTH_TOKEN": "super-secret-token",
            "GLASSDESK_REDIS_URL": "redis://user:hunter2@127.0.0.1:6379/0",
            "GLASSDESK_VAR_DIR": str(tmp_path),
        },
    )
    assert out.returncode == 0, out.stderr
    assert "super-secret-token" not in out.stdout and "hunter2" not in out.stdout
    cfg = json.loads(out.stdout)
    assert cfg["GLASSDESK_TWILIO_AUTH_TOKEN"] == "***"
    assert cfg["GLASSDESK_REDIS_URL"] == "redis://user:***@127.0.0.1:6379/0"


def test_bad_setting_is_a_clear_error(tmp_path: Path) -> None:
    out = _run("config", env={"GLASSDESK_BUSINESS_HOURS": "9 to 5", "GLASSDESK_VAR_DIR": str(tmp_path)})
    assert out.returncode == 2
    assert "HH:MM-HH:MM" in out.stderr


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    out = _run("db", "upgrade", env={"GLASSDESK_VAR_DIR": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "glassdesk.db").exists()
