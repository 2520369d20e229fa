"""Which Prefect server configuration shows every turn's steps in the UI, and what it costs per turn.

    .venv/bin/python bench/prefect_visibility.py [--rounds 2] [--only A,B,C] [--sequential 30]
        [--concurrent 16] [--concurrent-rounds 3] [--wait-s 10] [--pg-dsn postgresql://USER:PW@127.0.0.1:5432/DB]
        [--quick]

For each candidate server configuration (``CANDIDATES``) a real ``prefect server start --host 127.0.0.1
--port <free> --analytics-off`` runs with its own PREFECT_HOME in a temporary directory (or its own fresh
PostgreSQL database), started and stopped like tests/flows/conftest.py (own process group, SIGINT, then
SIGTERM, then SIGKILL). A probe process (bench/_prefect_turn_probe.py) with the same environment, as
``runtime/supervisor.py`` gives every child the same Prefect environment, then:

- runs a turn-shaped flow (one flow run, nine async tasks of ~2 ms CPU each, ``task_run_name`` set,
  ``persist_result=False``, ``cache_policy=NONE``, one ``get_run_logger()`` line per step) once to warm up,
  ``--sequential`` times one after the other and ``--concurrent-rounds`` times ``--concurrent`` at once
  (flow runs in one process, as the worker runs its batches), timing each flow run;
- runs one flow run whose third task raises (it must end Failed) and one whose fifth task fails its
  first attempt and is retried;
- reads back through the Prefect API what the UI shows: the flow run's state, the task runs recorded for
  it (POST /api/task_runs/filter), their names, states, durations and run counts, the run graph
  (GET /api/flow_runs/{id}/graph-v2), the retried task's state history, the stored log lines
  (POST /api/logs/filter), the targets of the /ops links (services/ops_metrics.PrefectLinks), and whether
  the scheduler created the runs of an interval deployment. Task runs and logs are polled for up to
  ``--wait-s`` seconds; the lag until they showed is reported.

The same nine steps as plain coroutines (no Prefect) give the floor for the ratio. Candidates run
``--rounds`` times, interleaved (each round in the opposite order), with the load average before and after
each run and the CPU the rest of the machine used meanwhile: the machine is shared.

PostgreSQL (candidates E and G) needs a role that may create databases, for example (as root)::

    pg_ctlcluster 15 main start
    su postgres -c "psql -c \\"CREATE ROLE prefect_bench LOGIN CREATEDB PASSWORD 'prefect_bench'\\"
                        -c 'CREATE DATABASE prefect_bench OWNER prefect_bench'"

then ``--pg-dsn postgresql://prefect_bench:prefect_bench@127.0.0.1:5432/prefect_bench`` (or GD_BENCH_PG_DSN).
Each run gets a fresh database ``prefect_bench_<candidate>_<round>``, dropped afterwards. Without a DSN,
E and G are reported as skipped.

Writes bench/results/prefect_visibility.json (``prefect_visibility_quick.json`` with --quick).
"""

from __future__ import annotations

import argparse
import asyncio
import enum
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _prefect_turn_probe import STEPS, ProbeSpec

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
BIN = Path(sys.executable).parent
PROBE = HERE / "_prefect_turn_probe.py"
RECORDER = "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_ENABLED"
PERSISTER = "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED"
LOGS_TO_API = "PREFECT_LOGGING_TO_API_ENABLED"
DB_URL = "PREFECT_API_DATABASE_CONNECTION_URL"
# Set in every candidate, as runtime/supervisor._prefect_env sets them today.
COMMON_ENV = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false"}
LOG_PATTERNS = ("database is locked", "Traceback", "Error flushing", "Dropping event", "ERROR", "Service Unavailable")


@enum.unique
class Database(enum.StrEnum):
    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"


@dataclass(frozen=True)
class Candidate:
    key: str
    label: str
    env: Mapping[str, str]
    no_services: bool = False
    database: Database = Database.SQLITE


