"""The web chat: the embeddable widget (``/chat/widget.js``), a demo shop page and the socket.

``WS /chat/ws`` speaks the JSON frames of :mod:`channels.chat.frames`. Identity is the signed chat
session only: nothing a customer types ever opens another conversation (ChatterMate GHSA-rfh4-6ghv-m2rr).
An email address or phone number is linked only on proof: ``verify_start`` sends a one-time code to it,
``verify_code`` checks it (:mod:`services.identity`).
A message is acknowledged only after :meth:`Ingestor.accept` stored it durably and queued the turn.
Frames larger than ``chat_max_frame_bytes`` close the socket (1009); run uvicorn with ``ws_max_size``
set to the same value so such frames are refused before they are buffered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request, WebSocket
from fastapi.responses import FileResponse, Response
from itsdangerous import BadData, URLSafeTimedSerializer
from pydantic import BaseModel, ConfigDict
from starlette.websockets import WebSocketDisconnect

from channels.chat import (
    AckFrame,
    ChatErrorCode,
    ErrorFrame,
    FrameError,
    HelloFrame,
    HistoryFrame,
    MessageFrame,
    PingFrame,
    PongFrame,
    ReplyFrame,
    SessionFrame,
    SessionSigner,
    VerifyCodeFrame,
    VerifyFrame,
    VerifyStartFrame,
    VerifyState,
    claimed_address,
    code_digits,
    dump_frame,
    history_frame,
    is_visible_to_customer,
    new_chat_session,
    parse_client_frame,
    progress_frame,
    reply_frame,
    ui_language,
)
from conversation import ChannelKind, ChatSession, Conversation, Direction, InboundMessage, Message, NotFound
from services.container import Container
from services.identity import CODE_TTL_S, IdentityVerifier, VerifyOutcome, VerifyResult
from services.ingest import Ingestor
from web.attachments import attachment_response, human_size

__all__ = ["router", "DEMO_CSP", "HELLO_TIMEOUT_S", "MAX_VIOLATIONS", "FLOOD_CLOSE_AFTER"]

log = logging.getLogger("glassdesk.chat")

router = APIRouter()

STATIC = Path(__file__).parent / "static" / "chat"
DEMO_CSP = "default-src 'self'; connect-src 'self' ws: wss:; script-src 'self'; style-src 'self'"
HELLO_TIMEOUT_S = 10.0  # the first frame must be a hello within this time
MAX_VIOLATIONS = 3  # invalid frames (bad JSON, unknown type, binary...) before we close with 1003
FLOOD_CLOSE_AFTER = 5  # rate-limited frames in a row before we close with 1008
WINDOW_S = 60
_ASSET_HEADERS = {"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"}
ATTACHMENT_LINK_MAX_AGE_S = 24 * 3600  # a download link in the widget works this long (a new socket mints new ones)
_ATTACHMENT_SALT = "chat-attachment"


# -- attachments -------------------------------------------------------------------------------------
class AttachmentLink(BaseModel):
    model_config = ConfigDict(frozen=True)

    message_id: str
    id: str
    filename: str
    size: str
    url: str


class AttachmentsFrame(BaseModel):
    """Download links for the files on replies the customer was sent (after ``history`` and ``reply``)."""

    model_config = ConfigDict(frozen=True)

    type: Literal["attachments"] = "attachments"
    items: tuple[AttachmentLink, ...] = ()


async def _link_serializer(state: Any, services: Container) -> URLSafeTimedSerializer:
    """One per app: signs download links with the app's secret key (read once, off the event loop)."""
    serializer = getattr(state, "chat_attachment_links", None)
    if serializer is None:
        key = await asyncio.to_thread(services.settings.secret_key)
        serializer = URLSafeTimedSerializer(key, salt=_ATTACHMENT_SALT)
        state.chat_attachment_links = serializer
    return serializer


