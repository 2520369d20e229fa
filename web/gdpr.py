"""Data-subject rights for admins: export a contact, erase one with a second admin's approval, legal holds.
Admins only (anyone else gets the same 404 as a missing route); writes need the session's CSRF token.

- ``GET  /api/gdpr/contacts/{contact_id}/export``          the Art. 15/20 JSON document (attachments inline)
- ``GET  /api/gdpr/erasure-requests``                      requests and receipts (pseudonyms and counts only)
- ``POST /api/gdpr/erasure-requests``                      ``{contact_id}`` -> 201, a request waiting for approval
- ``POST /api/gdpr/erasure-requests/{request_id}/approve`` ``{claims_checked_by?}``: a *different* admin; 200 done,
  409 blocked by a legal hold (the reasons) or refused (same admin, wrong state), 503 a store failed (approve again)
- ``POST /api/gdpr/erasure-requests/{request_id}/reject``  ``{reason}``
- ``POST /api/gdpr/contacts/{contact_id}/holds``           ``{reason}`` -> 201, a legal hold
- ``POST /api/gdpr/holds/{hold_id}/release``               ``{}``
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from conversation.errors import NotFound, VersionConflict
from conversation.sql.receipts import ReceiptStatus, SqlErasureReceipts, SqlLegalHolds
from services.container import Container
from services.gdpr_erase import Eraser, ErasureRefused
from services.gdpr_export import build_export
from services.gdpr_prefect import PrefectRestRuns
from web.auth import Role, Staff, require, require_write
from web.bodies import read_capped

__all__ = ["router"]

router = APIRouter(tags=["gdpr"])

_admin = require(Role.ADMIN)
_admin_write = require_write(Role.ADMIN)
_ID = {"contact": r"ct_[A-Za-z0-9]{8,64}", "request": r"er_[A-Za-z0-9]{8,64}", "hold": r"lh_[A-Za-z0-9]{8,64}"}
_MAX_BODY = 4096


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErasureIn(_Body):
    contact_id: str = Field(pattern=_ID["contact"])


class ApproveIn(_Body):
    claims_checked_by: str | None = Field(None, min_length=1, max_length=64)


class RejectIn(_Body):
    reason: str = Field(min_length=1, max_length=500)


class HoldIn(_Body):
    reason: str = Field(min_length=1, max_length=255)


class EmptyIn(_Body):
    pass


def _id(kind: str, value: str) -> str:
    if not re.fullmatch(_ID[kind], value):
        raise HTTPException(status_code=404, detail="Not Found")
    return value


async def _read(request: Request, model: type[_Body]) -> Any:
    """The JSON body, parsed after the role check (a forbidden caller never learns the route exists)."""
    try:
        raw = await read_capped(request, _MAX_BODY)
        return model.model_validate_json(raw or b"{}")
    except HTTPException as exc:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
    except ValidationError as exc:
        detail = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors(include_url=False, include_input=False)]
        return JSONResponse({"detail": detail}, status_code=422)


def _services(request: Request) -> Container:
    services: Container = request.app.state.services
    return services


@router.get("/api/gdpr/contacts/{contact_id}/export")
async def export_contact(request: Request, contact_id: str, staff: Staff = Depends(_admin)) -> Any:
    services = _services(request)
    try:
        doc, _ = await build_export(services, _id("contact", contact_id))
    except NotFound:
        raise HTTPException(status_code=404, detail="Not Found") from None
    await services.audit.record(actor=staff.username, action="gdpr.exported", object_id=doc.contact_id, data={})
    return JSONResponse(
        doc.model_dump(mode="json"),
        headers={
            "Content-Disposition": f'attachment; filename="export-{doc.contact_id}.json"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/api/gdpr/erasure-requests")
async def list_requests(request: Request, staff: Staff = Depends(_admin)) -> dict[str, Any]:
    receipts = await SqlErasureReceipts(_services(request).db).list(limit=200)
    return {"requests": [r.public() for r in receipts]}


@router.post("/api/gdpr/erasure-requests", status_code=201)
async def request_erasure(request: Request, staff: Staff = Depends(_admin_write)) -> Any:
    body = await _read(request, ErasureIn)
    if isinstance(body, JSONResponse):
        return body
    services = _services(request)
    runs = await PrefectRestRuns.from_settings(services.settings)
    try:
        receipt = await Eraser(services, runs=runs).request(body.contact_id, requested_by=staff.username)
    except NotFound:
        return JSONResponse({"detail": f"contact {body.contact_id} does not exist"}, status_code=404)
    finally:
        await runs.aclose()
    await services.audit.record(actor=staff.username, action="gdpr.erasure_requested", object_id=receipt.id, data={})
    return JSONResponse({"request": receipt.public()}, status_code=201)


@router.post("/api/gdpr/erasure-requests/{request_id}/approve")
async def approve_erasure(request: Request, request_id: str, staff: Staff = Depends(_admin_write)) -> Any:
    body = await _read(request, ApproveIn)
    if isinstance(body, JSONResponse):
        return body
    services = _services(request)
    runs = await PrefectRestRuns.from_settings(services.settings)
    try:
        outcome = await Eraser(services, runs=runs).approve(
            _id("request", request_id), approved_by=staff.username, claims_checked_by=body.claims_checked_by
        )
    except NotFound:
        return JSONResponse({"detail": f"erasure request {request_id} does not exist"}, status_code=404)
    except (ErasureRefused, VersionConflict) as exc:
        return JSONResponse({"detail": f"not approved: {exc}"}, status_code=409)
    finally:
        await runs.aclose()
    status = outcome.receipt.status if outcome.receipt else ReceiptStatus.FAILED
    code = {ReceiptStatus.COMPLETED: 200, ReceiptStatus.BLOCKED: 409}.get(status, 503)
    return JSONResponse(outcome.public(), status_code=code)


@router.post("/api/gdpr/erasure-requests/{request_id}/reject")
async def reject_erasure(request: Request, request_id: str, staff: Staff = Depends(_admin_write)) -> Any:
    body = await _read(request, RejectIn)
    if isinstance(body, JSONResponse):
        return body
    services = _services(request)
    runs = await PrefectRestRuns.from_settings(services.settings)
    try:
        receipt = await Eraser(services, runs=runs).reject(
            _id("request", request_id), rejected_by=staff.username, reason=body.reason
        )
    except NotFound:
        return JSONResponse({"detail": f"erasure request {request_id} does not exist"}, status_code=404)
    except (ErasureRefused, VersionConflict) as exc:
        return JSONResponse({"detail": f"not rejected: {exc}"}, status_code=409)
    finally:
        await runs.aclose()
    return {"request": receipt.public()}


@router.post("/api/gdpr/contacts/{contact_id}/holds", status_code=201)
async def place_hold(request: Request, contact_id: str, staff: Staff = Depends(_admin_write)) -> Any:
    body = await _read(request, HoldIn)
    if isinstance(body, JSONResponse):
        return body
    services = _services(request)
    try:
        hold = await SqlLegalHolds(services.db).place(
            _id("contact", contact_id), reason=body.reason, placed_by=staff.username
        )
    except NotFound:
        return JSONResponse({"detail": f"contact {contact_id} does not exist"}, status_code=404)
    except ValueError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=422)
    await services.audit.record(actor=staff.username, action="gdpr.hold_placed", object_id=hold.id, data={})
    return JSONResponse({"hold": {"id": hold.id, "placed_at": hold.placed_at.isoformat()}}, status_code=201)


@router.post("/api/gdpr/holds/{hold_id}/release")
async def release_hold(request: Request, hold_id: str, staff: Staff = Depends(_admin_write)) -> Any:
    body = await _read(request, EmptyIn)
    if isinstance(body, JSONResponse):
        return body
    services = _services(request)
    try:
        await SqlLegalHolds(services.db).release(_id("hold", hold_id), released_by=staff.username)
    except NotFound:
        return JSONResponse({"detail": f"no active legal hold {hold_id}"}, status_code=404)
    await services.audit.record(actor=staff.username, action="gdpr.hold_released", object_id=hold_id, data={})
    return {"released": hold_id}
