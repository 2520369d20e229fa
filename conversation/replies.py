"""Reviewed system texts in every language we hold a template for (English otherwise).

Languages with knowledge articles and full turns are configuration (``Settings.turn_languages``);
the notices here cover more, so a customer writing in any of them hears back in their language."""

from __future__ import annotations

__all__ = ["NOTICE_LANGUAGES", "handoff_notice", "notice_language", "review_notice"]

_HANDOFF = {
    "de": "Vielen Dank. Ein Mitarbeiter aus unserem Team übernimmt Ihr Anliegen und meldet sich bei Ihnen.",
    "en": "Thank you. A person from our team is taking over your request and will get back to you.",
    "fr": "Merci. Une personne de notre équipe prend en charge votre demande et vous répondra.",
    "it": "Grazie. Una persona del nostro team prende in carico la sua richiesta e le risponderà.",
    "es": "Gracias. Una persona de nuestro equipo se encarga de su solicitud y le responderá.",
    "nl": "Dank u. Een medewerker van ons team neemt uw vraag over en neemt contact met u op.",
    "pt": "Obrigado. Uma pessoa da nossa equipa assume o seu pedido e irá responder-lhe.",
    "pl": "Dziękujemy. Osoba z naszego zespołu przejmuje Państwa sprawę i odpowie.",
    "tr": "Teşekkürler. Ekibimizden bir kişi talebinizi devralıyor ve size dönüş yapacak.",
}

NOTICE_LANGUAGES = frozenset(_HANDOFF)


def notice_language(language: str | None) -> str:
    code = (language or "en").split("-")[0].lower()
    return code if code in _HANDOFF else "en"


def handoff_notice(language: str | None) -> str:
    """Told to the customer when a person takes over."""
    return _HANDOFF[notice_language(language)]


_REVIEW = {
    "de": "Vielen Dank für Ihre Nachricht. Wir haben eine Antwort vorbereitet; eine Person aus unserem Team prüft "
    "sie, bevor sie an Sie geht.",
    "en": "Thank you for your message. We have prepared an answer; a person from our team checks it before it "
    "goes out to you.",
}


def review_notice(language: str | None) -> str:
    """Told to the customer while a drafted answer waits for a person's approval."""
    code = (language or "en").split("-")[0].lower()
    return _REVIEW.get(code, _REVIEW["en"])
