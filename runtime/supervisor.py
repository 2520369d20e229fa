"""`glassdesk run`: start the whole product in the foreground, keep it running, stop it on Ctrl-C.

A child that dies (web, worker, SMTP, the sinks, Prefect, the embedded Redis) is restarted with
exponential backoff while the others keep serving; a crash loop shows on /healthz and /ops through
``var/run/supervisor.json``. Children run in their own process groups, so a stop reaches their
children too (uvicorn workers, Prefect's services) and nothing is left behind. For production, run
one process per unit instead (``deploy/systemd/``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from conversation.rediskit import embedded_redis_command
from devtools.smssink import sms_sink_url, sms_sink_wanted
from runtime.compose import REDIS_URL_FILE
from services.process_status import STATUS_FILE, read_supervisor_status
from services.settings import Settings

__all__ = [
    "run_all",
    "Child",
    "read_supervisor_status",
    "STATUS_FILE",
    "prefect_env",
    "demo_by_default",
    "PREFECT_VISIBILITY_ENV",
    "DEMO_CONNECTORS",
    "demo_connectors_file",
    "demo_connector_secrets",
]


RESTART_BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
STABLE_AFTER_S = 60.0  # a child that ran this long without dying starts its backoff from the beginning
CRASH_LOOP = (3, 120.0)  # this many restarts within this many seconds is a crash loop (health, /ops)


@dataclass
class Child:
    name: str
    argv: list[str]
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: list[float] = field(default_factory=list)  # monotonic times of the restarts
    next_start: float | None = None  # set while the child waits out its backoff
    last_exit: int | None = None
    streak: int = 0  # crashes since it last ran stably

    def crash_looping(self, now: float) -> bool:
        count, window = CRASH_LOOP
        return len([t for t in self.restarts if now - t <= window]) >= count

    def status(self, now: float) -> dict[str, object]:
        running = self.proc is not None and self.proc.poll() is None
        return {
            "state": "running" if running else "restarting",
            "pid": self.proc.pid if running and self.proc else None,
            "restarts": len(self.restarts),
            "last_exit": self.last_exit,
            "crash_loop": self.crash_looping(now),
            "restart_in_s": round(max(0.0, self.next_start - now), 1) if self.next_start else None,
        }


# What the Prefect server and its clients need so the UI shows every turn's steps (task runs with state,
# duration and retries), its logs and Failed states, at the lowest cost measured on the embedded SQLite
# server (bench/prefect_visibility.py, bench/results/prefect_visibility.json, candidate F):
# - the task-run recorder on, writing in batches (50 events or 1 s), so task runs reach the database
#   within about a second without one SQLite write per state change;
# - the event persister off: the UI's run pages read flow runs, task runs and logs, not the event feed,
#   and on SQLite the persister contends with the API for the database (~2.4 s per flow run with it);
# - logs to the API on, for Prefect's run loggers and the ``glassdesk`` loggers (ids only, never text);
#   records logged outside a run (web, SMTP) are dropped silently rather than warned about.
PREFECT_VISIBILITY_ENV: dict[str, str] = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_ENABLED": "true",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "50",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL": "1",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED": "false",
    "PREFECT_LOGGING_TO_API_ENABLED": "true",
    "PREFECT_LOGGING_EXTRA_LOGGERS": "glassdesk",
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
}


def _prefect_env(settings: Settings) -> dict[str, str]:
    """The environment of the Prefect server and of every process that talks to it: the server asks
    for basic auth on its API and UI (``PREFECT_SERVER_API_AUTH_STRING``) and the Prefect clients in
    the worker and the ops flows send it (``PREFECT_API_AUTH_STRING``)."""
    home = (settings.var_dir / "prefect").resolve()
    home.mkdir(parents=True, exist_ok=True)
    auth = settings.prefect_auth_string()
    return {
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": settings.prefect_api_url,
        "PREFECT_SERVER_API_AUTH_STRING": auth,
        "PREFECT_API_AUTH_STRING": auth,
        # the UI in the browser talks to the API at this address (its default is port 4200)
        "PREFECT_UI_API_URL": settings.prefect_api_url,
        "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
        **PREFECT_VISIBILITY_ENV,
    }


def prefect_env(settings: Settings) -> dict[str, str]:
    return _prefect_env(settings)


DEMO_CONNECTORS = Path(__file__).resolve().parents[1] / "devtools" / "connectors.demo.yaml"
DEMO_CONNECTORS_RENDERED = Path("run") / "connectors.demo.yaml"  # under var/


def demo_connector_secrets() -> str:
    """``GLASSDESK_CONNECTOR_SECRETS`` for the demo connectors: the demo shop's client secret and the demo
    portal's login (development tools with fixed credentials)."""
    from devtools.claims_portal import DEMO_PASSWORD, DEMO_USER
    from devtools.shop_api import DEMO_CLIENT_SECRET

    portal = f"claims_portal_user={DEMO_USER},claims_portal_password={DEMO_PASSWORD}"
    return f"{portal},shop_client_secret={DEMO_CLIENT_SECRET}"


