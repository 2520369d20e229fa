"""Which Prefect server configuration shows every turn's steps in the UI, and what it costs per turn.

    .venv/bin/python bench/prefect_visibility.py [--rounds 2] [--only A,B,C] [--sequential 30]
        [--concurrent 16] [--concurrent-rounds 3] [--wait-s 60] [--stall-s 10]
        [--pg-dsn postgresql://USER:PW@127.0.0.1:5432/DB] [--resume] [--quick]

For each candidate server configuration (``CANDIDATES``) a real ``prefect server start --host 127.0.0.1
--port <free> --analytics-off`` runs with its own PREFECT_HOME in a temporary directory (and, for the
PostgreSQL candidates, its own fresh database). A probe process (bench/_prefect_turn_probe.py) gets the same
environment, as runtime/supervisor.py gives every child the same Prefect environment, and then:

- runs a turn-shaped flow (one flow run, nine async tasks of ~2 ms CPU each, ``task_run_name`` set,
  ``persist_result=False``, ``cache_policy=NONE``, one ``get_run_logger()`` line per step) once to warm up,
  ``--sequential`` times one after the other, and ``--concurrent-rounds`` times ``--concurrent`` at once
  (in one process, as the worker runs its batches), timing each flow run;
- runs one flow run whose third task raises (it must end Failed) and one whose fifth task fails its first
  attempt and is retried;
- reads back through the Prefect API what the UI shows (bench/_prefect_ui_view.py): flow-run states, the task
  runs of each flow run with names, states, durations and run counts, the run graph, the retried task's
  state history, the stored log lines, the targets of the /ops links, and whether the scheduler created the
  runs of an interval deployment. Task runs and logs are polled until complete (at most ``--wait-s``, or
  until nothing new showed for ``--stall-s``); the lag is reported, and "promptly" means within LAG_OK_S.

The same nine steps as plain coroutines (no Prefect) give the floor for the ratio. Candidates run
``--rounds`` times, interleaved (every other round in the opposite order), with the load average before and
after each run and the CPU the rest of the machine used meanwhile: the machine is shared. The result file is
rewritten after every run; ``--resume`` keeps the finished runs of an interrupted bench with the same
workload and runs only the missing ones. A probe killed by a signal this bench did not send is run again once
(recorded as ``retried_after``).

PostgreSQL (E, G, H) needs a role that may create databases, for example (as root)::

    pg_ctlcluster 15 main start
    su postgres -c "psql -c \\"CREATE ROLE prefect_bench LOGIN CREATEDB PASSWORD 'prefect_bench'\\" \\
                         -c 'CREATE DATABASE prefect_bench OWNER prefect_bench'"

then ``--pg-dsn postgresql://prefect_bench:prefect_bench@127.0.0.1:5432/prefect_bench`` (or GD_BENCH_PG_DSN).
Each run gets a fresh database ``prefect_bench_<candidate>_<round>``, dropped afterwards; without a DSN those
candidates are reported as skipped. GD_BENCH_KEEP=1 keeps the temporary directories (server and probe logs).

Writes bench/results/prefect_visibility.json (``prefect_visibility_quick.json`` with --quick).
"""

from __future__ import annotations

import argparse
import enum
import importlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _prefect_servers import Postgres, ProbeKilled, Server, clean_environ, loadavg, run_probe
from _prefect_turn_probe import STEPS, WORK_MS, ProbeSpec
from _prefect_verdict import LAG_OK_S, median, row, summarise, verdict

RESULTS = Path(__file__).resolve().parent / "results"
RECORDER = "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_ENABLED"
PERSISTER = "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED"
LOGS_TO_API = "PREFECT_LOGGING_TO_API_ENABLED"
BATCH = {
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "50",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL": "1",  # whole seconds: Prefect int()s it
}
COMMON_ENV = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false"}
ON, OFF = "true", "false"


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


