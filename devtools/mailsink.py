"""A development SMTP relay: outbound mail is written to a folder as .eml files, never sent on."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from services.settings import Settings

__all__ = ["serve_mail_sink", "FolderHandler"]


class FolderHandler:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{abs(hash(envelope.content)) % 10**8:08d}.eml"
        data = envelope.original_content or envelope.content or b""
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        await asyncio.to_thread((self.folder / name).write_bytes, data)
        return "250 OK stored"


async def serve_mail_sink(settings: Settings, stop: asyncio.Event, *, folder: Path) -> None:
    controller = Controller(FolderHandler(folder), hostname=settings.relay_host, port=settings.relay_port)
    controller.start()
    try:
        await stop.wait()
    finally:
        controller.stop()