def demo_connectors_file(settings: Settings) -> Path:
    """Write ``var/run/connectors.demo.yaml``: ``devtools/connectors.demo.yaml`` with the demo shop's and the
    demo portal's addresses taken from the settings (GLASSDESK_DEMO_SHOP_PORT, GLASSDESK_CLAIMS_PORTAL_PORT)
    and the robot's path made absolute. Returns its path."""
    import yaml

    doc = yaml.safe_load(DEMO_CONNECTORS.read_text())
    shop, portal = doc["connectors"]["shop"], doc["connectors"]["claims_portal"]
    shop_url = f"http://127.0.0.1:{settings.demo_shop_port}"
    shop["base_url"] = shop_url + "/api/v2"
    shop["auth"]["token_url"] = shop_url + "/oauth/token"
    portal["base_url"] = f"http://127.0.0.1:{settings.claims_portal_port}"
    portal["robot"] = str((DEMO_CONNECTORS.parent / portal["robot"]).resolve())
    target = settings.var_dir / DEMO_CONNECTORS_RENDERED
    target.parent.mkdir(parents=True, exist_ok=True)
    header = f"# Written by `glassdesk run` from {DEMO_CONNECTORS}; edit that file, not this one.\n"
    target.write_text(header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    return target.resolve()


def demo_by_default(settings: Settings, env: dict[str, str]) -> Settings:
    """`glassdesk run` is the demo: demo mode (demo logins, no second admin for policy changes) unless
    GLASSDESK_DEMO_MODE says otherwise. Sets it in ``env`` for the children."""
    if "demo_mode" in settings.model_fields_set:
        env["GLASSDESK_DEMO_MODE"] = "true" if settings.demo_mode else "false"
        return settings
    env["GLASSDESK_DEMO_MODE"] = "true"
    return settings.model_copy(update={"demo_mode": True})


def run_all(settings: Settings) -> int:
    """Start every process, restart any that dies (with backoff) while the others keep serving, and
    stop them all on Ctrl-C or SIGTERM."""
    bin_dir = Path(sys.executable).parent
    glassdesk = str(bin_dir / "glassdesk")
    log_dir = settings.var_dir / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    children: list[Child] = []
    if settings.redis_url:
        redis_url = settings.redis_url
    else:  # the embedded Redis is a supervised child too, on a fixed socket, so a restart keeps its address
        argv, redis_url = embedded_redis_command(settings.var_dir / "redis")
        children.append(Child("redis", argv))
        # other commands beside `glassdesk run` (ledger, gdpr, …) reuse this Redis instead of starting one
        url_file = settings.var_dir / REDIS_URL_FILE
        url_file.parent.mkdir(parents=True, exist_ok=True)
        url_file.write_text(redis_url)
    env = {**os.environ, **_prefect_env(settings), "GLASSDESK_REDIS_URL": redis_url, "PYTHONUNBUFFERED": "1"}
    settings = demo_by_default(settings, env)
    sms_sink = sms_sink_wanted(settings)
    if sms_sink:  # no Twilio account configured: replies go to a local sink (var/sms/), never to Twilio
        env["GLASSDESK_TWILIO_API_BASE"] = sms_sink_url(settings)
    if settings.demo_rpa and not settings.connectors_file:
        # orders through the demo shop's REST API, claims and contracts through the demo portal robot
        env["GLASSDESK_CONNECTORS_FILE"] = str(demo_connectors_file(settings))
        env["GLASSDESK_CONNECTOR_SECRETS"] = demo_connector_secrets()
    stopping = False

    def _stop(_sig: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        if children:
            _start(children[0], env, log_dir)
            _wait_for_redis(redis_url)
        print("glassdesk: preparing the database and demo data …", flush=True)
        subprocess.run([glassdesk, "demo", "load"], env=env, check=True)
        children += [
            Child(
                "prefect",
                [
                    str(bin_dir / "prefect"),
                    "server",
                    "start",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(settings.prefect_port),
                    "--analytics-off",
                ],
            ),
            Child("mail-sink", [glassdesk, "mail-sink"]),
            *([Child("sms-sink", [glassdesk, "sms-sink"])] if sms_sink else []),
            Child("claims-portal", [glassdesk, "claims-portal"]),
            *([_shop_api_child(settings)] if settings.demo_rpa else []),
            Child("web", [glassdesk, "web"]),
            Child("smtp", [glassdesk, "smtp"]),
            Child("worker", [glassdesk, "worker"]),
            # serves retrain-intents/daily and reingest-knowledge/on-demand; waits for the Prefect API itself
            Child("ops", [glassdesk, "ops", "serve"]),
        ]
        for child in children:
            if child.proc is None:
                _start(child, env, log_dir)
        _announce_when_healthy(settings, children, lambda: stopping)
        while not stopping:
            now = time.monotonic()
            for child in children:
                _watch(child, now, env, log_dir)
            _write_status(settings.var_dir, children, now)
            time.sleep(0.5)
    finally:
        _stop_children(children)
        (settings.var_dir / STATUS_FILE).unlink(missing_ok=True)
        print("glassdesk: stopped.", flush=True)
    return 0


def _shop_api_child(settings: Settings) -> Child:
    """The demo shop REST API (devtools/shop_api.py) over the demo back office, for the demo's REST connector."""
    db = settings.var_dir / "backoffice.db"
    port = str(settings.demo_shop_port)
    return Child("shop-api", [sys.executable, "-m", "devtools.shop_api", "--port", port, "--db", str(db)])


def _start(child: Child, env: dict[str, str], log_dir: Path) -> None:
    log = open(log_dir / f"{child.name}.log", "ab")  # noqa: SIM115 - lives as long as the child
    child.proc = subprocess.Popen(child.argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()  # the child holds its own copy of the descriptor
    child.started_at = time.monotonic()
    child.next_start = None
    print(f"glassdesk: started {child.name} (pid {child.proc.pid}, log {log_dir / (child.name + '.log')})", flush=True)


def _watch(child: Child, now: float, env: dict[str, str], log_dir: Path) -> None:
    """Restart a child that died, after its backoff; the other children keep running."""
    if child.next_start is not None:
        if now >= child.next_start:
            child.restarts.append(now)
            _start(child, env, log_dir)
        return
    if child.proc is None or child.proc.poll() is None:
        return
    child.last_exit = child.proc.returncode
    child.streak = 1 if now - child.started_at >= STABLE_AFTER_S else child.streak + 1
    delay = RESTART_BACKOFF_S[min(child.streak, len(RESTART_BACKOFF_S)) - 1]
    child.next_start = now + delay
    loop = " It is in a crash loop." if child.crash_looping(now) else ""
    print(
        f"glassdesk: {child.name} exited with {child.last_exit}; restarting in {delay:g} s (see its log).{loop}",
        flush=True,
    )


def _write_status(var_dir: Path, children: list[Child], now: float) -> None:
    path = var_dir / STATUS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"written_at": time.time(), "children": {c.name: c.status(now) for c in children}}))
    tmp.replace(path)


