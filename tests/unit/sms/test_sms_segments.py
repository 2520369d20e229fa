"""Segment counting (GSM-7 vs UCS-2) and the segment-bounded SMS body."""

from __future__ import annotations

import pytest

from channels.sms import ELLIPSIS, SmsEncoding, render_sms, sms_segments
from channels.sms.segments import _GSM_BASIC

DISCLOSURE = "This reply was written by an AI assistant."
LINK = "https://desk.example.com/s/Zm9vYmFyYmF6"


def test_the_gsm_basic_table_has_128_positions() -> None:
    assert len(_GSM_BASIC) == 128 and len(set(_GSM_BASIC)) == 128


@pytest.mark.parametrize(
    ("text", "encoding", "segments", "units"),
    [
        ("", SmsEncoding.GSM7, 1, 0),
        ("a" * 160, SmsEncoding.GSM7, 1, 160),
        ("a" * 161, SmsEncoding.GSM7, 2, 161),
        ("a" * 306, SmsEncoding.GSM7, 2, 306),
        ("a" * 307, SmsEncoding.GSM7, 3, 307),
        ("Grüße aus Köln, schöne Äpfel für Jürgen. ÄÖÜäöüß", SmsEncoding.GSM7, 1, 48),
        ("Ça coûte 5 €", SmsEncoding.UCS2, 1, 12),  # û is not GSM-7
        ("Café é è à ù", SmsEncoding.GSM7, 1, 12),
        ("€" * 80, SmsEncoding.GSM7, 1, 160),  # extension chars take two septets
        ("€" * 81, SmsEncoding.GSM7, 2, 162),
        ("a" * 159 + "€", SmsEncoding.GSM7, 2, 161),
        ("Thanks 👍", SmsEncoding.UCS2, 1, 9),  # emoji: UCS-2, two UTF-16 units
        ("x" * 70, SmsEncoding.GSM7, 1, 70),
        ("ж" * 70, SmsEncoding.UCS2, 1, 70),
        ("ж" * 71, SmsEncoding.UCS2, 2, 71),
        ("ж" * 134, SmsEncoding.UCS2, 2, 134),
        ("ж" * 135, SmsEncoding.UCS2, 3, 135),
        ("ж" * 66 + "😀", SmsEncoding.UCS2, 1, 68),
        ("ж" * 70 + "😀", SmsEncoding.UCS2, 2, 72),
        ("ж" * 66 + "😀" * 1 + "ж" * 4, SmsEncoding.UCS2, 2, 72),
    ],
)
def test_sms_segments(text: str, encoding: SmsEncoding, segments: int, units: int) -> None:
    info = sms_segments(text)
    assert (info.encoding, info.segments, info.units, info.chars) == (encoding, segments, units, len(text))


def test_surrogate_pair_is_not_split_between_parts() -> None:
    # 66 units, then an emoji (2 units) would straddle the 67-unit boundary of part 1 of a long text
    text = "ж" * 66 + "😀" + "ж" * 10
    assert sms_segments(text).segments == 2


def test_short_text_is_untouched_and_disclosure_comes_first() -> None:
    r = render_sms("Your parcel left the depot.", disclosure=DISCLOSURE, link=LINK, max_segments=3)
    assert r.body == f"{DISCLOSURE}\nYour parcel left the depot.\n{LINK}"
    assert not r.truncated and r.info.segments == 1


@pytest.mark.parametrize("max_segments", [1, 2, 3, 10])
@pytest.mark.parametrize("word", ["Paket ", "Grüße ", "ok 👍 "])
def test_long_text_is_shortened_within_max_segments(max_segments: int, word: str) -> None:
    text = word * 800
    r = render_sms(text, disclosure=DISCLOSURE, link=LINK, max_segments=max_segments)
    assert r.truncated
    assert r.info.segments <= max_segments
    assert len(r.body) <= 1600
    assert r.body.startswith(DISCLOSURE + "\n") and r.body.endswith(ELLIPSIS + "\n" + LINK)
    # as long as possible: a cut moves back at most to a word boundary, so five more words never fit
    kept = r.body[len(DISCLOSURE) + 1 : -(len(LINK) + len(ELLIPSIS) + 1)]
    longer = render_sms(kept + " " + word * 5, disclosure=DISCLOSURE, link=LINK, max_segments=max_segments)
    assert longer.truncated


def test_ellipsis_keeps_a_gsm_body_in_gsm() -> None:
    r = render_sms("Grüße " * 100, disclosure=None, link=None, max_segments=1)
    assert r.info.encoding is SmsEncoding.GSM7 and r.info.segments == 1 and r.body.endswith("...")


def test_twilio_body_limit_of_1600_chars_is_respected() -> None:
    r = render_sms("a" * 5000, max_segments=50)
    assert len(r.body) <= 1600 and r.truncated


def test_fixed_parts_that_cannot_fit_are_an_error_naming_the_setting() -> None:
    with pytest.raises(ValueError, match="sms_max_segments"):
        render_sms("hello", disclosure=DISCLOSURE, link="https://x.example/" + "a" * 200, max_segments=1)