PG = Database.POSTGRESQL
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
    Candidate("E", "defaults on PostgreSQL", {RECORDER: ON, PERSISTER: ON, LOGS_TO_API: ON}, database=PG),
    Candidate(
        "F",
        "B + recorder batching (50 events or 1 s) (SQLite)",
        {RECORDER: ON, PERSISTER: OFF, LOGS_TO_API: ON, **BATCH},
    ),
    Candidate("G", "B on PostgreSQL", {RECORDER: ON, PERSISTER: OFF, LOGS_TO_API: ON}, database=PG),
    Candidate("H", "F on PostgreSQL", {RECORDER: ON, PERSISTER: OFF, LOGS_TO_API: ON, **BATCH}, database=PG),
)


@dataclass(frozen=True)
class Workload:
    sequential: int
    concurrent: int
    concurrent_rounds: int
    wait_s: float
    stall_s: float
    phase_deadline_s: float = 240.0


class BenchStopped(BaseException):
    """SIGTERM or the bench's own time limit: stop every child and keep the runs finished so far."""


def hard_limit(seconds: int) -> None:
    def _alarm(_sig: int, _frame: object) -> None:
        raise BenchStopped(f"the bench's limit of {seconds} s was reached (--limit-s)")

    def _term(_sig: int, _frame: object) -> None:
        raise BenchStopped("SIGTERM received")

    signal.signal(signal.SIGALRM, _alarm)
    signal.signal(signal.SIGTERM, _term)
    signal.alarm(seconds)


def _spec(work: Workload, api_url: str, pgid: int | None, *, postgres: bool) -> ProbeSpec:
    return ProbeSpec(
        api_url=api_url,
        sequential_runs=work.sequential,
        concurrent_runs=work.concurrent,
        concurrent_rounds=work.concurrent_rounds,
        wait_s=work.wait_s,
        stall_s=work.stall_s,
        server_pgid=pgid,
        count_postgres_cpu=postgres,
        phase_deadline_s=work.phase_deadline_s,
    )


# -- runs ----------------------------------------------------------------------------------------
def run_plain(work: Workload, tmp: Path, round_no: int) -> dict[str, Any]:
    before = loadavg()
    d = tmp / f"plain-{round_no}"
    d.mkdir(exist_ok=True)
    result = run_probe(_spec(work, "", None, postgres=False), clean_environ(), d, plain=True, timeout_s=300)
    return {"round": round_no, "loadavg_before": before, "loadavg_after": loadavg(), **result}


def run_candidate(c: Candidate, work: Workload, tmp: Path, *, round_no: int, pg: Postgres | None) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix=f"prefect-{c.key}-", dir=tmp))
    db_name = f"prefect_bench_{c.key.lower()}_{round_no}"
    env = {**COMMON_ENV, **c.env}
    if c.database is Database.POSTGRESQL:
        assert pg is not None
        env["PREFECT_API_DATABASE_CONNECTION_URL"] = pg.create(db_name)
    server = Server(c.key, home, env, no_services=c.no_services)
    before, t0 = loadavg(), time.perf_counter()
    log_during: dict[str, Any] = {}
    log_after: dict[str, Any] = {}
    try:
        server.start()
        assert server.proc is not None
        spec = _spec(work, server.api_url, server.proc.pid, postgres=pg is not None and c.database is PG)
        probe = run_probe(spec, server.env(), home, plain=False, timeout_s=1500)
        if not server.alive():
            raise RuntimeError(f"prefect server ({c.key}) died during the run:\n{server.tail()}")
        log_during = server.log_report()
    finally:
        server.stop()
        log_after = server.log_report()
        db_bytes = sum(p.stat().st_size for p in home.glob("prefect.db*"))
        if c.database is PG and pg is not None:
            db_bytes = pg.size(db_name)
            pg.drop(db_name)
        if not os.environ.get("GD_BENCH_KEEP"):
            shutil.rmtree(home, ignore_errors=True)
    result = {
        "round": round_no,
        "loadavg_before": before,
        "loadavg_after": loadavg(),
        "total_s": round(time.perf_counter() - t0, 1),
        "server_start_s": server.start_s,
        "server_log_during_run": log_during,
        "server_log_incl_shutdown": log_after["counts"],
        "db_bytes_after": db_bytes,
        **probe,
    }
    result["verdict"] = verdict(result)
    return result