ON, OFF = "true", "false"
CANDIDATES = (
    Candidate(
        "A",
        "today: recorder off, persister off, API logs off (SQLite)",
        {RECORDER: OFF, PERSISTER: OFF, LOGS_TO_API: OFF},
    ),
    Candidate(
        "B",
        "task-run recorder on, event persister off, API logs on (SQLite)",
        {RECORDER: ON, PERSISTER: OFF, LOGS_TO_API: ON},
    ),
    Candidate(
        "C", "defaults: recorder on, persister on, API logs on (SQLite)", {RECORDER: ON, PERSISTER: ON, LOGS_TO_API: ON}
    ),
    Candidate("D", "--no-services, API logs on (SQLite)", {LOGS_TO_API: ON}, no_services=True),
    Candidate(
        "E", "defaults on PostgreSQL", {RECORDER: ON, PERSISTER: ON, LOGS_TO_API: ON}, database=Database.POSTGRESQL
    ),
    Candidate(
        "F",
        "B with the recorder batching (50 events, flush every 1 s) (SQLite)",
        {
            RECORDER: ON,
            PERSISTER: OFF,
            LOGS_TO_API: ON,
            "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "50",
            "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL": "1",
        },
    ),
    Candidate("G", "B on PostgreSQL", {RECORDER: ON, PERSISTER: OFF, LOGS_TO_API: ON}, database=Database.POSTGRESQL),
)


@dataclass(frozen=True)
class Workload:
    sequential: int
    concurrent: int
    concurrent_rounds: int
    wait_s: float
    phase_deadline_s: float = 240.0


# -- helpers (kept here rather than in bench/_stack.py, which starts the whole Glassdesk stack) ----------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def versions(*names: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def hard_limit(seconds: int) -> None:
    """Raise in the main thread after ``seconds`` (and on SIGTERM) so ``finally`` blocks stop the servers."""

    def _raise(_sig: int, _frame: object) -> None:
        raise TimeoutError(f"benchmark hard limit of {seconds} s reached (or SIGTERM)")

    signal.signal(signal.SIGALRM, _raise)
    signal.signal(signal.SIGTERM, _raise)
    signal.alarm(seconds)


# -- servers -------------------------------------------------------------------------------------
def _clean_environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "GLASSDESK_"))}


@dataclass
class Server:
    candidate: Candidate
    home: Path
    db_url: str | None = None
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
        env = {
            **_clean_environ(),
            "PREFECT_HOME": str(self.home),
            "PREFECT_API_URL": self.api_url,
            **COMMON_ENV,
            **self.candidate.env,
        }
        if self.db_url:
            env[DB_URL] = self.db_url
        return env

    def start(self, timeout_s: float = 180) -> None:
        argv = [
            str(BIN / "prefect"),
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--analytics-off",
            *(["--no-services"] if self.candidate.no_services else []),
        ]
        t0 = time.perf_counter()
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                argv, env=self.env(), cwd=str(self.home), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"prefect server ({self.candidate.key}) exited with {self.proc.returncode} during "
                    f"start; see the tail of {self.log_path}:\n{self._tail()}"
                )
            try:
                if httpx.get(self.api_url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"prefect server ({self.candidate.key}) did not answer {self.api_url}/health "
                    f"within {timeout_s} s:\n{self._tail()}"
                )
            time.sleep(0.3)
        self.start_s = round(time.perf_counter() - t0, 2)

    def _tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""

    def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        for sig, wait_s in ((signal.SIGINT, 15), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            if proc.poll() is not None:
                break
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=wait_s)
            except subprocess.TimeoutExpired:
                continue
        self.proc = None

    def log_counts(self) -> dict[str, int]:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return {p: text.count(p) for p in LOG_PATTERNS if p in text}


