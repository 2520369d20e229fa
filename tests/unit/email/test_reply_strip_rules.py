"""The individual rules of reply trimming: quote headers, forwards, sign-offs, never-empty."""

from __future__ import annotations

import pytest

from channels.email import strip_reply
from channels.email.quote_headers import MarkerKind, find_markers, is_forward_subject


def _kinds(text: str) -> dict[int, MarkerKind]:
    return {i: m.kind for i, m in find_markers(text.split("\n")).items()}


@pytest.mark.parametrize(
    "header",
    [
        "Am Mo., 23. Nov. 2026 um 10:14 Uhr schrieb Anna Schmidt <anna@example.de>:",
        "Am 23.11.2026 um 10:14 schrieb Anna Schmidt <anna@example.de>:",
        "Am 23.11.26 um 10:14 schrieb Anna Schmidt:",
        "Anna Schmidt <anna@example.de> schrieb am Mo., 23. Nov. 2026, 10:14:",
        "Anna Schmidt <anna@example.de> schrieb am 23.11.2026 10:14:22:",
        "Am Montag, 23. November 2026, 10:14:05 MEZ hat Anna Schmidt <anna@example.de> Folgendes geschrieben:",
        "On Mon, Nov 23, 2026 at 10:14 AM Jane Doe <jane@example.com> wrote:",
        "On 11/23/26 10:14 AM, Jane Doe wrote:",
        "Zitat von Anna Schmidt <anna@example.de>:",
        "Quoting Jane Doe <jane@example.com>:",
    ],
)
def test_attribution_lines_of_the_big_clients_start_history(header: str) -> None:
    body = f"Die neue Nachricht steht hier oben.\n\n{header}\n\nalter Text ohne Zitatzeichen"
    assert _kinds(body) == {2: MarkerKind.ATTRIBUTION}
    assert strip_reply(body).text == "Die neue Nachricht steht hier oben."


@pytest.mark.parametrize(
    "sentence",
    [
        "wie ich Ihnen am 20.11. schrieb:",
        "Am 20.11.2026 schrieb ich Ihnen:",
        "my colleague wrote on 11/20:",
        "Anna schrieb:",
    ],
)
def test_a_sentence_ending_in_wrote_is_not_a_quote_header_without_evidence(sentence: str) -> None:
    body = f"Hallo,\n\n{sentence}\nDas Gerät startet nicht.\n\nWas tun?"
    assert _kinds(body) == {}
    assert strip_reply(body).text == body


def test_name_only_header_counts_when_a_quote_follows() -> None:
    body = "Ja, bitte stornieren.\n\nGlassdesk Support schrieb:\n> Sollen wir stornieren?"
    assert _kinds(body) == {2: MarkerKind.ATTRIBUTION_QUOTED, 3: MarkerKind.QUOTED}
    assert strip_reply(body).text == "Ja, bitte stornieren."


def test_outlook_header_block_with_wrapped_values_is_one_block() -> None:
    lines = [
        "Von: Glassdesk Kundenservice",
        "<support@glassdesk.example>",
        "Gesendet: Montag, 23. November 2026 10:14",
        "An: a@example.de; b@example.de;",
        "c@example.de",
        "Betreff: AW: Zugang",
        "",
        "Text",
    ]
    marks = find_markers(lines)
    assert list(marks) == [0]
    assert marks[0].kind is MarkerKind.HEADERS and marks[0].end == 5


def test_two_keyed_lines_without_an_address_are_not_a_header_block() -> None:
    body = "Betreff: Kündigung meines Vertrags\nVon: Max Mustermann, Kundennummer 12345\n\nHiermit kündige ich."
    assert _kinds(body) == {}
    assert strip_reply(body).text == body


@pytest.mark.parametrize(
    ("subject", "forward"),
    [
        ("Fwd: Ihre Rechnung", True),
        ("WG: Offene Rechnung", True),
        ("FW: Overdue invoice", True),
        ("[EXTERNAL] FW: Overdue invoice", True),
        ("TR: Facture", True),
        ("AW: Ihre Rechnung", False),
        ("Re: Fwd: Ihre Rechnung", False),
        ("Fwdiscount code", False),
        ("", False),
        (None, False),
    ],
)
def test_forward_subjects(subject: str | None, forward: bool) -> None:
    assert is_forward_subject(subject) is forward


OUTLOOK_FORWARD = (
    "Bitte prüfen Sie die Mail unten.\n\nMit freundlichen Grüßen\nSabine Krüger\n\n"
    "________________________________\n"
    "Von: Lieferant AG <buchhaltung@lieferant.example>\nGesendet: Montag, 23. November 2026 09:02\n"
    "An: Sabine Krüger <s@example.de>\nBetreff: Offene Rechnung 2026-77\n\nDie Rechnung ist offen."
)


def test_forward_keeps_own_words_then_the_forwarded_block() -> None:
    result = strip_reply(OUTLOOK_FORWARD, subject="WG: Offene Rechnung 2026-77")
    own, forwarded = result.text.split("\n\n", 1)
    assert own == "Bitte prüfen Sie die Mail unten."
    assert forwarded.startswith("Von: Lieferant AG <buchhaltung@lieferant.example>\n")
    assert forwarded.endswith("Die Rechnung ist offen.")
    assert "Sabine Krüger\n" not in result.text  # the customer's own signature is still removed
    assert not result.quoted_removed and result.signature_removed


