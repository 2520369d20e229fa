"""The customer's status page: the real steps taken on their request, live, in their language.

Only events that happened are shown; each says whether an AI or a person did it. The token is the
conversation's unguessable status token; a wrong token gets the same 404 as a missing one. The page
names the ticket number (``GD-10042``) the customer can quote, and shows every time in the operator's
zone with its abbreviation (``GLASSDESK_TIMEZONE``).

Below the steps taken, the next step and when it is expected (``services.customer_next_step``: the SLA
due of the timer that counts, in business hours), refreshed after every live step
(``GET /status/{token}/next``)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse

from conversation import ActorKind, ChannelKind, EventType, TimelineEvent
from conversation.sql.desk import ticket_label
from conversation.sql.desk_store import DeskStore
from knowledge.drafting.checked import describe_checked
from services.container import Container
from services.customer_next_step import next_step
from services.email_verification import EmailVerification, NotAnEmailConversation
from services.identity import VerifyOutcome
from services.timefmt import TimeFormatter
from web.bodies import read_capped
from web.pages import SECURITY_HEADERS, templates

__all__ = ["router", "describe_event"]

router = APIRouter()

_LABELS: dict[str, dict[EventType, str]] = {
    "en": {
        EventType.RECEIVED: "We received your message",
        EventType.UNDERSTOOD: "Your request was read and classified",
        EventType.LOOKED_UP: "Your data was looked up in our systems",
        EventType.DECIDED: "The next step was decided by our routing rules",
        EventType.DRAFTED: "A reply was drafted",
        EventType.AWAITING_AGENT: "A person is checking the reply before it is sent",
        EventType.APPROVED: "A person approved the reply",
        EventType.REJECTED: "A person rejected the draft and will answer personally",
        EventType.SENT: "A reply was sent to you",
        EventType.HANDED_OFF: "Your request was passed to a person on our team",
        EventType.TAKEN_OVER: "A person took over your request",
        EventType.HANDED_BACK: "Your request was handed back to the assistant",
        EventType.FAILED: "A message could not be delivered; a person on our team can see this",
        EventType.DELIVERED: "The reply was delivered to you",
        EventType.IDENTITY_VERIFIED: "You confirmed your email address or phone number with a code",
    },
    "de": {
        EventType.RECEIVED: "Ihre Nachricht ist bei uns eingegangen",
        EventType.UNDERSTOOD: "Ihr Anliegen wurde gelesen und eingeordnet",
        EventType.LOOKED_UP: "Ihre Daten wurden in unseren Systemen nachgeschlagen",
        EventType.DECIDED: "Der nächste Schritt wurde nach unseren Regeln festgelegt",
        EventType.DRAFTED: "Eine Antwort wurde entworfen",
        EventType.AWAITING_AGENT: "Ein Mensch prüft die Antwort, bevor sie versendet wird",
        EventType.APPROVED: "Ein Mensch hat die Antwort freigegeben",
        EventType.REJECTED: "Ein Mensch hat den Entwurf verworfen und antwortet persönlich",
        EventType.SENT: "Eine Antwort wurde an Sie gesendet",
        EventType.HANDED_OFF: "Ihr Anliegen wurde an einen Menschen aus unserem Team übergeben",
        EventType.TAKEN_OVER: "Ein Mensch hat Ihr Anliegen übernommen",
        EventType.HANDED_BACK: "Ihr Anliegen wurde an den Assistenten zurückgegeben",
        EventType.FAILED: "Eine Nachricht konnte nicht zugestellt werden; unser Team sieht das",
        EventType.DELIVERED: "Die Antwort wurde Ihnen zugestellt",
        EventType.IDENTITY_VERIFIED: "Sie haben Ihre E-Mail-Adresse oder Telefonnummer mit einem Code bestätigt",
    },
}
_WHO = {
    "en": {ActorKind.AI: "AI assistant", ActorKind.HUMAN: "Person", ActorKind.SYSTEM: "System"},
    "de": {ActorKind.AI: "KI-Assistent", ActorKind.HUMAN: "Mensch", ActorKind.SYSTEM: "System"},
}
_HIDDEN = {EventType.NOTE_ADDED, EventType.QUARANTINED, EventType.DELIVERY_UPDATED}


def _lang(language: str | None) -> str:
    return language if language in _LABELS else "en"


def describe_event(
    event: TimelineEvent, language: str | None, fmt: TimeFormatter | None = None
) -> dict[str, Any] | None:
    lang = _lang(language)
    if event.type in _HIDDEN:
        return None
    clock = fmt or TimeFormatter.for_zone("UTC")
    details = []
    if event.type is EventType.LOOKED_UP:
        details = [describe_checked(item, lang) for item in event.data.get("checked") or [] if isinstance(item, dict)]
    return {
        "step": event.type.value,
        "label": _LABELS[lang].get(event.type, event.type.value),
        "details": details,
        "who": _WHO[lang][event.actor],
        "actor": event.actor.value,
        "at": event.occurred_at.isoformat(),
        "when": clock.clock(event.occurred_at),
    }


def _clock(request: Request) -> TimeFormatter:
    return TimeFormatter.for_zone(request.app.state.settings.timezone)


async def _conversation(request: Request, token: str) -> Any:
    services: Container = request.app.state.services
    conv = await services.messages.find_conversation(status_token=token) if len(token) < 100 else None
    if conv is None:
        raise HTTPException(status_code=404, detail="Not found")
    return services, conv


@router.get("/status/{token}", response_class=HTMLResponse)
async def status_page(request: Request, token: str) -> HTMLResponse:
    services, conv = await _conversation(request, token)
    lang = _lang(conv.language)
    fmt = _clock(request)
    steps = [d for e in await services.timeline.list_events(conv.id) if (d := describe_event(e, lang, fmt))]
    ticket = ticket_label(await DeskStore(services.db).ticket_number(conv.id))
    verify = await _verify_state(services, conv)
    upcoming = await next_step(services, conv, language=lang, fmt=fmt)
    html = templates.get_template("status.html").render(
        lang=lang,
        steps=steps,
        next_step=upcoming,
        status=conv.status.value,
        token=token,
        verify=verify,
        verify_text=_VERIFY[lang],
        title="Stand Ihrer Anfrage" if lang == "de" else "Status of your request",
        ticket=ticket,
        ticket_line=(
            f"Ihre Vorgangsnummer: {ticket}. Bitte geben Sie sie an, wenn Sie uns schreiben."
            if lang == "de"
            else f"Your ticket number: {ticket}. Please quote it when you write to us."
        )
        if ticket
        else "",
        zone_line=(f"Alle Zeiten in {fmt.name}." if lang == "de" else f"All times in {fmt.name}."),
        intro=(
            "Hier sehen Sie jeden Schritt, der an Ihrer Anfrage wirklich getan wurde."
            if lang == "de"
            else "Every step that was really taken on your request is listed here."
        ),
        human=(
            "Sie möchten mit einem Menschen sprechen? Antworten Sie einfach mit „Mensch“."
            if lang == "de"
            else 'Want a person? Just reply "agent".'
        ),
    )
    return HTMLResponse(html, headers=SECURITY_HEADERS)


@router.get("/status/{token}/next")
async def status_next(request: Request, token: str) -> JSONResponse:
    """The next step and when it is expected (the page asks again after each live step)."""
    services, conv = await _conversation(request, token)
    upcoming = await next_step(services, conv, language=_lang(conv.language), fmt=_clock(request))
    return JSONResponse(upcoming.as_json(), headers=_NO_STORE)


# -- email verification: the sender proves they read the mailbox ---------------------------------------
_VERIFY = {
    "en": {
        "why": "Confirm your email address so we can look up your orders, contracts and claims for you. "
        "Until then we answer only from our general help articles.",
        "send": "Email me a code",
        "code": "Code from the email",
        "confirm": "Confirm",
        "done": "Your email address is confirmed.",
        "code_sent": "We emailed you a 6-digit code. It is valid for 10 minutes.",
        "verified": "Thank you: your email address is confirmed.",
        "wrong_code": "That code is not right. Attempts left: {left}.",
        "locked": "Too many wrong codes. Wait 10 minutes and ask for a new one.",
        "no_code": "There is no valid code. Ask for a new one.",
        "rate_limited": "Too many codes were sent. Please try again later.",
        "send_failed": "We could not send the email. Please try again later.",
    },
    "de": {
        "why": "Bestätigen Sie Ihre E-Mail-Adresse, damit wir Ihre Bestellungen, Verträge und Schäden für Sie "
        "nachschlagen können. Bis dahin antworten wir nur aus unseren allgemeinen Hilfeartikeln.",
        "send": "Code per E-Mail senden",
        "code": "Code aus der E-Mail",
        "confirm": "Bestätigen",
        "done": "Ihre E-Mail-Adresse ist bestätigt.",
        "code_sent": "Wir haben Ihnen einen 6-stelligen Code geschickt. Er ist 10 Minuten gültig.",
        "verified": "Danke: Ihre E-Mail-Adresse ist bestätigt.",
        "wrong_code": "Dieser Code stimmt nicht. Verbleibende Versuche: {left}.",
        "locked": "Zu viele falsche Codes. Warten Sie 10 Minuten und fordern Sie einen neuen an.",
        "no_code": "Es gibt keinen gültigen Code. Fordern Sie einen neuen an.",
        "rate_limited": "Es wurden zu viele Codes gesendet. Bitte versuchen Sie es später erneut.",
        "send_failed": "Die E-Mail konnte nicht gesendet werden. Bitte versuchen Sie es später erneut.",
    },
}


async def _verify_state(services: Container, conv: Any) -> str:
    """ "": not an email conversation; "verified"; "unverified" (the page offers a code)."""
    if conv.channel is not ChannelKind.EMAIL:
        return ""
    try:
        return "verified" if await EmailVerification(services).is_verified(conv) else "unverified"
    except NotAnEmailConversation:
        return ""


def _verify_answer(outcome: VerifyOutcome, lang: str, *, left: int | None) -> JSONResponse:
    ok = outcome in (VerifyOutcome.CODE_SENT, VerifyOutcome.VERIFIED)
    text = _VERIFY[lang][outcome.value].format(left=left if left is not None else 0)
    return JSONResponse(
        {"ok": ok, "outcome": outcome.value, "detail": text}, status_code=200 if ok else 409, headers=_NO_STORE
    )


_NO_STORE = {"Cache-Control": "no-store"}


@router.post("/status/{token}/verify")
async def status_verify_send(request: Request, token: str) -> JSONResponse:
    """Email the conversation's own address a code (whoever asks: only the mailbox owner reads it)."""
    services, conv = await _conversation(request, token)
    try:
        result = await EmailVerification(services).start(conv.id)
    except NotAnEmailConversation:
        raise HTTPException(status_code=404, detail="Not found") from None
    return _verify_answer(result.outcome, _lang(conv.language), left=result.attempts_left)