# -- PostgreSQL ----------------------------------------------------------------------------------
class Postgres:
    """Fresh databases for the PostgreSQL candidates, created and dropped through the admin DSN's role."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    async def _admin(self, sql: str) -> Any:
        import asyncpg

        conn = await asyncpg.connect(self.dsn)
        try:
            return await conn.fetchval(sql)
        finally:
            await conn.close()

    def url_for(self, name: str) -> str:
        parts = urlsplit(self.dsn)
        return urlunsplit(("postgresql+asyncpg", parts.netloc, f"/{name}", "", ""))

    def create(self, name: str) -> str:
        asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{name}"'))
        asyncio.run(self._admin(f'CREATE DATABASE "{name}"'))
        return self.url_for(name)

    def size(self, name: str) -> int:
        return int(asyncio.run(self._admin(f"SELECT pg_database_size('{name}')")))

    def drop(self, name: str) -> None:
        asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def version(self) -> str:
        return str(asyncio.run(self._admin("SHOW server_version")))


# -- one run -------------------------------------------------------------------------------------
def _loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _probe(spec: ProbeSpec, env: dict[str, str], work: Path, *, plain: bool, timeout_s: float) -> dict[str, Any]:
    spec_path, out_path = work / "spec.json", work / "probe.json"
    spec_path.write_text(json.dumps(asdict(spec)))
    out_path.unlink(missing_ok=True)
    with open(work / "probe.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, str(PROBE), str(spec_path), str(out_path), *(["--plain"] if plain else [])],
            env=env,
            cwd=str(work),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            rc = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise RuntimeError(f"the probe ran over {timeout_s} s; see {work / 'probe.log'}") from None
    if rc != 0 or not out_path.exists():
        tail = (work / "probe.log").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"the probe exited with {rc}; the tail of {work / 'probe.log'}:\n{tail}")
    result: dict[str, Any] = json.loads(out_path.read_text())
    return result


def _spec(work: Workload, api_url: str, pgid: int | None, *, postgres: bool) -> ProbeSpec:
    return ProbeSpec(
        api_url=api_url,
        sequential_runs=work.sequential,
        concurrent_runs=work.concurrent,
        concurrent_rounds=work.concurrent_rounds,
        wait_s=work.wait_s,
        server_pgid=pgid,
        count_postgres_cpu=postgres,
        phase_deadline_s=work.phase_deadline_s,
    )


def run_plain(work: Workload, tmp: Path) -> dict[str, Any]:
    load_before = _loadavg()
    d = tmp / "plain"
    d.mkdir(exist_ok=True)
    result = _probe(_spec(work, "", None, postgres=False), _clean_environ(), d, plain=True, timeout_s=300)
    return {"loadavg_before": load_before, "loadavg_after": _loadavg(), **result}


def run_candidate(
    candidate: Candidate, work: Workload, tmp: Path, *, round_no: int, pg: Postgres | None
) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix=f"prefect-{candidate.key}-", dir=tmp))
    db_name = f"prefect_bench_{candidate.key.lower()}_{round_no}"
    db_url = None
    if candidate.database is Database.POSTGRESQL:
        assert pg is not None
        db_url = pg.create(db_name)
    server = Server(candidate, home, db_url)
    load_before = _loadavg()
    t0 = time.perf_counter()
    try:
        server.start()
        assert server.proc is not None
        spec = _spec(work, server.api_url, server.proc.pid, postgres=db_url is not None)
        probe = _probe(spec, server.env(), home, plain=False, timeout_s=1200)
        if server.proc.poll() is not None:
            raise RuntimeError(f"prefect server ({candidate.key}) died during the run:\n{server._tail()}")
    finally:
        server.stop()
    db_bytes = pg.size(db_name) if pg and db_url else sum(p.stat().st_size for p in home.glob("prefect.db*"))
    result = {
        "round": round_no,
        "loadavg_before": load_before,
        "loadavg_after": _loadavg(),
        "total_s": round(time.perf_counter() - t0, 1),
        "server_start_s": server.start_s,
        "server_log": server.log_counts(),
        "db_bytes_after": db_bytes,
        **probe,
    }
    result["verdict"] = verdict(result)
    if pg and db_url:
        pg.drop(db_name)
    if not os.environ.get("GD_BENCH_KEEP"):
        shutil.rmtree(home, ignore_errors=True)
    return result


def verdict(run: dict[str, Any]) -> dict[str, bool]:
    """What ops would see in the Prefect UI for this run, check by check."""
    n = len(STEPS)

    def complete(seen: dict[str, Any], what: str) -> bool:
        """All expected rows showed (in a final state, for task runs) within the wait: the lag is set."""
        return seen[f"{what}_lag_s"] is not None

    probe, failed, retried = run["probe"], run["failed_run"], run["retried_run"]
    links = run["ops_links"]
    task_runs = (
        complete(probe, "task_runs")
        and probe["task_runs_by_state"] == {"COMPLETED": n}
        and probe["task_run_names_match"]
        and probe["task_runs_with_duration"] == n
        and probe["graph_nodes"] == n
        and complete(run["sequential"]["visible"], "task_runs")
        and complete(run["concurrent"]["visible"], "task_runs")
    )
    logs = (
        complete(probe, "logs")
        and complete(run["sequential"]["visible"], "logs")
        and complete(run["concurrent"]["visible"], "logs")
    )
    return {
        "flow_run_states": probe["flow_run_state"] == "COMPLETED" and failed["flow_run_state"] == "FAILED",
        "task_runs_with_state_and_duration": task_runs,
        "failed_step_shows_failed": failed["task_runs_by_state"] == {"COMPLETED": 2, "FAILED": 1},
        "retry_shows_run_count_2": (
            run["retried_task"]["run_count"] == 2
            and run["retried_task"]["state"] == "Completed"
            and retried["flow_run_state"] == "COMPLETED"
        ),
        "logs_stored": logs,
        "ops_links_open_the_run": bool(
            links["flow_id_resolves"]
            and links["probe_listed_under_flow"]
            and links["task_run_search_hits"] == n
            and links["flow_run_page_html"]
            and links["flow_runs_page_html"]
            and links["task_run_search_page_html"]
        ),
        "scheduler_creates_runs": run["scheduler"]["scheduled_runs_for_interval_deployment"] > 0,
    }


# -- summary -------------------------------------------------------------------------------------
def _median(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return round(statistics.median(kept), 2) if kept else None


def _max(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return max(kept) if kept else None


def summarise(key: str, runs: list[dict[str, Any]], plain_p50: float | None) -> dict[str, Any]:
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return {"runs": len(runs), "errors": [r["error"] for r in runs]}
    seq = [r["sequential"] for r in ok]
    conc = [r["concurrent"] for r in ok]
    checks = {k: all(r["verdict"][k] for r in ok) for k in ok[0]["verdict"]}
    p50 = _median([s["wall_ms"]["p50"] for s in seq])
    return {
        "runs": len(runs),
        "errors": [r["error"] for r in runs if "error" in r],
        "per_run": [
            {
                "round": r["round"],
                "loadavg_before": r["loadavg_before"],
                "loadavg_after": r["loadavg_after"],
                "others_cpu_cores": r["sequential"]["others_cpu_cores"],
                "sequential_p50_ms": r["sequential"]["wall_ms"]["p50"],
                "sequential_p95_ms": r["sequential"]["wall_ms"]["p95"],
                "sequential_runs_per_s": r["sequential"]["runs_per_s"],
                "concurrent_p50_ms": r["concurrent"]["wall_ms"]["p50"],
                "concurrent_p95_ms": r["concurrent"]["wall_ms"]["p95"],
                "concurrent_runs_per_s": r["concurrent"]["runs_per_s"],
                "server_cpu_ms_per_run": r["sequential"]["server_cpu_ms_per_run"],
                "probe_task_runs_lag_s": r["probe"]["task_runs_lag_s"],
                "probe_logs_lag_s": r["probe"]["logs_lag_s"],
                "concurrent_task_runs_lag_s": r["concurrent"]["visible"]["task_runs_lag_s"],
                "server_log": r["server_log"],
            }
            for r in ok
        ],
        "sequential_p50_ms": p50,
        "sequential_p95_ms": _median([s["wall_ms"]["p95"] for s in seq]),
        "sequential_runs_per_s": _median([s["runs_per_s"] for s in seq]),
        "concurrent_p50_ms": _median([c["wall_ms"]["p50"] for c in conc]),
        "concurrent_p95_ms": _median([c["wall_ms"]["p95"] for c in conc]),
        "concurrent_runs_per_s": _median([c["runs_per_s"] for c in conc]),
        "server_cpu_ms_per_run_sequential": _median([s["server_cpu_ms_per_run"] for s in seq]),
        "server_cpu_ms_per_run_concurrent": _median([c["server_cpu_ms_per_run"] for c in conc]),
        "postgres_cpu_ms_per_run_sequential": _median([s["postgres_cpu_ms_per_run"] for s in seq]),
        "client_cpu_ms_per_run_sequential": _median([s["client_cpu_ms_per_run"] for s in seq]),
        "ratio_to_plain_sequential_p50": round(p50 / plain_p50, 1) if p50 and plain_p50 else None,
        "max_lag_s": {
            "task_runs": _max(
                [r[k]["visible"]["task_runs_lag_s"] for r in ok for k in ("sequential", "concurrent")]
                + [r["probe"]["task_runs_lag_s"] for r in ok]
            ),
            "logs": _max(
                [r[k]["visible"]["logs_lag_s"] for r in ok for k in ("sequential", "concurrent")]
                + [r["probe"]["logs_lag_s"] for r in ok]
            ),
        },
        "checks": checks,
        "shows_everything": all(checks.values()),
    }


def recommend(summary: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The cheapest candidate (median sequential p50, then concurrent throughput) that passed every check in
    every run; the cheapest on SQLite separately (no extra service to run)."""
    by_key = {c.key: c for c in CANDIDATES}
    passing = [k for k, s in summary.items() if k in by_key and s.get("shows_everything")]
    ranked = sorted(passing, key=lambda k: (summary[k]["sequential_p50_ms"], -summary[k]["concurrent_runs_per_s"]))
    sqlite = [k for k in ranked if by_key[k].database is Database.SQLITE]

    def pick(key: str | None) -> dict[str, Any] | None:
        if key is None:
            return None
        c = by_key[key]
        return {
            "candidate": key,
            "label": c.label,
            "env": {**COMMON_ENV, **c.env},
            "no_services": c.no_services,
            "database": c.database.value,
        }

    return {
        "ranked_passing": ranked,
        "overall": pick(ranked[0] if ranked else None),
        "sqlite": pick(sqlite[0] if sqlite else None),
    }


