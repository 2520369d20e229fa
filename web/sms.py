"""Twilio webhooks: inbound SMS/MMS and message status callbacks.

Order at the edge: size check, verify the signature (fail closed, 403), parse (400 naming the field),
persist + dedupe + enqueue (:meth:`services.ingest.Ingestor.accept`, one Ingestor per app so concurrent
webhooks share its pipelined Redis round trips; 503 when the store or Redis is down, so Twilio
retries), then acknowledge with empty TwiML. Nothing slow runs in the request. Logs carry
ids and reasons, never the message body or phone numbers.

Status callbacks move the message's delivery status forward only (terminal states stick). When a
callback moves it to delivered, undelivered or failed, one timeline event is added (``delivered`` or
``failed``) and published, so the customer's status page shows it; duplicates and late callbacks add none.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from channels.sms import (
    MAX_WEBHOOK_BYTES,
    SIGNATURE_HEADER,
    InvalidField,
    StatusUpdate,
    WebhookVerifier,
    form_pairs,
    json_params,
    parse_inbound,
    parse_status,
    webhook_url,
)
from conversation import (
    ActorKind,
    DeliveryStatus,
    EventType,
    InboundRejected,
    NotFound,
    OutboxState,
    TimelineEvent,
)
from services.container import Container
from services.ingest import Ingestor
from services.settings import DEV_TWILIO_TOKEN

__all__ = ["router", "INBOUND_PATH", "STATUS_PATH", "EMPTY_TWIML"]

log = logging.getLogger("glassdesk.web.sms")
router = APIRouter(tags=["sms"])

INBOUND_PATH = "/webhooks/twilio/sms"
STATUS_PATH = "/webhooks/twilio/status"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
_FORM = "application/x-www-form-urlencoded"
_JSON = "application/json"
_RECONCILABLE = {OutboxState.PENDING, OutboxState.SENDING, OutboxState.AMBIGUOUS}
_TIMELINE: dict[DeliveryStatus, EventType] = {
    DeliveryStatus.DELIVERED: EventType.DELIVERED,
    DeliveryStatus.UNDELIVERED: EventType.FAILED,
    DeliveryStatus.FAILED: EventType.FAILED,
}


class _Refused(Exception):
    def __init__(self, status: int, text: str) -> None:
        self.status, self.text = status, text


def _count(request: Request, name: str) -> None:
    """In-process counters (``app.state.counters``) for the ops page: e.g. ``webhook_auth_fail``."""
    counters: dict[str, int] = getattr(request.app.state, "counters", None) or {}
    counters[name] = counters.get(name, 0) + 1
    request.app.state.counters = counters


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_WEBHOOK_BYTES):
        raise _Refused(413, f"webhook body larger than {MAX_WEBHOOK_BYTES} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_WEBHOOK_BYTES:
            raise _Refused(413, f"webhook body larger than {MAX_WEBHOOK_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _verified_params(request: Request, services: Container) -> list[tuple[str, str]]:
    """Read, bound and verify the webhook; return its parameters (form pairs or flat JSON)."""
    body = await _read_body(request)
    settings = services.settings
    query = request.scope.get("query_string", b"").decode("latin-1")
    url = webhook_url(settings.public_url, request.scope["path"], query)
    token = settings.twilio_auth_token.get_secret_value()
    client = request.client.host if request.client else ""
    if token == DEV_TWILIO_TOKEN and not (_loopback(settings.public_url) and _loopback_host(client)):
        # The development token is public: on a reachable host anyone could sign webhooks with it.
        log.error(
            "twilio webhook refused: GLASSDESK_TWILIO_AUTH_TOKEN is the development default, which is "
            "accepted only from and for loopback addresses; set the account's real auth token"
        )
        raise _Refused(403, "this server has no Twilio auth token configured")
    verifier = WebhookVerifier(token)
    signature = request.headers.get(SIGNATURE_HEADER)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in (_FORM, _JSON):
        raise _Refused(415, "send application/x-www-form-urlencoded or application/json")
    try:
        if ctype == _JSON:
            verifier.verify_json(url, body, signature)
        else:
            try:
                pairs = form_pairs(body) if signature else []
            except InvalidField as exc:  # an undecodable form body cannot carry a valid signature
                raise InboundRejected("undecodable form body") from exc
            verifier.verify_form(url, pairs, signature)
    except InboundRejected as exc:
        _count(request, "webhook_auth_fail")
        log.warning("twilio webhook %s rejected: %s", request.scope["path"], exc)
        raise _Refused(403, "invalid Twilio signature") from exc
    return pairs if ctype == _FORM else list(json_params(body).items())  # InvalidField -> 400 by the caller


def _loopback(url: str) -> bool:
    return _loopback_host(urlsplit(url).hostname or "")


def _loopback_host(host: str) -> bool:
    return host in {"localhost", "::1"} or host.startswith("127.")


def _ingestor(request: Request, services: Container) -> Ingestor:
    """One Ingestor per app and container, so concurrent webhooks share its coalesced Redis round trips."""
    state = request.app.state
    held: tuple[Container, Ingestor] | None = getattr(state, "sms_ingestor", None)
    if held is None or held[0] is not services:
        held = (services, Ingestor(services))
        state.sms_ingestor = held
    return held[1]


def _plain(status: int, text: str) -> PlainTextResponse:
    return PlainTextResponse(text, status_code=status)


def _twiml() -> Response:
    return Response(EMPTY_TWIML, media_type="text/xml")


async def inbound_sms(request: Request) -> Response:
    services: Container = request.app.state.services
    try:
        inbound = parse_inbound(await _verified_params(request, services))
    except _Refused as exc:
        return _plain(exc.status, exc.text)
    except InvalidField as exc:
        log.info("twilio sms webhook: invalid field %s (%s)", exc.field, exc.problem)
        return _plain(400, f"invalid field {exc.field}: {exc.problem}")
    try:
        result = await _ingestor(request, services).accept(inbound)
    except Exception as exc:  # noqa: BLE001 - store/Redis trouble: 503 so Twilio retries (dedupe makes it safe)
        _count(request, "webhook_store_unavailable")
        log.error("twilio sms %s not stored: %s", inbound.external_id, type(exc).__name__)
        return _plain(503, "temporarily unavailable, retry")
    if not result.created:
        _count(request, "webhook_duplicate")
    return _twiml()


async def status_callback(request: Request) -> Response:
    services: Container = request.app.state.services
    try:
        update = parse_status(await _verified_params(request, services))
    except _Refused as exc:
        return _plain(exc.status, exc.text)
    except InvalidField as exc:
        return _plain(400, f"invalid field {exc.field}: {exc.problem}")
    outbox_id = request.query_params.get("outbox", "")
    try:
        return await _apply_status(services, outbox_id, update.message_sid, update)
    except Exception as exc:  # noqa: BLE001 - store trouble: Twilio may retry the callback
        log.error("twilio status for outbox %s not applied: %s", outbox_id, type(exc).__name__)
        return _plain(503, "temporarily unavailable, retry")


# Plain Starlette routes: the webhooks take the raw request and need none of FastAPI's dependency
# solving or validation, which cost the inbound webhook about a tenth of its CPU (bench/sms_edge.py).
router.add_route(INBOUND_PATH, inbound_sms, methods=["POST"], include_in_schema=False)
router.add_route(STATUS_PATH, status_callback, methods=["POST"], include_in_schema=False)


async def _apply_status(services: Container, outbox_id: str, sid: str, update: StatusUpdate) -> Response:
    if not outbox_id:
        log.warning("twilio status for %s without an outbox id: ignored", sid)
        return _plain(200, "ignored")
    try:
        entry = await services.outbox.get(outbox_id)
    except NotFound:
        log.warning("twilio status for unknown outbox %s (message %s): ignored", outbox_id, sid)
        return _plain(200, "ignored")
    if entry.state in _RECONCILABLE:
        # The provider has the message: a crash between send and commit is settled here, never resent.
        await services.outbox.mark_sent(outbox_id, provider_id=sid)
        log.info("outbox %s reconciled from %s to sent as %s", outbox_id, entry.state.value, sid)
    elif entry.provider_id and entry.provider_id != sid:
        log.warning("twilio status for outbox %s names %s, we hold %s: ignored", outbox_id, sid, entry.provider_id)
        return _plain(200, "ignored")
    if update.status is None:
        log.info("twilio status %r for outbox %s is not one we track: ignored", update.raw_status, outbox_id)
        return _twiml()
    before, final = await services.messages.apply_delivery_status(entry.message_id, update.status)
    log.info("outbox %s: status %s -> %s", outbox_id, update.status.value, final.value)
    kind = _TIMELINE.get(final)
    if kind is not None and final != before:  # only the callback that made the transition records it
        await _record_delivery(services, entry.message_id, kind, final, provider_id=sid)
    return _twiml()


async def _record_delivery(
    services: Container, message_id: str, kind: EventType, status: DeliveryStatus, *, provider_id: str
) -> None:
    message = await services.messages.get_message(message_id)
    causation = message.meta.get("causation_id")
    data = {
        "message_id": message_id,
        "channel": message.channel.value,
        "status": status.value,
        "provider_id": provider_id,
    }
    if kind is EventType.FAILED:
        data["reason"] = f"carrier reported {status.value}"
    event = TimelineEvent(
        conversation_id=message.conversation_id,
        type=kind,
        actor=ActorKind.SYSTEM,
        causation_id=causation if isinstance(causation, str) else None,
        data=data,
    )
    await services.timeline.add_event(event)
    await services.bus.publish(
        message.conversation_id,
        {"event": kind.value, "actor": event.actor.value, **data, "at": event.occurred_at.isoformat()},
    )
