from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from understanding import PatternRule, PiiConfig, PiiKind, redact, restore
from understanding.pii import iban_is_valid, luhn_is_valid


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("Schreiben Sie an max.mustermann@example.de bitte", PiiKind.EMAIL, "max.mustermann@example.de"),
        ("Call me on +49 30 12345678 tomorrow", PiiKind.PHONE, "+49 30 12345678"),
        # an unallocated (here: Ofcom's drama) range written with "+" is still somebody's number
        ("text me at +44 7700 900999 later", PiiKind.PHONE, "+44 7700 900999"),
        ("Meine Nummer: 0171 2345678", PiiKind.PHONE, "0171 2345678"),
        ("ring 020 7946 0958 after five", PiiKind.PHONE, "020 7946 0958"),
        ("my cell is (212) 555-0143", PiiKind.PHONE, "(212) 555-0143"),
        ("IBAN DE89 3704 0044 0532 0130 00 bitte", PiiKind.IBAN, "DE89 3704 0044 0532 0130 00"),
        ("pay to GB82WEST12345698765432 now", PiiKind.IBAN, "GB82WEST12345698765432"),
        ("card 4111 1111 1111 1111 expires", PiiKind.CARD, "4111 1111 1111 1111"),
        ("Karte 5500-0000-0000-0004", PiiKind.CARD, "5500-0000-0000-0004"),
        ("Liefern an Hauptstraße 12, 10115 Berlin bitte", PiiKind.ADDRESS, "Hauptstraße 12, 10115 Berlin"),
        ("I live at 221 Baker Street now", PiiKind.ADDRESS, "221 Baker Street"),
        ("Hallo, mein Name ist Anna Müller und", PiiKind.PERSON, "Anna Müller"),
        ("Hi, my name is John Smith.", PiiKind.PERSON, "John Smith"),
        ("Danke!\nViele Grüße\nPetra Schulz", PiiKind.PERSON, "Petra Schulz"),
        ("Sehr geehrte Frau Schmidt, danke", PiiKind.PERSON, "Schmidt"),
        ("Wo ist Bestellung 55123?", PiiKind.ORDER_NUMBER, "55123"),
        ("order number: 4471209 is late", PiiKind.ORDER_NUMBER, "4471209"),
        ("Police POL-123456 prüfen", PiiKind.POLICY_NUMBER, "POL-123456"),
        ("claim CLM-2026-0001 status", PiiKind.CLAIM_NUMBER, "CLM-2026-0001"),
    ],
)
def test_each_kind_is_found_and_redacted(text: str, kind: PiiKind, value: str) -> None:
    result = redact(text)
    assert [e.kind for e in result.entities] == [kind]
    entity = result.entities[0]
    assert text[entity.start : entity.end] == value
    assert result.mapping[entity.placeholder] == value
    assert value not in result.text and entity.placeholder in result.text
    assert restore(result.text, result.mapping) == text


@pytest.mark.parametrize(
    "text",
    [
        "IBAN DE89 3704 0044 0532 0130 01 bitte",  # mod-97 fails
        "GB82WEST12345698765433",
        "card 4111 1111 1111 1112 expires",  # Luhn fails
        "Bestellung vom 12.03.2026, Betrag 49,90 EUR",
        "Wir haben 3 Artikel für 120 Euro gekauft",
        "I am very angry about the service",
    ],
)
def test_checksum_failures_and_plain_numbers_are_not_redacted(text: str) -> None:
    result = redact(text)
    assert result.text == text and result.entities == () and result.mapping == {}


def test_checksum_helpers() -> None:
    assert iban_is_valid("DE89370400440532013000") and not iban_is_valid("DE89370400440532013001")
    assert luhn_is_valid("4111111111111111") and not luhn_is_valid("4111111111111112")


def test_same_value_same_placeholder_and_numbering_per_kind() -> None:
    text = "a@x.de, b@y.de and again a@x.de; +49 30 12345678"
    result = redact(text)
    assert result.text == "[EMAIL_1], [EMAIL_2] and again [EMAIL_1]; [PHONE_1]"
    assert result.mapping == {"[EMAIL_1]": "a@x.de", "[EMAIL_2]": "b@y.de", "[PHONE_1]": "+49 30 12345678"}
    assert restore("Reply to [EMAIL_2] about [UNKNOWN_1]", result.mapping) == "Reply to b@y.de about [UNKNOWN_1]"


def test_configurable_patterns_and_regions() -> None:
    config = PiiConfig(
        patterns=(PatternRule(kind=PiiKind.ORDER_NUMBER, pattern=r"\bA-\d{4}\b"),), phone_regions=("FR",)
    )
    result = redact("Commande A-1234, tél 01 23 45 67 89", config=config)
    assert [e.kind for e in result.entities] == [PiiKind.ORDER_NUMBER, PiiKind.PHONE]
    assert redact("Bestellung 55123", config=config).entities == ()
    with pytest.raises(ValueError, match="invalid regular expression"):
        PatternRule(kind=PiiKind.ORDER_NUMBER, pattern="(unclosed")
    only_email = PiiConfig(kinds=frozenset({PiiKind.EMAIL}))
    assert redact("a@b.de +49 30 12345678", config=only_email).text == "[EMAIL_1] +49 30 12345678"


@settings(max_examples=150, deadline=None)
@given(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80),
    st.sampled_from(["", " max@example.org ", " DE89 3704 0044 0532 0130 00 ", " POL-654321 "]),
)
def test_restore_inverts_redact(prefix: str, secret: str) -> None:
    text = prefix + secret + prefix
    result = redact(text)
    assert restore(result.text, result.mapping) == text
    if secret.strip():
        assert secret.strip() not in result.text
