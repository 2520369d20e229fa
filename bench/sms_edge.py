"""The SMS webhook edge against its floor, side by side, loaded with wrk from pre-signed requests.

    .venv/bin/python bench/sms_edge.py [--quick] [--duration 10] [--connections 32] [--profile 8] [--before REV]

Two servers, one after the other in the same run, each one uvicorn process (uvloop, httptools, log
level warning, no access log) against the same redis-server (the project's embedded one,
``conversation.rediskit.embedded_redis_command``: AOF on, appendfsync everysec, unix socket):

- ``floor``: ``bench/_sms_floor.py``, the least a correct edge does: twilio ``RequestValidator``
  signature check, form parse, Redis ``SET NX`` dedupe, ``XADD``, empty TwiML;
- ``glassdesk``: ``web.create_app`` (the real app, every router and middleware) on a fresh SQLite file:
  signature check, parse, the durable SQL write (message + RECEIVED event), queue the turn, publish.

Load: ``wrk`` (Debian package, scripts/sysdeps.sh) with a Lua script (written next to the requests)
that sends pre-signed form webhooks: the realistic field set of Twilio's own CLI event, a distinct
MessageSid per request (so dedupe never short-circuits), 500 senders, each signed with twilio's
``RequestValidator`` for the exact URL of that server. A 2 s warm-up, then the measured run; same
connections and duration for both. Afterwards every acknowledged (200) message is checked: floor,
entries in its stream; glassdesk, rows in ``messages`` and entries in ``gd:turns``. Stored may exceed
acknowledged by the requests in flight when wrk stopped (at most one per connection); fewer would be a
lost message.

``--before REV``: also measure Glassdesk as of git revision REV (exported with ``git archive``, served
from that tree on its own SQLite file), in the same run, as ``glassdesk_before``.

``--profile S``: before the measured runs, a separate server of each Glassdesk is loaded for S seconds
under ``py-spy record`` (sampling, all threads, ``--nonblocking``) and the samples are summarised by
where the time goes (busy and idle per thread; the main thread's leaf frames by component, and the
inclusive shares of the edge's steps).

Writes bench/results/sms_edge.json (sms_edge_quick.json with --quick), with load averages.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx
import redis
from twilio.request_validator import RequestValidator

from bench._stack import free_port, hard_limit, machine, now_iso, versions
from conversation.rediskit import embedded_redis_command

RESULTS = ROOT / "bench" / "results"
BIN = Path(sys.executable).parent
TOKEN = "bench-sms-edge-auth-token"
PATH = "/webhooks/twilio/sms"
SENDERS = 500
FORM = {  # the inbound SMS event of twilio-labs/plugin-webhook (shared/data/twilio), our body
    "AccountSid": "AC" + "b" * 32,
    "AddOns": '{ "status": "successful", "message": null, "code": null, "results": { } }',
    "ApiVersion": "2010-04-01",
    "From": "+15017122661",
    "FromCity": "SAN FRANCISCO",
    "FromCountry": "US",
    "FromState": "CA",
    "FromZip": "94903",
    "To": "+15558675310",
    "ToCity": "SAN FRANCISCO",
    "ToCountry": "US",
    "ToState": "CA",
    "ToZip": "94105",
    "Body": "Hallo, wo ist mein Paket? Bestellung 10023.",
    "NumMedia": "0",
    "NumSegments": "1",
    "ReferralNumMedia": "0",
    "SmsStatus": "received",
}

# wrk script: each thread reads its own file of "signature<TAB>body" lines, sends each once, counts
# statuses; done() writes the summary as JSON. Past the end it sends a forged request (403) and counts it.
WRK_LUA = r"""
local threads = {}
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
local reqs, idx, forged = {}, 0, nil
statuses, exhausted = {}, 0  -- globals: done() reads them with thread:get
function init(args)
  local headers = {["Content-Type"] = "application/x-www-form-urlencoded"}
  for line in io.lines(args[1] .. "." .. id) do
    local sig, body = line:match("^(%S+)\t(.*)$")
    headers["X-Twilio-Signature"] = sig
    reqs[#reqs + 1] = wrk.format("POST", wrk.path, headers, body)
  end
  headers["X-Twilio-Signature"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAA="
  forged = wrk.format("POST", wrk.path, headers, "MessageSid=SMexhausted")
end
function request()
  idx = idx + 1
  local r = reqs[idx]
  if r == nil then
    exhausted = exhausted + 1
    return forged
  end
  return r
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local merged, sent_beyond = {}, 0
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do merged[tostring(k)] = (merged[tostring(k)] or 0) + v end
    sent_beyond = sent_beyond + t:get("exhausted")
  end
  local parts = {}
  for k, v in pairs(merged) do parts[#parts + 1] = string.format('"%s": %d', k, v) end
  local e = summary.errors
  local f = io.open(os.getenv("WRK_OUT"), "w")
  f:write(string.format(
    '{"duration_us": %d, "requests": %d, "bytes": %d, "statuses": {%s}, "exhausted": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"min": %d, "mean": %.1f, "stdev": %.1f, "max": %d, ' ..
    '"p50": %d, "p75": %d, "p90": %d, "p99": %d, "p99_9": %d}}',
    summary.duration, summary.requests, summary.bytes, table.concat(parts, ", "), sent_beyond,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9)))
  f:close()
end
"""


# -- requests ---------------------------------------------------------------------------------------
def write_requests(prefix: Path, url: str, n: int, threads: int, tag: str) -> None:
    """``n`` signed webhooks with distinct MessageSids, split over one file per wrk thread."""
    validator = RequestValidator(TOKEN)
    files = [open(f"{prefix}.{i}", "w") for i in range(threads)]  # noqa: SIM115
    try:
        for i in range(n):
            sid = f"SM{tag}{i:0{32 - len(tag)}x}"
            form = dict(FORM, From=f"+1501712{i % SENDERS:04d}", MessageSid=sid, SmsMessageSid=sid, SmsSid=sid)
            signature = validator.compute_signature(url, form)
            files[i % threads].write(f"{signature}\t{urlencode(form)}\n")
    finally:
        for f in files:
            f.close()


def run_wrk(url: str, prefix: Path, *, connections: int, threads: int, duration: float) -> dict[str, Any]:
    out = prefix.with_suffix(".json")
    script = prefix.parent / "sms_edge.lua"
    script.write_text(WRK_LUA)
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration:g}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
        "--",
        str(prefix),
    ]
    proc = subprocess.run(cmd, env={**os.environ, "WRK_OUT": str(out)}, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0 or not out.exists():
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    raw = json.loads(out.read_text())
    secs = raw["duration_us"] / 1e6
    ok = raw["statuses"].get("200", 0)
    lat = raw["latency_us"]
    return {
        "connections": connections,
        "threads": threads,
        "duration_s": round(secs, 2),
        "requests": raw["requests"],
        "statuses": raw["statuses"],
        "acked_200": ok,
        "req_per_s": round(raw["requests"] / secs, 1),
        "acked_per_s": round(ok / secs, 1),
        "latency_ms": {k: round(v / 1000, 2) for k, v in lat.items()},
        "socket_errors": raw["errors"],
        "requests_beyond_prepared": raw["exhausted"],
    }


# -- servers ----------------------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited during startup: {log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.post(url, timeout=1).status_code in (400, 403, 415):  # unsigned: refused, so it is up
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("server did not start within 90 s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait_s in ((signal.SIGINT, 20), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            pass


class Server:
    """One uvicorn process serving ``app`` (an app factory), in its own process group."""

    def __init__(self, name: str, app: str, env: dict[str, str], tmp: Path) -> None:
        self.name, self.app, self.tmp = name, app, tmp
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("GLASSDESK_", "FLOOR_"))}
        self.env.update(env, PYTHONUNBUFFERED="1")
        self.env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))
        self.log = tmp / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Server:
        argv = [sys.executable, "-m", "uvicorn", self.app, "--factory", "--host", "127.0.0.1"]
        argv += ["--port", str(self.port), "--log-level", "warning", "--no-access-log"]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                argv, cwd=str(self.tmp), env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        _wait_http(self.base + PATH, self.proc, self.log)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)

    def log_counts(self) -> dict[str, int]:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return {p: text.count(p) for p in ("Traceback", "database is locked", "not stored")}


def glassdesk_server(tmp: Path, redis_url: str, name: str, app: str, source: Path = ROOT) -> Server:
    """Glassdesk's web app from ``source`` (this tree, or an exported older revision) on a fresh SQLite file."""
    var = tmp / name
    env = {
        "GLASSDESK_VAR_DIR": str(var),
        "GLASSDESK_REDIS_URL": redis_url,
        "GLASSDESK_TWILIO_AUTH_TOKEN": TOKEN,
        "GLASSDESK_LOG_LEVEL": "WARNING",
    }
    server = Server(name, app, env, tmp)
    server.env["GLASSDESK_PUBLIC_URL"] = server.base
    server.env["PYTHONPATH"] = os.pathsep.join([str(source), server.env["PYTHONPATH"]])
    subprocess.run(  # the schema first, as `glassdesk db upgrade` does
        [
            sys.executable,
            "-c",
            "from services.settings import Settings; from conversation.sql import upgrade_database; "
            "upgrade_database(Settings().sqlalchemy_url)",
        ],
        env=server.env,
        cwd=str(tmp),
        check=True,
        timeout=180,
    )
    return server


def export_revision(rev: str, into: Path) -> Path:
    """``git archive`` of ``rev`` (read-only on the repository): the code as it was, to measure it."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], capture_output=True, check=True, timeout=120)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True, timeout=120)
    return into


def floor_server(tmp: Path, redis_url: str) -> Server:
    server = Server("floor", "bench._sms_floor:create_floor_app", {}, tmp)
    server.env.update(FLOOR_REDIS_URL=redis_url, FLOOR_PUBLIC_URL=server.base, FLOOR_TWILIO_TOKEN=TOKEN)
    return server


def count_glassdesk(var: Path, r: redis.Redis, stream_before: int) -> dict[str, int]:
    db = sqlite3.connect(var / "glassdesk.db")
    try:
        rows = db.execute("select count(*), count(distinct external_id) from messages where channel='sms'").fetchone()
        events = db.execute("select count(*) from events where type='received'").fetchone()[0]
    finally:
        db.close()
    return {
        "rows_in_messages": rows[0],
        "distinct_message_sids": rows[1],
        "received_events": events,
        "entries_in_gd_turns": int(r.xlen("gd:turns")) - stream_before,
    }


# -- one target ---------------------------------------------------------------------------------------
def measure(
    server: Server, r: redis.Redis, args: argparse.Namespace, count: Any, tag: str, redis_pid: int
) -> dict[str, Any]:
    url = server.base + PATH
    warm, main_ = server.tmp / f"{server.name}-warm", server.tmp / f"{server.name}-main"
    write_requests(warm, url, 3000 * args.warmup + 1000, args.threads, tag + "w")
    write_requests(main_, url, int(args.max_rate * args.duration) + 2000, args.threads, tag + "m")
    server.start()
    try:
        load_before = os.getloadavg()
        warmup = run_wrk(url, warm, connections=args.connections, threads=args.threads, duration=args.warmup)
        assert server.proc is not None
        cpu0 = cpu_seconds(server.proc.pid), cpu_seconds(redis_pid)
        run = run_wrk(url, main_, connections=args.connections, threads=args.threads, duration=args.duration)
        cpu1 = cpu_seconds(server.proc.pid), cpu_seconds(redis_pid)
        run["cpu_ms_per_request"] = {
            "server": round((cpu1[0] - cpu0[0]) * 1000 / max(run["requests"], 1), 3),
            "redis": round((cpu1[1] - cpu0[1]) * 1000 / max(run["requests"], 1), 3),
        }
        run["server_cpu_utilisation"] = round((cpu1[0] - cpu0[0]) / run["duration_s"], 2)
        run["loadavg_before"] = [round(x, 2) for x in load_before]
        run["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
        time.sleep(1.0)  # requests in flight when wrk stopped finish their writes
    finally:
        server.stop()
    acked = warmup["acked_200"] + run["acked_200"]
    stored = count()
    return {
        "warmup": {k: warmup[k] for k in ("duration_s", "requests", "statuses", "acked_per_s")},
        "run": run,
        "check": {"acked_200_warmup_plus_run": acked, **stored, "server_log": server.log_counts()},
        "_acked": acked,
    }


# -- profile --------------------------------------------------------------------------------------
_IDLE_LEAVES = (  # where a thread waits: the uvloop loop in C (its Python caller), the aiosqlite queue
    "Runner.run (asyncio/runners.py:118)",
    "_connection_worker_thread (aiosqlite/core.py:59)",
)
_BUCKETS = (  # leaf frame -> component, first match wins (file path fragments)
    ("sqlite3 + aiosqlite", ("sqlite3", "aiosqlite")),
    ("sqlalchemy", ("sqlalchemy",)),
    ("redis client", ("redis/",)),
    ("twilio validator + hmac", ("twilio/", "hmac.py")),
    ("pydantic", ("pydantic",)),
    ("urllib (form parse)", ("urllib/",)),
    ("logging", ("logging/",)),
    ("uvicorn + httptools", ("uvicorn/", "httptools")),
    ("fastapi + starlette + anyio", ("fastapi/", "starlette/", "anyio/")),
    ("asyncio", ("asyncio/",)),
    ("json", ("json/",)),
    ("glassdesk code", ("channels/", "web/", "services/", "conversation/")),
)
_STEPS = (  # (name, frame fragment): inclusive share of the main thread's busy samples
    ("edge handler (inbound_sms)", "inbound_sms (web/sms.py"),
    ("read body + signature check (_verified_params)", "_verified_params"),
    ("  signature HMACs (RequestValidator.compute_signature)", "compute_signature (twilio/request_validator.py"),
    ("  form parse (parse_qsl)", "parse_qsl (urllib/parse.py"),
    ("parse_inbound (pydantic model)", "parse_inbound"),
    ("Ingestor.accept", "accept (services/ingest.py"),
    ("SQL group commit (SqlMessageStore._drain)", "_drain (conversation/sql/store.py"),
    ("Redis per message (Ingestor._enqueue before)", "Ingestor._enqueue (services/ingest.py"),
    ("Redis per group (Ingestor._drain)", "Ingestor._drain (services/ingest.py"),
    ("live update publish", "publish"),
    ("BaseHTTPMiddleware", "middleware/base.py"),
    ("FastAPI dependency solving (get_request_handler)", "get_request_handler"),
    ("httptools protocol (parsing, outside the app)", "HttpToolsProtocol."),
)


def summarise_profile(raw: Path) -> dict[str, Any]:
    """Busy samples per thread; the main thread's by leaf component and by step (inclusive)."""
    threads: Counter[str] = Counter()
    idle: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    leaf_fn: Counter[str] = Counter()
    steps: Counter[str] = Counter()
    main = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        count, frames = int(n), stack.split(";")
        name = frames[0].split(": ", 1)[-1].split(" (")[0] if frames[0].startswith("thread") else "?"
        if frames[-1] in _IDLE_LEAVES:
            idle[name] += count
            continue
        threads[name] += count
        if name != "MainThread":
            continue
        main += count
        leaf_fn[frames[-1]] += count
        leaf[next((b for b, keys in _BUCKETS if any(k in frames[-1] for k in keys)), "other")] += count
        for step, key in _STEPS:
            if any(key in f for f in frames):
                steps[step] += count
    main = max(main, 1)
    return {
        "busy_samples_by_thread": dict(threads.most_common()),
        "idle_samples_by_thread": dict(idle.most_common()),
        "main_thread_by_leaf_component": {k: round(v / main, 3) for k, v in leaf.most_common()},
        "main_thread_inclusive_share_of_steps": {k: round(steps[k] / main, 3) for k, _ in _STEPS if steps[k]},
        "main_thread_top_leaf_functions": {k: round(v / main, 3) for k, v in leaf_fn.most_common(15)},
    }


def profile(tmp: Path, redis_url: str, args: argparse.Namespace, name: str, source: Path) -> dict[str, Any]:
    spy = BIN / "py-spy"
    if not spy.exists():
        return {"error": "py-spy is not installed in the venv (it is in requirements.lock: make test installs it)"}
    server = glassdesk_server(tmp, redis_url, f"{name}-profile", args.app, source)
    url = server.base + PATH
    prefix, warm, raw = tmp / f"{name}-profile-reqs", tmp / f"{name}-profile-warm", tmp / f"{name}-profile.txt"
    write_requests(prefix, url, int(args.max_rate * (args.profile + 2)) + 2000, args.threads, name[-1] + "p")
    write_requests(warm, url, 3000, args.threads, name[-1] + "q")
    server.start()
    try:
        run_wrk(url, warm, connections=args.connections, threads=args.threads, duration=1)
        assert server.proc is not None
        rec = subprocess.Popen(
            [str(spy), "record", "--pid", str(server.proc.pid), "--format", "raw", "--output", str(raw)]
            + ["--rate", "250", "--duration", str(int(args.profile) + 1), "--nonblocking", "--threads"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        time.sleep(0.5)
        load = run_wrk(url, prefix, connections=args.connections, threads=args.threads, duration=args.profile)
        _, err = rec.communicate(timeout=60)
    finally:
        server.stop()
    if not raw.exists():
        return {"error": f"py-spy wrote no profile: {err.decode(errors='replace')[-500:]}"}
    if args.keep_profile:
        shutil.copy(raw, RESULTS / f"sms_edge_profile_{name}.txt")
    return {
        "tool": "py-spy record --rate 250 --nonblocking --threads (samples of running threads; the leaves where "
        "a thread waits, uvloop's loop and aiosqlite's queue, are counted as idle)",
        "load_during_profile (slowed by py-spy)": {k: load[k] for k in ("req_per_s", "latency_ms")},
        **summarise_profile(raw),
    }


# -- main ---------------------------------------------------------------------------------------------
def _headline(result: dict[str, Any], checks: dict[str, Any]) -> dict[str, Any]:
    head: dict[str, Any] = {
        name: {
            "req_per_s": res["run"]["req_per_s"],
            "acked_per_s": res["run"]["acked_per_s"],
            "p50_ms": res["run"]["latency_ms"]["p50"],
            "p99_ms": res["run"]["latency_ms"]["p99"],
            "server_cpu_ms_per_request": res["run"]["cpu_ms_per_request"]["server"],
        }
        for name, res in result.items()
    }
    if "floor" not in result:
        return head
    floor = max(result["floor"]["run"]["acked_per_s"], 1e-9)
    for name in ("glassdesk_before", "glassdesk"):
        if name in result:
            head[f"ratio_{name}_to_floor"] = round(result[name]["run"]["acked_per_s"] / floor, 3)
    if "glassdesk" in result:
        head["target"] = {"ratio_min": 0.3, "glassdesk_p99_ms_max": 50, "every_ack_stored": True}
        head["target_met"] = (
            head["ratio_glassdesk_to_floor"] >= 0.3
            and result["glassdesk"]["run"]["latency_ms"]["p99"] < 50
            and all(c["every_ack_stored"] for c in checks.values())
        )
    return head


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s runs, no profile")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1 leaves the cores to the servers)")
    parser.add_argument("--max-rate", type=int, default=9000, help="requests prepared per second of run")
    parser.add_argument("--profile", type=float, default=8.0, help="seconds of py-spy per Glassdesk (0: none)")
    parser.add_argument("--keep-profile", action="store_true", help="copy the raw py-spy stacks to bench/results")
    parser.add_argument(
        "--before", metavar="REV", help="also measure (and profile) Glassdesk as of this git revision, exported"
    )
    parser.add_argument("--only", choices=("floor", "glassdesk"), default=None)
    parser.add_argument("--app", default="web:create_app", help="the Glassdesk app factory (for experiments)")
    parser.add_argument("--limit", type=int, default=900, help="hard wall-clock limit of the whole bench (s)")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.profile = 3.0, 0.0
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: run scripts/sysdeps.sh as root (apt-get install wrk)")
    hard_limit(args.limit)
    load_before = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="gd-bench-sms-edge-"))
    argv, redis_url = embedded_redis_command(tmp / "redis")
    redis_proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    r = redis.Redis.from_url(redis_url)
    result: dict[str, Any] = {}
    profiles: dict[str, Any] = {}
    errors: list[str] = []
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                r.ping()
                break
            except (redis.RedisError, OSError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        gd_targets: list[tuple[str, Path]] = []
        if args.only != "floor":
            if args.before:
                gd_targets.append(("glassdesk_before", export_revision(args.before, tmp / "before-src")))
            gd_targets.append(("glassdesk", ROOT))
        if args.profile > 0:
            for name, source in gd_targets:
                profiles[name] = profile(tmp, redis_url, args, name, source)
        if args.only != "glassdesk":
            floor = floor_server(tmp, redis_url)
            f0 = int(r.xlen("floor:in"))
            result["floor"] = measure(
                floor, r, args, lambda: {"entries_in_floor_in": int(r.xlen("floor:in")) - f0}, "f", redis_proc.pid
            )
        for i, (name, source) in enumerate(gd_targets):
            gd = glassdesk_server(tmp, redis_url, name, args.app, source)
            g0 = int(r.xlen("gd:turns")) if r.exists("gd:turns") else 0
            var = tmp / name
            result[name] = measure(
                gd, r, args, lambda var=var, g0=g0: count_glassdesk(var, r, g0), "gb"[i], redis_proc.pid
            )
    except Exception as exc:  # noqa: BLE001 - partial results are still written
        errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        signal.alarm(0)
        _stop(redis_proc)
        if not os.environ.get("GD_BENCH_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)

    checks: dict[str, Any] = {}
    for name, res in result.items():
        acked = res.pop("_acked")
        stored = {k: v for k, v in res["check"].items() if k.startswith(("rows_", "entries_"))}
        checks[name] = {
            "every_ack_stored": all(v >= acked for v in stored.values()),
            "stored_minus_acked": {k: v - acked for k, v in stored.items()},
        }
        if "distinct_message_sids" in res["check"]:
            checks[name]["no_duplicates"] = res["check"]["distinct_message_sids"] == res["check"]["rows_in_messages"]
    headline = _headline(result, checks)
    out = {
        "benchmark": "sms_edge" + ("_quick" if args.quick else ""),
        "date": now_iso(),
        "machine": machine(load_before),
        "versions": versions("uvicorn", "uvloop", "httptools", "starlette", "fastapi", "twilio", "redis", "sqlalchemy"),
        "wrk": subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.splitlines()[0].strip(),
        "parameters": {
            "connections": args.connections,
            "wrk_threads": args.threads,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "senders": SENDERS,
            "before_revision": args.before,
        },
        "headline": headline,
        "checks": checks,
        "results": result,
        "profiles": profiles,
        "errors": errors,
        "notes": [
            "req/s and latency are wrk's, over the measured run; ratio = Glassdesk 200s per s / floor 200s per s.",
            "All servers: one uvicorn process (uvloop, httptools), log level warning, no access log, the same "
            "embedded redis-server (AOF everysec) on a unix socket; wrk and Redis share the 2 cores.",
            "The floor acks after Redis SET NX + XADD only; Glassdesk acks after the SQL commit of the message "
            "and its RECEIVED event (the system of record, RELIABILITY R1), then the stream entry.",
            "stored_minus_acked >= 0 means every 200 was stored; a small positive number is the requests in "
            "flight when wrk stopped (processed, answer not counted).",
            "glassdesk_before: the same app exported from --before REV (git archive), on its own SQLite file.",
            "server_cpu_ms_per_request: the server process's CPU time over the measured run / requests: less "
            "sensitive to other jobs on the machine than req/s.",
        ],
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{out['benchmark']}.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps({"headline": headline, "checks": checks, "errors": errors}, indent=2))


if __name__ == "__main__":
    main()
