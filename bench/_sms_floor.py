"""The floor for the SMS webhook benchmark (``bench/sms_edge.py``): the least a correct Twilio edge does.

    uvicorn --factory bench._sms_floor:create_floor_app

POST /webhooks/twilio/sms: read the body (64 KiB cap), parse the form, check X-Twilio-Signature with
twilio's ``RequestValidator`` against the configured public URL (403 when missing or wrong), dedupe on
MessageSid with Redis ``SET NX``, ``XADD`` the message to a stream, answer empty TwiML (503 when Redis
is down). No SQL, no models, no middleware: what any SMS edge must pay at the least.

Configuration from the environment: ``FLOOR_REDIS_URL``, ``FLOOR_PUBLIC_URL`` (scheme://host:port as
Twilio signs it), ``FLOOR_TWILIO_TOKEN``. Stream ``floor:in``, dedupe keys ``floor:seen:<sid>``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qsl

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

PATH = "/webhooks/twilio/sms"
STREAM = "floor:in"
SEEN = "floor:seen:"
MAX_BYTES = 64 * 1024
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def create_floor_app() -> Starlette:
    redis_url = os.environ["FLOOR_REDIS_URL"]
    url = os.environ["FLOOR_PUBLIC_URL"].rstrip("/") + PATH
    validator = RequestValidator(os.environ["FLOOR_TWILIO_TOKEN"])
    state: dict[str, aioredis.Redis] = {}

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        state["r"] = aioredis.Redis.from_url(redis_url)
        yield
        await state["r"].aclose()

    async def inbound(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BYTES:
            return PlainTextResponse("too large", status_code=413)
        signature = request.headers.get("x-twilio-signature")
        try:
            params = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=200))
        except (UnicodeDecodeError, ValueError):
            return PlainTextResponse("invalid Twilio signature", status_code=403)
        if not signature or not validator.validate(url, params, signature):
            return PlainTextResponse("invalid Twilio signature", status_code=403)
        sid = params.get("MessageSid", "")
        if not sid:
            return PlainTextResponse("invalid field MessageSid: missing", status_code=400)
        r = state["r"]
        try:
            if await r.set(SEEN + sid, "1", nx=True, ex=7 * 24 * 3600):
                try:
                    await r.xadd(STREAM, {"sid": sid, "from": params.get("From", ""), "body": params.get("Body", "")})
                except (RedisError, OSError):
                    await r.delete(SEEN + sid)  # so Twilio's retry is not taken for a duplicate
                    raise
        except (RedisError, OSError):
            return PlainTextResponse("temporarily unavailable, retry", status_code=503)
        return Response(EMPTY_TWIML, media_type="text/xml")

    return Starlette(routes=[Route(PATH, inbound, methods=["POST"])], lifespan=lifespan)
