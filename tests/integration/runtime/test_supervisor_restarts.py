"""`glassdesk run` restarts a killed child with backoff while the others keep running."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from runtime.supervisor import Child, _start, _stop_children, _watch, _write_status
from services.process_status import crash_looping, read_supervisor_status

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def _until(pred, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_killed_child_comes_back_and_the_others_keep_running(tmp_path: Path) -> None:
    env = dict(os.environ)
    web, worker = Child("web", SLEEPER), Child("worker", SLEEPER)
    try:
        for c in (web, worker):
            _start(c, env, tmp_path)
        web_pid, first_worker_pid = web.proc.pid, worker.proc.pid  # type: ignore[union-attr]
        os.kill(first_worker_pid, signal.SIGKILL)
        _until(lambda: worker.proc.poll() is not None)  # type: ignore[union-attr]
        now = time.monotonic()
        _watch(worker, now, env, tmp_path)
        assert worker.next_start is not None and worker.next_start - now == 1.0  # first backoff step
        _watch(worker, now + 0.5, env, tmp_path)
        assert worker.proc.poll() is not None  # type: ignore[union-attr]  # still backing off
        _watch(worker, now + 1.0, env, tmp_path)
        assert worker.proc.poll() is None and worker.proc.pid != first_worker_pid  # type: ignore[union-attr]
        assert web.proc.pid == web_pid and web.proc.poll() is None  # type: ignore[union-attr]
        assert len(worker.restarts) == 1 and worker.last_exit == -signal.SIGKILL
    finally:
        _stop_children([web, worker])


def test_repeated_crashes_back_off_and_show_as_a_crash_loop(tmp_path: Path) -> None:
    env = dict(os.environ)
    crasher = Child("smtp", [sys.executable, "-c", "raise SystemExit(3)"])
    try:
        _start(crasher, env, tmp_path)
        delays = []
        now = time.monotonic()
        for _ in range(4):
            _until(lambda: crasher.proc.poll() is not None)  # type: ignore[union-attr]
            _watch(crasher, now, env, tmp_path)
            assert crasher.next_start is not None
            delays.append(crasher.next_start - now)
            now = crasher.next_start
            _watch(crasher, now, env, tmp_path)  # restarts it
        assert delays == [1.0, 2.0, 4.0, 8.0]
        _write_status(tmp_path, [crasher], now)
        status = read_supervisor_status(tmp_path)
        assert status is not None and crash_looping(status) == ["smtp"]
        assert status["children"]["smtp"]["last_exit"] == 3
    finally:
        _stop_children([crasher])
