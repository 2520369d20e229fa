"""Reply/signature stripping on the real upstream fixtures.

Expected texts follow what the upstream projects (zapier/email-reply-parser, alfonsrv/
mail-parser-reply, mailgun/talon) expect as the visible reply, with deliberate differences:
Glassdesk also removes mobile and ``-- `` signatures that talon keeps (iphone, sparrow) and
sign-off blocks ("Med venlig hilsen / Anders Andersen", "Thanks, / Alex") as mail-parser-reply
does, keeps a bare name ("-Abhishek Kona"), and never returns an empty text for a body that has
one. The full policy is in ``channels/email/reply_strip.py`` and ``fixtures/README.md``.
"""

from __future__ import annotations

import re

import pytest

from channels.email import parse_email, strip_reply

from .fixtures import needs_fixtures, read_text, wrap_body

pytestmark = needs_fixtures

Z = "zapier-email-reply-parser"
M = "mail-parser-reply"
T = "talon"

EXACT: list[tuple[str, str, str]] = [
    (Z, "correct_sig.txt", "this is an email with a correct -- signature."),
    (Z, "email_1_3.txt", "Oh thanks.\n\nHaving the function would be great.\n\n-Abhishek Kona"),
    (Z, "email_1_4.txt", "Awesome! I haven't had another problem with it."),
    (Z, "email_1_7.txt", ":+1:"),
    (Z, "email_1_8.txt", "I will reply under this one\n\nand under this."),
    (Z, "email_2_1.txt", "Outlook with a reply"),
    (Z, "email_2_2.txt", "Outlook with a reply directly above line"),
    (Z, "email_2_3.txt", "Outlook with a reply above headers using unusual format"),
    (Z, "email_BlackBerry.txt", "Here is another email"),
    (Z, "email_iPhone.txt", "Here is another email"),
    (Z, "email_multi_word_sent_from_my_mobile_device.txt", "Here is another email"),
    (
        Z,
        "email_bullets.txt",
        (
            "test 2 this should list second\n\nand have spaces\n\nand retain this formatting\n\n\n"
            "   - how about bullets\n   - and another"
        ),
    ),
    (Z, "email_gmail.txt", "This is a test for inbox replying to a github message."),
    (Z, "email_headers_no_delimiter.txt", "And another reply!"),
    (
        Z,
        "email_sent_from_my_not_signature.txt",
        "Here is another email\n\nSent from my desk, is much easier then my mobile phone.",
    ),
    (
        Z,
        "pathological.txt",
        "I think you're onto something. I will try to fix the problem as soon as I\nget back to a computer.",
    ),
    (M, "email_1_7.txt", ":+1:"),
    (M, "email_3_1.txt", "First reply.\n\nThis is fairly common; nothing too hard here!"),
    (M, "email_danish_1.txt", "Hej Peter,\n\nTak for din mail. Det lyder godt."),
    (M, "email_danish_2.txt", "Hej Hanne,\n\nJeg har modtaget filerne."),
    (M, "email_danish_3.txt", "Hej,\n\nSvar."),
    (M, "email_danish_4.txt", "Hej,\n\nSvar."),
    (M, "email_danish_5.txt", "Hej,\n\nSvar."),
    (M, "email_gmail.txt", "This is a test for inbox replying to a github message."),
    (M, "email_ja_1_1.txt", "こんにちは、みなさん！"),
    (M, "email_nl_1_2.txt", "Outlook met een antwoord"),
    (M, "email_pl_1_2.txt", "Czesc Anno,\n\nJak się masz?"),
    (M, "email_sent_from_BlackBerry.txt", "Here is another email"),
    (M, "email_sent_from_iPhone.txt", "Here is another email"),
    (M, "email_sent_from_multi_word_mobile_device.txt", "Here is another email"),
    (
        M,
        "email_sent_from_not_signature.txt",
        "Here is another email\n\nSent from my desk, is much easier than my mobile phone.",
    ),
    (
        M,
        "email_swedish_1.txt",
        ("Hej Person A,\n\nUrsäkta mitt sena svar!\n\nKan inte se att det står något om vilket företag det gäller?"),
    ),
    (M, "multi_header.txt", "No problem. I’ll just start a new order."),
    (M, "multiline_on_de.txt", "Am heutigen Tage"),
    (T, "standard_replies__iphone_reply_text", "Hello"),
    (T, "standard_replies__sparrow_reply_text", "Hello"),
]


