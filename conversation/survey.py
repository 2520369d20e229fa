"""The outcome survey a customer gets when their conversation is resolved: the texts (reviewed system
texts, de and en, English otherwise) and the reading of an answer ("yes", "nein", "4", "ja 5").

Only a short message made of nothing but survey words counts as an answer: "yes, and where is my
other order?" or "10023" are new requests and go through the turn as usual."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["SurveyAnswer", "parse_answer", "survey_text", "thanks_text", "not_solved_text", "SURVEY_LANGUAGES"]

SURVEY_LANGUAGES = frozenset({"de", "en"})
_MAX_ANSWER = 60  # characters; anything longer is a message, not a survey answer

_YES = frozenset({"yes", "y", "yeah", "yep", "yup", "solved", "resolved", "ja", "j", "jap", "jo", "gelöst", "erledigt"})
_NO = frozenset({"no", "n", "nope", "nein", "nö", "nee", "unsolved", "ungelöst"})
_NOT = frozenset({"not", "nicht"})
_FILLERS = frozenset(
    {
        "stars",
        "star",
        "sterne",
        "stern",
        "thanks",
        "thank",
        "you",
        "danke",
        "and",
        "und",
        "rating",
        "it",
        "is",
        "ist",
        "yet",
        "noch",
    }
)
_OUT_OF_FIVE = re.compile(r"\b([1-5])\s*/\s*5\b")
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)

_SURVEY = {
    "de": "Ist Ihr Anliegen {ticket}gelöst? Bitte antworten Sie mit JA oder NEIN. Und wie bewerten Sie unsere "
    "Hilfe von 1 (schlecht) bis 5 (sehr gut)? Eine Ziffer genügt, zum Beispiel: JA 5",
    "en": "Is your request {ticket}solved? Please reply YES or NO. And how would you rate our help from "
    "1 (poor) to 5 (excellent)? One digit is enough, for example: YES 5",
}
_THANKS_SOLVED = {
    "de": "Vielen Dank für Ihre Rückmeldung. Schön, dass Ihr Anliegen gelöst ist.",
    "en": "Thank you for your feedback. We are glad your request is solved.",
}
_THANKS_RATING = {
    "de": "Vielen Dank für Ihre Bewertung.",
    "en": "Thank you for your rating.",
}
_NOT_SOLVED = {
    "de": "Das tut uns leid. Eine Person aus unserem Team nimmt Ihr Anliegen wieder auf und meldet sich bei Ihnen.",
    "en": "We are sorry it is not solved yet. A person from our team is taking up your request again and will "
    "get back to you.",
}


@dataclass(frozen=True, slots=True)
class SurveyAnswer:
    solved: bool | None  # None: the answer only rated
    rating: int | None  # 1..5; None: the answer only said solved or not


def _language(language: str | None) -> str:
    code = (language or "en").split("-")[0].lower()
    return code if code in SURVEY_LANGUAGES else "en"


def survey_text(language: str | None, *, ticket: str = "") -> str:
    """Asked on the customer's channel when a person resolves the conversation."""
    return _SURVEY[_language(language)].format(ticket=f"{ticket} " if ticket else "")


def thanks_text(language: str | None, answer: SurveyAnswer) -> str:
    lang = _language(language)
    return _THANKS_SOLVED[lang] if answer.solved else _THANKS_RATING[lang]


def not_solved_text(language: str | None) -> str:
    return _NOT_SOLVED[_language(language)]


def parse_answer(text: str) -> SurveyAnswer | None:
    """The survey answer in ``text``, or None when the message is anything else."""
    folded = unicodedata.normalize("NFKC", text).strip().casefold()
    if not folded or len(folded) > _MAX_ANSWER:
        return None
    folded = _OUT_OF_FIVE.sub(r" \1 ", folded)  # "4/5" -> 4
    solved: bool | None = None
    negated = False
    ratings: list[int] = []
    for token in _TOKEN.findall(folded):
        if token.isdigit():
            if len(token) != 1 or not "1" <= token <= "5":
                return None  # an order number, a date, "10": not a survey answer
            ratings.append(int(token))
        elif token in _YES or token in _NO:
            said = token in _YES
            if solved is not None and solved != said:
                return None  # "yes no": unclear
            solved = said
        elif token in _NOT:
            negated = True
        elif token not in _FILLERS:
            return None
    if len(ratings) > 1:
        return None
    if negated:
        if solved is None:
            return None
        solved = False  # "not solved", "nicht gelöst", "noch nicht erledigt"
    rating = ratings[0] if ratings else None
    if solved is None and rating is None:
        return None
    return SurveyAnswer(solved=solved, rating=rating)
