"""SMS segment arithmetic (GSM 03.38 / 3GPP TS 23.038) and the segment-bounded SMS body.

- GSM-7: 160 septets in one SMS, 153 per part when concatenated. Characters of the extension table
  (``^{}\\[~]|€`` and form feed) take two septets and are never split across parts.
- UCS-2 (anything outside GSM-7, e.g. emoji, ``ç``, Cyrillic): 70 UTF-16 code units alone, 67 per
  part; a character outside the BMP (most emoji) takes two units and is never split.
- German umlauts and ``ß`` are GSM-7; so are ``é è ù ì ò à Ç Ñ Å Æ Ø`` and a few Greek capitals.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["SmsEncoding", "SegmentInfo", "sms_segments", "RenderedSms", "render_sms", "ELLIPSIS", "MAX_BODY_CHARS"]

_GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_ONE = frozenset(_GSM_BASIC) - {"\x1b"}  # ESC itself is not a character a sender may use
_GSM_TWO = frozenset("\f^{}\\[~]|€")

ELLIPSIS = "..."  # GSM-7 safe: "…" (U+2026) would switch the whole SMS to UCS-2
MAX_BODY_CHARS = 1600  # Twilio refuses longer bodies (error 21617)


@enum.unique
class SmsEncoding(enum.StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    encoding: SmsEncoding
    segments: int
    chars: int  # code points
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)


def _pack(units: list[int], single: int, multi: int) -> int:
    total = sum(units)
    if total <= single:
        return 1
    segments, used = 1, 0
    for u in units:
        if used + u > multi:
            segments += 1
            used = 0
        used += u
    return segments


def sms_segments(text: str) -> SegmentInfo:
    """How ``text`` travels: its encoding and how many SMS parts it takes (an empty text is one)."""
    if all(c in _GSM_ONE or c in _GSM_TWO for c in text):
        units = [2 if c in _GSM_TWO else 1 for c in text]
        return SegmentInfo(SmsEncoding.GSM7, _pack(units, 160, 153), len(text), sum(units))
    units = [2 if ord(c) > 0xFFFF else 1 for c in text]
    return SegmentInfo(SmsEncoding.UCS2, _pack(units, 70, 67), len(text), sum(units))


@dataclass(frozen=True, slots=True)
class RenderedSms:
    body: str
    info: SegmentInfo
    truncated: bool


def _compose(disclosure: str | None, text: str, link: str | None) -> str:
    return "\n".join(part for part in (disclosure, text, link) if part)


def render_sms(
    text: str, *, disclosure: str | None = None, link: str | None = None, max_segments: int = 10
) -> RenderedSms:
    """The SMS body: ``disclosure`` line first, then ``text``, then ``link`` on its own line.

    When the body would need more than ``max_segments`` parts (or more than 1,600 characters), only
    ``text`` is shortened, at a word boundary where one is near, and ends with ``...``. The disclosure
    and the link are never cut. Raises ``ValueError`` when even they alone do not fit.
    """
    if max_segments < 1:
        raise ValueError("max_segments must be at least 1")
    text = text.strip()

    def fits(candidate: str) -> RenderedSms | None:
        body = _compose(disclosure, candidate, link)
        info = sms_segments(body)
        if info.segments <= max_segments and len(body) <= MAX_BODY_CHARS:
            return RenderedSms(body, info, candidate != text)
        return None

    whole = fits(text)
    if whole is not None:
        return whole
    if fits(ELLIPSIS) is None:
        raise ValueError(f"the disclosure and link alone exceed {max_segments} SMS segment(s); raise sms_max_segments")
    lo, hi = 0, len(text)  # invariant: a cut at lo fits, a cut at hi does not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(text[:mid].rstrip() + ELLIPSIS) is not None:
            lo = mid
        else:
            hi = mid
    cut = text[:lo]
    space = cut.rfind(" ", max(0, lo - 20))
    if space > 0:
        cut = cut[:space]
    result = fits(cut.rstrip() + ELLIPSIS)
    assert result is not None  # a shorter cut of a fitting cut fits
    return result
