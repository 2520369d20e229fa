"""The whole product under ``glassdesk run`` (the real supervisor) in a temporary folder, and the faults
the fault suite injects into it.

:class:`SupervisedStack` starts ``glassdesk run`` with a private ``GLASSDESK_VAR_DIR`` and free ports on
127.0.0.1. No Twilio account is configured, so the supervisor starts the development SMS sink; the
SMTP relay is the supervisor's mail sink. The children are found by their command line among the
supervisor's own children (:meth:`SupervisedStack.pid_of`).

Two kinds of fault (:class:`FaultKind`):

- **crash**: ``kill -9`` of a child's process group; the supervisor restarts it after its backoff.
- **outage**: the child is stopped (SIGTERM, SIGKILL if it lingers) and kept down for a while. The
  supervisor restarts it at once, so the restarted process is frozen (SIGSTOP of its process group)
  before it listens on its port, and thawed (SIGCONT) when the outage ends. Clients see what they see
  when the service is down (connection refused); the supervisor sees a running child, so the outage
  adds one restart, not a crash loop. The port is checked all along: a process that got to listen
  before it was frozen is stopped again.

The product runs from a **snapshot** of its packages copied into the temporary folder (``PYTHONPATH``
points there; the editable install's finder comes after it), so an edit of the work tree during a run
cannot change the code of a child restarted mid-run. ``snapshot=False`` runs the work tree as it is.

Everything this module starts is stopped again on :meth:`SupervisedStack.stop` (also on errors and
at interpreter exit): frozen processes are thawed, the supervisor gets SIGINT (it stops its children
SIGINT -> SIGTERM -> SIGKILL), and any child process group still alive after that gets SIGKILL.
"""

from __future__ import annotations

import atexit
import contextlib
import enum
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

__all__ = ["SupervisedStack", "FaultKind", "FaultRecord", "ChildName", "free_port", "wait_until"]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
_LIVE: list[SupervisedStack] = []
# What `glassdesk run` imports or reads from the source tree (packages with their data files).
PRODUCT_PACKAGES = (
    "conversation",
    "channels",
    "policies",
    "knowledge",
    "understanding",
    "services",
    "flows",
    "runtime",
    "devtools",
    "web",
)


@enum.unique
class ChildName(enum.StrEnum):
    """The children of ``glassdesk run`` (runtime/supervisor.py), as the supervisor names them."""

    REDIS = "redis"
    PREFECT = "prefect"
    MAIL_SINK = "mail-sink"
    SMS_SINK = "sms-sink"
    WEB = "web"
    SMTP = "smtp"
    WORKER = "worker"
    OPS = "ops"
    CLAIMS_PORTAL = "claims-portal"


# How each child shows in its command line (interpreter and script paths reduced to their names).
_SIGNATURE: dict[ChildName, str] = {
    ChildName.REDIS: "redis-server",
    ChildName.PREFECT: "prefect server start",
    ChildName.MAIL_SINK: "glassdesk mail-sink",
    ChildName.SMS_SINK: "glassdesk sms-sink",
    ChildName.WEB: "glassdesk web",
    ChildName.SMTP: "glassdesk smtp",
    ChildName.WORKER: "glassdesk worker",
    ChildName.OPS: "glassdesk ops serve",
    ChildName.CLAIMS_PORTAL: "glassdesk claims-portal",
}


@enum.unique
class FaultKind(enum.StrEnum):
    CRASH = "crash"  # kill -9, the supervisor restarts it
    OUTAGE = "outage"  # stopped and kept down for a while


