"""Mailbox (address + display name) parsing and validation.

CPython's legacy ``parseaddr``/``getaddresses`` misparse some addresses with special characters
(CVE-2023-27043, unpatched in 3.11.7). We therefore accept a header value only when the legacy
parser and the modern ``email.headerregistry`` parser agree on exactly the same addr-spec, and the
addr-spec passes a strict syntax check. Anything else is invalid; nothing is guessed.
"""

from __future__ import annotations

import re
import unicodedata
from email.headerregistry import AddressHeader, HeaderRegistry
from email.utils import getaddresses

from pydantic import BaseModel, ConfigDict, field_validator

__all__ = [
    "Mailbox",
    "contains_line_break",
    "parse_mailbox",
    "parse_mailbox_list",
    "plus_address",
    "split_plus_address",
]

_MAX_ADDRESS = 254
_MAX_NAME = 200
# Dot-atom local part (RFC 5322 atext, plus non-ASCII letters for SMTPUTF8) and a hostname domain.
_LOCAL_RE = re.compile(r"[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*")
_DOMAIN_RE = re.compile(r"(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_][\w-]{0,61}[^\W_]|localhost")
_BIDI_AND_CONTROL = {"Cc", "Cf"}
_HEADERS = HeaderRegistry()


def contains_line_break(value: str) -> bool:
    """True when ``value`` contains CR, LF, NUL or another line separator (header-injection risk)."""
    return any(ch in value for ch in ("\r", "\n", "\x00", "\x0b", "\x0c", "\x85", "\u2028", "\u2029"))


def _clean_name(name: str) -> str | None:
    cleaned = "".join(ch for ch in name if unicodedata.category(ch) not in _BIDI_AND_CONTROL)
    cleaned = " ".join(cleaned.split())[:_MAX_NAME]
    return cleaned or None


def _check_addr_spec(address: str) -> str:
    if not address or len(address) > _MAX_ADDRESS or contains_line_break(address):
        raise ValueError(f"not a valid email address: {address!r}")
    local, sep, domain = address.rpartition("@")
    if not sep or not _LOCAL_RE.fullmatch(local) or not _DOMAIN_RE.fullmatch(domain):
        raise ValueError(
            f"not a valid email address: {address!r} (expected local-part@domain, "
            "no spaces, quotes or control characters)"
        )
    return f"{local}@{domain.lower()}"


class Mailbox(BaseModel):
    """One validated email mailbox: ``address`` (domain lower-cased) and an optional display name."""

    model_config = ConfigDict(frozen=True)

    address: str
    display_name: str | None = None

    @field_validator("address")
    @classmethod
    def _valid_address(cls, value: str) -> str:
        return _check_addr_spec(value.strip())

    @field_validator("display_name")
    @classmethod
    def _valid_name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if contains_line_break(value):
            raise ValueError("display name must not contain CR, LF or NUL")
        return _clean_name(value)


def _modern_addresses(value: str) -> list[tuple[str, str]] | None:
    try:
        header = _HEADERS("to", value)
        if not isinstance(header, AddressHeader):  # the registry maps "to" to an address header
            return None
        if header.defects and any("invalid" in str(d).lower() for d in header.defects):
            return None
        return [(a.display_name or "", a.addr_spec) for a in header.addresses]
    except Exception:  # noqa: BLE001 - the stdlib parser raises assorted errors on hostile input
        return None


def parse_mailbox_list(value: str | None) -> tuple[list[Mailbox], int]:
    """Parse an address-list header value; return (valid mailboxes, number of rejected entries).

    Entries where the two stdlib parsers disagree, or whose addr-spec is not strictly valid, are
    rejected rather than guessed (CVE-2023-27043).
    """
    if not value or not value.strip():
        return [], 0
    value = value.replace("\r", " ").replace("\n", " ")[:16_384]
    try:
        legacy = [(n, a) for n, a in getaddresses([value]) if n or a]
    except Exception:  # noqa: BLE001
        return [], 1
    modern = _modern_addresses(value)
    if modern is None or len(modern) != len(legacy):
        return [], max(len(legacy), 1)
    result: list[Mailbox] = []
    rejected = 0
    for (_name, addr), (mname, maddr) in zip(legacy, modern, strict=True):
        if addr.lower() != maddr.lower():
            rejected += 1
            continue
        try:
            # The modern parser decodes RFC 2047 encoded-words in the display name.
            name = mname.replace("\r", " ").replace("\n", " ") if mname else None
            result.append(Mailbox(address=addr, display_name=name))
        except ValueError:
            rejected += 1
    return result, rejected


def parse_mailbox(value: str | None) -> Mailbox | None:
    """Parse a header that must hold exactly one mailbox (e.g. ``From``); ``None`` if not clean."""
    boxes, rejected = parse_mailbox_list(value)
    if rejected or len(boxes) != 1:
        return None
    return boxes[0]


def plus_address(address: str, tag: str) -> str:
    """``support@example.com`` + ``abc`` -> ``support+abc@example.com`` (existing tag replaced)."""
    local, _, domain = _check_addr_spec(address).rpartition("@")
    base = local.split("+", 1)[0]
    return _check_addr_spec(f"{base}+{tag}@{domain}")


def split_plus_address(address: str) -> tuple[str, str | None, str]:
    """``support+abc@example.com`` -> ``("support", "abc", "example.com")``."""
    local, _, domain = address.rpartition("@")
    base, sep, tag = local.partition("+")
    return base, (tag if sep else None), domain.lower()
