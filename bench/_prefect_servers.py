"""Processes for bench/prefect_visibility.py: a ``prefect server start`` on a free port of 127.0.0.1, fresh
PostgreSQL databases, and the probe child. Every child runs in its own process group and is stopped
SIGINT, then SIGTERM, then SIGKILL (as tests/flows/conftest.py and runtime/supervisor.py do)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from _prefect_turn_probe import ProbeSpec

BIN = Path(sys.executable).parent
PROBE = Path(__file__).resolve().parent / "_prefect_turn_probe.py"
LOG_PATTERNS = ("database is locked", "Traceback", "Error flushing", "Dropping event", "ERROR", "Service Unavailable")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clean_environ() -> dict[str, str]:
    """This process's environment without any Prefect or Glassdesk setting (each run sets its own)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "GLASSDESK_"))}


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait_s in ((signal.SIGINT, 15), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            continue


@dataclass
class Server:
    """``prefect server start`` with ``env`` (on top of a clean environment), logging to ``home/server.log``."""

    name: str
    home: Path
    env_extra: dict[str, str]
    no_services: bool = False
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    start_s: float | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def log_path(self) -> Path:
        return self.home / "server.log"

    def env(self) -> dict[str, str]:
        return {**clean_environ(), "PREFECT_HOME": str(self.home), "PREFECT_API_URL": self.api_url, **self.env_extra}

    def start(self, timeout_s: float = 180) -> None:
        argv = [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(self.port)]
        argv += ["--analytics-off", *(["--no-services"] if self.no_services else [])]
        t0 = time.perf_counter()
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                argv, env=self.env(), cwd=str(self.home), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"prefect server ({self.name}) exited with {self.proc.returncode} during start; "
                    f"the tail of {self.log_path}:\n{self.tail()}"
                )
            try:
                if httpx.get(self.api_url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"prefect server ({self.name}) did not answer {self.api_url}/health within {timeout_s} s; "
                    f"the tail of {self.log_path}:\n{self.tail()}"
                )
            time.sleep(0.3)
        self.start_s = round(time.perf_counter() - t0, 2)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None:
            _stop_group(self.proc)
            self.proc = None

    def log_report(self) -> dict[str, Any]:
        """How often each pattern occurs in the server log, with a few of the lines (timestamps included)."""
        lines = self.log_path.read_text(errors="replace").splitlines() if self.log_path.exists() else []
        counts = {p: sum(p in line for line in lines) for p in LOG_PATTERNS}
        samples = [line[:300] for line in lines if "ERROR" in line or "database is locked" in line][:5]
        return {"counts": {k: v for k, v in counts.items() if v}, "samples": samples}


class Postgres:
    """Fresh databases for the PostgreSQL candidates, created and dropped through the admin DSN's role
    (which needs CREATEDB)."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    async def _fetch(self, sql: str) -> Any:
        import asyncpg

        conn = await asyncpg.connect(self.dsn)
        try:
            return await conn.fetchval(sql)
        finally:
            await conn.close()

    def _run(self, sql: str) -> Any:
        return asyncio.run(self._fetch(sql))

    def url_for(self, name: str) -> str:
        return urlunsplit(("postgresql+asyncpg", urlsplit(self.dsn).netloc, f"/{name}", "", ""))

    def create(self, name: str) -> str:
        self._run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._run(f'CREATE DATABASE "{name}"')
        return self.url_for(name)

    def size(self, name: str) -> int:
        return int(self._run(f"SELECT pg_database_size('{name}')"))

    def drop(self, name: str) -> None:
        self._run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def version(self) -> str:
        return str(self._run("SHOW server_version"))


class ProbeKilled(RuntimeError):
    """The probe was ended by a signal nobody in this bench sent (another job on the shared machine)."""


def run_probe(spec: ProbeSpec, env: dict[str, str], work: Path, *, plain: bool, timeout_s: float) -> dict[str, Any]:
    """Run bench/_prefect_turn_probe.py with ``spec`` in ``work``; its JSON result."""
    spec_path, out_path, log_path = work / "spec.json", work / "probe.json", work / "probe.log"
    spec_path.write_text(json.dumps(asdict(spec)))
    out_path.unlink(missing_ok=True)
    argv = [sys.executable, str(PROBE), str(spec_path), str(out_path), *(["--plain"] if plain else [])]
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            argv, env=env, cwd=str(work), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            rc = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _stop_group(proc)
            raise RuntimeError(f"the probe ran over {timeout_s} s; see {log_path}") from None
        finally:
            if proc.poll() is None:  # interrupted (Ctrl-C, the bench's limit): leave nothing behind
                _stop_group(proc)
    tail = log_path.read_text(errors="replace")[-3000:]
    if rc < 0:
        raise ProbeKilled(f"the probe was killed by signal {-rc}; the tail of {log_path}:\n{tail}")
    if rc != 0 or not out_path.exists():
        raise RuntimeError(f"the probe exited with {rc}; the tail of {log_path}:\n{tail}")
    result: dict[str, Any] = json.loads(out_path.read_text())
    return result
