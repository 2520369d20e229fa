"""The text the models read: a message with the cues that must not change its understanding taken out.

A customer's name (and the title before it: "Frau", "Mr") says nothing about what they want, how
they feel or which language they write in, yet a character n-gram model or a language detector
reacts to it: "Are you open on bank holidays? Ayşe Yılmaz" was read as Turkish, and "Frau Nowak
hier" scored angrier than "Herr Nowak hier". :func:`model_text` removes every person name the PII
detectors find (``understanding.pii_names``), with its titles, before the intent and sentiment
models see the text. (Regional German words and the du-form are the intent featurizer's business:
its features are built from ``understanding.variants.standardise`` of its input, in training as in
prediction.) :func:`language_text` also removes the other personal data (e-mail
addresses, numbers, street addresses), which carry no language either.

The original text is still what the customer wrote: redaction, the "asked for a human" check and
the claim-outcome check read it unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from understanding.pii import PiiEntity, PiiKind

__all__ = ["language_text", "model_text"]

# A title (or a chain of them) right before a name: removed with the name.
_TITLES_BEFORE = re.compile(
    r"(?:\b(?:Herrn?|Frau|Hr\.|Fr\.|Mr\.?|Mrs\.?|Ms\.?|Miss|Mx\.?|Dr\.?|Prof\.?|Dipl\.-Ing\.)\s+)+$"
)
_SPACES = re.compile(r"[ \t]{2,}")
_SPACE_BEFORE_PUNCT = re.compile(r"[ \t]+([,.!?;:])")


def _remove(text: str, spans: Iterable[tuple[int, int]]) -> str:
    pieces: list[str] = []
    cursor = 0
    for start, end in sorted(spans):
        if start < cursor:
            continue
        title = _TITLES_BEFORE.search(text, cursor, start)
        pieces.append(text[cursor : title.start() if title else start])
        cursor = end
    pieces.append(text[cursor:])
    joined = _SPACE_BEFORE_PUNCT.sub(r"\1", _SPACES.sub(" ", "".join(pieces)))
    return joined.strip()


def model_text(text: str, entities: Iterable[PiiEntity]) -> str:
    """``text`` without its person names and their titles (``entities``: the redaction's findings
    in ``text``). Unchanged when there is no name."""
    spans = [(e.start, e.end) for e in entities if e.kind is PiiKind.PERSON]
    return _remove(text, spans) if spans else text


def language_text(text: str, entities: Iterable[PiiEntity]) -> str:
    """``text`` without any of its personal data: what a language detector should weigh."""
    spans = [(e.start, e.end) for e in entities]
    return _remove(text, spans) if spans else text
