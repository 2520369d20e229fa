"""Customer traffic for the fault suite: SMS (signed Twilio webhooks), email (SMTP to ``glassdesk
smtp``) and chat (WS ``/chat/ws``), in German, English and seven other languages, some asking for a
person.

Every client behaves like the real sender does when our edge is away: Twilio-style webhooks and the
SMTP client retry the same message (same MessageSid / Message-ID) on 5xx, 4xx and refused
connections; the chat client resends the same UUID after an ``unavailable`` error or a dropped socket.
A message counts as **accepted** when our edge acknowledged it (HTTP 200, SMTP 250, chat ``ack``).

Every customer message comes from its own address (phone number, email address, chat session), so
each message is its own conversation and the replies at the sinks map to it by address.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import random
import secrets
import time
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from channels.sms import sign_webhook
from services.settings import DEV_TWILIO_TOKEN

__all__ = ["Channel", "Utterance", "CATALOGUE", "CustomerMessage", "plan_messages", "Traffic", "TrafficTargets"]

SMS_PATH = "/webhooks/twilio/sms"
ACCOUNT_SID = "AC" + "0" * 32  # Settings.twilio_account_sid default
OUR_NUMBER = "+15005550006"  # Settings.twilio_from_number default
SUPPORT_ADDRESS = "support@glassdesk.local"


@enum.unique
class Channel(enum.StrEnum):
    SMS = "sms"
    EMAIL = "email"
    CHAT = "chat"


@dataclass(frozen=True, slots=True)
class Utterance:
    language: str
    text: str
    wants_person: bool = False


# Written for this suite. de/en questions the default policy answers by itself, requests for a person,
# and questions in languages automation does not answer (a person takes them, the notice is localized).
CATALOGUE: tuple[Utterance, ...] = (
    Utterance("en", "Where is my order?"),
    Utterance("en", "Can I return my order?"),
    Utterance("en", "I have a question about my invoice"),
    Utterance("de", "Wo ist meine Bestellung?"),
    Utterance("de", "Wie kann ich etwas zurückschicken?"),
    Utterance("de", "Ich habe eine Frage zu meiner Rechnung"),
    Utterance("en", "I want to talk to a person, please.", wants_person=True),
    Utterance("en", "Please connect me with a human agent.", wants_person=True),
    Utterance("de", "Ich möchte bitte mit einem Menschen sprechen.", wants_person=True),
    Utterance("de", "Bitte verbinden Sie mich mit einem Mitarbeiter.", wants_person=True),
    Utterance("fr", "Bonjour, où en est ma commande ? Je l'attends depuis une semaine."),
    Utterance("fr", "Je voudrais parler à une personne, s'il vous plaît.", wants_person=True),
    Utterance("it", "Buongiorno, dov'è il mio ordine? Non è ancora arrivato."),
    Utterance("it", "Vorrei parlare con una persona, per favore.", wants_person=True),
    Utterance("es", "Hola, ¿dónde está mi pedido? Todavía no ha llegado."),
    Utterance("es", "Quiero hablar con una persona, por favor.", wants_person=True),
    Utterance("nl", "Hallo, waar is mijn bestelling? Ik wacht al een week."),
    Utterance("pl", "Dzień dobry, gdzie jest moje zamówienie? Jeszcze nie dotarło."),
    Utterance("pt", "Olá, onde está a minha encomenda? Ainda não chegou."),
    Utterance("tr", "Merhaba, siparişim nerede? Hâlâ gelmedi."),
)
# The order utterances are used in: the de/en questions twice, so German and English are most of the traffic.
_ROTATION: tuple[int, ...] = (0, 3, 10, 6, 1, 4, 12, 8, 2, 5, 14, 11, 0, 3, 16, 7, 1, 4, 17, 13, 2, 5, 18, 9, 19, 15)


@dataclass
class CustomerMessage:
    """One customer message and everything the client saw of it."""

    index: int
    channel: Channel
    utterance: Utterance
    address: str  # E.164 number, email address, or the chat session's token once issued
    client_id: str  # MessageSid, Message-ID, chat UUID
    planned_at_s: float
    first_try_wall: float | None = None
    accepted_wall: float | None = None
    attempts: int = 0
    refusals: list[str] = field(default_factory=list)  # why attempts were not accepted
    error: str | None = None  # given up on, or refused for good
    message_id: str | None = None  # our message id (chat ack)
    conversation_id: str | None = None
    chat_token: str | None = None
    chat_replies: list[dict[str, Any]] = field(default_factory=list)  # reply frames, with "at" (wall clock)
    chat_progress: list[str] = field(default_factory=list)
    chat_reconnects: int = 0
    chat_history: list[dict[str, Any]] = field(default_factory=list)  # the history at the final reconnect

    @property
    def accepted(self) -> bool:
        return self.accepted_wall is not None


def _phone(rng: random.Random, used: set[str]) -> str:
    while True:
        number = f"+49151{rng.randrange(10**7, 10**8)}"
        if number not in used:
            used.add(number)
            return number


def plan_messages(n: int, *, seed: int, window_s: float, run_id: str) -> list[CustomerMessage]:
    """``n`` messages spread evenly (with jitter) over ``window_s``, channels and utterances in rotation
    with a seeded shuffle, so every channel sees every kind of utterance."""
    rng = random.Random(seed)
    channels = [Channel.SMS, Channel.EMAIL, Channel.CHAT]
    used: set[str] = set()
    out = []
    for i in range(n):
        channel = channels[i % 3]
        utterance = CATALOGUE[_ROTATION[(i // 3 + 7 * (i % 3)) % len(_ROTATION)]]
        at = max(0.0, (i + rng.uniform(-0.4, 0.4)) * window_s / max(1, n))
        if channel is Channel.SMS:
            address, client_id = _phone(rng, used), "SM" + secrets.token_hex(16)
        elif channel is Channel.EMAIL:
            address = f"kunde{i}.{run_id}@example.com"
            client_id = f"<faults-{run_id}-{i}@customer.example>"
        else:
            address, client_id = "", str(uuid.uuid4())
        out.append(CustomerMessage(i, channel, utterance, address, client_id, at))
    return out


@dataclass(frozen=True, slots=True)
class TrafficTargets:
    base_url: str  # the web app (SMS webhooks, chat socket)
    smtp_port: int  # glassdesk smtp
    give_up_after_s: float = 180.0  # a client stops retrying one message after this long


class Traffic:
    """Sends the planned messages at their times; chat sockets stay open to collect the replies until
    :meth:`close_chats`."""

    def __init__(self, targets: TrafficTargets) -> None:
        self._t = targets
        self._stop_chat = asyncio.Event()
        self._chat_tasks: list[asyncio.Task[None]] = []

    @property
    def ws_url(self) -> str:
        return self._t.base_url.replace("http://", "ws://", 1) + "/chat/ws"

    async def send_all(self, messages: list[CustomerMessage], *, t0: float) -> None:
        """Send every message at ``t0 + planned_at_s`` (monotonic); returns when each was accepted or
        given up on (chat sockets keep listening in the background)."""
        async with httpx.AsyncClient(timeout=10) as http:
            tasks = []
            for msg in sorted(messages, key=lambda m: m.planned_at_s):
                delay = t0 + msg.planned_at_s - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(self._send(http, msg)))
            await asyncio.gather(*tasks)

    async def _send(self, http: httpx.AsyncClient, msg: CustomerMessage) -> None:
        msg.first_try_wall = time.time()
        try:
            if msg.channel is Channel.SMS:
                await self._sms(http, msg)
            elif msg.channel is Channel.EMAIL:
                await self._email(msg)
            else:
                accepted = asyncio.get_running_loop().create_future()
                task = asyncio.create_task(self._chat(msg, accepted))
                self._chat_tasks.append(task)
                await accepted
        except Exception as exc:  # noqa: BLE001 - recorded on the message: the report counts it
            msg.error = f"client failed: {type(exc).__name__}: {exc}"[:300]

    # -- SMS ------------------------------------------------------------------------------------------
    async def _sms(self, http: httpx.AsyncClient, msg: CustomerMessage) -> None:
        url = self._t.base_url + SMS_PATH
        params = {
            "MessageSid": msg.client_id,
            "AccountSid": ACCOUNT_SID,
            "From": msg.address,
            "To": OUR_NUMBER,
            "Body": msg.utterance.text,
            "NumMedia": "0",
        }
        headers = {"X-Twilio-Signature": sign_webhook(url, params, auth_token=DEV_TWILIO_TOKEN)}
        deadline = time.monotonic() + self._t.give_up_after_s
        delay = 1.0
        while True:
            msg.attempts += 1
            try:
                resp = await http.post(url, data=params, headers=headers)
                if resp.status_code == 200:
                    msg.accepted_wall = time.time()
                    return
                msg.refusals.append(f"http {resp.status_code}")
                if resp.status_code < 500:
                    msg.error = f"refused for good: HTTP {resp.status_code} {resp.text[:200]}"
                    return
            except httpx.HTTPError as exc:
                msg.refusals.append(type(exc).__name__)
            if time.monotonic() + delay > deadline:
                msg.error = f"not accepted after {msg.attempts} attempts"
                return
            await asyncio.sleep(delay)
            delay = min(5.0, delay * 2)

    # -- email ----------------------------------------------------------------------------------------
    def _email_message(self, msg: CustomerMessage) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = f"Kunde {msg.index} <{msg.address}>"
        mail["To"] = SUPPORT_ADDRESS
        mail["Subject"] = msg.utterance.text[:60]
        mail["Message-ID"] = msg.client_id
        mail.set_content(msg.utterance.text)
        return mail

    async def _email(self, msg: CustomerMessage) -> None:
        mail = self._email_message(msg)
        deadline = time.monotonic() + self._t.give_up_after_s
        delay = 1.0
        while True:
            msg.attempts += 1
            try:
                await aiosmtplib.send(mail, hostname="127.0.0.1", port=self._t.smtp_port, timeout=20, start_tls=False)
                msg.accepted_wall = time.time()
                return
            except aiosmtplib.SMTPResponseException as exc:
                msg.refusals.append(f"smtp {exc.code}")
                if exc.code >= 500:
                    msg.error = f"refused for good: {exc.code} {exc.message}"[:300]
                    return
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                msg.refusals.append(type(exc).__name__)
            if time.monotonic() + delay > deadline:
                msg.error = f"not accepted after {msg.attempts} attempts"
                return
            await asyncio.sleep(delay)
            delay = min(5.0, delay * 2)

    # -- chat -----------------------------------------------------------------------------------------
    async def _hello(self, ws: ClientConnection, msg: CustomerMessage, *, timeout: float = 15) -> list[dict[str, Any]]:
        """hello -> session (+ history); returns the history's messages."""
        hello: dict[str, Any] = {"type": "hello", "language": msg.utterance.language}
        if msg.chat_token:
            hello["token"] = msg.chat_token
        await ws.send(json.dumps(hello))
        async with asyncio.timeout(timeout):
            while True:
                frame = json.loads(await ws.recv())
                if frame.get("type") == "session":
                    msg.chat_token = frame["token"]
                    msg.conversation_id = frame.get("conversation_id") or msg.conversation_id
                elif frame.get("type") == "history":
                    messages: list[dict[str, Any]] = frame.get("messages", [])
                    return messages

    async def _chat(self, msg: CustomerMessage, accepted: asyncio.Future[None]) -> None:
        """One customer's chat: send the message until acked, then listen for replies until the end of
        the run, reconnecting with the session token whenever the socket drops."""
        deadline = time.monotonic() + self._t.give_up_after_s
        delay = 1.0
        try:
            while not self._stop_chat.is_set():
                try:
                    async with connect(self.ws_url, open_timeout=15, ping_interval=None, close_timeout=2) as ws:
                        await self._hello(ws, msg)
                        if not msg.accepted:
                            msg.attempts += 1
                            await ws.send(
                                json.dumps({"type": "message", "id": msg.client_id, "text": msg.utterance.text})
                            )
                        await self._listen(ws, msg, accepted)
                except (OSError, TimeoutError, WebSocketException, ValueError) as exc:
                    if not msg.accepted:
                        msg.refusals.append(type(exc).__name__)
                    else:
                        msg.chat_reconnects += 1
                if self._stop_chat.is_set():
                    break
                if not msg.accepted and time.monotonic() + delay > deadline:
                    msg.error = f"not accepted after {msg.attempts} attempts"
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop_chat.wait(), timeout=delay)
                delay = min(5.0, delay * 2)
        finally:
            if not accepted.done():
                accepted.set_result(None)

    async def _listen(self, ws: ClientConnection, msg: CustomerMessage, accepted: asyncio.Future[None]) -> None:
        stop = asyncio.create_task(self._stop_chat.wait())
        try:
            while True:
                recv = asyncio.create_task(ws.recv())
                done, _ = await asyncio.wait({recv, stop}, return_when=asyncio.FIRST_COMPLETED)
                if recv not in done:
                    recv.cancel()
                    return
                frame = json.loads(recv.result())
                kind = frame.get("type")
                if kind == "ack" and frame.get("id") == msg.client_id:
                    if not msg.accepted:
                        msg.accepted_wall = time.time()
                        msg.message_id = frame.get("message_id")
                        if not accepted.done():
                            accepted.set_result(None)
                elif kind == "session" and frame.get("conversation_id"):
                    msg.chat_token = frame["token"]
                    msg.conversation_id = frame["conversation_id"]
                elif kind == "reply":
                    msg.chat_replies.append({**frame, "at": time.time()})
                elif kind == "progress":
                    msg.chat_progress.append(str(frame.get("step")))
                elif kind == "error" and not msg.accepted:
                    msg.refusals.append(f"chat {frame.get('code')}")
                    if frame.get("code") not in {"unavailable", "rate_limited"}:
                        msg.error = f"refused for good: {frame.get('code')}: {frame.get('message')}"
                        if not accepted.done():
                            accepted.set_result(None)
                        return
                    await asyncio.sleep(1.0)
                    msg.attempts += 1
                    await ws.send(json.dumps({"type": "message", "id": msg.client_id, "text": msg.utterance.text}))
        finally:
            stop.cancel()

    async def close_chats(self) -> None:
        """Stop listening, then reconnect every accepted chat once and keep the history it shows."""
        self._stop_chat.set()
        await asyncio.gather(*self._chat_tasks, return_exceptions=True)
        self._chat_tasks.clear()

    async def chat_histories(self, messages: list[CustomerMessage]) -> None:
        async def one(msg: CustomerMessage) -> None:
            if not msg.chat_token:
                return
            try:
                async with connect(self.ws_url, open_timeout=15, ping_interval=None, close_timeout=2) as ws:
                    msg.chat_history = await self._hello(ws, msg)
            except (OSError, TimeoutError, WebSocketException, ValueError) as exc:
                msg.chat_history = [{"error": type(exc).__name__}]

        chats = [m for m in messages if m.channel is Channel.CHAT and m.accepted]
        for start in range(0, len(chats), 10):
            await asyncio.gather(*(one(m) for m in chats[start : start + 10]))
