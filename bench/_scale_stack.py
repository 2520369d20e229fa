"""The scale-out shape for bench/scale_out.py (and tests/integration/runtime/test_scale_out_pg.py): the
project's own commands, one process each, as ``glassdesk run`` starts them (runtime/supervisor.py) but
with the system of record and the Prefect server on PostgreSQL and several webs and workers:

- Redis: the project's embedded redis-server (``embedded_redis_command``, AOF on, noeviction) as a child;
- two fresh PostgreSQL databases, created through an admin DSN whose role has CREATEDB: one for
  Glassdesk (``GLASSDESK_DATABASE_URL=postgresql+asyncpg://…``), one for Prefect
  (``PREFECT_API_DATABASE_CONNECTION_URL``);
- ``glassdesk demo load`` (migrations, knowledge index, intent model, policy), ``prefect server start``,
  ``glassdesk sms-sink`` (the development Twilio API, outbound SMS land as JSON files);
- ``glassdesk web`` N times, each on its own port, all with the same ``GLASSDESK_PUBLIC_URL`` (as behind
  a load balancer: Twilio signs the public URL, whichever process answers);
- ``glassdesk worker`` started and stopped one at a time (``add_worker``), each logging to its own file.

Every child gets the supervisor's Prefect environment (``runtime.supervisor.prefect_env``, read when the
stack starts) plus the Glassdesk settings. Children run in their own process groups and are stopped
SIGINT -> SIGTERM -> SIGKILL, also on errors and Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
DEFAULT_ADMIN_DSN = "postgresql://glassdesk_bench:glassdesk_bench@127.0.0.1:5432/postgres"
ADMIN_DSN_ENV = "GD_SCALE_PG_ADMIN_DSN"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PostgresAdmin:
    """Creates and drops the two databases through ``dsn`` (a plain ``postgresql://`` DSN of a role with
    CREATEDB); the databases are owned by that role."""

    def __init__(self, dsn: str) -> None:
        if not dsn.startswith(("postgresql://", "postgres://")):
            raise ValueError(
                f"{ADMIN_DSN_ENV} / --pg-admin-dsn must be a postgresql:// DSN of a role with CREATEDB, got "
                f"{dsn.split('://')[0]}://…; e.g. {DEFAULT_ADMIN_DSN}"
            )
        self.dsn = dsn

    async def _run(self, sql: str) -> Any:
        import asyncpg

        try:
            conn = await asyncpg.connect(self.dsn, timeout=10)
        except (OSError, asyncpg.PostgresError) as exc:
            host = urlsplit(self.dsn).hostname
            raise RuntimeError(
                f"cannot connect to PostgreSQL at {host} with {ADMIN_DSN_ENV} ({type(exc).__name__}: {exc}); "
                "start it (pg_ctlcluster 15 main start) and create the role: "
                "CREATE ROLE glassdesk_bench LOGIN CREATEDB PASSWORD 'glassdesk_bench'"
            ) from exc
        try:
            return await conn.fetchval(sql)
        finally:
            await conn.close()

    def run(self, sql: str) -> Any:
        return asyncio.run(self._run(sql))

    def url_for(self, name: str, *, driver: str = "postgresql+asyncpg") -> str:
        return urlunsplit((driver, urlsplit(self.dsn).netloc, f"/{name}", "", ""))

    def create(self, name: str) -> str:
        self.run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.run(f'CREATE DATABASE "{name}"')
        return self.url_for(name)

    def drop(self, name: str) -> None:
        self.run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def version(self) -> str:
        return str(self.run("SHOW server_version"))


@dataclass
class Proc:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, n: int = 2500) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else ""


def _stop_all(procs: list[Proc]) -> None:
    live = [p for p in procs if p.alive()]
    for sig, wait_s in ((signal.SIGINT, 15), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        live = [p for p in live if p.alive()]
        for p in live:
            try:
                os.killpg(p.proc.pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait_s
        for p in live:
            try:
                p.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass


class ScaleStack:
    def __init__(self, *, admin_dsn: str, webs: int = 2, keep: bool = False, tag: str | None = None) -> None:
        self.pg = PostgresAdmin(admin_dsn)
        self.tag = tag or secrets.token_hex(3)
        self.tmp = Path(tempfile.mkdtemp(prefix="gd-scale-"))
        self.var = self.tmp / "var"
        self.logs = self.tmp / "log"
        self.keep = keep
        self.web_ports = [free_port() for _ in range(webs)]
        self.prefect_port = free_port()
        self.sms_sink_port = free_port()
        self.smtp_port = free_port()
        self.relay_port = free_port()  # nothing listens: the traffic is SMS and chat
        self.sor_db = f"gd_scale_sor_{self.tag}"
        self.prefect_db = f"gd_scale_prefect_{self.tag}"
        self.sor_url = ""
        self.prefect_db_url = ""
        self.redis_url = ""
        self.procs: dict[str, Proc] = {}
        self.workers: list[Proc] = []
        self.timings: dict[str, float] = {}
        self._env: dict[str, str] = {}

    # -- addresses ---------------------------------------------------------------------------------------
    @property
    def web_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{p}" for p in self.web_ports]

    @property
    def public_url(self) -> str:
        """What Twilio is configured with (the load balancer's address); here the first web's URL."""
        return self.web_urls[0]

    @property
    def prefect_api(self) -> str:
        return f"http://127.0.0.1:{self.prefect_port}/api"

    @property
    def sms_dir(self) -> Path:
        return self.var / "sms"

    def env(self, **extra: str) -> dict[str, str]:
        return {**self._env, **extra}

    def _base_env(self) -> dict[str, str]:
        from runtime.supervisor import prefect_env
        from services.settings import Settings

        settings = Settings(var_dir=self.var, prefect_api_url=self.prefect_api, prefect_port=self.prefect_port)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GLASSDESK_", "PREFECT_"))}
        env.update(prefect_env(settings))  # the supervisor's Prefect environment, as it is today
        env.update(
            {
                "PREFECT_API_DATABASE_CONNECTION_URL": self.prefect_db_url,
                "GLASSDESK_VAR_DIR": str(self.var),
                "GLASSDESK_DATABASE_URL": self.sor_url,
                "GLASSDESK_REDIS_URL": self.redis_url,
                "GLASSDESK_PUBLIC_URL": self.public_url,
                "GLASSDESK_WEB_HOST": "127.0.0.1",
                "GLASSDESK_PREFECT_API_URL": self.prefect_api,
                "GLASSDESK_PREFECT_PORT": str(self.prefect_port),
                "GLASSDESK_SMTP_HOST": "127.0.0.1",
                "GLASSDESK_SMTP_PORT": str(self.smtp_port),
                "GLASSDESK_RELAY_PORT": str(self.relay_port),
                "GLASSDESK_SMS_SINK_PORT": str(self.sms_sink_port),
                "GLASSDESK_TWILIO_API_BASE": f"http://127.0.0.1:{self.sms_sink_port}",
                "GLASSDESK_LOG_LEVEL": "WARNING",
                "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": str(ROOT),
            }
        )
        return env

    # -- lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> ScaleStack:
        from conversation.rediskit import embedded_redis_command

        self.var.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        self.sor_url = self.pg.create(self.sor_db)
        self.prefect_db_url = self.pg.create(self.prefect_db)
        argv, self.redis_url = embedded_redis_command(self.var / "redis")
        self._env = self._base_env()
        self._spawn("redis", argv, self._env)
        self._wait_redis()
        t1 = time.perf_counter()
        subprocess.run(
            [str(BIN / "glassdesk"), "demo", "load"],
            env=self._env,
            cwd=str(self.tmp),
            check=True,
            timeout=300,
            stdout=subprocess.DEVNULL,
        )
        self.timings["demo_load_s"] = round(time.perf_counter() - t1, 2)
        t1 = time.perf_counter()
        prefect = [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(self.prefect_port)]
        self._spawn("prefect", [*prefect, "--analytics-off"], self._env)
        self._spawn("sms-sink", [str(BIN / "glassdesk"), "sms-sink"], self._env)
        # one after the other: every process migrates at start-up, and on PostgreSQL two processes
        # applying the same pending migration at once race (see the report of issue 11, item 3)
        for i, (port, url) in enumerate(zip(self.web_ports, self.web_urls, strict=True)):
            self._spawn(f"web{i + 1}", [str(BIN / "glassdesk"), "web"], self.env(GLASSDESK_WEB_PORT=str(port)))
            self._wait_http(f"web{i + 1}", url + "/chat/widget.js", 120)
        self._wait_http("prefect", self.prefect_api + "/health", 240)
        self.timings["prefect_start_s"] = round(time.perf_counter() - t1, 2)
        self.timings["stack_start_s"] = round(time.perf_counter() - t0, 2)
        return self

    def add_worker(self, *, timeout_s: float = 120) -> Proc:
        """Start one more ``glassdesk worker`` and wait for its heartbeat (its Redis consumer is live)."""
        import redis

        name = f"worker{len(self.workers) + 1}"
        # INFO (the default level): Prefect's task-run lines name each turn's message id, per worker log
        proc = self._spawn(name, [str(BIN / "glassdesk"), "worker"], self.env(GLASSDESK_LOG_LEVEL="INFO"))
        self.workers.append(proc)
        client = redis.Redis.from_url(self.redis_url, socket_timeout=2)
        deadline = time.monotonic() + timeout_s
        try:
            while time.monotonic() < deadline:
                self._check_alive(name)
                if len(client.keys("gd:worker:beat:*")) >= len([w for w in self.workers if w.alive()]):
                    return proc
                time.sleep(0.3)
        finally:
            client.close()
        raise RuntimeError(f"{name} did not report a heartbeat within {timeout_s} s:\n{proc.tail()}")

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> Proc:
        path = self.logs / f"{name}.log"
        with open(path, "ab") as log:
            popen = subprocess.Popen(
                argv, env=env, cwd=str(self.tmp), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.procs[name] = Proc(name, popen, path)
        return self.procs[name]

    def _check_alive(self, name: str) -> None:
        p = self.procs[name]
        if not p.alive():
            raise RuntimeError(f"{name} exited with {p.proc.returncode} during start; its log:\n{p.tail()}")

    def check_running(self) -> list[str]:
        """Names of the children that have exited (none should, during a run)."""
        return [n for n, p in self.procs.items() if not p.alive()]

    def _wait_redis(self, timeout_s: float = 20) -> None:
        import redis

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self._check_alive("redis")
            try:
                if redis.Redis.from_url(self.redis_url, socket_timeout=1).ping():
                    return
            except redis.RedisError:
                time.sleep(0.1)
        raise RuntimeError(f"the embedded Redis did not answer within {timeout_s} s")

    def _wait_http(self, name: str, url: str, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._check_alive(name)
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{name} did not answer {url} within {seconds} s:\n{self.procs[name].tail()}")

    def log_counts(
        self, patterns: tuple[str, ...] = ("Traceback", "ERROR", "too many clients", "deadlock", "LockLost")
    ) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for p in self.procs.values():
            text = p.log.read_text(errors="replace") if p.log.exists() else ""
            counts = {pat: text.count(pat) for pat in patterns if pat in text}
            if counts:
                out[p.name] = counts
        return out

    def stop(self) -> None:
        """Workers first (they finish their batches), then the webs and the sink, Prefect, Redis last."""
        order = [
            [p for p in self.procs.values() if p.name.startswith("worker")],
            [p for p in self.procs.values() if p.name.startswith("web") or p.name == "sms-sink"],
            [p for p in self.procs.values() if p.name == "prefect"],
            [p for p in self.procs.values() if p.name == "redis"],
        ]
        for group in order:
            _stop_all(group)
        if not self.keep:
            for db in (self.sor_db, self.prefect_db):
                try:
                    self.pg.drop(db)
                except Exception:  # noqa: BLE001 - best effort; the names carry the run's tag
                    pass
            import shutil

            shutil.rmtree(self.tmp, ignore_errors=True)
