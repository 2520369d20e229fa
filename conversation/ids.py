"""Opaque identifiers. Random, unguessable, prefixed by kind so a log line says what it points at."""

from __future__ import annotations

import base64
import secrets

__all__ = ["new_id", "new_token", "new_reply_token"]


def new_id(prefix: str) -> str:
    """A new opaque id like ``msg_3q9v...``: 128 random bits, URL-safe, never sequential."""
    return f"{prefix}_{secrets.token_urlsafe(16).replace('-', 'x').replace('_', 'y')}"


def new_token(nbytes: int = 24) -> str:
    """A URL-safe secret token (status pages, reply tokens)."""
    return secrets.token_urlsafe(nbytes)


def new_reply_token() -> str:
    """80 random bits as 16 characters of lower-case base32: survives mail systems that change the
    case of local parts (plus-addresses) and subject lines."""
    return base64.b32encode(secrets.token_bytes(10)).decode("ascii").lower()
