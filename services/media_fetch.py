"""MMS media into the blob store, after the message was accepted.

The webhook stores the message with its media as metadata only (``meta["media"]``: URL and declared
type) and answers at once. The turn's first step (or anyone holding the message id) then calls
:meth:`MediaFetch.fetch`: each media URL is fetched with :func:`channels.sms.media.fetch_media` (Twilio's
hosts only, size and time limits, the account's credentials), stored as an :class:`Attachment` on the
inbound message, and marked ``fetch: "stored"``. A media file that is refused or fails stays in the
metadata with ``fetch: "failed"`` and the reason, which the inbox shows as "media could not be fetched":
nothing is dropped silently and the message itself is never lost. Already handled media is not
fetched again (a redelivered turn costs nothing). Logs carry ids only, never URLs or numbers."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update

from channels.sms.media import FetchedMedia, MediaFetcherConfig, MediaFetchError, fetch_media
from conversation import Attachment, ChannelKind, Message
from conversation.blobs import store_file
from conversation.sql import schema as t
from services.container import Container
from services.settings import Settings

__all__ = ["MediaFetch", "MediaReport", "fetcher_config"]

log = logging.getLogger("glassdesk.media")

_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "application/pdf": "pdf",
    "video/mp4": "mp4",
    "audio/mpeg": "mp3",
    "text/vcard": "vcf",
    "text/plain": "txt",
}

Fetcher = Callable[[str, MediaFetcherConfig], Awaitable[FetchedMedia]]


@dataclass(frozen=True, slots=True)
class MediaReport:
    stored: int
    failed: int


def fetcher_config(settings: Settings) -> MediaFetcherConfig:
    return MediaFetcherConfig(
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token.get_secret_value(),
        max_bytes=settings.mms_media_max_bytes,
        timeout_s=settings.mms_media_timeout_s,
        extra_hosts=MediaFetcherConfig.hosts_from(settings.mms_media_hosts),
    )


class MediaFetch:
    def __init__(self, services: Container, *, fetcher: Fetcher = fetch_media) -> None:
        self._s = services
        self._fetch = fetcher

    async def fetch(self, message_id: str) -> Message:
        """Fetch the message's waiting MMS media; returns the message as stored afterwards."""
        msg = await self._s.messages.get_message(message_id)
        media = msg.meta.get("media")
        if msg.channel is not ChannelKind.SMS or not isinstance(media, list) or not media:
            return msg
        waiting = [i for i, m in enumerate(media) if isinstance(m, dict) and not m.get("fetch")]
        if not waiting:
            return msg
        config = fetcher_config(self._s.settings)
        items: list[dict[str, Any]] = [dict(m) if isinstance(m, dict) else {} for m in media]
        attachments = list(msg.attachments)
        for i in waiting:
            item = items[i]
            try:
                got = await self._fetch(str(item.get("url") or ""), config)
                declared = str(item.get("content_type") or got.content_type or "application/octet-stream")
                ext = _EXTENSIONS.get(declared.split(";", 1)[0].strip().lower(), "bin")
                attachment = await store_file(
                    self._s.blobs, got.content, filename=f"mms-{i + 1}.{ext}", content_type=declared
                )
            except MediaFetchError as exc:
                item.update(fetch="failed", error=exc.reason[:300])
                log.warning("MMS media %d of message %s not fetched: %s", i + 1, msg.id, type(exc).__name__)
            else:
                attachments.append(attachment)
                item.update(fetch="stored", attachment_id=attachment.id)
            # saved after each file: a turn cut off by its time limit resumes with the next one
            await self._save(msg.id, tuple(attachments), {**msg.meta, "media": items})
        report = MediaReport(
            stored=sum(1 for m in items if m.get("fetch") == "stored"),
            failed=sum(1 for m in items if m.get("fetch") == "failed"),
        )
        log.info("MMS media of message %s: %d stored, %d failed", msg.id, report.stored, report.failed)
        return await self._s.messages.get_message(msg.id)

    async def _save(self, message_id: str, attachments: tuple[Attachment, ...], meta: dict[str, Any]) -> None:
        async with self._s.db.begin() as conn:
            await conn.execute(
                update(t.messages)
                .where(t.messages.c.id == message_id)
                .values(attachments=[a.model_dump(mode="json") for a in attachments], meta=meta)
            )
