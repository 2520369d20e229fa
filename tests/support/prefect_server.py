"""A real `prefect server start` on 127.0.0.1 for tests, with the environment a test passes (usually
``runtime.supervisor.prefect_env``). Stops its whole process group afterwards."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def drain_prefect_services(timeout_s: float = 10.0) -> None:
    """Flush and stop this process's Prefect event and API-log workers. Each is a process-wide singleton
    pinned to the API URL that was current when it started; a test that talked to its own server must
    drain them before the server goes, or the next test's events and logs go to a dead server."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for service in (EventsWorker, APILogWorker):
        service.drain_all(timeout=timeout_s, at_exit=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def prefect_server(port: int, env: dict[str, str], *, start_timeout_s: float = 120.0) -> Iterator[str]:
    """Yields the API URL once ``/api/health`` answers (basic auth is not needed for health)."""
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "prefect"),
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--analytics-off",
        ],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + start_timeout_s
        while True:
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, "prefect server exited during start"
            assert time.monotonic() < deadline, f"prefect server did not answer within {start_timeout_s:.0f} s"
            time.sleep(0.2)
        drain_prefect_services()  # event and log workers started for another server must not be reused
        yield url
    finally:
        drain_prefect_services()
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
