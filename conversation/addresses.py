"""Channel addresses: a tagged union on ``kind``. Validation lives on the type."""

from __future__ import annotations

import re
from email.utils import parseaddr
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["EmailAddress", "PhoneAddress", "ChatSession", "Address", "address_key"]

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_SESSION = re.compile(r"^[A-Za-z0-9_\-]{8,128}$")
_LOCAL_DOMAIN = re.compile(r"^[^@\s\"<>()\[\],;:\\]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EmailAddress(_Frozen):
    kind: Literal["email"] = "email"
    address: str

    @field_validator("address")
    @classmethod
    def _valid(cls, v: str) -> str:
        if any(c in v for c in "\r\n\x00"):
            raise ValueError("an email address cannot contain line breaks or NUL")
        name, addr = parseaddr(v)
        if not addr or addr != v.strip() or not _LOCAL_DOMAIN.match(addr):
            raise ValueError(f"{v!r} is not a plain email address; give only the address, like 'anna@example.com'")
        local, _, domain = addr.rpartition("@")
        return f"{local}@{domain.lower()}"


class PhoneAddress(_Frozen):
    kind: Literal["phone"] = "phone"
    number: str

    @field_validator("number")
    @classmethod
    def _e164(cls, v: str) -> str:
        compact = re.sub(r"[\s\-()./]", "", v)
        if not _E164.match(compact):
            raise ValueError(f"{v!r} is not an E.164 phone number; write it with country code, like '+4915112345678'")
        return compact


class ChatSession(_Frozen):
    kind: Literal["chat"] = "chat"
    session_id: str

    @field_validator("session_id")
    @classmethod
    def _sid(cls, v: str) -> str:
        if not _SESSION.match(v):
            raise ValueError("a chat session id is 8-128 characters of letters, digits, '-' or '_'")
        return v


Address = Annotated[EmailAddress | PhoneAddress | ChatSession, Field(discriminator="kind")]


def address_key(address: EmailAddress | PhoneAddress | ChatSession) -> str:
    """The normalised value stored under a unique constraint per kind."""
    match address:
        case EmailAddress(address=a):
            return a.lower()
        case PhoneAddress(number=n):
            return n
        case ChatSession(session_id=s):
            return s
    raise TypeError(f"unknown address type {type(address).__name__}")
