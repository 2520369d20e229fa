"""Inbound traffic for bench/scale_out.py: many conversations with several messages each, entering
through every web process over real HTTP.

- SMS conversations: one phone number each; its messages are signed Twilio webhooks posted back to back
  (each waits only for its 200), message i to web i % N, so one conversation enters through both webs
  and its turns are queued together (the lease, not the client, keeps them apart). The signature is over
  ``GLASSDESK_PUBLIC_URL``, as Twilio signs the configured URL whichever process behind the balancer answers.
- Chat conversations: a sending socket on one web sends the messages one after the other (each waits
  for its ack); after the first ack a listening socket on the other web resumes the session with its
  token and collects the reply frames, which reach it through Redis pub/sub from whichever worker ran
  the turn. At the end the session is resumed once more to read its history.

Every question is one the default policy auto-replies (the same set as bench/turns.py)."""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from channels.sms import sign_webhook
from services.settings import DEV_TWILIO_TOKEN

SMS_PATH = "/webhooks/twilio/sms"
ACCOUNT_SID = "AC" + "0" * 32  # Settings.twilio_account_sid default
OUR_NUMBER = "+15005550006"  # Settings.twilio_from_number default
QUESTIONS: dict[str, tuple[str, ...]] = {
    "en": ("Where is my order?", "Can I return my order?", "I have a question about my invoice"),
    "de": ("Wo ist meine Bestellung?", "Wie kann ich etwas zurückschicken?", "Ich habe eine Frage zu meiner Rechnung"),
}


@dataclass
class Sent:
    """One customer message as the client saw it."""

    client_id: str  # MessageSid or the chat UUID
    web: int  # index of the web process it went through
    text: str
    accepted_wall: float | None = None
    message_id: str | None = None  # our id (chat ack)
    error: str | None = None


@dataclass
class Conversation:
    kind: str  # "sms" | "chat"
    index: int
    language: str
    address: str = ""  # the phone number (SMS)
    token: str | None = None  # the chat session token
    conversation_id: str | None = None
    messages: list[Sent] = field(default_factory=list)
    reply_frames: list[dict[str, Any]] = field(default_factory=list)  # chat: frames on the listening socket
    history_ai: int | None = None  # chat: AI replies in the history at the end
    errors: list[str] = field(default_factory=list)


def plan(n_conversations: int, per_conversation: int, *, chat_share: float, seed: int) -> list[Conversation]:
    rng = random.Random(seed)
    out: list[Conversation] = []
    n_chat = round(n_conversations * chat_share)
    used: set[str] = set()
    for i in range(n_conversations):
        lang = "de" if i % 2 else "en"
        conv = Conversation(kind="chat" if i < n_chat else "sms", index=i, language=lang)
        if conv.kind == "sms":
            while not conv.address or conv.address in used:
                conv.address = f"+49152{rng.randrange(10**7, 10**8)}"
            used.add(conv.address)
        start = rng.randrange(3)
        for j in range(per_conversation):
            text = QUESTIONS[lang][(start + j) % 3]
            cid = "SM" + secrets.token_hex(16) if conv.kind == "sms" else str(uuid.uuid4())
            conv.messages.append(Sent(client_id=cid, web=0, text=text))
        out.append(conv)
    rng.shuffle(out)
    return out


