"""Shared helpers for the benchmarks: an isolated Glassdesk stack on 127.0.0.1 and the result header.

``Stack`` starts what ``glassdesk run`` starts (runtime/supervisor.py), each part optional: a private
embedded Redis (owned by the bench process), the demo data (``glassdesk demo load``), ``prefect server
start`` with the supervisor's Prefect environment, ``glassdesk web``, ``glassdesk worker`` and
``glassdesk smtp``, all under a temporary GLASSDESK_VAR_DIR and on free ports. Children run in their own
process groups and are stopped SIGINT -> SIGTERM -> SIGKILL (as the supervisor does), also on errors,
Ctrl-C and the bench's own hard time limit (``hard_limit``).
"""

from __future__ import annotations

import atexit
import os
import platform
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
BIN = Path(sys.executable).parent

_LIVE: list[Stack] = []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))], 2)


def summary_ms(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50": pct(values, 0.5),
        "p90": pct(values, 0.9),
        "p99": pct(values, 0.99),
        "max": round(max(values), 2),
        "mean": round(sum(values) / len(values), 2),
    }


def versions(*names: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for n in names:
        try:
            out[n] = version(n)
        except PackageNotFoundError:
            out[n] = None
    return out


def machine(load_before: tuple[float, float, float]) -> dict[str, Any]:
    after = os.getloadavg()
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in after],
        "note": "shared 2-core machine, other jobs running; loadavg is (1, 5, 15) minutes",
    }


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def hard_limit(seconds: int) -> None:
    """Raise in the main thread after ``seconds`` so ``finally`` blocks stop every child."""

    def _alarm(_sig: int, _frame: object) -> None:
        raise TimeoutError(f"benchmark hard limit of {seconds} s reached")

    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(seconds)

    def _term(_sig: int, _frame: object) -> None:
        raise KeyboardInterrupt("terminated")

    signal.signal(signal.SIGTERM, _term)


