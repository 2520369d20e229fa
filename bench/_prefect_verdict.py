"""Verdicts and summaries for bench/prefect_visibility.py: what ops would see in the Prefect UI for one
run (check by check), and per candidate the medians over its runs with the per-run figures beside them."""

from __future__ import annotations

import statistics
from typing import Any

from _prefect_turn_probe import STEPS

__all__ = ["LAG_OK_S", "median", "row", "summarise", "verdict"]

LAG_OK_S = 5.0  # task runs and logs that show later than this after the run ended do not show "promptly"


def verdict(run: dict[str, Any]) -> dict[str, bool]:
    """What ops would see in the Prefect UI for this run, check by check."""
    n = len(STEPS)
    probe, failed, retried, links = run["probe"], run["failed_run"], run["retried_run"], run["ops_links"]
    views = (probe, run["sequential"]["visible"], run["concurrent"]["visible"])

    def shown(what: str, *, within: float = float("inf")) -> bool:
        return all(v.get(f"{what}_lag_s") is not None and v[f"{what}_lag_s"] <= within for v in views)

    return {
        "flow_run_states": probe.get("flow_run_state") == "COMPLETED" and failed.get("flow_run_state") == "FAILED",
        "task_runs_with_state_and_duration": shown("task_runs")
        and probe.get("task_runs_by_state") == {"COMPLETED": n}
        and probe.get("task_run_names_match") is True
        and probe.get("task_runs_with_duration") == n
        and probe.get("graph_nodes") == n,
        "task_runs_show_promptly": shown("task_runs", within=LAG_OK_S),
        "failed_step_shows_failed": failed.get("task_runs_by_state") == {"COMPLETED": 2, "FAILED": 1},
        "retry_shows_run_count_2": run["retried_task"]["run_count"] == 2
        and run["retried_task"]["state"] == "Completed"
        and retried.get("flow_run_state") == "COMPLETED",
        "logs_stored": shown("logs"),
        "logs_show_promptly": shown("logs", within=LAG_OK_S),
        "ops_links_open_the_run": all(
            links.get(k)
            for k in (
                "flow_id_resolves",
                "probe_listed_under_flow",
                "flow_runs_page_html",
                "task_run_search_page_html",
                "flow_run_page_html",
            )
        )
        and links.get("task_run_search_hits") == n,
        "scheduler_creates_runs": run["scheduler"]["scheduled_runs_for_interval_deployment"] > 0,
    }


def median(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return round(statistics.median(kept), 2) if kept else None


def _max(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return max(kept) if kept else None


def row(r: dict[str, Any]) -> dict[str, Any]:
    seq, conc = r["sequential"], r["concurrent"]
    return {
        "round": r["round"],
        "loadavg_before": r["loadavg_before"],
        "loadavg_after": r["loadavg_after"],
        "others_cpu_cores_sequential": seq["others_cpu_cores"],
        "others_cpu_cores_concurrent": conc["others_cpu_cores"],
        "sequential_ms": {"p50": seq["wall_ms"].get("p50"), "p95": seq["wall_ms"].get("p95")},
        "sequential_runs_per_s": seq["runs_per_s"],
        "concurrent_ms": {"p50": conc["wall_ms"].get("p50"), "p95": conc["wall_ms"].get("p95")},
        "concurrent_runs_per_s": conc["runs_per_s"],
        "server_cpu_ms_per_run": {
            "sequential": seq["server_cpu_ms_per_run"],
            "concurrent": conc["server_cpu_ms_per_run"],
        },
        "lag_s": {
            "probe": {"task_runs": r["probe"].get("task_runs_lag_s"), "logs": r["probe"].get("logs_lag_s")},
            "sequential": {"task_runs": seq["visible"]["task_runs_lag_s"], "logs": seq["visible"]["logs_lag_s"]},
            "concurrent": {"task_runs": conc["visible"]["task_runs_lag_s"], "logs": conc["visible"]["logs_lag_s"]},
        },
        "task_runs_recorded_concurrent": f"{conc['visible']['task_runs_recorded']}/{conc['visible']['task_runs_expected']}",
        "api_errors": seq["api_errors"]["count"] + conc["api_errors"]["count"],
        "server_log_during_run": r["server_log_during_run"]["counts"],
        **({"retried_after": r["retried_after"]} if r.get("retried_after") else {}),
    }


def summarise(runs: list[dict[str, Any]], plain_p50: float | None) -> dict[str, Any]:
    ok = [r for r in runs if "error" not in r]
    errors = [r["error"][:600] for r in runs if "error" in r]
    if not ok:
        return {"runs": len(runs), "errors": errors}
    seq, conc = [r["sequential"] for r in ok], [r["concurrent"] for r in ok]
    checks = {k: all(r["verdict"][k] for r in ok) for k in ok[0]["verdict"]}
    p50 = median([s["wall_ms"].get("p50") for s in seq])
    lags = [r[k]["visible"] for r in ok for k in ("sequential", "concurrent")] + [r["probe"] for r in ok]
    return {
        "runs": len(runs),
        "errors": errors,
        "sequential_p50_ms": p50,
        "sequential_p95_ms": median([s["wall_ms"].get("p95") for s in seq]),
        "sequential_runs_per_s": median([s["runs_per_s"] for s in seq]),
        "concurrent_p50_ms": median([c["wall_ms"].get("p50") for c in conc]),
        "concurrent_p95_ms": median([c["wall_ms"].get("p95") for c in conc]),
        "concurrent_runs_per_s": median([c["runs_per_s"] for c in conc]),
        "server_cpu_ms_per_run_sequential": median([s["server_cpu_ms_per_run"] for s in seq]),
        "server_cpu_ms_per_run_concurrent": median([c["server_cpu_ms_per_run"] for c in conc]),
        "postgres_cpu_ms_per_run_sequential": median([s["postgres_cpu_ms_per_run"] for s in seq]),
        "client_cpu_ms_per_run_sequential": median([s["client_cpu_ms_per_run"] for s in seq]),
        "ratio_to_plain_sequential_p50": round(p50 / plain_p50, 1) if p50 and plain_p50 else None,
        "max_lag_s": {
            "task_runs": _max([v.get("task_runs_lag_s") for v in lags]),
            "logs": _max([v.get("logs_lag_s") for v in lags]),
        },
        "api_errors": sum(s["api_errors"]["count"] for s in seq + conc),
        "database_is_locked_in_server_log": sum(
            r["server_log_during_run"]["counts"].get("database is locked", 0) for r in ok
        ),
        "checks": checks,
        "shows_everything": all(checks.values()),
        "per_run": [row(r) for r in ok],
    }