class Driver:
    def __init__(self, web_urls: list[str], public_url: str, *, concurrency: int = 16, reply_wait_s: float = 180):
        self.web_urls = web_urls
        self.public_url = public_url.rstrip("/")
        self.concurrency = concurrency
        self.reply_wait_s = reply_wait_s
        self._stop_listen = asyncio.Event()
        self._listeners: list[asyncio.Task[None]] = []
        self.wait_result: dict[str, Any] | None = None  # set by the bench: how the phase ended

    def ws_url(self, web: int) -> str:
        return self.web_urls[web].replace("http://", "ws://", 1) + "/chat/ws"

    async def send(self, conversations: list[Conversation]) -> None:
        """Send every conversation's messages (at most ``concurrency`` conversations at once); returns once
        each message was accepted or failed. Chat listeners keep running until :meth:`finish`."""
        slots = asyncio.Semaphore(self.concurrency)
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=64)) as http:

            async def one(conv: Conversation) -> None:
                async with slots:
                    try:
                        if conv.kind == "sms":
                            await self._sms(http, conv)
                        else:
                            await self._chat(conv)
                    except Exception as exc:  # noqa: BLE001 - counted in the report
                        conv.errors.append(f"{type(exc).__name__}: {exc}"[:300])

            await asyncio.gather(*(one(c) for c in conversations))

    async def _sms(self, http: httpx.AsyncClient, conv: Conversation) -> None:
        for j, msg in enumerate(conv.messages):
            msg.web = (conv.index + j) % len(self.web_urls)
            params = {
                "MessageSid": msg.client_id,
                "AccountSid": ACCOUNT_SID,
                "From": conv.address,
                "To": OUR_NUMBER,
                "Body": msg.text,
                "NumMedia": "0",
            }
            signature = sign_webhook(self.public_url + SMS_PATH, params, auth_token=DEV_TWILIO_TOKEN)
            for attempt in range(5):  # a provider retries a 5xx
                resp = await http.post(
                    self.web_urls[msg.web] + SMS_PATH, data=params, headers={"X-Twilio-Signature": signature}
                )
                if resp.status_code == 200:
                    msg.accepted_wall = time.time()
                    break
                msg.error = f"HTTP {resp.status_code}"
                if resp.status_code < 500:
                    break
                await asyncio.sleep(0.5 * (attempt + 1))
            if msg.accepted_wall is not None:
                msg.error = None

    async def _hello(self, ws: Any, conv: Conversation) -> list[dict[str, Any]]:
        hello: dict[str, Any] = {"type": "hello", "language": conv.language}
        if conv.token:
            hello["token"] = conv.token
        await ws.send(json.dumps(hello))
        async with asyncio.timeout(20):
            while True:
                frame = json.loads(await ws.recv())
                if frame.get("type") == "session":
                    conv.token = frame["token"]
                    conv.conversation_id = frame.get("conversation_id") or conv.conversation_id
                elif frame.get("type") == "history":
                    messages: list[dict[str, Any]] = frame.get("messages", [])
                    return messages

    async def _chat(self, conv: Conversation) -> None:
        from websockets.asyncio.client import connect

        send_web = conv.index % len(self.web_urls)
        listen_web = (conv.index + 1) % len(self.web_urls)
        async with connect(self.ws_url(send_web), open_timeout=20, ping_interval=None, close_timeout=2) as ws:
            await self._hello(ws, conv)
            for j, msg in enumerate(conv.messages):
                msg.web = send_web
                await ws.send(json.dumps({"type": "message", "id": msg.client_id, "text": msg.text}))
                async with asyncio.timeout(30):
                    while True:
                        frame = json.loads(await ws.recv())
                        if frame.get("type") == "ack" and frame.get("id") == msg.client_id:
                            msg.accepted_wall = time.time()
                            msg.message_id = frame.get("message_id")
                            break
                        if frame.get("type") == "session":
                            conv.token = frame["token"]
                            conv.conversation_id = frame.get("conversation_id") or conv.conversation_id
                        elif frame.get("type") == "error":
                            msg.error = f"chat {frame.get('code')}"
                            break
                if j == 0:  # the conversation exists now: listen on the other web
                    ready = asyncio.get_running_loop().create_future()
                    self._listeners.append(asyncio.create_task(self._listen(conv, listen_web, ready)))
                    await ready

    async def _listen(self, conv: Conversation, web: int, ready: asyncio.Future[None]) -> None:
        from websockets.asyncio.client import connect

        try:
            async with connect(self.ws_url(web), open_timeout=20, ping_interval=None, close_timeout=2) as ws:
                history = await self._hello(ws, conv)
                for m in history:  # replies that arrived before this socket subscribed
                    if m.get("author") == "ai":
                        conv.reply_frames.append({"message_id": m.get("id"), "from": "history"})
                ready.set_result(None)
                stop = asyncio.create_task(self._stop_listen.wait())
                try:
                    while True:
                        recv = asyncio.create_task(ws.recv())
                        done, _ = await asyncio.wait({recv, stop}, return_when=asyncio.FIRST_COMPLETED)
                        if recv not in done:
                            recv.cancel()
                            return
                        frame = json.loads(recv.result())
                        if frame.get("type") == "reply":
                            conv.reply_frames.append(
                                {"message_id": frame.get("message_id"), "from": "push", "at": time.time()}
                            )
                finally:
                    stop.cancel()
        except Exception as exc:  # noqa: BLE001 - counted in the report
            conv.errors.append(f"listener: {type(exc).__name__}: {exc}"[:300])
        finally:
            if not ready.done():
                ready.set_result(None)

    async def finish(self, conversations: list[Conversation]) -> None:
        """Stop the listeners, then resume every chat session once (on the first web) and count the AI
        replies in its history."""
        self._stop_listen.set()
        await asyncio.gather(*self._listeners, return_exceptions=True)
        self._listeners.clear()
        self._stop_listen = asyncio.Event()
        from websockets.asyncio.client import connect

        async def history(conv: Conversation) -> None:
            try:
                async with connect(self.ws_url(0), open_timeout=20, ping_interval=None, close_timeout=2) as ws:
                    conv.history_ai = sum(1 for m in await self._hello(ws, conv) if m.get("author") == "ai")
            except Exception as exc:  # noqa: BLE001 - counted in the report
                conv.errors.append(f"history: {type(exc).__name__}"[:300])

        chats = [c for c in conversations if c.kind == "chat" and c.token]
        for i in range(0, len(chats), 16):
            await asyncio.gather(*(history(c) for c in chats[i : i + 16]))
