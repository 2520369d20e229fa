"""AI disclosure (EU AI Act Art. 50): the visible line every AI-authored message carries."""

from __future__ import annotations

__all__ = ["ai_disclosure", "human_hint", "AI_HEADER", "AI_HEADER_VALUE"]

AI_HEADER = "X-Glassdesk-AI"
AI_HEADER_VALUE = "generated"

_DISCLOSURE = {
    "en": "This reply was written by an AI assistant.",
    "de": "Diese Antwort wurde von einem KI-Assistenten verfasst.",
    "fr": "Cette réponse a été rédigée par un assistant IA.",
    "it": "Questa risposta è stata scritta da un assistente IA.",
    "es": "Esta respuesta ha sido redactada por un asistente de IA.",
    "nl": "Dit antwoord is geschreven door een AI-assistent.",
    "pt": "Esta resposta foi escrita por um assistente de IA.",
    "pl": "Ta odpowiedź została napisana przez asystenta AI.",
    "tr": "Bu yanıt bir yapay zekâ asistanı tarafından yazıldı.",
}
_APPROVED = {
    "en": "This reply was drafted by an AI assistant and checked by {name}.",
    "de": "Diese Antwort wurde von einem KI-Assistenten entworfen und von {name} geprüft.",
    "fr": "Cette réponse a été préparée par un assistant IA et vérifiée par {name}.",
    "it": "Questa risposta è stata preparata da un assistente IA e verificata da {name}.",
    "es": "Esta respuesta fue preparada por un asistente de IA y revisada por {name}.",
    "nl": "Dit antwoord is opgesteld door een AI-assistent en gecontroleerd door {name}.",
    "pt": "Esta resposta foi preparada por um assistente de IA e verificada por {name}.",
    "pl": "Tę odpowiedź przygotował asystent AI, a sprawdził ją {name}.",
    "tr": "Bu yanıt bir yapay zekâ asistanı tarafından hazırlandı ve {name} tarafından kontrol edildi.",
}
_HUMAN = {
    "en": 'Reply "agent" at any time to reach a person.',
    "de": 'Antworten Sie jederzeit mit "Mensch", um eine Person zu erreichen.',
    "fr": 'Répondez "humain" à tout moment pour parler à une personne.',
    "it": 'Rispondi "umano" in qualsiasi momento per parlare con una persona.',
    "es": 'Responda "persona" en cualquier momento para hablar con una persona.',
    "nl": 'Antwoord op elk moment "mens" om een medewerker te spreken.',
    "pt": 'Responda "pessoa" a qualquer momento para falar com uma pessoa.',
    "pl": 'Odpowiedz "człowiek" w dowolnym momencie, aby porozmawiać z osobą.',
    "tr": 'Bir kişiyle görüşmek için istediğiniz zaman "insan" yazın.',
}


def _lang(language: str | None) -> str:
    code = (language or "en").split("-")[0].lower()
    return code if code in _DISCLOSURE else "en"


def ai_disclosure(language: str | None, *, approved_by: str | None = None) -> str:
    """The disclosure line in the customer's language (English when we do not speak it)."""
    lang = _lang(language)
    if approved_by:
        return _APPROVED[lang].format(name=approved_by)
    return _DISCLOSURE[lang]


def human_hint(language: str | None) -> str:
    """How to reach a human, in the customer's language."""
    return _HUMAN[_lang(language)]
