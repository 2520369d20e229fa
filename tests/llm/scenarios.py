"""Customer messages for the real-LLM turns: order status (with back-office lookups), returns, shipping,
invoices and payment, in German and English, over SMS (a phone number: a verified identity, so lookups
run) and chat (anonymous: answers from the knowledge base only). Some carry an email address, a phone
number or an IBAN of the customer, which must never reach the model.

The senders are the demo back office's customers (knowledge/backoffice/demo.py). ``TEST_SCENARIOS`` is
what the opt-in test drives; the benchmark drives ``SCENARIOS`` (all of them)."""

from __future__ import annotations

import enum

from pydantic import BaseModel, ConfigDict

__all__ = ["Topic", "Via", "Scenario", "SCENARIOS", "TEST_SCENARIOS", "ANNA", "JOHN", "LENA", "PRIYA"]

ANNA = "+4915112345678"  # de: 10023 in transit (DHL), 10019 delivered 12 days ago
JOHN = "+447700900123"  # en: 10024 delivered 40 days ago, 10031 processing
LENA = "+4917612345670"  # de: 10027 delivered, return RET-5001 received
PRIYA = "+447700900456"  # en: 10035 cancelled


@enum.unique
class Topic(enum.StrEnum):
    ORDER_STATUS = "order_status"
    RETURN = "return"
    SHIPPING = "shipping"
    INVOICE = "invoice"
    PAYMENT = "payment"


@enum.unique
class Via(enum.StrEnum):
    SMS = "sms"
    CHAT = "chat"


class Scenario(BaseModel):
    """One customer message. ``pii`` lists the personal data written into ``text`` as written there."""

    model_config = ConfigDict(frozen=True)

    key: str
    topic: Topic
    language: str
    via: Via
    text: str
    sender: str | None = None  # the phone number of an SMS; chat is anonymous
    pii: tuple[str, ...] = ()


def _sms(key: str, topic: Topic, language: str, sender: str, text: str, *pii: str) -> Scenario:
    return Scenario(key=key, topic=topic, language=language, via=Via.SMS, sender=sender, text=text, pii=pii)


def _chat(key: str, topic: Topic, language: str, text: str, *pii: str) -> Scenario:
    return Scenario(key=key, topic=topic, language=language, via=Via.CHAT, text=text, pii=pii)


_O, _R, _S, _I, _P = Topic.ORDER_STATUS, Topic.RETURN, Topic.SHIPPING, Topic.INVOICE, Topic.PAYMENT

TEST_SCENARIOS: tuple[Scenario, ...] = (
    _sms("order-de-1", _O, "de", ANNA, "Wo ist meine Bestellung 10023?"),
    _sms("order-en-1", _O, "en", JOHN, "Where is my order 10031?"),
    _sms("order-de-2", _O, "de", LENA, "Ist meine Bestellung 10027 schon angekommen?"),
    _sms("order-en-2", _O, "en", PRIYA, "What is the status of my order 10035?"),
    _sms("order-de-3", _O, "de", ANNA, "Wann kommt meine Bestellung 10023 an?"),
    _sms("order-en-3", _O, "en", JOHN, "Has my order 10024 been delivered?"),
    _sms("return-de-1", _R, "de", ANNA, "Kann ich die Bestellung 10019 zurückschicken?"),
    _sms("return-en-1", _R, "en", JOHN, "I want to return my order 10024."),
    _sms("return-de-2", _R, "de", LENA, "Wie ist der Stand meiner Rücksendung zur Bestellung 10027?"),
    _chat("return-en-2", _R, "en", "How do I return an item?"),
    _chat("return-de-3", _R, "de", "Wie kann ich etwas zurückschicken?"),
    _chat("return-en-3", _R, "en", "How many days do I have to return something?"),
    _chat("shipping-en-1", _S, "en", "How long does shipping take?"),
    _chat("shipping-de-1", _S, "de", "Wie lange dauert der Versand?"),
    _chat("shipping-en-2", _S, "en", "How much does shipping cost?"),
    _chat("shipping-de-2", _S, "de", "Was kostet der Versand?"),
    _chat("shipping-en-3", _S, "en", "Do you also ship to Austria?"),
    _chat("shipping-de-3", _S, "de", "Liefern Sie auch in die Schweiz?"),
    _chat("invoice-en-1", _I, "en", "I have a question about my invoice"),
    _chat("payment-de-1", _P, "de", "Welche Zahlungsarten bieten Sie an?"),
    _sms(
        "pii-return-de",
        _R,
        "de",
        ANNA,
        "Ich möchte die Bestellung 10019 zurückgeben. Bitte erstatten Sie den Betrag auf meine IBAN "
        "DE89 3704 0044 0532 0130 00.",
        "DE89 3704 0044 0532 0130 00",
    ),
    _sms(
        "pii-order-en",
        _O,
        "en",
        JOHN,
        "Where is my order 10031? You can email me at john.private@example.org or call +44 7700 900999.",
        "john.private@example.org",
        "+44 7700 900999",
    ),
    _chat(
        "pii-shipping-de",
        _S,
        "de",
        "Wie lange dauert der Versand? Sie erreichen mich unter lena.w@example.net oder +49 176 98765432.",
        "lena.w@example.net",
        "+49 176 98765432",
    ),
    _chat(
        "pii-payment-en",
        _P,
        "en",
        "Can I pay by direct debit? My IBAN is GB82 WEST 1234 5698 7654 32 and my email is priya.p@example.com.",
        "GB82 WEST 1234 5698 7654 32",
        "priya.p@example.com",
    ),
)