@dataclass
class FaultRecord:
    """What one injected fault did, for the report."""

    child: ChildName
    kind: FaultKind
    at_s: float  # seconds since the stack's traffic started (``SupervisedStack.t0``)
    old_pid: int | None
    new_pid: int | None = None
    planned_down_s: float = 0.0
    back_after_s: float | None = None  # from the fault until the service answered again
    frozen_pids: list[int] = field(default_factory=list)
    refrozen: int = 0  # restarted processes that listened before they were frozen (stopped again)
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "child": self.child.value,
            "kind": self.kind.value,
            "at_s": round(self.at_s, 1),
            "old_pid": self.old_pid,
            "new_pid": self.new_pid,
            "planned_down_s": self.planned_down_s,
            "back_after_s": None if self.back_after_s is None else round(self.back_after_s, 1),
            "frozen_pids": self.frozen_pids,
            "refrozen": self.refrozen,
            "note": self.note,
        }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(predicate: Callable[[], bool], *, timeout_s: float, interval_s: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval_s)


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _signature_of(cmdline: list[str]) -> str:
    return " ".join(os.path.basename(a) if i < 2 else a for i, a in enumerate(cmdline))


def _die_with_parent() -> None:
    """In the forked child, before exec: SIGTERM when the process that started it dies, however it dies
    (also SIGKILL, or a SIGTERM that skips atexit), so ``glassdesk run`` stops its children then too."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


class SupervisedStack:
    """``glassdesk run`` in a temporary folder. Use as a context manager, or call start()/stop()."""

    def __init__(
        self,
        *,
        tmp: Path | None = None,
        extra_env: dict[str, str] | None = None,
        keep: bool = False,
        snapshot: bool = True,
    ) -> None:
        self.tmp = tmp or Path(tempfile.mkdtemp(prefix="gd-faults-"))
        self.var = self.tmp / "var"
        self.keep = keep
        self.source = self.tmp / "src" if snapshot else ROOT
        self.extra_env = dict(extra_env or {})
        self.web_port = free_port()
        self.prefect_port = free_port()
        self.smtp_port = free_port()
        self.relay_port = free_port()
        self.sms_sink_port = free_port()
        self.supervisor: subprocess.Popen[bytes] | None = None
        self.t0 = time.monotonic()
        self.started_in_s: float | None = None
        self._seen_groups: set[int] = set()
        self._frozen: set[int] = set()
        self._lock = threading.Lock()

    # -- addresses ---------------------------------------------------------------------------------
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
    def redis_url(self) -> str:
        return f"unix://{self.var / 'redis' / 'redis.sock'}"

    @property
    def db_path(self) -> Path:
        return self.var / "glassdesk.db"

    @property
    def log_dir(self) -> Path:
        return self.var / "log"

    def port_of(self, child: ChildName) -> int | None:
        return {
            ChildName.WEB: self.web_port,
            ChildName.PREFECT: self.prefect_port,
            ChildName.SMTP: self.smtp_port,
            ChildName.MAIL_SINK: self.relay_port,
            ChildName.SMS_SINK: self.sms_sink_port,
        }.get(child)

    def env(self) -> dict[str, str]:
        """The environment of ``glassdesk run`` (and of CLI calls against it, with ``cli=True`` below)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GLASSDESK_", "PREFECT_"))}
        env.update(
            {
                "GLASSDESK_VAR_DIR": str(self.var),
                "GLASSDESK_PUBLIC_URL": self.base_url,
                "GLASSDESK_WEB_HOST": "127.0.0.1",
                "GLASSDESK_WEB_PORT": str(self.web_port),
                "GLASSDESK_PREFECT_API_URL": self.prefect_api,
                "GLASSDESK_PREFECT_PORT": str(self.prefect_port),
                "GLASSDESK_SMTP_HOST": "127.0.0.1",
                "GLASSDESK_SMTP_PORT": str(self.smtp_port),
                "GLASSDESK_RELAY_HOST": "127.0.0.1",
                "GLASSDESK_RELAY_PORT": str(self.relay_port),
                "GLASSDESK_SMS_SINK_PORT": str(self.sms_sink_port),
                "GLASSDESK_LOG_LEVEL": "INFO",
                "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": str(self.source),
            }
        )
        env.update(self.extra_env)
        return env

    def cli_env(self) -> dict[str, str]:
        """For ``glassdesk <command>`` beside the running product: the supervised Redis, named explicitly
        (the supervisor hands its URL to its children only)."""
        return {**self.env(), "GLASSDESK_REDIS_URL": self.redis_url}

    # -- lifecycle ---------------------------------------------------------------------------------
    def __enter__(self) -> SupervisedStack:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, *, timeout_s: float = 240.0) -> SupervisedStack:
        _LIVE.append(self)
        self.var.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        if self.source != ROOT:
            for package in PRODUCT_PACKAGES:
                shutil.copytree(
                    ROOT / package, self.source / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
                )
        log = open(self.tmp / "supervisor.log", "ab")  # noqa: SIM115 - the child holds its own copy
        try:
            self.supervisor = subprocess.Popen(
                [str(BIN / "glassdesk"), "run"],
                env=self.env(),
                cwd=str(self.tmp),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # start() runs before the fault threads exist
            )
        finally:
            log.close()
        ready = wait_until(self._ready, timeout_s=timeout_s, interval_s=1.0)
        if not ready:
            raise RuntimeError(f"glassdesk run did not become healthy within {timeout_s:.0f} s:\n{self.tail()}")
        self.started_in_s = time.monotonic() - t0
        self.t0 = time.monotonic()
        return self

    def _ready(self) -> bool:
        if self.supervisor is None or self.supervisor.poll() is not None:
            raise RuntimeError(f"glassdesk run exited during start:\n{self.tail()}")
        self._track()
        status = self.supervisor_status()
        children = (status or {}).get("children", {})
        if not children or any(c.get("state") != "running" for c in children.values()):
            return False
        return self.healthz()[0] == 200 and _listening(self.relay_port) and _listening(self.sms_sink_port)

    def tail(self, name: str = "supervisor", chars: int = 3000) -> str:
        path = self.tmp / "supervisor.log" if name == "supervisor" else self.log_dir / f"{name}.log"
        try:
            return path.read_text(errors="replace")[-chars:]
        except OSError:
            return f"(no {path})"

    def stop(self) -> None:
        with self._lock:
            frozen = list(self._frozen)
            self._frozen.clear()
        for pid in frozen:
            _signal_group(pid, signal.SIGCONT)
        self._track()
        sup = self.supervisor
        if sup is not None and sup.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                sup.send_signal(signal.SIGINT)
            try:
                sup.wait(timeout=45)
            except subprocess.TimeoutExpired:
                _signal_group(sup.pid, signal.SIGKILL)
                sup.wait(timeout=10)
        for pid in list(self._seen_groups):  # anything the supervisor could not stop
            if psutil.pid_exists(pid):
                _signal_group(pid, signal.SIGKILL)
        if self in _LIVE:
            _LIVE.remove(self)
        if not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- children ----------------------------------------------------------------------------------
    def _children(self) -> list[psutil.Process]:
        if self.supervisor is None:
            return []
        try:
            return list(psutil.Process(self.supervisor.pid).children(recursive=False))
        except psutil.Error:
            return []

    def _track(self) -> None:
        for proc in self._children():
            self._seen_groups.add(proc.pid)

    def pids_of(self, child: ChildName) -> list[int]:
        found = []
        for proc in self._children():
            try:
                signature = _SIGNATURE[child]
                matches = proc.name() == signature or signature in _signature_of(proc.cmdline())
                if matches and proc.status() != psutil.STATUS_ZOMBIE:
                    found.append(proc.pid)
            except psutil.Error:
                continue
        return found

    def pid_of(self, child: ChildName) -> int | None:
        pids = self.pids_of(child)
        for pid in pids:
            self._seen_groups.add(pid)
        return pids[0] if pids else None

    def supervisor_status(self) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads((self.var / "run" / "supervisor.json").read_text())
            return data
        except (OSError, ValueError):
            return None

    def healthz(self) -> tuple[int, dict[str, Any]]:
        try:
            resp = httpx.get(self.base_url + "/healthz", timeout=5)
        except httpx.HTTPError as exc:
            return 0, {"error": type(exc).__name__}
        try:
            body: dict[str, Any] = resp.json()
        except ValueError:
            body = {"text": resp.text[:300]}
        return resp.status_code, body

    def answers(self, child: ChildName) -> bool:
        """The child does its job again: its port listens (the worker: its heartbeat is in Redis)."""
        if child is ChildName.WORKER:
            return self._worker_beat(self.pid_of(child))
        if child is ChildName.REDIS:
            return self._redis_ping()
        if child is ChildName.PREFECT:
            try:
                return httpx.get(self.prefect_api + "/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False
        port = self.port_of(child)
        return port is not None and _listening(port)

    def _redis_ping(self) -> bool:
        import redis

        try:
            client = redis.Redis.from_url(self.redis_url, socket_timeout=1, socket_connect_timeout=1)
            try:
                return bool(client.ping())
            finally:
                client.close()
        except redis.RedisError:
            return False

    def _worker_beat(self, pid: int | None) -> bool:
        import redis

        if pid is None:
            return False
        try:
            client = redis.Redis.from_url(self.redis_url, socket_timeout=1, socket_connect_timeout=1)
            try:
                keys = client.keys("gd:worker:beat:*")
                return any((k.decode() if isinstance(k, bytes) else str(k)).endswith(f"-{pid}") for k in keys)
            finally:
                client.close()
        except redis.RedisError:
            return False

    # -- faults ------------------------------------------------------------------------------------
    def crash(self, child: ChildName, *, back_within_s: float = 120.0) -> FaultRecord:
        """``kill -9`` of the child's process group; returns once the restarted child answers (or the
        deadline passed: ``new_pid``/``back_after_s`` stay None)."""
        old = self.pid_of(child)
        record = FaultRecord(child, FaultKind.CRASH, time.monotonic() - self.t0, old)
        if old is None:
            record.note = "not running when the fault was due"
            return record
        start = time.monotonic()
        _signal_group(old, signal.SIGKILL)

        def back() -> bool:
            pid = self.pid_of(child)
            return pid is not None and pid != old and self.answers(child)

        if wait_until(back, timeout_s=back_within_s, interval_s=0.2):
            record.new_pid = self.pid_of(child)
            record.back_after_s = time.monotonic() - start
        return record

    def outage(self, child: ChildName, seconds: float, *, back_within_s: float = 180.0) -> FaultRecord:
        """Stop the child and keep it down for ``seconds`` (see the module doc), then let it come back;
        returns once it answers again (or the deadline passed)."""
        port = self.port_of(child)
        if port is None:
            raise ValueError(f"an outage needs a child that listens on a port; {child.value} does not")
        old = self.pid_of(child)
        record = FaultRecord(child, FaultKind.OUTAGE, time.monotonic() - self.t0, old, planned_down_s=seconds)
        if old is None:
            record.note = "not running when the fault was due"
            return record
        start = time.monotonic()
        _signal_group(old, signal.SIGTERM)
        if not wait_until(lambda: not psutil.pid_exists(old) or _zombie(old), timeout_s=8, interval_s=0.05):
            _signal_group(old, signal.SIGKILL)
            record.note = "did not stop on SIGTERM within 8 s: SIGKILL"
        handled = {old}
        while time.monotonic() - start < seconds:
            for pid in self.pids_of(child):
                if pid in handled:
                    continue
                _signal_group(pid, signal.SIGSTOP)
                self._seen_groups.add(pid)
                handled.add(pid)
                if _listening(port):  # it got to listen first: stop it; the supervisor starts another
                    record.refrozen += 1
                    _signal_group(pid, signal.SIGKILL)
                    continue
                with self._lock:
                    self._frozen.add(pid)
                record.frozen_pids.append(pid)
            time.sleep(0.01)
        with self._lock:
            thaw = [p for p in record.frozen_pids if p in self._frozen]
            self._frozen.difference_update(thaw)
        for pid in thaw:
            _signal_group(pid, signal.SIGCONT)

        def back() -> bool:
            pid = self.pid_of(child)
            return pid is not None and pid != old and self.answers(child)

        if wait_until(back, timeout_s=back_within_s, interval_s=0.2):
            record.new_pid = self.pid_of(child)
            record.back_after_s = time.monotonic() - start
        return record


def _zombie(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return True


@atexit.register
def _stop_all() -> None:
    for stack in list(_LIVE):
        stack.stop()