def attachment_links(
    serializer: URLSafeTimedSerializer, session: ChatSession, message: Message, *, sending: bool = False
) -> list[AttachmentLink]:
    """Signed links (bound to the chat session and the attachment) for a reply the customer was sent
    (``sending``: the reply is being pushed to the socket right now, before its status is recorded)."""
    if message.direction is not Direction.OUTBOUND or message.meta.get("internal"):
        return []
    if not sending and not is_visible_to_customer(message):
        return []
    return [
        AttachmentLink(
            message_id=message.id,
            id=a.id,
            filename=a.filename,
            size=human_size(a.size),
            url=f"/chat/attachments/{message.id}/{a.id}?t="
            + str(serializer.dumps({"sid": session.session_id, "m": message.id, "a": a.id})),
        )
        for a in message.attachments
    ]


@router.get("/chat/attachments/{message_id}/{attachment_id}", include_in_schema=False)
async def chat_attachment(request: Request, message_id: str, attachment_id: str, t: str = "") -> Response:
    """A file on a reply, for the chat session it was sent to only: the link's signature names the
    session, and the session's contact must own the conversation. Anything else is 404."""
    services: Container = request.app.state.services
    not_found = HTTPException(status_code=404, detail="Not Found")
    serializer = await _link_serializer(request.app.state, services)
    try:
        data = serializer.loads(t[:1024], max_age=ATTACHMENT_LINK_MAX_AGE_S)
    except BadData:
        raise not_found from None
    if not isinstance(data, dict) or data.get("m") != message_id or data.get("a") != attachment_id:
        raise not_found
    try:
        session = ChatSession(session_id=str(data.get("sid")))
        message = await services.messages.get_message(message_id)
        conversation = await services.messages.get_conversation(message.conversation_id)
    except (NotFound, ValueError):
        raise not_found from None
    identity = await services.messages.find_identity(session)
    found = next((a for a in message.attachments if a.id == attachment_id), None)
    if (
        identity is None
        or identity.contact_id != conversation.contact_id
        or conversation.channel is not ChannelKind.CHAT
        or found is None
        or not attachment_links(serializer, session, message)
    ):
        raise not_found
    return await attachment_response(services.blobs, found, max_bytes=services.settings.attachment_max_bytes)


# -- assets ------------------------------------------------------------------------------------------
@router.get("/chat/widget.js", include_in_schema=False)
async def widget_js() -> FileResponse:
    return FileResponse(STATIC / "widget.js", media_type="text/javascript; charset=utf-8", headers=_ASSET_HEADERS)


@router.get("/chat/widget.css", include_in_schema=False)
async def widget_css() -> FileResponse:
    return FileResponse(STATIC / "widget.css", media_type="text/css; charset=utf-8", headers=_ASSET_HEADERS)


@router.get("/chat/demo.css", include_in_schema=False)
async def demo_css() -> FileResponse:
    return FileResponse(STATIC / "demo.css", media_type="text/css; charset=utf-8", headers=_ASSET_HEADERS)


@router.get("/chat/demo", include_in_schema=False)
async def demo_page() -> FileResponse:
    """A plain shop page that embeds the widget with one script tag, under a strict CSP."""
    headers = {
        "Content-Security-Policy": DEMO_CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }
    return FileResponse(STATIC / "demo.html", media_type="text/html; charset=utf-8", headers=headers)


# -- socket ------------------------------------------------------------------------------------------
@router.websocket("/chat/ws")
async def chat_socket(websocket: WebSocket) -> None:
    services: Container = websocket.app.state.services
    signer = services.chat_signer
    await websocket.accept()
    links = await _link_serializer(websocket.app.state, services)
    await ChatConnection(websocket, services, signer, links=links).run()