def attempt(c: Candidate, work: Workload, tmp: Path, *, round_no: int, pg: Postgres | None) -> dict[str, Any]:
    """One run of ``c``; a probe killed from outside is run again once; any other failure is recorded."""
    retried_after = None
    for _ in range(2):
        try:
            result = run_candidate(c, work, tmp, round_no=round_no, pg=pg)
            return {**result, "retried_after": retried_after} if retried_after else result
        except ProbeKilled as exc:
            retried_after = str(exc).splitlines()[0]
        except Exception as exc:  # noqa: BLE001 - one broken candidate must not lose the others
            return {"round": round_no, "error": f"{type(exc).__name__}: {exc}"[:4000]}
    return {"round": round_no, "error": f"killed twice from outside: {retried_after}"}


def recommend(summary: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The cheapest candidate (median sequential p50, then concurrent throughput) that passed every check in
    every run, and the cheapest on SQLite (no extra service to run) separately."""
    by_key = {c.key: c for c in CANDIDATES}
    passing = [k for k, s in summary.items() if s.get("shows_everything")]
    ranked = sorted(passing, key=lambda k: (summary[k]["sequential_p50_ms"], -summary[k]["concurrent_runs_per_s"]))

    def pick(keys: list[str]) -> dict[str, Any] | None:
        if not keys:
            return None
        c = by_key[keys[0]]
        return {"candidate": c.key, "label": c.label, "env": {**COMMON_ENV, **c.env}, "database": c.database.value}

    return {
        "rule": f"every check in every run (task runs and logs within {LAG_OK_S} s), then lowest median sequential p50",
        "ranked_passing": ranked,
        "overall": pick(ranked),
        "sqlite": pick([k for k in ranked if by_key[k].database is Database.SQLITE]),
    }


def supervisor_env_today() -> dict[str, str] | str:
    """The Prefect variables runtime/supervisor._prefect_env sets now (to confirm A is today's). Imported by
    name at run time: the runtime package is being restructured, and this is informational only."""
    try:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        prefect_env = importlib.import_module("runtime.supervisor").prefect_env
        settings_cls = importlib.import_module("services.settings").Settings
        with tempfile.TemporaryDirectory() as var:
            env: dict[str, str] = prefect_env(settings_cls(var_dir=Path(var)))
        return {k: v for k, v in sorted(env.items()) if k not in {"PREFECT_HOME", "PREFECT_API_URL"}}
    except Exception as exc:  # noqa: BLE001 - informational only
        return f"could not read it: {type(exc).__name__}: {exc}"


def _versions(*names: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


# -- main ----------------------------------------------------------------------------------------
def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="Prefect server configurations: task-run and log visibility vs cost.")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--only", default="", help="comma-separated candidate keys (default: all)")
    ap.add_argument("--sequential", type=int, default=30)
    ap.add_argument("--concurrent", type=int, default=16)
    ap.add_argument("--concurrent-rounds", type=int, default=3)
    ap.add_argument("--wait-s", type=float, default=60.0, help="longest wait for task runs and logs to show")
    ap.add_argument("--stall-s", type=float, default=10.0, help="stop waiting after this long without progress")
    ap.add_argument("--pg-dsn", default=os.environ.get("GD_BENCH_PG_DSN", ""))
    ap.add_argument("--resume", action="store_true", help="keep the finished runs of the result file")
    ap.add_argument("--quick", action="store_true", help="1 round, 10 sequential, 1 concurrent round")
    ap.add_argument("--limit-s", type=int, default=3 * 3600, help="hard wall-clock limit of the whole bench")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.sequential, args.concurrent_rounds = 1, 10, 1
    known = {c.key for c in CANDIDATES}
    args.wanted = {k.strip().upper() for k in args.only.split(",") if k.strip()} or known
    if args.wanted - known:
        ap.error(f"--only: unknown candidate(s) {sorted(args.wanted - known)}; known: {sorted(known)}")
    return args


def main() -> int:
    args = _args()
    hard_limit(args.limit_s)
    work = Workload(args.sequential, args.concurrent, args.concurrent_rounds, args.wait_s, args.stall_s)
    path = RESULTS / ("prefect_visibility_quick.json" if args.quick else "prefect_visibility.json")
    pg = Postgres(args.pg_dsn) if args.pg_dsn else None
    chosen = [c for c in CANDIDATES if c.key in args.wanted]
    skipped = {c.key: "no --pg-dsn (or GD_BENCH_PG_DSN) given" for c in chosen if c.database is PG and pg is None}
    chosen = [c for c in chosen if c.key not in skipped]
    runs: dict[str, list[dict[str, Any]]] = {c.key: [] for c in chosen}
    plain: list[dict[str, Any]] = []
    started = datetime.now(UTC).isoformat(timespec="seconds")
    if args.resume and path.exists():
        old = json.loads(path.read_text())
        if old.get("workload", {}).get("probe") == asdict(work):
            started = old.get("started_at", started)
            plain = [p for p in old["plain"]["per_round"] if p["round"] <= args.rounds]
            for key, done in old["runs"].items():
                if key in runs:
                    runs[key] = [r for r in done if "error" not in r and r["round"] <= args.rounds]
    header = {
        "bench": "prefect_visibility",
        "started_at": started,
        "versions": {
            **_versions("prefect", "sqlalchemy", "asyncpg", "uvicorn", "fastapi"),
            "postgresql": pg.version() if pg else None,
        },
        "workload": {"probe": asdict(work), "steps": list(STEPS), "work_ms_per_step": WORK_MS, "rounds": args.rounds},
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
        "lag_ok_s": LAG_OK_S,
    }

    def write(*, complete: bool) -> dict[str, Any]:
        plain_p50 = median([p["sequential"]["wall_ms"]["p50"] for p in plain])
        summary = {
            k: {"label": next(c.label for c in chosen if c.key == k), **summarise(v, plain_p50)}
            for k, v in runs.items()
            if v
        }
        result = {
            **header,
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds") if complete else None,
            "complete": complete,
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "machine": {
                "cpus": os.cpu_count(),
                "loadavg_now": loadavg(),
                "note": "shared 2-core machine; loadavg is (1, 5, 15) min; others_cpu_cores is the CPU the rest of the machine used during a phase",
            },
            "plain": {"sequential_p50_ms": plain_p50, "per_round": plain},
            "summary": summary,
            "recommendation": recommend(summary),
            "runs": runs,
        }
        RESULTS.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2, default=str) + "\n")
        return result

    tmp = Path(tempfile.mkdtemp(prefix="gd-prefect-vis-"))
    try:
        for round_no in range(1, args.rounds + 1):
            if not any(p["round"] == round_no for p in plain):
                plain.append(run_plain(work, tmp, round_no))
            for c in chosen if round_no % 2 else list(reversed(chosen)):
                if any(r["round"] == round_no for r in runs[c.key]):
                    continue
                print(f"round {round_no} {c.key} ({c.label}), load {loadavg()}", flush=True)
                r = attempt(c, work, tmp, round_no=round_no, pg=pg)
                runs[c.key].append(r)
                print(f"  {r['error'][:300]}" if "error" in r else f"  {row(r)}", flush=True)
                write(complete=False)
    except BenchStopped as exc:
        write(complete=False)
        print(f"stopped: {exc}; the finished runs are in {path} (--resume continues)", flush=True)
        return 2
    finally:
        if not os.environ.get("GD_BENCH_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)
    result = write(complete=True)
    for key, s in result["summary"].items():
        print(
            key, {m: s.get(m) for m in ("sequential_p50_ms", "concurrent_runs_per_s", "max_lag_s", "shows_everything")}
        )
    print(f"recommendation: {json.dumps(result['recommendation'])}\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
