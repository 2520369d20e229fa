"""A recording SMTP relay (aiosmtpd on 127.0.0.1, its own thread), the local Twilio API and a live web app
that sends one-time codes through both, plus a chat-socket helper that reads the codes back."""

from __future__ import annotations

import contextlib
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from services.settings import Settings
from tests.browser.live_server import LiveServer, live_server
from tests.support.twilio_api import DEFAULT_SID, DEFAULT_TOKEN, LocalTwilioApi, free_port

CODE = re.compile(r"\b(\d{6})\b")
WAIT_S = 10.0


@dataclass
class RecordingRelay:
    """aiosmtpd handler that keeps every message it accepted."""

    messages: list[tuple[tuple[str, ...], EmailMessage]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.messages.append((tuple(envelope.rcpt_tos), parsed))
        return "250 2.0.0 OK queued"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for rcpts, m in self.messages if address.lower() in (r.lower() for r in rcpts)]

    def code_for(self, address: str, *, timeout: float = WAIT_S) -> str:
        """The code in the latest message to ``address`` (waits for it, bounded)."""
        deadline = time.monotonic() + timeout
        while not self.to(address):
            assert time.monotonic() < deadline, f"no message reached {address} within {timeout} s"
            time.sleep(0.02)
        body = self.to(address)[-1].get_body(preferencelist=("plain",))
        assert body is not None
        match = CODE.search(body.get_content())
        assert match is not None, "the message carries no 6-digit code"
        return match.group(1)


@dataclass
class IdentityApp:
    server: LiveServer
    relay: RecordingRelay
    twilio: LocalTwilioApi

    def sms_code_for(self, number: str, *, timeout: float = WAIT_S) -> str:
        deadline = time.monotonic() + timeout
        while not [m for m in self.twilio.messages if m["to"] == number]:
            assert time.monotonic() < deadline, f"no SMS reached {number} within {timeout} s"
            time.sleep(0.02)
        body = [m for m in self.twilio.messages if m["to"] == number][-1]["body"]
        match = CODE.search(body)
        assert match is not None, "the SMS carries no 6-digit code"
        return match.group(1)


@contextlib.contextmanager
def identity_app(var_dir: Path, redis_url: str, *, public_url: str | None = None) -> Iterator[IdentityApp]:
    """The web app wired to a recording relay and the local Twilio API. ``public_url`` None: the app's own URL."""
    relay = RecordingRelay()
    controller = Controller(relay, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        with LocalTwilioApi() as twilio:

            def settings(base: str) -> Settings:
                return Settings(
                    var_dir=var_dir,
                    redis_url=redis_url,
                    public_url=public_url or base,
                    relay_host="127.0.0.1",
                    relay_port=controller.port,
                    relay_starttls=False,
                    email_domain="glassdesk.test",
                    email_from="support@glassdesk.test",
                    twilio_account_sid=DEFAULT_SID,
                    twilio_auth_token=DEFAULT_TOKEN,
                    twilio_api_base=twilio.base_url,
                )

            with live_server(settings) as server:
                yield IdentityApp(server, relay, twilio)
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def id_app(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[IdentityApp]:
    with identity_app(tmp_path_factory.mktemp("identity"), redis_url, public_url="https://shop.example.test") as app:
        yield app


def unique_email() -> str:
    return f"anna.{uuid.uuid4().hex[:10]}@Example.com"


def unique_phone() -> str:
    return "+49151" + str(uuid.uuid4().int)[:8]
