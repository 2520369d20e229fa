"""Our own inbound SMTP server (aiosmtpd >= 1.4.6), started inside the caller's asyncio loop.

The server answers ``250`` only after the caller's durable persist callback has returned (R1). If
the callback raises, it answers ``451 4.3.0`` so the sending MTA retries. Hostile content is not
judged here: the raw bytes are passed through and the callback quarantines them.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import ssl
import weakref
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from pydantic import BaseModel, ConfigDict, Field

from conversation.errors import ServiceUnavailable

__all__ = ["InboundCallback", "RunningSmtpServer", "SmtpLimits", "start_smtp_server"]

log = logging.getLogger(__name__)

InboundCallback = Callable[[str, list[str], bytes], Awaitable[object]]

_MiB = 1024 * 1024
_IDENT = "Glassdesk ESMTP"


class SmtpLimits(BaseModel):
    """Bounds for one SMTP server (R8). Defaults suit an MX-style port."""

    model_config = ConfigDict(frozen=True)

    data_size_limit: int = Field(default=25 * _MiB, gt=0)
    idle_timeout: float = Field(default=60.0, gt=0)
    session_deadline: float = Field(default=300.0, gt=0)
    max_recipients: int = Field(default=50, gt=0)
    max_messages_per_session: int = Field(default=20, gt=0)
    callback_timeout: float = Field(default=60.0, gt=0)
    command_call_limit: Mapping[str, int] = Field(
        default_factory=lambda: {"RCPT": 100, "NOOP": 10, "RSET": 20, "*": 100}
    )


class _Handler:
    """aiosmtpd handler: recipient cap, message cap, persist-then-250."""

    def __init__(self, callback: InboundCallback, limits: SmtpLimits) -> None:
        self._callback = callback
        self._limits = limits
        # messages begun per session (a STARTTLS upgrade starts a new session, as RFC 3207 asks)
        self._messages: weakref.WeakKeyDictionary[Session, int] = weakref.WeakKeyDictionary()

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        count = self._messages.get(session, 0)
        if count >= self._limits.max_messages_per_session:
            transport = server.transport
            if transport is not None:
                server.loop.call_soon(transport.close)  # 421 means: we close the connection
            return "421 4.7.0 Too many messages in this session, reconnect to send more"
        self._messages[session] = count + 1
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= self._limits.max_recipients:
            return f"452 4.5.3 Too many recipients (limit {self._limits.max_recipients})"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", errors="surrogateescape")
        try:
            result = await asyncio.wait_for(
                self._callback(envelope.mail_from or "", list(envelope.rcpt_tos), bytes(raw)),
                timeout=self._limits.callback_timeout,
            )
        except ServiceUnavailable as exc:
            log.warning("inbound persist failed temporarily: %s", type(exc).__name__)
            return "451 4.3.0 Temporary failure storing the message, please retry later"
        except Exception as exc:  # noqa: BLE001 - not stored means the sender must retry (R1)
            log.error("inbound persist failed: %s", type(exc).__name__)
            return "451 4.3.0 Temporary failure storing the message, please retry later"
        if isinstance(result, str) and result.isprintable() and 0 < len(result) <= 100:
            return f"250 2.0.0 OK queued as {result}"
        return "250 2.0.0 OK"

    async def handle_exception(self, error: Exception) -> str:
        log.error("SMTP session error: %s", type(error).__name__)
        return "451 4.3.0 Internal error, please retry later"


class _Authenticator:
    """Checks LOGIN/PLAIN credentials; a failure returns a proper 535 (``handled=False``).

    aiosmtpd's ``AuthResult`` defaults to ``handled=True``, which sends *no* reply on failure and
    leaves the client waiting until it times out; this is the trap noted in MEASURED.md.
    """

    def __init__(self, users: Mapping[str, str]) -> None:
        self._users = {u.encode("utf-8"): p.encode("utf-8") for u, p in users.items()}

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        expected = self._users.get(auth_data.login)
        # Compare against a dummy when the user is unknown, so timing does not reveal users.
        ok = hmac.compare_digest(expected or b"\x00" * 32, auth_data.password) and expected is not None
        if ok:
            return AuthResult(success=True, auth_data=auth_data.login)
        return AuthResult(success=False, handled=False)


class RunningSmtpServer:
    """A listening SMTP server. ``close()`` stops listening and ends open sessions."""

    def __init__(self, server: asyncio.Server, sessions: weakref.WeakSet[SMTP]) -> None:
        self._server = server
        self._sessions = sessions

    @property
    def port(self) -> int:
        """The bound TCP port (useful when started with ``port=0``)."""
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def host(self) -> str:
        return str(self._server.sockets[0].getsockname()[0])

    def close(self) -> None:
        self._server.close()
        for session in list(self._sessions):
            transport = session.transport
            if transport is not None and not transport.is_closing():
                transport.close()

    async def wait_closed(self) -> None:
        await self._server.wait_closed()

    async def aclose(self) -> None:
        self.close()
        await self.wait_closed()


def _expire(protocol: SMTP) -> None:
    """Session wall-clock deadline: the idle timeout is re-armed by every command, this is not."""
    transport = protocol.transport
    if transport is None or transport.is_closing():
        return
    log.info("SMTP session deadline reached, closing")
    try:
        if isinstance(transport, asyncio.WriteTransport):  # a TCP or TLS connection always is
            transport.write(b"421 4.4.2 Session time limit exceeded, closing connection\r\n")
    finally:
        transport.close()


async def start_smtp_server(
    *,
    host: str,
    port: int,
    handler_callback: InboundCallback,
    limits: SmtpLimits,
    tls_context: ssl.SSLContext | None = None,
    require_starttls: bool = False,
    auth_users: dict[str, str] | None = None,
    allow_plaintext_auth: bool = False,
    hostname: str = "localhost",
) -> RunningSmtpServer:
    """Start an SMTP server on ``host:port`` in the running loop and return it.

    ``handler_callback(envelope_from, rcpt_tos, raw)`` must durably persist ``raw``; ``250`` is
    sent only after it returns. ``auth_users`` turns on mandatory AUTH (PLAIN/LOGIN); AUTH is only
    offered over TLS unless ``allow_plaintext_auth`` (tests, loopback only).
    """
    if require_starttls and tls_context is None:
        raise ValueError("require_starttls=True needs a tls_context (load your certificate first)")
    if auth_users is not None and tls_context is None and not allow_plaintext_auth:
        raise ValueError(
            "auth_users without tls_context would send passwords in clear text; pass a tls_context "
            "or set allow_plaintext_auth=True for loopback tests"
        )
    loop = asyncio.get_running_loop()
    handler = _Handler(handler_callback, limits)
    authenticator = _Authenticator(auth_users) if auth_users is not None else None
    sessions: weakref.WeakSet[SMTP] = weakref.WeakSet()

    def factory() -> SMTP:
        protocol = SMTP(
            handler,
            data_size_limit=limits.data_size_limit,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=hostname,
            ident=_IDENT,
            tls_context=tls_context,
            require_starttls=require_starttls,
            timeout=limits.idle_timeout,
            auth_required=auth_users is not None,
            auth_require_tls=not allow_plaintext_auth,
            authenticator=authenticator,
            command_call_limit=dict(limits.command_call_limit),
            loop=loop,
        )
        sessions.add(protocol)
        loop.call_later(limits.session_deadline, _expire, protocol)
        return protocol

    server = await loop.create_server(factory, host=host, port=port)
    return RunningSmtpServer(server, sessions)
