"""Reviewed system texts in every language we hold a template for (English otherwise).

Languages with knowledge articles and full turns are configuration (``Settings.turn_languages``);
the notices here cover more, so a customer writing in any of them hears back in their language.

Outside business hours the notices say when the team is back (``back_at``: the next opening, an aware
datetime in the calendar's zone), written the way the language writes dates, with the zone's
abbreviation: "Monday, 7 December 2026 at 08:00 CET", "Montag, 07.12.2026, 08:00 Uhr (CET)".

Given the conversation's ticket number (``ticket="GD-10042"``), a notice ends with it, so the customer
can quote it in a new email, a call or a chat ("Your ticket number: GD-10042.")."""

from __future__ import annotations

import datetime as dt

__all__ = [
    "NOTICE_LANGUAGES",
    "handoff_notice",
    "notice_language",
    "review_notice",
    "opening_time",
    "ticket_sentence",
]

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

# Outside business hours: when the team is back ({when}: see _WHEN).
_HANDOFF_CLOSED = {
    "de": "Vielen Dank. Ein Mitarbeiter aus unserem Team übernimmt Ihr Anliegen. Wir sind gerade nicht "
    "erreichbar; ab {when} sind wir wieder für Sie da und antworten Ihnen dann.",
    "en": "Thank you. A person from our team is taking over your request. We are closed right now; our team "
    "is back on {when} and will answer you then.",
    "fr": "Merci. Une personne de notre équipe prend en charge votre demande. Nous sommes fermés pour le "
    "moment ; notre équipe sera de retour le {when} et vous répondra alors.",
    "it": "Grazie. Una persona del nostro team prende in carico la sua richiesta. Al momento siamo chiusi; il "
    "nostro team torna {when} e le risponderà allora.",
    "es": "Gracias. Una persona de nuestro equipo se encarga de su solicitud. Ahora mismo estamos cerrados; "
    "nuestro equipo vuelve el {when} y le responderá entonces.",
    "nl": "Dank u. Een medewerker van ons team neemt uw vraag over. We zijn nu gesloten; ons team is terug op "
    "{when} en antwoordt u dan.",
    "pt": "Obrigado. Uma pessoa da nossa equipa assume o seu pedido. Neste momento estamos fechados; a nossa "
    "equipa está de volta a partir de {when} e irá responder-lhe nessa altura.",
    "pl": "Dziękujemy. Osoba z naszego zespołu przejmuje Państwa sprawę. Obecnie jesteśmy nieczynni; nasz "
    "zespół wraca {when} i wtedy odpowie.",
    "tr": "Teşekkürler. Ekibimizden bir kişi talebinizi devralıyor. Şu anda kapalıyız; ekibimiz {when} "
    "itibarıyla tekrar hizmetinizde ve size o zaman dönüş yapacak.",
}

_WEEKDAYS = {
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "it": ("lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
    "nl": ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"),
    "pt": ("segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado", "domingo"),
    "pl": ("poniedziałek", "wtorek", "środa", "czwartek", "piątek", "sobota", "niedziela"),
    "tr": ("Pazartesi", "Salı", "Çarşamba", "Perşembe", "Cuma", "Cumartesi", "Pazar"),
}
_MONTHS_EN = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_WHEN = {
    "de": "{wd}, {d:02d}.{m:02d}.{y}, {hm} Uhr ({tz})",
    "en": "{wd}, {d} {month} {y} at {hm} {tz}",
    "fr": "{wd} {d:02d}/{m:02d}/{y} à {hm} ({tz})",
    "it": "{wd} {d:02d}/{m:02d}/{y} alle {hm} ({tz})",
    "es": "{wd} {d:02d}/{m:02d}/{y} a las {hm} ({tz})",
    "nl": "{wd} {d:02d}-{m:02d}-{y} om {hm} ({tz})",
    "pt": "{wd}, {d:02d}/{m:02d}/{y}, às {hm} ({tz})",
    "pl": "{d:02d}.{m:02d}.{y} ({wd}) o {hm} ({tz})",
    "tr": "{d:02d}.{m:02d}.{y} {wd} saat {hm} ({tz})",
}

# The number the customer can quote ({ticket}: "GD-10042").
_TICKET = {
    "de": "Ihre Vorgangsnummer: {ticket}.",
    "en": "Your ticket number: {ticket}.",
    "fr": "Votre numéro de dossier : {ticket}.",
    "it": "Il suo numero di pratica: {ticket}.",
    "es": "Su número de caso: {ticket}.",
    "nl": "Uw ticketnummer: {ticket}.",
    "pt": "O seu número de pedido: {ticket}.",
    "pl": "Numer Państwa zgłoszenia: {ticket}.",
    "tr": "Talep numaranız: {ticket}.",
}

NOTICE_LANGUAGES = frozenset(_HANDOFF)


def notice_language(language: str | None) -> str:
    code = (language or "en").split("-")[0].lower()
    return code if code in _HANDOFF else "en"


def opening_time(back_at: dt.datetime, language: str | None) -> str:
    """``back_at`` (aware, in the calendar's zone) as the language writes a date and time."""
    code = notice_language(language)
    return _WHEN[code].format(
        wd=_WEEKDAYS[code][back_at.weekday()],
        d=back_at.day,
        m=back_at.month,
        y=back_at.year,
        month=_MONTHS_EN[back_at.month - 1],
        hm=back_at.strftime("%H:%M"),
        tz=back_at.strftime("%Z"),
    )


def ticket_sentence(language: str | None, ticket: str | None) -> str:
    """'Your ticket number: GD-10042.' in the language; '' without a ticket."""
    if not ticket or not ticket.strip():
        return ""
    return _TICKET[notice_language(language)].format(ticket=ticket.strip())


def _with_ticket(text: str, language: str | None, ticket: str | None) -> str:
    sentence = ticket_sentence(language, ticket)
    return f"{text} {sentence}" if sentence else text


def handoff_notice(language: str | None, *, back_at: dt.datetime | None = None, ticket: str | None = None) -> str:
    """Told to the customer when a person takes over; outside business hours (``back_at``: the next
    opening) it says when the team is back; ``ticket`` ("GD-10042") is named at the end."""
    code = notice_language(language)
    if back_at is None:
        return _with_ticket(_HANDOFF[code], code, ticket)
    return _with_ticket(_HANDOFF_CLOSED[code].format(when=opening_time(back_at, code)), code, ticket)


_REVIEW = {
    "de": "Vielen Dank für Ihre Nachricht. Wir haben eine Antwort vorbereitet; eine Person aus unserem Team prüft "
    "sie, bevor sie an Sie geht.",
    "en": "Thank you for your message. We have prepared an answer; a person from our team checks it before it "
    "goes out to you.",
}
_REVIEW_CLOSED = {
    "de": " Wir sind gerade nicht erreichbar; ab {when} ist unser Team wieder für Sie da.",
    "en": " We are closed right now; our team is back on {when}.",
}


def review_notice(language: str | None, *, back_at: dt.datetime | None = None, ticket: str | None = None) -> str:
    """Told to the customer while a drafted answer waits for a person's approval; outside business
    hours it says when the team is back; ``ticket`` ("GD-10042") is named at the end."""
    code = (language or "en").split("-")[0].lower()
    code = code if code in _REVIEW else "en"
    text = _REVIEW[code]
    if back_at is not None:
        text += _REVIEW_CLOSED[code].format(when=opening_time(back_at, code))
    return _with_ticket(text, code, ticket)
