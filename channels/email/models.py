"""Frozen models produced by inbound email parsing."""

from __future__ import annotations

import enum
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from channels.email.addresses import Mailbox

__all__ = [
    "Attachment",
    "ParseLimits",
    "ParsedEmail",
    "QuarantineReason",
    "StrippedText",
    "ThreadKeys",
    "TokenSource",
]

_MiB = 1024 * 1024


@enum.unique
class QuarantineReason(enum.StrEnum):
    """Why a parsed message must go to a human instead of automation."""

    MIME_TOO_DEEP = "mime_too_deep"
    TOO_MANY_PARTS = "too_many_parts"
    TOO_MANY_ATTACHMENTS = "too_many_attachments"
    ATTACHMENT_TOO_LARGE = "attachment_too_large"
    ATTACHMENTS_TOO_LARGE = "attachments_too_large"
    INVALID_SENDER = "invalid_sender"
    NO_HEADERS = "no_headers"
    BODY_TRUNCATED = "body_truncated"


@enum.unique
class TokenSource(enum.StrEnum):
    """Where a reply token was found."""

    PLUS_ADDRESS = "plus_address"
    SUBJECT_TAG = "subject_tag"


class ParseLimits(BaseModel):
    """Bounds applied while parsing one inbound message (R8: bound everything)."""

    model_config = ConfigDict(frozen=True)

    max_total_bytes: int = Field(default=30 * _MiB, gt=0)
    max_header_bytes: int = Field(default=256 * 1024, gt=0)
    max_mime_depth: int = Field(default=20, gt=0)
    max_parts: int = Field(default=100, gt=0)
    max_attachments: int = Field(default=20, ge=0)
    max_attachment_bytes: int = Field(default=20 * _MiB, gt=0)
    max_total_attachment_bytes: int = Field(default=25 * _MiB, gt=0)
    max_body_chars: int = Field(default=500_000, gt=0)
    max_references: int = Field(default=100, gt=0)


class Attachment(BaseModel):
    """Metadata of one attachment. ``data`` holds the decoded bytes and is excluded from dumps.

    ``data`` is empty when the attachment exceeded a limit (``kept`` is then False); the caller
    still has the raw message.
    """

    model_config = ConfigDict(frozen=True)

    filename: str
    content_type: str
    size: int
    sha256: str
    inline: bool = False
    kept: bool = True
    data: bytes = Field(default=b"", exclude=True, repr=False)


class StrippedText(BaseModel):
    """The new content of a reply body, with what was removed."""

    model_config = ConfigDict(frozen=True)

    text: str
    quoted_removed: bool
    signature_removed: bool


class ParsedEmail(BaseModel):
    """One inbound email, parsed defensively. ``quarantine_reason`` set means: route to a human."""

    model_config = ConfigDict(frozen=True)

    message_id: str | None
    from_: Mailbox | None
    to: tuple[Mailbox, ...] = ()
    cc: tuple[Mailbox, ...] = ()
    reply_to: tuple[Mailbox, ...] = ()
    subject: str = ""
    date: datetime | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    text: str = ""
    quoted_removed: bool = False
    signature_removed: bool = False
    full_text: str = ""
    html_present: bool = False
    attachments: tuple[Attachment, ...] = ()
    language: str | None = None
    auto_submitted: bool = False
    quarantine_reason: QuarantineReason | None = None
    quarantine_detail: str | None = None
    raw_sha256: str
    raw_size: int


class ThreadKeys(BaseModel):
    """What the store may use to find the conversation of a reply. Never the subject alone."""

    model_config = ConfigDict(frozen=True)

    in_reply_to: str | None
    references: tuple[str, ...]
    reply_token: str | None
    reply_token_source: TokenSource | None = None
    # ``[GD-10042]`` in the subject: the ticket number customers quote. Public and sequential, so it
    # only names a candidate: the ingest joins it only when the sender is that conversation's contact.
    ticket_number: int | None = None
