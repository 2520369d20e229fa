"""The shipped counterfactual templates and the pairs built from them: enough of them in both
languages, every dimension covered, and the two messages of a pair differ in their cue only."""

from __future__ import annotations

import collections
import difflib
import re
from pathlib import Path

import pytest

from services.fairness_pairs import (
    ORIGINS,
    CounterfactualPair,
    Dimension,
    FairnessTemplateError,
    TemplateLanguage,
    counterfactual_pairs,
    load_templates,
)


def test_at_least_sixty_templates_in_german_and_english() -> None:
    templates = load_templates()
    by_language = collections.Counter(t.language for t in templates)
    assert len(templates) >= 60
    assert by_language[TemplateLanguage.DE] >= 30 and by_language[TemplateLanguage.EN] >= 30


def test_every_dimension_has_pairs_in_the_languages_it_applies_to(
    shipped_pairs: tuple[CounterfactualPair, ...],
) -> None:
    seen = {(p.dimension, p.language) for p in shipped_pairs}
    for dimension in Dimension:
        languages = (TemplateLanguage.DE,) if dimension is Dimension.FORMALITY else tuple(TemplateLanguage)
        for language in languages:
            assert (dimension, language) in seen, f"no {dimension.value} pairs in {language.value}"
    counts = collections.Counter(p.dimension for p in shipped_pairs)
    assert min(counts.values()) >= 15, counts  # every dimension has enough templates to mean something


def _tokens(text: str) -> list[str]:
    return re.findall(r"\w+", text)


@pytest.mark.parametrize("dimension", list(Dimension))
def test_the_two_messages_differ_only_in_the_cue(
    shipped_pairs: tuple[CounterfactualPair, ...], dimension: Dimension
) -> None:
    cue_words = {
        Dimension.NAME_ORIGIN: {w for names in ORIGINS.values() for w in names},
        Dimension.NAME_GENDER: {w for names in ORIGINS.values() for w in names[:2]},
        Dimension.GENDER_MARKER: {"Frau", "Herr", "Ms", "Mr"},
        Dimension.AGE: {"24", "78"},
    }
    for p in (p for p in shipped_pairs if p.dimension is dimension):
        assert p.text_reference != p.text_group and p.reference != p.group
        a, b = _tokens(p.text_reference), _tokens(p.text_group)
        if dimension in cue_words:  # the same words in the same places, except the cue's
            assert len(a) == len(b), (p.text_reference, p.text_group)
            changed = {(x, y) for x, y in zip(a, b, strict=True) if x != y}
            assert changed and all(x in cue_words[dimension] and y in cue_words[dimension] for x, y in changed), changed
        else:  # dialect and register change a few words, never the rest of the message
            assert difflib.SequenceMatcher(None, a, b).ratio() >= 0.7, (p.text_reference, p.text_group)


def test_no_slot_is_left_unfilled(shipped_pairs: tuple[CounterfactualPair, ...]) -> None:
    for p in shipped_pairs:
        assert "{" not in p.text_reference + p.text_group and "|" not in p.text_reference + p.text_group


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "templates.csv"
    path.write_text("id,language,text\n" + body, encoding="utf-8")
    return path


def test_a_bad_template_file_names_the_line_and_the_fix(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        'a,de,"Hallo {nam}"\n'
        'b,de,"{dialect:Paket|Päckli}"\n'
        'c,en,"{formality:you|thou} there, {name}"\n'
        'a,en,"Hi {name}"\n'
        'd,fr,"Bonjour {name}"\n'
        'e,en,"Nothing varies here"\n',
    )
    with pytest.raises(FairnessTemplateError) as caught:
        load_templates(path)
    message = str(caught.value)
    assert f"{path}:2: a: unknown slot '{{nam}}'" in message
    assert f"{path}:3: b:" in message and "needs 3 alternatives in the order de-DE|de-CH|de-AT, not 2" in message
    assert f"{path}:4: c:" in message and "for German (Sie/du) only" in message
    assert f"{path}:5: duplicate template id 'a' (also line 2)" in message
    assert f"{path}:6: language 'fr'" in message
    assert f"{path}:7: e: no slot" in message


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(FairnessTemplateError, match="no such fairness template file"):
        load_templates(tmp_path / "nope.csv")


def test_pairs_cover_every_origin_against_the_reference(tmp_path: Path) -> None:
    pairs = counterfactual_pairs(load_templates(_write(tmp_path, 'x,de,"Wo ist mein Paket? {name}"\n')))
    origin = [p for p in pairs if p.dimension is Dimension.NAME_ORIGIN]
    assert {p.reference for p in origin} == {"german"}
    assert {p.group for p in origin} == set(ORIGINS) - {"german"}
    assert len(origin) == 2 * (len(ORIGINS) - 1)  # once with women's and once with men's names
    assert "Wo ist mein Paket? Ayşe Yılmaz" in {p.text_group for p in origin}
    assert "Wo ist mein Paket? Mehmet Yılmaz" in {p.text_group for p in origin}
