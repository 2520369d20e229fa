"""What `glassdesk run` reports about its child processes (restarts, crash loops), for /healthz and /ops."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

__all__ = ["STATUS_FILE", "read_supervisor_status", "crash_looping"]

STATUS_FILE = "run/supervisor.json"


def read_supervisor_status(var_dir: Path, *, max_age_s: float = 15.0) -> dict[str, Any] | None:
    """The supervisor's last report; None when no supervisor runs here (separate units, tests)."""
    path = var_dir / STATUS_FILE
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if time.time() - float(data.get("written_at", 0)) <= max_age_s else None


def crash_looping(status: dict[str, Any] | None) -> list[str]:
    """Names of the children in a crash loop."""
    if not status:
        return []
    return sorted(name for name, child in status.get("children", {}).items() if child.get("crash_loop"))
