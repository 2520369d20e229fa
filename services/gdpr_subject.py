"""The data subject of an export or erasure: their rows, every id and identifier that points at them,
and a matcher that finds those in text (log lines, queue entries, flow runs, files).

Ids are the opaque ids and tokens of the contact's rows (contact, identity, conversation, message,
outbox, feedback, status and reply tokens, provider ids). Identifiers are what names the person: the
addresses of their identities, their display names, back-office customer id, the Message-IDs of their
emails and the hashes (blob keys) of their attachments and raw emails. Derived tokens are what other
modules compute from an address (the identity rate-limit key)."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass

from conversation.sql.gdpr import SubjectRecords

__all__ = ["Subject", "Matcher", "pseudonym", "subject_of", "MIN_TOKEN"]

MIN_TOKEN = 6  # shorter identifiers (a two-letter name) would match unrelated text; they are not searched


def pseudonym(secret: str, contact_id: str) -> str:
    """The receipt's subject: HMAC-SHA256 of the contact id, keyed by the session secret."""
    return hmac.new(secret.encode(), b"glassdesk-gdpr-subject:" + contact_id.encode(), hashlib.sha256).hexdigest()


class Matcher:
    """Case-insensitive search for any of a set of tokens (one compiled alternation)."""

    def __init__(self, tokens: Iterable[str]) -> None:
        self.tokens = frozenset(t for t in (str(x).strip() for x in tokens) if len(t) >= MIN_TOKEN)
        ordered = sorted(self.tokens, key=len, reverse=True)
        self._re = re.compile("|".join(re.escape(t) for t in ordered), re.IGNORECASE) if ordered else None

    def __bool__(self) -> bool:
        return self._re is not None

    def search(self, text: str | bytes | None) -> bool:
        if self._re is None or not text:
            return False
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        return self._re.search(text) is not None

    def found(self, text: str) -> set[str]:
        """Which tokens occur in ``text`` (lower-cased)."""
        return {m.group(0).lower() for m in self._re.finditer(text)} if self._re is not None else set()


@dataclass(frozen=True, slots=True)
class Subject:
    records: SubjectRecords
    pseudonym: str
    ids: frozenset[str]
    identifiers: frozenset[str]
    blob_keys: frozenset[str]
    derived: frozenset[str]

    @property
    def contact_id(self) -> str:
        return self.records.contact_id

    def matcher(self) -> Matcher:
        return Matcher(self.ids | self.identifiers | self.derived)

    def addresses(self) -> Matcher:
        """Only what names this person and no namesake: their email addresses, phone numbers and chat
        session ids (quarantined mail is matched on these, never on a display name)."""
        return Matcher(str(i["address"]) for i in self.records.identities)


def subject_of(records: SubjectRecords, *, secret: str) -> Subject:
    identifiers: set[str] = set()
    for ident in records.identities:
        identifiers.add(str(ident["address"]))
    for contact in records.contacts:
        identifiers.update(str(contact[k]) for k in ("display_name", "backoffice_customer_id") if contact.get(k))
    blob_keys: set[str] = set()
    for msg in records.messages:
        meta = msg.get("meta") or {}
        for key in ("message_id", "raw_blob"):
            if meta.get(key):
                identifiers.add(str(meta[key]))
        if meta.get("raw_blob"):
            blob_keys.add(str(meta["raw_blob"]))
        for att in msg.get("attachments") or []:
            blob_keys.update(str(att[k]) for k in ("blob_key", "sha256") if att.get(k))
    identifiers |= blob_keys
    return Subject(
        records=records,
        pseudonym=pseudonym(secret, records.contact_id),
        ids=records.ids(),
        identifiers=frozenset(identifiers),
        blob_keys=frozenset(blob_keys),
        derived=frozenset(_identity_rate_tags(records, secret)),
    )


def _identity_rate_tags(records: SubjectRecords, secret: str) -> set[str]:
    """The per-address rate-limit tags of ``services.identity`` (``gd:rl:identity:addr:<tag>``): an HMAC
    of the address, so the key itself never shows it. Mirrors ``IdentityVerifier`` (same key, same text)."""
    key = hashlib.sha256(b"glassdesk-otp:" + secret.encode()).digest()
    tags = set()
    for ident in records.identities:
        if ident["kind"] in {"email", "phone"}:
            text = f"addr:{ident['kind']}:{ident['address']}"
            tags.add(hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:32])
    return tags