@pytest.mark.parametrize(("source", "name", "expected"), EXACT, ids=[f"{s}/{n}" for s, n, _ in EXACT])
def test_visible_reply_text_matches_upstream_expectation(source: str, name: str, expected: str) -> None:
    assert strip_reply(read_text(source, name)).text == expected


@pytest.mark.parametrize(
    ("source", "name"),
    [(Z, "email_1_5.txt"), (Z, "email_sig_delimiter_in_middle_of_line.txt"), (M, "multiline_on.txt")],
)
def test_bodies_with_nothing_to_trim_or_nothing_but_history_are_kept_whole(source: str, name: str) -> None:
    body = read_text(source, name)
    result = strip_reply(body)
    assert result.text == "\n".join(line.rstrip() for line in body.strip().splitlines())
    assert not result.quoted_removed
    assert not result.signature_removed


def test_closing_lines_of_a_plain_body_are_a_sign_off() -> None:
    result = strip_reply(read_text(M, "forward.txt"))
    assert result.text.endswith("Can I get 1 Arrival Notice without PU# and invoice?")
    assert result.text.startswith("FW: YYY Arrival Notice")
    assert result.signature_removed and not result.quoted_removed


def test_bottom_posted_inline_answer_keeps_answer_and_drops_quotes_and_footer() -> None:
    result = strip_reply(read_text(Z, "email_1_2.txt"))
    assert result.text.startswith("Hi,\n")
    assert "You can list the keys for the bucket" in result.text
    assert result.text.endswith('you’ll need to delete them all individually."')
    assert "On Tue, 2011-03-01" not in result.text
    assert "riak-users mailing list" not in result.text
    assert not any(line.startswith(">") for line in result.text.splitlines())
    assert result.quoted_removed and result.signature_removed


@pytest.mark.parametrize("name", ["email_partial_quote_header.txt", "greedy_on.txt"])
def test_on_at_line_start_is_not_a_quote_header_unless_it_wrote(name: str) -> None:
    text = strip_reply(read_text(Z, name)).text
    assert text.startswith("On your remote host you can run:")
    assert "telnet 127.0.0.1 52698" in text
    assert text.endswith("the tunnel is not working.")
    assert "George Plymale" not in text


def test_one_is_not_on() -> None:
    text = strip_reply(read_text(Z, "email_one_is_not_on.txt")).text
    assert "One outstanding question I had:" in text
    assert "On Oct 1, 2012" not in text and "lastLocation" not in text


def test_multiline_attribution_is_removed() -> None:
    result = strip_reply(read_text(Z, "email_1_6.txt"))
    assert result.text.startswith("I get proper rendering as well.")
    assert "Corey Donohoe" not in result.text and "caching" not in result.text


@pytest.mark.parametrize("source", [Z, M])
def test_mailing_list_footer_is_a_signature(source: str) -> None:
    result = strip_reply(read_text(source, "email_1_1.txt"))
    assert result.text.startswith("Hi folks")
    assert result.text.endswith("-Abhishek Kona")
    assert "mailing list" not in result.text
    assert result.signature_removed and not result.quoted_removed


def test_external_sender_banner_and_corporate_footer_are_removed() -> None:
    text = strip_reply(read_text(M, "caution.txt")).text
    assert text.startswith("Hi lads's Team,")
    assert text.endswith("job at our end.")
    assert "CAUTION" not in text and "intended solely" not in text and "HAHA LOLO" not in text