def supervisor_env_today() -> dict[str, str] | str:
    """The Prefect variables runtime/supervisor._prefect_env sets now (to confirm A is today's)."""
    try:
        from runtime.supervisor import prefect_env
        from services.settings import Settings

        with tempfile.TemporaryDirectory() as var:
            env = prefect_env(Settings(var_dir=Path(var)))
        return {k: v for k, v in sorted(env.items()) if k not in {"PREFECT_HOME", "PREFECT_API_URL"}}
    except Exception as exc:  # noqa: BLE001 - informational only; the package is being restructured
        return f"could not read it: {type(exc).__name__}: {exc}"


# -- main ----------------------------------------------------------------------------------------
@contextmanager
def _tmpdir() -> Iterator[Path]:
    tmp = Path(tempfile.mkdtemp(prefix="gd-prefect-vis-"))
    try:
        yield tmp
    finally:
        if not os.environ.get("GD_BENCH_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(
        description="Which Prefect server configuration shows every turn's steps, "
        "and what it costs per turn (see the module docstring)."
    )
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--only", default="", help="comma-separated candidate keys (default: all)")
    ap.add_argument("--sequential", type=int, default=30)
    ap.add_argument("--concurrent", type=int, default=16)
    ap.add_argument("--concurrent-rounds", type=int, default=3)
    ap.add_argument("--wait-s", type=float, default=10.0)
    ap.add_argument("--pg-dsn", default=os.environ.get("GD_BENCH_PG_DSN", ""))
    ap.add_argument("--quick", action="store_true", help="1 round, 10 sequential, 1 concurrent round")
    ap.add_argument("--limit-s", type=int, default=7200, help="hard wall-clock limit of the whole bench")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.sequential, args.concurrent_rounds = 1, 10, 1
    hard_limit(args.limit_s)
    work = Workload(args.sequential, args.concurrent, args.concurrent_rounds, args.wait_s)
    wanted = {k.strip().upper() for k in args.only.split(",") if k.strip()}
    unknown = wanted - {c.key for c in CANDIDATES}
    if unknown:
        ap.error(f"--only: unknown candidate(s) {sorted(unknown)}; known: {[c.key for c in CANDIDATES]}")
    pg = Postgres(args.pg_dsn) if args.pg_dsn else None
    pg_version = pg.version() if pg else None
    chosen = [c for c in CANDIDATES if not wanted or c.key in wanted]
    skipped = {
        c.key: "no --pg-dsn (or GD_BENCH_PG_DSN) given"
        for c in chosen
        if c.database is Database.POSTGRESQL and pg is None
    }
    chosen = [c for c in chosen if c.key not in skipped]
    started, load0 = now_iso(), _loadavg()
    runs: dict[str, list[dict[str, Any]]] = {c.key: [] for c in chosen}
    plain: list[dict[str, Any]] = []
    with _tmpdir() as tmp:
        for round_no in range(1, args.rounds + 1):
            order = chosen if round_no % 2 else list(reversed(chosen))
            plain.append({"round": round_no, **run_plain(work, tmp)})
            print(f"round {round_no} plain: sequential p50 {plain[-1]['sequential']['wall_ms']['p50']} ms", flush=True)
            for c in order:
                print(f"round {round_no} {c.key} ({c.label}) … load {_loadavg()}", flush=True)
                try:
                    r = run_candidate(c, work, tmp, round_no=round_no, pg=pg)
                except Exception as exc:  # noqa: BLE001 - one broken candidate must not lose the others
                    r = {"round": round_no, "error": f"{type(exc).__name__}: {exc}"[:4000]}
                    print(f"  failed: {r['error'][:300]}", flush=True)
                else:
                    print(
                        f"  sequential p50 {r['sequential']['wall_ms']['p50']} ms, concurrent "
                        f"{r['concurrent']['runs_per_s']} runs/s, verdict {r['verdict']}",
                        flush=True,
                    )
                runs[c.key].append(r)
    plain_p50 = _median([p["sequential"]["wall_ms"]["p50"] for p in plain])
    summary = {c.key: {"label": c.label, **summarise(c.key, runs[c.key], plain_p50)} for c in chosen}
    result = {
        "bench": "prefect_visibility",
        "started_at": started,
        "finished_at": now_iso(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "versions": {**versions("prefect", "sqlalchemy", "asyncpg", "uvicorn", "fastapi"), "postgresql": pg_version},
        "machine": {
            "cpus": os.cpu_count(),
            "loadavg_at_start": load0,
            "loadavg_at_end": _loadavg(),
            "note": "shared 2-core machine; loadavg is (1, 5, 15) min; others_cpu_cores is the CPU the "
            "rest of the machine used during the sequential phase",
        },
        "workload": {**asdict(work), "steps": list(STEPS), "work_ms_per_step": 2.0, "rounds": args.rounds},
        "candidates": {
            c.key: {
                "label": c.label,
                "env": {**COMMON_ENV, **c.env},
                "no_services": c.no_services,
                "database": c.database.value,
            }
            for c in CANDIDATES
        },
        "skipped": skipped,
        "supervisor_env_today": supervisor_env_today(),
        "plain": {"sequential_p50_ms": plain_p50, "per_round": plain},
        "summary": summary,
        "recommendation": recommend(summary),
        "runs": runs,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / ("prefect_visibility_quick.json" if args.quick else "prefect_visibility.json")
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(
        json.dumps(
            {
                k: {
                    m: v.get(m)
                    for m in (
                        "sequential_p50_ms",
                        "sequential_p95_ms",
                        "concurrent_runs_per_s",
                        "concurrent_p95_ms",
                        "server_cpu_ms_per_run_sequential",
                        "shows_everything",
                        "max_lag_s",
                    )
                }
                for k, v in summary.items()
            },
            indent=1,
        )
    )
    print(f"recommendation: {json.dumps(result['recommendation'])}\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
