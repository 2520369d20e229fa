"""Outbound SMS through Twilio's async REST client (wrapped, never subclassed).

Body layout (documented choice): the AI disclosure line first when ``ai_generated`` (visible in lock
screen previews), then the reply text, then the status link on its own line. When the body exceeds
``max_segments``, only the reply text is shortened (see :func:`channels.sms.segments.render_sms`).

The one subclass of a twilio class is :class:`LocalApiHttpClient`, the test/development transport
that points the SDK at a local Twilio-compatible endpoint; production needs no setting.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import quote

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from channels.sms.errors import SendOutcomeUnknown, SmsPermanentError, SmsTransientError
from channels.sms.segments import RenderedSms, render_sms
from conversation.addresses import PhoneAddress
from conversation.disclosure import ai_disclosure
from conversation.enums import ChannelKind
from conversation.models import OutboundMessage

__all__ = [
    "SmsSenderConfig",
    "TwilioSmsSender",
    "FakeSmsSender",
    "LocalApiHttpClient",
    "render_outbound",
    "status_callback_url",
]

log = logging.getLogger("glassdesk.sms")

TWILIO_API = "https://api.twilio.com"
STATUS_PATH = "/webhooks/twilio/status"


class SmsSenderConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    account_sid: str = Field(min_length=2)
    auth_token: SecretStr
    from_number: str
    public_url: str
    max_segments: int = Field(10, ge=1, le=50)
    api_base: str | None = None  # development/tests only: a local Twilio-compatible endpoint
    timeout_s: float = Field(15.0, gt=0)


class LocalApiHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]  # twilio ships no py.typed: its classes are Any
    """Twilio's async HTTP client, with ``https://api.twilio.com`` rewritten to ``base_url``."""

    def __init__(self, base_url: str, *, timeout: float | None = None) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")

    async def request(  # the signature of AsyncTwilioHttpClient.request (twilio 9)
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        if url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        return await super().request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )


def status_callback_url(public_url: str, outbox_id: str) -> str:
    return f"{public_url.rstrip('/')}{STATUS_PATH}?outbox={quote(outbox_id, safe='')}"


def render_outbound(msg: OutboundMessage, *, max_segments: int) -> RenderedSms:
    """The SMS text for a channel-neutral reply: disclosure (if AI), text, status link."""
    return render_sms(
        msg.text,
        disclosure=ai_disclosure(msg.language, approved_by=msg.approved_by) if msg.ai_generated else None,
        link=msg.status_url,
        max_segments=max_segments,
    )


class TwilioSmsSender:
    """``await sender.send(msg)`` -> the MessageSid. Create and close it inside the event loop
    (``async with TwilioSmsSender(cfg) as sender``, or call :meth:`aclose`)."""

    def __init__(self, config: SmsSenderConfig) -> None:
        self._cfg = config
        self._http: AsyncTwilioHttpClient | None = None
        self._client: Client | None = None

    @property
    def channel(self) -> ChannelKind:
        return ChannelKind.SMS

    @property
    def delivered_on_send(self) -> bool:
        return False  # Twilio's status callback reports delivery later

    @property
    def resend_is_harmless(self) -> bool:
        return False  # a second SMS is a second SMS

    def _twilio(self) -> Client:
        if self._client is None:  # aiohttp wants its session made inside a running loop
            cfg = self._cfg
            self._http = (
                LocalApiHttpClient(cfg.api_base, timeout=cfg.timeout_s)
                if cfg.api_base
                else AsyncTwilioHttpClient(timeout=cfg.timeout_s)
            )
            self._client = Client(cfg.account_sid, cfg.auth_token.get_secret_value(), http_client=self._http)
        return self._client

    async def send(self, msg: OutboundMessage) -> str:
        if msg.channel is not ChannelKind.SMS or not isinstance(msg.to, PhoneAddress):
            raise SmsPermanentError(f"message {msg.message_id} is not addressed to a phone number")
        try:
            rendered = render_outbound(msg, max_segments=self._cfg.max_segments)
        except ValueError as exc:
            raise SmsPermanentError(f"message {msg.message_id}: {exc}") from exc
        try:
            # twilio's async client ignores its own timeout setting: bound the whole call here.
            async with asyncio.timeout(self._cfg.timeout_s):
                created = await self._twilio().messages.create_async(
                    to=msg.to.number,
                    from_=self._cfg.from_number,
                    body=rendered.body,
                    status_callback=status_callback_url(self._cfg.public_url, msg.outbox_id),
                )
        except TwilioRestException as exc:
            raise _translate(exc, msg.message_id) from exc
        except aiohttp.ClientConnectorError as exc:  # never connected: nothing was sent
            raise SmsTransientError(f"Twilio unreachable for message {msg.message_id}: {exc}") from exc
        except (TimeoutError, aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError) as exc:
            raise SendOutcomeUnknown(
                f"Twilio did not answer for message {msg.message_id} ({type(exc).__name__}); it may have been sent"
            ) from exc
        except aiohttp.ClientError as exc:
            raise SendOutcomeUnknown(f"Twilio request for message {msg.message_id} broke: {exc}") from exc
        except TwilioException as exc:  # e.g. an unparsable answer: the request did reach Twilio
            raise SendOutcomeUnknown(f"Twilio answer for message {msg.message_id} unusable: {exc}") from exc
        log.info(
            "sms %s sent as %s (%s, %d segment(s)%s)",
            msg.message_id,
            created.sid,
            rendered.info.encoding.value,
            rendered.info.segments,
            ", shortened" if rendered.truncated else "",
        )
        return str(created.sid)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
            self._client = None

    async def __aenter__(self) -> TwilioSmsSender:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _translate(exc: TwilioRestException, message_id: str) -> Exception:
    text = f"Twilio refused message {message_id}: HTTP {exc.status}, error {exc.code}: {exc.msg}"
    if exc.status == 429 or exc.status >= 500:
        return SmsTransientError(text, status=exc.status, code=exc.code)
    return SmsPermanentError(text, status=exc.status, code=exc.code)


class FakeSmsSender:
    """Renders like :class:`TwilioSmsSender` and records the SMS bodies instead of calling Twilio.
    ``fail_with`` makes the next sends raise (consumed one per send; ``None`` entries succeed)."""

    def __init__(self, *, max_segments: int = 10, fail_with: list[Exception | None] | None = None) -> None:
        self._max_segments = max_segments
        self.sent: list[tuple[str, RenderedSms]] = []
        self.fail_with = list(fail_with or [])

    @property
    def channel(self) -> ChannelKind:
        return ChannelKind.SMS

    @property
    def delivered_on_send(self) -> bool:
        return False

    @property
    def resend_is_harmless(self) -> bool:
        return False

    async def send(self, msg: OutboundMessage) -> str:
        if msg.channel is not ChannelKind.SMS or not isinstance(msg.to, PhoneAddress):
            raise SmsPermanentError(f"message {msg.message_id} is not addressed to a phone number")
        rendered = render_outbound(msg, max_segments=self._max_segments)
        if self.fail_with:
            error = self.fail_with.pop(0)
            if error is not None:
                raise error
        self.sent.append((msg.to.number, rendered))
        return f"SM{len(self.sent):032d}"

    async def aclose(self) -> None:
        return None