def test_outlook_forward_without_the_subject_is_trimmed_like_a_reply() -> None:
    result = strip_reply(OUTLOOK_FORWARD)
    assert result.text == "Bitte prüfen Sie die Mail unten."
    assert result.quoted_removed


def test_forward_marker_line_is_a_forward_without_a_subject() -> None:
    body = "Siehe unten.\n\n---------- Forwarded message ---------\nFrom: A <a@example.com>\n\nOld text"
    result = strip_reply(body)
    assert result.text == body
    assert not result.quoted_removed


def test_reply_whose_history_contains_a_forward_drops_it_all() -> None:
    body = "Danke.\n\nAm 23.11.2026 um 10:14 schrieb A <a@example.de>:\n> Anfang der weitergeleiteten Nachricht:\n> x"
    assert strip_reply(body, subject="AW: x").text == "Danke."


@pytest.mark.parametrize(
    ("closing", "name"),
    [
        ("Mit freundlichen Grüßen", "Anna Schmidt"),
        ("Mit freundlichen Grüssen", "Urs Meier"),
        ("Mit freundlichem Gruß", "A. Keller"),
        ("Viele Grüße", "Petra"),
        ("Liebe Grüße,", "Monika"),
        ("MfG", "K. Becker"),
        ("LG", "Petra"),
        ("Danke und Gruß", "Peter Lang"),
        ("Mit freundlichen Grüßen / Kind regards", "Sabine Krüger"),
        ("Best regards,", "Jane Doe"),
        ("Kind regards,", "Emma"),
        ("Thanks,", "Noah"),
        ("Cheers,", "Tom"),
        ("Many thanks and kind regards,", "Paul Smith"),
    ],
)
def test_sign_off_block_is_removed(closing: str, name: str) -> None:
    body = f"Hallo,\n\ndie Lieferung fehlt noch.\n\n{closing}\n{name}\nMuster GmbH\nTel. +49 30 1234567"
    result = strip_reply(body)
    assert result.text == "Hallo,\n\ndie Lieferung fehlt noch."
    assert result.signature_removed and not result.quoted_removed


@pytest.mark.parametrize("line", ["LG Petra", "Gruß, Hans", "Cheers, Lars", "Viele Grüße, Anna"])
def test_sign_off_with_the_name_on_the_same_line(line: str) -> None:
    assert strip_reply(f"Wo ist mein Paket?\n\n{line}").text == "Wo ist mein Paket?"


@pytest.mark.parametrize(
    "body",
    [
        "Die Kündigung ist raus.\n\nViele Grüße\nAnna\n\nPS: Bitte an die neue Adresse schicken.",
        "The password works now.\n\nThanks!\nAlso, where can I download the invoice?",
        "Hi,\nI need help.\nThanks\nfor everything you did last week.",
        "Best regards to the team that fixed this.\n\nThanks, that solved it.",
        "Hallo,\n\nich bin im Urlaub.\n\nGrüße aus Mallorca\nTom",
    ],
)
def test_lines_that_only_look_like_sign_offs_are_kept(body: str) -> None:
    result = strip_reply(body)
    assert result.text == body
    assert not result.signature_removed


def test_a_long_block_after_a_closing_line_is_not_a_signature() -> None:
    body = "Hallo,\n\nDanke\n" + "\n".join(f"Position {n}: Schraube M{n}" for n in range(20))
    assert strip_reply(body).text == body


@pytest.mark.parametrize(
    "body",
    [
        "> Am 23.11.2026 um 10:14 schrieb A <a@example.de>:\n>\n> Alles gut?",
        "On Mon, Nov 23, 2026 at 10:14 AM A <a@example.com> wrote:\n\n> Anything else?",
        "Viele Grüße\nPetra",
        "Sent from my iPhone",
        "Von meinem iPhone gesendet\n\n> Am 23.11.2026 um 10:14 schrieb A <a@example.de>:\n> Alles gut?",
    ],
)
def test_never_strips_the_whole_message(body: str) -> None:
    result = strip_reply(body + "\n")
    assert result.text == body
    assert not result.quoted_removed and not result.signature_removed


@pytest.mark.parametrize(
    "device",
    [
        "Von meinem iPhone gesendet",
        "Gesendet von meinem iPad",
        "Sent from my iPhone",
        "Get Outlook for Android<https://aka.ms/ghei36>",
        "Holen Sie sich Outlook für Android<https://aka.ms/AAb9ysg>",
        "Gesendet mit der WEB.DE Mail App",
        "Diese Nachricht wurde von meinem Android Mobiltelefon mit GMX Mail gesendet.",
    ],
)
def test_device_signatures(device: str) -> None:
    result = strip_reply(f"Ich komme morgen vorbei.\n\n{device}")
    assert result.text == "Ich komme morgen vorbei."
    assert result.signature_removed


def test_quote_headers_inside_a_long_adversarial_body_are_bounded() -> None:
    body = "Hallo\n" + "Anna <a@example.de> schrieb am 23.11.2026 10:14:\n" * 2000
    result = strip_reply(body)
    assert result.text == "Hallo"
    assert result.quoted_removed