def _wait_for_redis(url: str, *, timeout_s: float = 20.0) -> None:
    import redis

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1).ping():
                return
        except redis.RedisError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the embedded Redis did not answer at {url} within {timeout_s:.0f} s; see var/log/redis.log")


def _announce_when_healthy(settings: Settings, children: list[Child], stopping: Callable[[], bool]) -> None:
    url = f"http://{settings.web_host}:{settings.web_port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not stopping():
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if any(c.proc is not None and c.proc.poll() is not None for c in children):
            return
        time.sleep(1)
    base = settings.public_url.rstrip("/")
    logins = (
        "demo logins: agent/agent, ops/ops, admin/admin"
        if settings.demo_mode
        else "no demo logins: `glassdesk users create --name NAME --role admin`"
    )
    prefect_login = (
        "GLASSDESK_PREFECT_AUTH" if settings.prefect_auth is not None else str(settings.var_dir / "prefect-auth.key")
    )
    demo_systems = (
        f"  Demo shop:    http://127.0.0.1:{settings.demo_shop_port}/api/v2   (orders, through the REST connector)\n"
        f"  Demo portal:  http://127.0.0.1:{settings.claims_portal_port}/   (claims and contracts, through the robot)\n"
        if settings.demo_rpa
        else ""
    )
    print(
        "\nGlassdesk is running. Ctrl-C stops everything.\n"
        f"  Web:          {base}/\n"
        f"  Chat demo:    {base}/chat/demo\n"
        f"  Agent inbox:  {base}/inbox   ({logins})\n"
        f"  Ops:          {base}/ops\n"
        f"  Health:       {base}/healthz\n"
        f"  Prefect UI:   http://127.0.0.1:{settings.prefect_port}/   (log in with the user:password in {prefect_login})\n"
        f"  Ops flows:    Prefect UI > Deployments: retrain-intents/daily, reingest-knowledge/on-demand\n"
        f"  SMTP in:      {settings.smtp_host}:{settings.smtp_port}   (outbound mail lands in var/mail/)\n"
        f"{demo_systems}"
        f'  SMS in:       glassdesk sms simulate --from +4915112345678 "Wo ist meine Bestellung 10023?"\n'
        f"  SMS out:      {'var/sms/ (development sink; set GLASSDESK_TWILIO_AUTH_TOKEN for Twilio)' if sms_sink_wanted(settings) else 'Twilio'}\n",
        flush=True,
    )


def _stop_children(children: list[Child]) -> None:
    live = [c for c in reversed(children) if c.proc is not None and c.proc.poll() is None]
    for child in live:  # SIGINT first: Prefect workers ignore SIGTERM once the server is gone
        _signal_group(child, signal.SIGINT)
    _wait(live, 10)
    for child in live:
        if child.proc is not None and child.proc.poll() is None:
            _signal_group(child, signal.SIGTERM)
    _wait(live, 5)
    for child in live:
        if child.proc is not None and child.proc.poll() is None:
            _signal_group(child, signal.SIGKILL)
    _wait(live, 5)


def _signal_group(child: Child, sig: int) -> None:
    if child.proc is None:
        return
    try:
        os.killpg(child.proc.pid, sig)
    except ProcessLookupError:
        pass


def _wait(children: list[Child], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    for child in children:
        remaining = max(0.0, deadline - time.monotonic())
        if child.proc is None:
            continue
        try:
            child.proc.wait(timeout=remaining)
        except subprocess.TimeoutExpired:
            pass
