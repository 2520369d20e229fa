"""A whole Glassdesk for one scripted day, on 127.0.0.1: the web app (uvicorn), its inbound SMTP server,
the real ``glassdesk worker`` body (``runtime.serve_worker``: turn worker and reconciler) in a thread
of its own, as a separate process would be, a recording SMTP relay and a local Twilio REST endpoint.

Customers reach it the way they do in production: chat in the widget (the test's browser), SMS as a
signed Twilio webhook over HTTP, email over SMTP. The stack uses its own Redis database, so turns
left on the stream by other modules never reach this worker."""

from __future__ import annotations

import asyncio
import contextlib
import smtplib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from channels.email import SmtpLimits, start_smtp_server
from devtools.demo import load_demo
from runtime.serve_worker import serve_worker
from services.email_ingest import EmailIngest
from services.settings import Settings
from tests.browser.live_server import LiveServer, live_server
from tests.integration.web.test_inbox_actions import RecordingRelay, recording_relay
from tests.support.staff import STAFF, create_staff, forget_login_attempts
from tests.support.twilio_api import DEFAULT_SID, DEFAULT_TOKEN, LocalTwilioApi, twilio_signature

__all__ = ["DayStack", "day_stack", "own_redis_db"]

SUPPORT_ADDRESS = "support@glassdesk.local"


def own_redis_db(redis_url: str, db: int) -> str:
    return f"{redis_url}{'&' if '?' in redis_url else '?'}db={db}"


@dataclass
class DayStack:
    server: LiveServer
    relay: RecordingRelay
    twilio: LocalTwilioApi
    smtp_port: int
    worker_errors: list[BaseException]

    # -- customers on SMS and email ------------------------------------------------------------------------
    def sms(self, number: str, text: str) -> str:
        """A signed inbound Twilio webhook over real HTTP; returns the MessageSid."""
        settings = self.server.settings
        form = {
            "AccountSid": settings.twilio_account_sid,
            "ApiVersion": "2010-04-01",
            "From": number,
            "To": settings.twilio_from_number,
            "Body": text,
            "MessageSid": "SM" + uuid.uuid4().hex,
            "NumMedia": "0",
            "NumSegments": "1",
            "SmsStatus": "received",
        }
        url = settings.public_url + "/webhooks/twilio/sms"
        r = httpx.post(
            url,
            content=urlencode(form).encode(),
            timeout=10,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": twilio_signature(DEFAULT_TOKEN, url, form),
            },
        )
        assert r.status_code == 200, r.text
        return form["MessageSid"]

    def email(self, sender: str, subject: str, text: str, *, in_reply_to: str | None = None) -> str:
        """One email to Glassdesk's own SMTP server; returns its Message-ID."""
        msg = EmailMessage()
        msg["From"] = sender
        msg["To"] = SUPPORT_ADDRESS
        msg["Subject"] = subject
        msg["Message-ID"] = f"<{uuid.uuid4()}@mail.example.com>"
        if in_reply_to:
            msg["In-Reply-To"] = in_reply_to
            msg["References"] = in_reply_to
        msg.set_content(text)
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=10) as smtp:
            smtp.send_message(msg)
        return str(msg["Message-ID"])

    def sms_to(self, number: str) -> list[str]:
        return [m["body"] for m in self.twilio.messages if m["to"] == number]

    def mail_to(self, address: str) -> list[Any]:
        return [m for m in self.relay.received() if address in str(m["To"]).lower()]


def wait_until(check: Callable[[], Any], *, timeout: float, what: str, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f} s waiting for {what}"
        time.sleep(every)


@contextlib.contextmanager
def _worker_thread(settings: Settings) -> Iterator[list[BaseException]]:
    """``glassdesk worker`` in its own thread and event loop, with its own container."""
    errors: list[BaseException] = []
    ready: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    async def main() -> None:
        stop = asyncio.Event()
        ready.append((asyncio.get_running_loop(), stop))
        await serve_worker(settings, stop)

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)

    thread = threading.Thread(target=run, name="day-worker", daemon=True)
    thread.start()
    wait_until(lambda: ready or errors, timeout=30, what="the worker to start")
    try:
        yield errors
    finally:
        if ready:
            loop, stop = ready[0]
            loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)


@contextlib.contextmanager
def day_stack(redis_url: str, var_dir: Path, *, agents: tuple[str, ...] = ("agent2",)) -> Iterator[DayStack]:
    """Demo data (back office, knowledge, intent model, default policy), then web, SMTP and worker."""
    with recording_relay() as (relay, relay_port), LocalTwilioApi() as twilio:

        def settings(base: str) -> Settings:
            return Settings(
                var_dir=var_dir,
                redis_url=redis_url,
                public_url=base,
                relay_port=relay_port,
                twilio_api_base=twilio.base_url,
                twilio_account_sid=DEFAULT_SID,
                twilio_auth_token=DEFAULT_TOKEN,
                turn_orchestration="plain",  # the worker's own steps, without a Prefect server (see the test)
                business_hours="mon-sun 00:00-24:00",  # handoff notices must not depend on the clock
                log_level="WARNING",
            )

        probe = settings("http://127.0.0.1:1")
        asyncio.run(load_demo(probe))
        asyncio.run(_flush(probe))
        with live_server(settings) as server:
            for username, role in STAFF:
                create_staff(server, username, role)
            for username in agents:
                create_staff(server, username, "agent")
            forget_login_attempts(server)
            running = server.call(
                lambda s: start_smtp_server(
                    host="127.0.0.1", port=0, handler_callback=EmailIngest(s), limits=SmtpLimits()
                )
            )
            try:
                with _worker_thread(server.settings) as errors:
                    yield DayStack(server, relay, twilio, running.port, errors)
            finally:
                server.call(lambda s: running.aclose())
                server.call(lambda s: s.redis.flushdb())


async def _flush(settings: Settings) -> None:
    from conversation.rediskit import connect_redis

    client = connect_redis(settings.redis_url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()