_MORE: tuple[Scenario, ...] = (
    _sms("order-de-4", _O, "de", LENA, "Wo bleibt meine Bestellung 10027?"),
    _sms("order-en-4", _O, "en", JOHN, "When will order 10031 be shipped?"),
    _sms("order-de-5", _O, "de", ANNA, "Was ist mit meiner Bestellung 10019 passiert?"),
    _sms("order-en-5", _O, "en", PRIYA, "Can you check order 10035 for me please?"),
    _sms("order-de-6", _O, "de", ANNA, "Hallo, gibt es eine Sendungsnummer für Bestellung 10023?"),
    _sms("order-en-6", _O, "en", JOHN, "Where is my parcel for order 10024?"),
    _sms("return-de-4", _R, "de", LENA, "Ist meine Rücksendung für 10027 angekommen?"),
    _sms("return-en-4", _R, "en", PRIYA, "Can I send back my order 10035?"),
    _sms("return-de-5", _R, "de", ANNA, "Ich möchte die Leselampe aus Bestellung 10019 umtauschen."),
    _chat("return-en-5", _R, "en", "Do I have to pay for the return shipping?"),
    _chat("return-de-6", _R, "de", "Muss ich den Rückversand selbst bezahlen?"),
    _chat("return-en-6", _R, "en", "When do I get my money back after a return?"),
    _chat("shipping-en-4", _S, "en", "Which carrier do you use for deliveries?"),
    _chat("shipping-de-4", _S, "de", "Mit welchem Paketdienst verschicken Sie?"),
    _chat("shipping-en-5", _S, "en", "Is shipping free above a certain order value?"),
    _chat("shipping-de-5", _S, "de", "Ab welchem Bestellwert ist der Versand kostenlos?"),
    _chat("invoice-de-1", _I, "de", "Ich habe eine Frage zu meiner Rechnung"),
    _chat("invoice-en-2", _I, "en", "Where can I download my invoice?"),
    _chat("payment-en-1", _P, "en", "Which payment methods do you accept?"),
    _chat("payment-de-2", _P, "de", "Kann ich auf Rechnung bezahlen?"),
    _sms(
        "pii-order-de",
        _O,
        "de",
        LENA,
        "Wo ist Bestellung 10027? Meine neue Nummer ist +49 151 22233344, Mail lena.neu@example.de.",
        "+49 151 22233344",
        "lena.neu@example.de",
    ),
    _sms(
        "pii-return-en",
        _R,
        "en",
        JOHN,
        "I'd like to return order 10024, please refund to IBAN GB33 BUKB 2020 1555 5555 55.",
        "GB33 BUKB 2020 1555 5555 55",
    ),
    _chat(
        "pii-invoice-de",
        _I,
        "de",
        "Bitte schicken Sie die Rechnung an max.muster@example.org, IBAN DE02 1203 0000 0000 2020 51.",
        "max.muster@example.org",
        "DE02 1203 0000 0000 2020 51",
    ),
    _chat(
        "pii-shipping-en",
        _S,
        "en",
        "How long does delivery to the UK take? Call me on +44 20 7946 0958.",
        "+44 20 7946 0958",
    ),
)

SCENARIOS: tuple[Scenario, ...] = TEST_SCENARIOS + _MORE