class Stack:
    def __init__(
        self,
        *,
        prefect: bool = True,
        web: bool = True,
        worker: bool = True,
        smtp: bool = False,
        web_workers: int = 1,
        tmp: Path | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.tmp = tmp or Path(tempfile.mkdtemp(prefix="gd-bench-"))
        self.var = self.tmp / "var"
        self.want = {"prefect": prefect, "web": web, "worker": worker, "smtp": smtp}
        self.web_workers = web_workers
        self.extra_env = extra_env or {}
        self.web_port = free_port()
        self.prefect_port = free_port()
        self.smtp_port = free_port()
        self.relay_port = free_port()  # nothing listens: the chat bench never sends mail
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.redis_url = ""
        self._redis: Any = None
        self.timings: dict[str, float] = {}

    # -- URLs --------------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.web_port}/chat/ws"

    @property
    def prefect_api(self) -> str:
        return f"http://127.0.0.1:{self.prefect_port}/api"

    @property
    def db_path(self) -> Path:
        return self.var / "glassdesk.db"

    def env(self) -> dict[str, str]:
        from runtime.supervisor import prefect_env
        from services.settings import Settings

        settings = Settings(var_dir=self.var, prefect_api_url=self.prefect_api, prefect_port=self.prefect_port)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GLASSDESK_", "PREFECT_"))}
        env.update(prefect_env(settings))
        env.update(
            {
                "GLASSDESK_VAR_DIR": str(self.var),
                "GLASSDESK_REDIS_URL": self.redis_url,
                "GLASSDESK_PUBLIC_URL": self.base_url,
                "GLASSDESK_WEB_HOST": "127.0.0.1",
                "GLASSDESK_WEB_PORT": str(self.web_port),
                "GLASSDESK_WEB_WORKERS": str(self.web_workers),
                "GLASSDESK_PREFECT_API_URL": self.prefect_api,
                "GLASSDESK_PREFECT_PORT": str(self.prefect_port),
                "GLASSDESK_SMTP_HOST": "127.0.0.1",
                "GLASSDESK_SMTP_PORT": str(self.smtp_port),
                "GLASSDESK_RELAY_PORT": str(self.relay_port),
                "GLASSDESK_LOG_LEVEL": "WARNING",
                "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": str(ROOT),
            }
        )
        env.update(self.extra_env)
        return env

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> Stack:
        from conversation.rediskit import EmbeddedRedis

        _LIVE.append(self)
        self.var.mkdir(parents=True, exist_ok=True)
        (self.tmp / "log").mkdir(exist_ok=True)
        t0 = time.perf_counter()
        self._redis = EmbeddedRedis(self.tmp / "redis")
        self.redis_url = self._redis.start()
        env = self.env()
        t1 = time.perf_counter()
        subprocess.run(
            [str(BIN / "glassdesk"), "demo", "load"],
            env=env,
            cwd=str(self.tmp),
            check=True,
            timeout=180,
            stdout=subprocess.DEVNULL,
        )
        self.timings["demo_load_s"] = round(time.perf_counter() - t1, 2)
        t1 = time.perf_counter()
        if self.want["prefect"]:
            self._spawn(
                "prefect",
                [
                    str(BIN / "prefect"),
                    "server",
                    "start",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.prefect_port),
                    "--analytics-off",
                ],
                env,
            )
            self._wait_http("prefect", self.prefect_api + "/health", 150)
            self.timings["prefect_start_s"] = round(time.perf_counter() - t1, 2)
        if self.want["web"]:
            self._spawn("web", [str(BIN / "glassdesk"), "web"], env)
        if self.want["smtp"]:
            self._spawn("smtp", [str(BIN / "glassdesk"), "smtp"], env)
        if self.want["worker"]:
            self._spawn("worker", [str(BIN / "glassdesk"), "worker"], env)
        if self.want["web"]:
            self._wait_http("web", self.base_url + "/chat/widget.js", 90)
        if self.want["smtp"]:
            self._wait_tcp("smtp", self.smtp_port, 60)
        if self.want["worker"]:
            self._wait_worker(90)
        self.timings["stack_start_s"] = round(time.perf_counter() - t0, 2)
        return self

    def restart_worker(self, extra_env: dict[str, str]) -> float:
        """Stop the worker (SIGINT, as Ctrl-C), start a new one with ``extra_env`` on top of the stack's
        env, and wait for its heartbeat. Returns the seconds that took."""
        import redis

        t0 = time.perf_counter()
        proc = self.procs.get("worker")
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        client = redis.Redis.from_url(self.redis_url, socket_timeout=2)
        for key in client.keys("gd:worker:beat:*"):
            client.delete(key)
        client.close()
        self._spawn("worker", [str(BIN / "glassdesk"), "worker"], {**self.env(), **extra_env})
        self._wait_worker(90)
        return round(time.perf_counter() - t0, 2)

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        log = open(self.tmp / "log" / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the child
        self.procs[name] = subprocess.Popen(
            argv, env=env, cwd=str(self.tmp), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def _check_alive(self, name: str) -> None:
        proc = self.procs[name]
        if proc.poll() is not None:
            tail = (self.tmp / "log" / f"{name}.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{name} exited with {proc.returncode} during start:\n{tail}")

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
        raise RuntimeError(f"{name} did not answer {url} within {seconds} s")

    def _wait_tcp(self, name: str, port: int, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._check_alive(name)
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{name} did not listen on {port} within {seconds} s")

    def _wait_worker(self, seconds: float) -> None:
        import redis

        client = redis.Redis.from_url(self.redis_url, socket_timeout=2)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._check_alive("worker")
            if client.keys("gd:worker:beat:*"):
                client.close()
                return
            time.sleep(0.3)
        raise RuntimeError(f"the worker did not report a heartbeat within {seconds} s")

    def log_counts(
        self,
        patterns: tuple[str, ...] = (
            "Traceback",
            "Too many connections",
            "database is locked",
            "could not store",
            "failed",
        ),
    ) -> dict[str, dict[str, int]]:
        """How often each pattern occurs in each child's log (errors the client cannot see)."""
        out: dict[str, dict[str, int]] = {}
        for log in sorted((self.tmp / "log").glob("*.log")):
            text = log.read_text(errors="replace")
            counts = {p: text.count(p) for p in patterns if p in text}
            if counts:
                out[log.stem] = counts
        return out

    def stop(self) -> None:
        live = [(n, p) for n, p in reversed(list(self.procs.items())) if p.poll() is None]
        for sig, wait_s in ((signal.SIGINT, 10), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            live = [(n, p) for n, p in live if p.poll() is None]
            for _n, p in live:
                try:
                    os.killpg(p.pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + wait_s
            for _n, p in live:
                try:
                    p.wait(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass
        if self._redis is not None:
            try:
                self._redis.stop()
            except Exception:  # noqa: BLE001
                pass
            self._redis = None
        if self in _LIVE:
            _LIVE.remove(self)
        if not os.environ.get("GD_BENCH_KEEP"):
            import shutil

            shutil.rmtree(self.tmp, ignore_errors=True)


@atexit.register
def _stop_all() -> None:
    for stack in list(_LIVE):
        stack.stop()


@contextmanager
def running(stack: Stack) -> Iterator[Stack]:
    try:
        yield stack.start()
    finally:
        stack.stop()


def write_result(name: str, result: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(__import__("json").dumps(result, indent=2, default=str) + "\n")
    return path
