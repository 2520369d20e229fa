"""Whether a message asks for the outcome of an insurance claim (approve, reject, pay, decide).

Kept wide on purpose: a positive sends the turn to a person (GDPR Art. 22: no claim is decided by the
AI alone)."""

from __future__ import annotations

import re

__all__ = ["claim_outcome_requested"]

_CLAIM_REF = re.compile(r"\bCLM-?\d{4}-?\d{4}\b", re.I)
_CLAIM_INTENTS = frozenset({"claim_report", "claim_status"})
_CLAIM_TOOLS = frozenset({"claim_status", "claim_intake"})
# Asking for an outcome of a claim, in German and English. Stems without a leading word boundary so
# German compounds count too ("Schadenzahlung", "Kostenübernahme"). Over-matching is intended: a false
# positive only sends the turn to a person.
_OUTCOME = re.compile(
    r"genehmig|bewillig|ablehn|abgelehnt|lehn\w*\s+(?:\w+\s+){0,6}ab\b|entscheid|entschied|zahl|erstatt"
    r"|regulier|anerkenn|anerkannt|übernehm|übernimm|übernomm|uebernehm|uebernimm|zusage|zugesagt|ersetz"
    r"|widerspruch|\bgeld\b|\bmoney\b"
    r"|\bapprov|\breject|\bden(?:y|ied|ial)|\bdecid|\bdecision|\bpay|\bpaid|\bpayout|\brefund"
    r"|\breimburs|\bsettle|\baccept|\bcompensat|\bcover(?:ed|s)?\b|\bappeal|\boutcome|\bverdict",
    re.I,
)


def claim_outcome_requested(text: str, *, intent: str | None, lookup_tools: list[str] | tuple[str, ...] = ()) -> bool:
    """Whether this turn may touch a claim decision (approve, reject, pay, decide): the message is
    about a claim (claim intent, a claim lookup in this turn, or a claim number in the text) and asks
    for an outcome. Kept wide on purpose: the guard then sends the turn to a person (GDPR Art. 22)."""
    about_claim = (
        (intent or "") in _CLAIM_INTENTS
        or bool(_CLAIM_TOOLS.intersection(lookup_tools))
        or bool(_CLAIM_REF.search(text))
    )
    return about_claim and bool(_OUTCOME.search(text.casefold()))