class _Close(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class ChatConnection:
    """One browser socket: hello -> session (+history), then messages, pings and live pushes."""

    def __init__(
        self,
        websocket: WebSocket,
        services: Container,
        signer: SessionSigner,
        *,
        links: URLSafeTimedSerializer | None = None,
    ) -> None:
        self._ws = websocket
        self._links = links
        self._s = services
        self._signer = signer
        self._ingestor = Ingestor(services)
        self._identity = IdentityVerifier(services)
        self._socket_id = secrets.token_urlsafe(12)
        self._session: ChatSession | None = None
        self._language = "en"
        self._conversation: Conversation | None = None
        self._violations = 0
        self._limited = 0
        self._send_lock = asyncio.Lock()
        self._forwarder: asyncio.Task[None] | None = None

    async def run(self) -> None:
        try:
            await self._receive_loop()
        except _Close as close:
            log.info("chat socket %s closed by us: %s (%s)", self._socket_id, close.code, close.reason)
            await self._close(close.code, close.reason)
        except (WebSocketDisconnect, OSError):  # the browser went away (uvicorn's ClientDisconnected is an OSError)
            pass
        except Exception:
            log.exception("chat socket %s failed", self._socket_id)
            await self._close(1011, "internal error")
        finally:
            await self._stop_forwarder()

    # -- receiving -------------------------------------------------------------------------------------
    async def _receive_loop(self) -> None:
        max_bytes = self._s.settings.chat_max_frame_bytes
        while True:
            try:
                if self._session is None:
                    message = await asyncio.wait_for(self._ws.receive(), HELLO_TIMEOUT_S)
                else:
                    message = await self._ws.receive()
            except TimeoutError:
                raise _Close(1008, "send a hello frame first") from None
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                if len(message.get("bytes") or b"") > max_bytes:
                    raise _Close(1009, f"frames are limited to {max_bytes} bytes")
                await self._violation(ChatErrorCode.BINARY_FRAME, "binary frames are not supported; send JSON text")
                continue
            if (
                len(text) > max_bytes or len(text.encode("utf-8")) > max_bytes
            ):  # also when uvicorn's ws_max_size is larger
                raise _Close(1009, f"frames are limited to {max_bytes} bytes")
            if not await self._within_rate("frames", self._socket_id, limit=4 * self._rate()):
                await self._rate_limited(None)
                continue
            try:
                frame = parse_client_frame(text)
            except FrameError as exc:
                await self._violation(exc.code, exc.message, frame_id=exc.frame_id)
                continue
            match frame:
                case HelloFrame():
                    await self._hello(frame)
                case MessageFrame():
                    await self._message(frame)
                case PingFrame():
                    await self._send(PongFrame())
                case VerifyStartFrame():
                    await self._verify_start(frame)
                case VerifyCodeFrame():
                    await self._verify_code(frame)

    async def _hello(self, frame: HelloFrame) -> None:
        if self._session is not None:
            await self._violation(ChatErrorCode.INVALID_FRAME, "hello was already sent on this socket")
            return
        self._language = ui_language(frame.language)
        session = self._signer.verify(frame.token)
        resumed = session is not None
        self._session = session or new_chat_session()
        conversation = await self._latest_conversation(self._session) if resumed else None
        if conversation is not None:
            self._follow(conversation)
        await self._send_session(resumed=resumed)
        messages = await self._s.messages.list_messages(conversation.id) if conversation is not None else []
        language = conversation.language if conversation is not None and conversation.language else self._language
        await self._send(history_frame(messages, language=language) if messages else HistoryFrame())
        await self._send_attachments(messages)

    async def _message(self, frame: MessageFrame) -> None:
        session = self._session
        if session is None:
            await self._violation(ChatErrorCode.HELLO_REQUIRED, "send a hello frame first", frame_id=frame.external_id)
            return
        rate = self._rate()
        if not (
            await self._within_rate("sock", self._socket_id, limit=rate)
            and await self._within_rate("sess", session.session_id, limit=rate)
        ):
            await self._rate_limited(frame.external_id)
            return
        self._limited = 0
        inbound = InboundMessage(
            channel=ChannelKind.CHAT,
            external_id=frame.external_id,
            address=session,
            text=frame.text,
            meta={"ui_language": self._language},
        )
        try:
            result = await self._ingestor.accept(inbound)
        except Exception:
            log.exception("chat socket %s could not store a message", self._socket_id)
            await self._send(
                ErrorFrame(
                    code=ChatErrorCode.UNAVAILABLE,
                    id=frame.external_id,
                    message="the message was not stored; resend it with the same id",
                )
            )
            return
        conversation = result.conversation
        if not result.created and not await self._owns(session, conversation):
            # A UUID some other session already used: never hand out (or follow) its conversation.
            await self._send(
                ErrorFrame(
                    code=ChatErrorCode.ID_CONFLICT,
                    id=frame.external_id,
                    message="this message id is already taken; send the message with a new UUID",
                )
            )
            return
        await self._send(AckFrame(id=frame.external_id, message_id=result.message.id, duplicate=not result.created))
        if self._conversation is None or self._conversation.id != conversation.id:
            self._follow(conversation)
            await self._send_session(resumed=False)

    # -- linking an email address or phone number (one-time code) --------------------------------------
    async def _verify_target(self) -> Conversation | None:
        if self._session is None:
            await self._violation(ChatErrorCode.HELLO_REQUIRED, "send a hello frame first")
            return None
        if self._conversation is None:
            await self._send(
                ErrorFrame(
                    code=ChatErrorCode.CONVERSATION_REQUIRED,
                    message="send a message first; then link your email address or phone number",
                )
            )
            return None
        return self._conversation

    async def _verify_start(self, frame: VerifyStartFrame) -> None:
        conversation = await self._verify_target()
        if conversation is None:
            return
        try:
            address = claimed_address(frame.address)
        except FrameError as exc:  # a typo, not a protocol violation
            await self._send(ErrorFrame(code=exc.code, message=exc.message))
            return
        language = conversation.language or self._language
        try:
            result = await self._identity.start(conversation.id, address, language=language)
        except Exception:
            log.exception("chat socket %s could not start a verification", self._socket_id)
            await self._send(ErrorFrame(code=ChatErrorCode.UNAVAILABLE, message="please try again in a moment"))
            return
        await self._verify_result(result)

    async def _verify_code(self, frame: VerifyCodeFrame) -> None:
        conversation = await self._verify_target()
        if conversation is None:
            return
        try:
            code = code_digits(frame.code)
        except FrameError as exc:
            await self._send(ErrorFrame(code=exc.code, message=exc.message))
            return
        try:
            result = await self._identity.confirm(conversation.id, code)
        except Exception:
            log.exception("chat socket %s could not check a verification code", self._socket_id)
            await self._send(ErrorFrame(code=ChatErrorCode.UNAVAILABLE, message="please try again in a moment"))
            return
        if result.outcome is VerifyOutcome.VERIFIED:
            # the conversation may now belong to the contact that owned the address
            self._conversation = await self._s.messages.get_conversation(conversation.id)
        await self._verify_result(result)

    async def _verify_result(self, result: VerifyResult) -> None:
        kind = "phone" if result.kind == "phone" else "email"
        match result.outcome:
            case VerifyOutcome.CODE_SENT:
                await self._send(VerifyFrame(state=VerifyState.CODE_SENT, kind=kind, expires_in=CODE_TTL_S))
            case VerifyOutcome.VERIFIED:
                await self._send(VerifyFrame(state=VerifyState.VERIFIED, kind=kind))
            case VerifyOutcome.WRONG_CODE:
                left = result.attempts_left or 0
                await self._send(
                    ErrorFrame(
                        code=ChatErrorCode.WRONG_CODE,
                        message=f"that code is not right; {left} attempt{'s' if left != 1 else ''} left",
                    )
                )
            case VerifyOutcome.LOCKED:
                await self._send(
                    ErrorFrame(
                        code=ChatErrorCode.CODE_LOCKED, message="too many wrong codes; ask for a new code in 10 minutes"
                    )
                )
            case VerifyOutcome.NO_CODE:
                await self._send(
                    ErrorFrame(
                        code=ChatErrorCode.NO_CODE,
                        message="no code is waiting (it expired or was used); ask for a new one",
                    )
                )
            case VerifyOutcome.RATE_LIMITED:
                await self._send(
                    ErrorFrame(
                        code=ChatErrorCode.VERIFY_LIMITED, message="too many codes were asked for; wait a few minutes"
                    )
                )
            case VerifyOutcome.SEND_FAILED:
                await self._send(
                    ErrorFrame(
                        code=ChatErrorCode.SEND_FAILED,
                        message=f"the code could not be sent to that {kind}; check it and try again",
                    )
                )

    # -- limits ----------------------------------------------------------------------------------------
    def _rate(self) -> int:
        return max(1, self._s.settings.chat_rate_per_minute)

    async def _within_rate(self, scope: str, key: str, *, limit: int) -> bool:
        return await self._s.limiter.allow(f"chat:{scope}:{key}", limit=limit, window_s=WINDOW_S)

    async def _rate_limited(self, frame_id: str | None) -> None:
        self._limited += 1
        if self._limited > FLOOD_CLOSE_AFTER:
            raise _Close(1008, "rate limit exceeded")
        await self._send(
            ErrorFrame(
                code=ChatErrorCode.RATE_LIMITED,
                id=frame_id,
                message="too many messages; wait a minute and resend with the same id",
            )
        )

    async def _violation(self, code: ChatErrorCode, message: str, *, frame_id: str | None = None) -> None:
        self._violations += 1
        await self._send(ErrorFrame(code=code, message=message, id=frame_id))
        if self._violations >= MAX_VIOLATIONS:
            raise _Close(1003, "too many invalid frames")

    # -- identity --------------------------------------------------------------------------------------
    async def _latest_conversation(self, session: ChatSession) -> Conversation | None:
        """The session's most recent chat conversation (the one its next message joins)."""
        return await self._s.messages.find_conversation_by_address(session, channel=ChannelKind.CHAT)

    async def _owns(self, session: ChatSession, conversation: Conversation) -> bool:
        identity = await self._s.messages.find_identity(session)
        return identity is not None and identity.contact_id == conversation.contact_id

    async def _send_session(self, *, resumed: bool) -> None:
        assert self._session is not None
        conv = self._conversation
        status_url = f"{self._s.settings.public_url.rstrip('/')}/status/{conv.status_token}" if conv else None
        await self._send(
            SessionFrame(
                token=self._signer.issue(self._session),
                conversation_id=conv.id if conv else None,
                status_url=status_url,
                resumed=resumed,
            )
        )

    # -- live pushes -----------------------------------------------------------------------------------
    def _follow(self, conversation: Conversation) -> None:
        """Forward this conversation's live events (progress) and chat replies to the socket."""
        self._conversation = conversation
        if self._forwarder is not None:
            self._forwarder.cancel()
        self._forwarder = asyncio.create_task(self._forward(conversation.id), name=f"chat-forward-{self._socket_id}")

    async def _forward(self, conversation_id: str) -> None:
        backoff = 0.5
        while True:
            try:
                async for payload in self._s.bus.subscribe(conversation_id):
                    backoff = 0.5
                    if payload.get("conversation_id", conversation_id) != conversation_id:
                        continue
                    language = self._conversation.language if self._conversation else None
                    frame = reply_frame(payload) or progress_frame(payload, language=language or self._language)
                    if frame is None:
                        continue
                    try:
                        await self._send(frame)
                        if isinstance(frame, ReplyFrame):
                            reply = await self._s.messages.get_message(frame.message_id)
                            await self._send_attachments([reply], sending=True)
                    except NotFound:
                        continue
                    except Exception:  # noqa: BLE001 - the socket is gone; the receive loop ends it
                        return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "chat socket %s lost its live subscription (%s); retrying in %.1f s",
                    self._socket_id,
                    type(exc).__name__,
                    backoff,
                )
                log.debug("live subscription error", exc_info=True)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 15.0)

    async def _stop_forwarder(self) -> None:
        task, self._forwarder = self._forwarder, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # -- sending ---------------------------------------------------------------------------------------
    async def _send_attachments(self, messages: list[Message], *, sending: bool = False) -> None:
        """Download links for the files on these messages, when any (signed for this session)."""
        if self._links is None or self._session is None:
            return
        session = self._session
        items = [link for m in messages for link in attachment_links(self._links, session, m, sending=sending)]
        if items:
            await self._send(AttachmentsFrame(items=tuple(items)))

    async def _send(self, frame: BaseModel) -> None:
        async with self._send_lock:
            await self._ws.send_text(dump_frame(frame))

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            async with self._send_lock:
                await self._ws.close(code=code, reason=reason)
