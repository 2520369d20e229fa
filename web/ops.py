"""The live ops dashboard (ops and admin): turn queue, human queues, throughput, automation and
handoff rates, latency, SLA breaches, failures, dead letters, quarantine, links into Prefect, and the
day's outcomes (first-response and resolution time, automation rate on customer-confirmed
resolutions, CSAT per queue and per agent, handoff reasons; ``services.ops_outcomes``).

- ``GET /ops``              the page
- ``GET /api/ops/metrics``  one JSON snapshot (ids and counts only)
- ``GET /api/ops/events``   server-sent events: a fresh snapshot whenever anything happens on the
                            live bus (at most one push per second) and every ``REFRESH_S`` anyway
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, StreamingResponse

from services.container import Container
from services.ops_metrics import PrefectLinks, ops_snapshot
from services.timefmt import TimeFormatter, local_times
from web.auth import Role, Staff, require
from web.pages import render

__all__ = ["router", "MIN_PUSH_INTERVAL_S", "REFRESH_S"]

log = logging.getLogger("glassdesk.web.ops")
router = APIRouter(tags=["ops"])

MIN_PUSH_INTERVAL_S = 1.0  # throttle: at most one push per second, however busy the bus is
REFRESH_S = 15.0  # a push even when nothing happened (SLA clocks run on their own)
_TICK_S = 0.5  # how often the stream notices a client that went away
_ops = require(Role.OPS)


def _links(request: Request) -> PrefectLinks:
    links = getattr(request.app.state, "ops_prefect_links", None)
    if links is None:
        links = PrefectLinks(request.app.state.settings)
        request.app.state.ops_prefect_links = links
    return links


async def _snapshot(request: Request) -> dict[str, Any]:
    services: Container = request.app.state.services
    snapshot = await ops_snapshot(
        services, links=_links(request), counters=dict(getattr(request.app.state, "counters", None) or {})
    )
    fmt = TimeFormatter.for_zone(request.app.state.settings.timezone)
    # the page shows times in the operator's zone: {ISO time: "2026-12-02 14:05 CET"}
    return {**snapshot, "local_times": local_times(snapshot, fmt), "timezone": fmt.name}


@router.get("/ops", response_class=HTMLResponse)
async def ops_page(request: Request, staff: Staff = Depends(_ops)) -> HTMLResponse:
    links = _links(request)
    return render(
        request,
        "ops.html",
        staff,
        title="Operations",
        prefect_ui=links.ui_url,
        flow_runs_url=links.flow_runs(await links.flow_id()),
    )


_MESSAGE_ID = re.compile(r"msg_[A-Za-z0-9_-]{6,40}")


@router.get("/ops/prefect/turns/{message_id}", response_model=None)
async def prefect_run_of_turn(
    request: Request, message_id: str, staff: Staff = Depends(_ops)
) -> RedirectResponse | JSONResponse:
    """Open the turn's own task run in Prefect (its steps nested under it, its state Failed when the
    turn failed); for a turn run by the per-batch design, its flow run; while Prefect cannot say
    (down, or the run is not recorded yet), the UI's task-run search for the message id."""
    if not _MESSAGE_ID.fullmatch(message_id):
        return JSONResponse(
            {"detail": f"'{message_id[:60]}' is not a message id; use the id shown on /ops (msg_…)"}, status_code=400
        )
    links = _links(request)
    if turn_run_id := await links.turn_run_of(message_id):
        return RedirectResponse(links.task_run(turn_run_id), status_code=303)
    flow_run_id = await links.flow_run_of(message_id)
    target = links.flow_run(flow_run_id) if flow_run_id else links.task_runs_of(message_id)
    return RedirectResponse(target, status_code=303)


@router.get("/api/ops/metrics")
async def ops_metrics(request: Request, staff: Staff = Depends(_ops)) -> dict[str, Any]:
    return await _snapshot(request)


@router.get("/api/ops/events")
async def ops_events(request: Request, staff: Staff = Depends(_ops)) -> StreamingResponse:
    services: Container = request.app.state.services

    async def stream() -> AsyncIterator[bytes]:
        dirty = asyncio.Event()

        async def watch() -> None:
            async for _payload in services.bus.subscribe(None):
                dirty.set()

        watcher = asyncio.create_task(watch())
        try:
            yield b"retry: 3000\n\n"
            last_push = 0.0
            while True:
                now = time.monotonic()
                due = now - last_push >= REFRESH_S or (dirty.is_set() and now - last_push >= MIN_PUSH_INTERVAL_S)
                if due:
                    dirty.clear()
                    last_push = now
                    try:
                        data = await _snapshot(request)
                    except Exception as exc:  # noqa: BLE001 - a failed refresh must not end the stream
                        log.warning("ops snapshot failed: %s", type(exc).__name__)
                        yield b": snapshot failed, retrying\n\n"
                    else:
                        yield f"data: {json.dumps(data, separators=(',', ':'))}\n\n".encode()
                if watcher.done():  # Redis hiccup: subscribe again (at most once per tick)
                    error = None if watcher.cancelled() else watcher.exception()
                    log.warning("ops live bus subscription ended (%s); subscribing again", type(error).__name__)
                    watcher = asyncio.create_task(watch())
                if dirty.is_set():  # something happened, but the throttle holds the push back a little
                    await asyncio.sleep(min(_TICK_S, max(0.0, MIN_PUSH_INTERVAL_S - (time.monotonic() - last_push))))
                else:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(dirty.wait(), timeout=_TICK_S)
                if await request.is_disconnected():
                    break
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watcher

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