@router.post("/status/{token}/verify/confirm")
async def status_verify_confirm(request: Request, token: str) -> JSONResponse:
    services, conv = await _conversation(request, token)
    raw = await read_capped(request, 1024)
    try:
        code = str(json.loads(raw or b"{}").get("code", ""))[:20]
    except (json.JSONDecodeError, AttributeError):
        raise HTTPException(status_code=422, detail='send JSON {"code": "123456"}') from None
    if conv.channel is not ChannelKind.EMAIL:
        raise HTTPException(status_code=404, detail="Not found")
    result = await EmailVerification(services).confirm(conv.id, code)
    return _verify_answer(result.outcome, _lang(conv.language), left=result.attempts_left)


# live payloads that change the next step without being a step of their own (the agent desk's)
_NEXT_STEP_CHANGES = frozenset({"desk_state_changed", "moved", "assigned"})


@router.get("/status/{token}/events")
async def status_events(request: Request, token: str) -> StreamingResponse:
    """Server-sent events: each new timeline step as it happens."""
    services, conv = await _conversation(request, token)
    lang = _lang(conv.language)
    fmt = _clock(request)

    async def stream() -> AsyncIterator[bytes]:
        yield b": connected\n\n"
        async for payload in services.bus.subscribe(conv.id):
            if await request.is_disconnected():
                break
            if payload.get("event") in _NEXT_STEP_CHANGES:
                yield b"event: next\ndata: {}\n\n"  # the page asks /next again; nothing else is passed on
                continue
            try:
                kind = EventType(payload.get("event", ""))
                actor = ActorKind(payload.get("actor", "system"))
            except ValueError:
                continue  # chat frames and other live payloads are not timeline steps
            checked = payload.get("checked") if kind is EventType.LOOKED_UP else None
            data = {"checked": checked} if isinstance(checked, list) else {}
            event = TimelineEvent(conversation_id=conv.id, type=kind, actor=actor, data=data)
            described = describe_event(event, lang, fmt)
            if described:
                at = payload.get("at")
                if isinstance(at, str):
                    described["at"], described["when"] = at, fmt.clock_iso(at) or described["when"]
                yield f"data: {json.dumps(described)}\n\n".encode()

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
