"""Chat session tokens: a random session id, signed so a browser can resume it and nobody can forge one.

The session id *is* the customer's identity on the chat channel (a ``ChatSession`` address). Nothing a
customer types (an email address, an order number) ever opens another conversation.
"""

from __future__ import annotations

import secrets

from itsdangerous import BadData, URLSafeTimedSerializer
from itsdangerous.encoding import base64_decode, base64_encode
from pydantic import ValidationError

from conversation import ChatSession

__all__ = ["SESSION_SALT", "DEFAULT_MAX_AGE_S", "SessionSigner", "new_chat_session"]

SESSION_SALT = "chat-session"
DEFAULT_MAX_AGE_S = 30 * 24 * 3600
_MAX_TOKEN_CHARS = 512


def new_chat_session() -> ChatSession:
    """A new chat identity: 192 random bits, URL-safe."""
    return ChatSession(session_id=secrets.token_urlsafe(24))


class SessionSigner:
    """Signs and verifies chat session tokens (itsdangerous, salt ``chat-session``)."""

    def __init__(self, secret_key: str, *, max_age_s: int = DEFAULT_MAX_AGE_S) -> None:
        if not secret_key:
            raise ValueError("the chat session signer needs a non-empty secret key (settings.secret_key())")
        self._serializer = URLSafeTimedSerializer(secret_key, salt=SESSION_SALT)
        self._max_age_s = max_age_s

    def issue(self, session: ChatSession) -> str:
        """A fresh token for ``session`` (re-issued on every resume, so expiry slides)."""
        return self._serializer.dumps({"v": 1, "sid": session.session_id})

    def verify(self, token: str | None) -> ChatSession | None:
        """The session the token was issued for, or None when it is missing, forged, tampered or expired."""
        if not token or len(token) > _MAX_TOKEN_CHARS or not _canonical(token):
            return None
        try:
            data = self._serializer.loads(token, max_age=self._max_age_s)
        except BadData:
            return None
        if not isinstance(data, dict) or data.get("v") != 1 or not isinstance(data.get("sid"), str):
            return None
        try:
            return ChatSession(session_id=data["sid"])
        except ValidationError:
            return None


def _canonical(token: str) -> bool:
    """True when every part is canonical base64url, so exactly one spelling of a token verifies.

    The last character of an unpadded base64 part carries unused low bits; a decoder ignores them, so
    without this check a changed final character could still verify.
    """
    try:
        return all(base64_encode(base64_decode(part)).decode("ascii") == part for part in token.split("."))
    except (BadData, ValueError, UnicodeError):
        return False
