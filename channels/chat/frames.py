"""The chat socket protocol: JSON frames discriminated on ``type``, validated on the type.

client -> server: ``hello`` (first), ``message``, ``ping``
server -> client: ``session``, ``history``, ``ack``, ``progress``, ``reply``, ``error``, ``pong``
"""

from __future__ import annotations

import enum
import json
import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from conversation import AuthorKind

__all__ = [
    "MAX_CHAT_TEXT",
    "ChatErrorCode",
    "ProgressStep",
    "FrameError",
    "HelloFrame",
    "MessageFrame",
    "PingFrame",
    "ClientFrame",
    "parse_client_frame",
    "SessionFrame",
    "HistoryMessage",
    "HistoryFrame",
    "AckFrame",
    "ProgressFrame",
    "ReplyFrame",
    "ErrorFrame",
    "PongFrame",
    "ServerFrame",
    "dump_frame",
]

MAX_CHAT_TEXT = 4_000
MAX_TOKEN_CHARS = 512
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@enum.unique
class ChatErrorCode(enum.StrEnum):
    HELLO_REQUIRED = "hello_required"  # the first frame must be hello
    INVALID_JSON = "invalid_json"
    BINARY_FRAME = "binary_frame"
    UNKNOWN_TYPE = "unknown_type"
    INVALID_FRAME = "invalid_frame"  # known type, wrong fields
    RATE_LIMITED = "rate_limited"  # not stored; resend the same id later
    ID_CONFLICT = "id_conflict"  # this message id belongs to another session; use a new UUID
    UNAVAILABLE = "unavailable"  # not stored (store down); resend the same id later


@enum.unique
class ProgressStep(enum.StrEnum):
    RECEIVED = "received"
    WORKING = "working"
    REPLIED = "replied"
    HANDED_OFF = "handed_off"


class FrameError(Exception):
    """A client frame we cannot accept. ``code`` goes into the error frame; ``frame_id`` is the
    client's message id when one could be read, so the client knows which message failed."""

    def __init__(self, code: ChatErrorCode, message: str, *, frame_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.frame_id = frame_id


class _ClientFrame(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class HelloFrame(_ClientFrame):
    type: Literal["hello"]
    token: str | None = None  # a token that cannot be ours (not a string, too long) counts as none
    language: str | None = None  # navigator.language; anything that is not a language tag is ignored

    @field_validator("token", mode="before")
    @classmethod
    def _token(cls, v: Any) -> str | None:
        return v if isinstance(v, str) and 0 < len(v) <= MAX_TOKEN_CHARS else None

    @field_validator("language", mode="before")
    @classmethod
    def _tag(cls, v: Any) -> str | None:
        return v if isinstance(v, str) and len(v) <= 35 and _LANGUAGE_TAG.match(v) else None


class MessageFrame(_ClientFrame):
    type: Literal["message"]
    id: uuid.UUID  # the client's message UUID: our external_id, deduplicates resends
    text: str = Field(min_length=1, max_length=MAX_CHAT_TEXT)

    @field_validator("text")
    @classmethod
    def _clean(cls, v: str) -> str:
        cleaned = _CONTROL.sub("", v).replace("\r\n", "\n").strip()
        if not cleaned:
            raise ValueError("a chat message needs some text")
        return cleaned

    @property
    def external_id(self) -> str:
        """The canonical UUID string (lower case, hyphenated), whatever spelling the client sent."""
        return str(self.id)


class PingFrame(_ClientFrame):
    type: Literal["ping"]


ClientFrame = Annotated[Union[HelloFrame, MessageFrame, PingFrame], Field(discriminator="type")]
_CLIENT = TypeAdapter(ClientFrame)
_CLIENT_TYPES = ("hello", "message", "ping")


def parse_client_frame(raw: str) -> HelloFrame | MessageFrame | PingFrame:
    """Parse one text frame. Raises :class:`FrameError` with the code to report."""
    try:
        data: Any = json.loads(raw)
    except (ValueError, RecursionError):
        raise FrameError(ChatErrorCode.INVALID_JSON, "the frame is not valid JSON") from None
    if not isinstance(data, dict):
        raise FrameError(ChatErrorCode.INVALID_FRAME, "a frame is a JSON object with a 'type' field")
    raw_id = data.get("id")
    frame_id = raw_id if isinstance(raw_id, str) and len(raw_id) <= 64 else None
    kind = data.get("type")
    if kind not in _CLIENT_TYPES:
        shown = kind if isinstance(kind, str) and len(kind) <= 32 else "?"
        raise FrameError(
            ChatErrorCode.UNKNOWN_TYPE, f"unknown frame type {shown!r}; expected one of {', '.join(_CLIENT_TYPES)}",
            frame_id=frame_id,
        )
    try:
        return _CLIENT.validate_python(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'][1:]) or 'frame'}: {err['msg']}" for err in exc.errors()[:3]
        )
        raise FrameError(ChatErrorCode.INVALID_FRAME, f"invalid {kind} frame: {problems}", frame_id=frame_id) from None


class _ServerFrame(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SessionFrame(_ServerFrame):
    type: Literal["session"] = "session"
    token: str
    conversation_id: str | None = None  # opaque; None until the first message is stored
    status_url: str | None = None
    resumed: bool = False


class HistoryMessage(_ServerFrame):
    id: str
    author: AuthorKind
    text: str
    at: datetime
    ai_disclosure: str | None = None


class HistoryFrame(_ServerFrame):
    type: Literal["history"] = "history"
    messages: tuple[HistoryMessage, ...] = ()


class AckFrame(_ServerFrame):
    type: Literal["ack"] = "ack"
    id: str  # the client's UUID
    message_id: str
    duplicate: bool


class ProgressFrame(_ServerFrame):
    type: Literal["progress"] = "progress"
    step: ProgressStep
    event: str  # the timeline event behind the step
    message_id: str | None = None
    notice: str | None = None  # a localized sentence to show (handed_off: a person will answer)


class ReplyFrame(_ServerFrame):
    type: Literal["reply"] = "reply"
    message_id: str
    author: Literal[AuthorKind.AI, AuthorKind.AGENT]
    text: str = Field(min_length=1)
    ai: bool
    disclosure: str | None = None


class ErrorFrame(_ServerFrame):
    type: Literal["error"] = "error"
    code: ChatErrorCode
    message: str
    id: str | None = None


class PongFrame(_ServerFrame):
    type: Literal["pong"] = "pong"


ServerFrame = Annotated[
    Union[SessionFrame, HistoryFrame, AckFrame, ProgressFrame, ReplyFrame, ErrorFrame, PongFrame],
    Field(discriminator="type"),
]


def dump_frame(frame: BaseModel) -> str:
    """The JSON text of a server frame."""
    return frame.model_dump_json()