def test_disclaimer_heading_starts_a_footer() -> None:
    text = strip_reply(read_text(M, "caution2.txt")).text
    assert text.endswith("Person Person.")
    assert "Disclaimer" not in text


def test_get_outlook_for_ios_signature() -> None:
    result = strip_reply(read_text(M, "outlook.txt"))
    assert result.text.endswith("My number is: +00 0000 000 000")
    assert "Get Outlook" not in result.text and result.signature_removed


def test_quoted_printable_leftover_in_attribution() -> None:
    text = strip_reply(read_text(M, "begins_with_signature.txt")).text
    assert text.startswith("Thank you, Sonya Johnson.")
    assert text.endswith("hope you can join.")
    assert "Cody Hart" not in text and "Christopher Edwards" not in text


@pytest.mark.parametrize(
    ("name", "start", "gone"),
    [
        ("email_ja_1_2.txt", "田中様", "かしこまりました"),
        ("email_nl_1_1.txt", "Hallo allemaal,", "riak-gebruikers mailing list"),
        ("email_pl_1_1.txt", "Czesc Anno,", "Wysłano"),
        ("email_pl_1_3.txt", "Cześć Anno,", "Wysłano"),
        ("email_sv_anon_1.txt", "Hej", "Ursäkta"),
        ("email_swedish_2.txt", "Hello Anna,", "Project X"),
    ],
)
def test_other_languages(name: str, start: str, gone: str) -> None:
    text = strip_reply(read_text(M, name)).text
    assert text.startswith(start)
    assert gone not in text
    assert not any(line.startswith(">") for line in text.splitlines())


STANDARD_REPLIES = [
    "android",
    "aol",
    "apple_mail",
    "apple_mail_2",
    "comcast",
    "gmail",
    "hotmail",
    "iphone",
    "outlook",
    "sparrow",
    "thunderbird",
    "yahoo",
]


@pytest.mark.parametrize("name", STANDARD_REPLIES)
def test_talon_standard_replies_through_parse_email(name: str) -> None:
    from .fixtures import fixture_path

    parsed = parse_email(fixture_path(T, f"standard_replies__{name}.eml").read_bytes())
    assert parsed.text == "Hello"
    assert parsed.quoted_removed
    assert parsed.from_ is not None
    assert parsed.quarantine_reason is None


HTML_REPLIES = [
    "gmail",
    "hotmail",
    "mail_ru",
    "ms_outlook_2003",
    "ms_outlook_2007",
    "ms_outlook_2010",
    "thunderbird",
    "windows_mail",
    "yandex_ru",
]


def _words(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.mark.parametrize("name", HTML_REPLIES)
def test_talon_html_replies_as_html_only_messages(name: str) -> None:
    html = read_text(T, f"html_replies__{name}.html")
    parsed = parse_email(wrap_body(html, subtype="html"))
    assert parsed.html_present
    assert _words(parsed.text) == "Hi. I am fine."
    assert parsed.quoted_removed and parsed.signature_removed
    assert "Hello! How are you?" in parsed.full_text


@pytest.mark.parametrize(
    ("name", "expected"),
    [("OLK_SRC_BODY_SECTION.html", "Reply"), ("reply-separated-by-hr.html", "Hi there Bob")],
)
def test_talon_html_separators(name: str, expected: str) -> None:
    parsed = parse_email(wrap_body(read_text(T, name), subtype="html"))
    assert _words(parsed.text) == expected


def test_talon_share_block_reply() -> None:
    from .fixtures import fixture_path

    parsed = parse_email(fixture_path(T, "reply-quotations-share-block.eml").read_bytes())
    assert parsed.text.startswith("Hi Katharine.")
    assert parsed.text.endswith("Joe XXX")
    assert "--- On Wed" not in parsed.text and "New Booking Inquiry" not in parsed.text


def test_pathological_input_is_bounded() -> None:
    body = read_text(Z, "pathological.txt") * 200
    result = strip_reply(body)
    assert result.quoted_removed
