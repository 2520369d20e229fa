"""Chat session tokens: signed, tamper-evident, expiring, and bound to our key and salt."""

from __future__ import annotations

import pytest
from itsdangerous import URLSafeTimedSerializer

from channels.chat import SESSION_SALT, SessionSigner, new_chat_session
from conversation import ChatSession


def test_a_token_verifies_to_its_session() -> None:
    signer = SessionSigner("k" * 32)
    session = new_chat_session()
    assert signer.verify(signer.issue(session)) == session


def test_new_sessions_are_random_and_valid_chat_addresses() -> None:
    a, b = new_chat_session(), new_chat_session()
    assert isinstance(a, ChatSession) and a != b
    assert len(a.session_id) >= 32


@pytest.mark.parametrize("position", [0, 10, -1, -10])
def test_any_changed_character_is_rejected(position: int) -> None:
    signer = SessionSigner("k" * 32)
    token = signer.issue(new_chat_session())
    swapped = "A" if token[position] != "A" else "B"
    chars = list(token)
    chars[position] = swapped
    assert signer.verify("".join(chars)) is None


def test_another_key_or_salt_is_rejected() -> None:
    session = new_chat_session()
    assert SessionSigner("k" * 32).verify(SessionSigner("other" * 8).issue(session)) is None
    other_salt = URLSafeTimedSerializer("k" * 32, salt="login").dumps({"v": 1, "sid": session.session_id})
    assert SessionSigner("k" * 32).verify(other_salt) is None


def test_our_salt_and_key_with_a_wrong_payload_is_rejected() -> None:
    s = URLSafeTimedSerializer("k" * 32, salt=SESSION_SALT)
    signer = SessionSigner("k" * 32)
    assert signer.verify(s.dumps({"v": 1, "sid": "short"})) is None  # not a valid session id
    assert signer.verify(s.dumps({"v": 2, "sid": "a" * 20})) is None
    assert signer.verify(s.dumps(["a" * 20])) is None
    assert signer.verify(s.dumps({"v": 1, "sid": "a" * 20})) == ChatSession(session_id="a" * 20)


def test_an_expired_token_is_rejected() -> None:
    signer = SessionSigner("k" * 32, max_age_s=-1)  # everything is already too old
    assert signer.verify(signer.issue(new_chat_session())) is None


@pytest.mark.parametrize("token", [None, "", "garbage", "a.b.c", "x" * 10_000])
def test_missing_or_junk_tokens_are_none(token: str | None) -> None:
    assert SessionSigner("k" * 32).verify(token) is None


def test_an_empty_key_is_refused_with_a_hint() -> None:
    with pytest.raises(ValueError, match="secret_key"):
        SessionSigner("")


def test_a_non_canonical_spelling_of_a_valid_signature_is_rejected() -> None:
    """The signature's last base64 character has unused low bits; flipping them must not verify."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    signer = SessionSigner("k" * 32)
    token = signer.issue(new_chat_session())
    head, last = token[:-1], token[-1]
    # 20 signature bytes in 27 characters leave 2 unused bits in the final character.
    sibling = alphabet[alphabet.index(last) ^ 0b01]
    assert signer.verify(head + sibling) is None
    assert signer.verify(token) is not None
