"""`glassdesk run`: start the whole product in the foreground and stop it cleanly on Ctrl-C.

Children run in their own process groups, so a stop reaches their children too (uvicorn workers,
Prefect's services) and nothing is left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from flows.bootstrap import resolve_redis_url
from flows.settings import Settings
from flows.smssink import sms_sink_url, sms_sink_wanted

__all__ = ["run_all", "Child"]


@dataclass
class Child:
    name: str
    argv: list[str]
    proc: subprocess.Popen[bytes] | None = None


def _prefect_env(settings: Settings) -> dict[str, str]:
    home = (settings.var_dir / "prefect").resolve()
    home.mkdir(parents=True, exist_ok=True)
    return {
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": settings.prefect_api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_TO_API_ENABLED": "false",
        # On SQLite the event persister and task-run recorder contend with the API for the database
        # (measured: ~2 s per flow run with them, ~0.2 s without). Flow runs still show in the UI.
        "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_ENABLED": "false",
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false",
    }


def prefect_env(settings: Settings) -> dict[str, str]:
    return _prefect_env(settings)


def run_all(settings: Settings) -> int:
    bin_dir = Path(sys.executable).parent
    glassdesk = str(bin_dir / "glassdesk")
    redis_url, owned_redis = resolve_redis_url(settings)
    env = {**os.environ, **_prefect_env(settings), "GLASSDESK_REDIS_URL": redis_url, "PYTHONUNBUFFERED": "1"}
    sms_sink = sms_sink_wanted(settings)
    if sms_sink:  # no Twilio account configured: replies go to a local sink (var/sms/), never to Twilio
        env["GLASSDESK_TWILIO_API_BASE"] = sms_sink_url(settings)
    log_dir = settings.var_dir / "log"
    log_dir.mkdir(parents=True, exist_ok=True)

    print("glassdesk: preparing the database and demo data …", flush=True)
    subprocess.run([glassdesk, "demo", "load"], env=env, check=True)

    children = [
        Child("prefect", [str(bin_dir / "prefect"), "server", "start", "--host", "127.0.0.1",
                          "--port", str(settings.prefect_port), "--analytics-off"]),
        Child("mail-sink", [glassdesk, "mail-sink"]),
        *([Child("sms-sink", [glassdesk, "sms-sink"])] if sms_sink else []),
        Child("web", [glassdesk, "web"]),
        Child("smtp", [glassdesk, "smtp"]),
        Child("worker", [glassdesk, "worker"]),
        # serves retrain-intents/daily and reingest-knowledge/on-demand; waits for the Prefect API itself
        Child("ops", [glassdesk, "ops", "serve"]),
    ]
    stopping = False

    def _stop(_sig: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        for child in children:
            log = open(log_dir / f"{child.name}.log", "ab")  # noqa: SIM115 - lives as long as the child
            child.proc = subprocess.Popen(child.argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                                          start_new_session=True)
            print(f"glassdesk: started {child.name} (pid {child.proc.pid}, log {log_dir / (child.name + '.log')})",
                  flush=True)
        _announce_when_healthy(settings, children, lambda: stopping)
        while not stopping:
            for child in children:
                if child.proc is not None and child.proc.poll() is not None:
                    print(f"glassdesk: {child.name} exited with {child.proc.returncode}; see its log. Stopping.",
                          flush=True)
                    stopping = True
                    break
            time.sleep(0.5)
    finally:
        _stop_children(children)
        if owned_redis is not None:
            owned_redis.stop()
        print("glassdesk: stopped.", flush=True)
    return 0


def _announce_when_healthy(settings: Settings, children: list[Child], stopping: object) -> None:
    url = f"http://{settings.web_host}:{settings.web_port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not stopping():  # type: ignore[operator]
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if any(c.proc is not None and c.proc.poll() is not None for c in children):
            return
        time.sleep(1)
    base = settings.public_url.rstrip("/")
    print(
        "\nGlassdesk is running. Ctrl-C stops everything.\n"
        f"  Web:          {base}/\n"
        f"  Chat demo:    {base}/chat/demo\n"
        f"  Agent inbox:  {base}/inbox   (demo logins: agent/agent, ops/ops, admin/admin)\n"
        f"  Ops:          {base}/ops\n"
        f"  Health:       {base}/healthz\n"
        f"  Prefect UI:   http://127.0.0.1:{settings.prefect_port}/\n"
        f"  Ops flows:    Prefect UI > Deployments: retrain-intents/daily, reingest-knowledge/on-demand\n"
        f"  SMTP in:      {settings.smtp_host}:{settings.smtp_port}   (outbound mail lands in var/mail/)\n"
        f"  SMS in:       glassdesk sms simulate --from +4915112345678 \"Wo ist meine Bestellung 10023?\"\n"
        f"  SMS out:      {'var/sms/ (development sink; set GLASSDESK_TWILIO_AUTH_TOKEN for Twilio)' if sms_sink_wanted(settings) else 'Twilio'}\n",
        flush=True,
    )


def _stop_children(children: list[Child]) -> None:
    live = [c for c in reversed(children) if c.proc is not None and c.proc.poll() is None]
    for child in live:  # SIGINT first: Prefect workers ignore SIGTERM once the server is gone
        _signal_group(child, signal.SIGINT)
    _wait(live, 10)
    for child in live:
        if child.proc.poll() is None:  # type: ignore[union-attr]
            _signal_group(child, signal.SIGTERM)
    _wait(live, 5)
    for child in live:
        if child.proc.poll() is None:  # type: ignore[union-attr]
            _signal_group(child, signal.SIGKILL)
    _wait(live, 5)


def _signal_group(child: Child, sig: int) -> None:
    try:
        os.killpg(child.proc.pid, sig)  # type: ignore[union-attr]
    except ProcessLookupError:
        pass


def _wait(children: list[Child], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    for child in children:
        remaining = max(0.0, deadline - time.monotonic())
        try:
            child.proc.wait(timeout=remaining)  # type: ignore[union-attr]
        except subprocess.TimeoutExpired:
            pass
