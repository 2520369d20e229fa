"""A development Twilio: the Messages API on 127.0.0.1, so `make run` sends SMS with no account.

- ``POST /2010-04-01/Accounts/{sid}/Messages.json`` with basic auth (the configured SID and token)
  stores the message as JSON under ``var/sms/`` and answers 201 with a Message resource, like Twilio.
- It then posts the signed status callbacks Twilio would (``sent``, then ``delivered``) to the
  ``StatusCallback`` URL, so the status page and the outbox see the whole life of a reply.

Started by ``glassdesk run`` only while the Twilio token is the development default and no
``GLASSDESK_TWILIO_API_BASE`` is set. Never in production: it sends nothing anywhere.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
import time
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from services.settings import DEV_TWILIO_TOKEN, Settings

__all__ = ["build_sms_sink", "sms_sink_wanted", "sms_sink_url"]

log = logging.getLogger("glassdesk.smssink")


def sms_sink_wanted(settings: Settings) -> bool:
    return settings.twilio_api_base is None and settings.twilio_auth_token.get_secret_value() == DEV_TWILIO_TOKEN


def sms_sink_url(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings.sms_sink_port}"


def _error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse(
        {"code": code, "message": message, "status": status, "more_info": f"https://www.twilio.com/docs/errors/{code}"},
        status_code=status,
    )


def build_sms_sink(settings: Settings, *, folder: Path) -> Starlette:
    sid = settings.twilio_account_sid
    token = settings.twilio_auth_token.get_secret_value()
    folder.mkdir(parents=True, exist_ok=True)
    background: set[asyncio.Task[None]] = set()

    def authorised(request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return secrets.compare_digest(user, sid) and secrets.compare_digest(password, token)

    async def create(request: Request) -> JSONResponse:
        if not authorised(request) or request.path_params["account"] != sid:
            return _error(401, 20003, "Authenticate")
        form = {k: str(v) for k, v in (await request.form()).items()}
        if not form.get("To", "").startswith("+") or not form.get("Body"):
            return _error(400, 21211, "The 'To' number is not a valid phone number, or the Body is empty.")
        message_sid = "SM" + secrets.token_hex(16)
        now = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
        resource: dict[str, Any] = {
            "sid": message_sid,
            "account_sid": sid,
            "to": form["To"],
            "from": form.get("From"),
            "body": form["Body"],
            "status": "queued",
            "num_segments": "1",
            "direction": "outbound-api",
            "date_created": now,
            "date_updated": now,
            "error_code": None,
            "error_message": None,
            "uri": f"/2010-04-01/Accounts/{sid}/Messages/{message_sid}.json",
        }
        path = folder / f"{time.strftime('%Y%m%dT%H%M%S')}-{message_sid}.json"
        await asyncio.to_thread(
            path.write_text,
            json.dumps({**resource, "status_callback": form.get("StatusCallback")}, ensure_ascii=False, indent=2),
        )
        if form.get("StatusCallback"):
            task = asyncio.create_task(_callbacks(form["StatusCallback"], message_sid, form, token))
            background.add(task)
            task.add_done_callback(background.discard)
        return JSONResponse(resource, status_code=201)

    return Starlette(routes=[Route("/2010-04-01/Accounts/{account}/Messages.json", create, methods=["POST"])])


async def _callbacks(url: str, message_sid: str, form: dict[str, str], token: str) -> None:
    """Twilio's status callbacks, signed with the account's token, in order: sent, delivered."""
    validator = RequestValidator(token)
    async with httpx.AsyncClient(timeout=5) as client:
        for status in ("sent", "delivered"):
            await asyncio.sleep(0.3)
            params = {
                "MessageSid": message_sid,
                "MessageStatus": status,
                "SmsStatus": status,
                "To": form.get("To", ""),
                "From": form.get("From", ""),
                "AccountSid": form.get("AccountSid", ""),
            }
            params = {k: v for k, v in params.items() if v}
            signature = validator.compute_signature(url, params)
            try:
                await client.post(url, data=params, headers={"X-Twilio-Signature": signature})
            except httpx.HTTPError as exc:
                log.warning("status callback %s for a development SMS failed: %s", status, type(exc).__name__)
                return
