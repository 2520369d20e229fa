"""The fairness audit page (ops and admin): the latest archived report of `glassdesk audit fairness`
or the `fairness-audit` flow, read from var/fairness/.

- ``GET /ops/fairness``      the page
- ``GET /api/ops/fairness``  the same report as JSON (404 while there is none)
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse

from services.fairness import FairnessReport, latest_report, report_dir
from services.settings import Settings
from web.auth import Role, Staff, require
from web.pages import render

__all__ = ["router"]

router = APIRouter(tags=["ops"])
_ops = require(Role.OPS)


async def _latest(request: Request) -> FairnessReport | None:
    settings: Settings = request.app.state.settings
    return await asyncio.to_thread(latest_report, report_dir(settings))


@router.get("/ops/fairness", response_class=HTMLResponse)
async def fairness_page(request: Request, staff: Staff = Depends(_ops)) -> HTMLResponse:
    return render(request, "ops_fairness.html", staff, title="Fairness audit", report=await _latest(request))


@router.get("/api/ops/fairness")
async def fairness_report(request: Request, staff: Staff = Depends(_ops)) -> dict[str, Any]:
    report = await _latest(request)
    if report is None:
        raise HTTPException(status_code=404, detail="no fairness report yet; run `glassdesk audit fairness`")
    return report.model_dump(mode="json")
