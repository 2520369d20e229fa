"""The chat socket protocol: JSON frames discriminated on ``type``, validated on the type.

client -> server: ``hello`` (first), ``message``, ``ping``, ``verify_start``, ``verify_code``
server -> client: ``session``, ``history``, ``ack``, ``progress``, ``reply``, ``error``, ``pong``, ``verify``

Clients that know only the first three client frames keep working: the ``verify_*`` frames and the
``verify`` answer are additions, and a ``reply`` only gained the optional ``status_url``.
"""

from __future__ import annotations

import enum
import json
import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_serializer,
)

from conversation import AuthorKind, EmailAddress, PhoneAddress

__all__ = [
    "MAX_CHAT_TEXT",
    "ChatErrorCode",
    "ProgressStep",
    "FrameError",
    "HelloFrame",
    "MessageFrame",
    "PingFrame",
    "VerifyStartFrame",
    "VerifyCodeFrame",
    "ClientFrame",
    "parse_client_frame",
    "claimed_address",
    "code_digits",
    "VerifyState",
    "VerifyFrame",
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
    # linking an email address or phone number with a one-time code (verify_start / verify_code)
    CONVERSATION_REQUIRED = "conversation_required"  # send a message first: there is nothing to link yet
    INVALID_ADDRESS = "invalid_address"  # neither an email address nor an E.164 phone number
    INVALID_CODE = "invalid_code"  # not six digits (does not count as an attempt)
    WRONG_CODE = "wrong_code"  # counts as an attempt; the message says how many are left
    CODE_LOCKED = "code_locked"  # too many wrong codes; ask for a new code later
    NO_CODE = "no_code"  # no code pending (never asked, expired or already used)
    VERIFY_LIMITED = "verify_limited"  # too many codes asked for; wait before asking again
    SEND_FAILED = "send_failed"  # the code could not be sent to that address


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


class VerifyStartFrame(_ClientFrame):
    """Send a one-time code to an email address or phone number the customer says is theirs."""

    type: Literal["verify_start"]
    address: str = Field(min_length=1, max_length=320)


class VerifyCodeFrame(_ClientFrame):
    """The code the customer received; proves the address and links it to this chat."""

    type: Literal["verify_code"]
    code: str = Field(min_length=1, max_length=32)


ClientFrame = Annotated[
    HelloFrame | MessageFrame | PingFrame | VerifyStartFrame | VerifyCodeFrame, Field(discriminator="type")
]
_CLIENT = TypeAdapter(ClientFrame)
_CLIENT_TYPES = ("hello", "message", "ping", "verify_start", "verify_code")
_CODE = re.compile(r"^[0-9]{6}$")
_CODE_SEPARATORS = re.compile(r"[\s\-]")


def claimed_address(text: str) -> EmailAddress | PhoneAddress:
    """The address a ``verify_start`` frame names: an email address when it has an ``@``, else a phone
    number. Raises :class:`FrameError` (``invalid_address``); the message never echoes the input."""
    value = _CONTROL.sub("", text).strip()
    try:
        return EmailAddress(address=value) if "@" in value else PhoneAddress(number=value)
    except ValidationError:
        raise FrameError(
            ChatErrorCode.INVALID_ADDRESS,
            "give an email address like anna@example.com or a mobile number with country code like +4915112345678",
        ) from None


def code_digits(text: str) -> str:
    """The six digits of a ``verify_code`` frame (spaces and hyphens allowed). Raises :class:`FrameError`."""
    value = _CODE_SEPARATORS.sub("", text)
    if not _CODE.match(value):
        raise FrameError(ChatErrorCode.INVALID_CODE, "the code has six digits, like 123456")
    return value


def parse_client_frame(raw: str) -> HelloFrame | MessageFrame | PingFrame | VerifyStartFrame | VerifyCodeFrame:
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
            ChatErrorCode.UNKNOWN_TYPE,
            f"unknown frame type {shown!r}; expected one of {', '.join(_CLIENT_TYPES)}",
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
    author: Literal[AuthorKind.AI, AuthorKind.AGENT, AuthorKind.SYSTEM]
    text: str = Field(min_length=1)
    ai: bool
    disclosure: str | None = None
    status_url: str | None = None  # the conversation's status page, shown with the reply (as in email and SMS)
    author_name: str | None = None  # a person's first name on their replies
    at: datetime | None = None  # when the reply was sent

    @model_serializer(mode="wrap")
    def _omit_missing_link(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for optional in ("status_url", "author_name", "at"):  # frames without them stay exactly as before
            if data.get(optional) is None:
                data.pop(optional, None)
        return data


@enum.unique
class VerifyState(enum.StrEnum):
    CODE_SENT = "code_sent"  # a code is on its way to the address
    VERIFIED = "verified"  # the code was right: the address is linked to this chat


class VerifyFrame(_ServerFrame):
    """Progress of linking an address. It never says whether the address was known to us before."""

    type: Literal["verify"] = "verify"
    state: VerifyState
    kind: Literal["email", "phone"]
    expires_in: int | None = None  # seconds the code stays valid (code_sent)


class ErrorFrame(_ServerFrame):
    type: Literal["error"] = "error"
    code: ChatErrorCode
    message: str
    id: str | None = None


class PongFrame(_ServerFrame):
    type: Literal["pong"] = "pong"


ServerFrame = Annotated[
    SessionFrame | HistoryFrame | AckFrame | ProgressFrame | ReplyFrame | ErrorFrame | PongFrame | VerifyFrame,
    Field(discriminator="type"),
]


def dump_frame(frame: BaseModel) -> str:
    """The JSON text of a server frame."""
    return frame.model_dump_json()
