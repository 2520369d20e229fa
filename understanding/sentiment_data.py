"""The public corpora the sentiment model trains on, with their label mappings and splits.

Each shared folder's README says how its labels were made; the mappings here follow them:

- potts_de_sentiment (German tweets): `label` is negative/neutral/positive (derived from span
  annotations). No emotion labels. Official-for-us train/dev/test files.
- xed_de_emotion / xed_en_emotion (movie subtitles; German projected, English human-annotated):
  Plutchik emotions. Sentiment as in the READMEs: joy, trust, anticipation -> positive; anger, disgust,
  fear, sadness -> negative; surprise ignored; rows mixing both groups or only surprise have no
  sentiment label. `neutral` (English only) -> neutral. anger = the `anger` emotion. XED has no
  frustration-like emotion, so XED rows carry no frustration label. No official split: a row's split
  is `sha256(text) mod 10` (0-6 train, 7 dev, 8-9 test), the rule potts_de_sentiment uses.
- goemotions_en (Reddit): 27 emotions + neutral, official splits. Sentiment by the authors' grouping
  (`sentiment_dict.json`, as in the README): any positive and no negative emotion -> positive, the
  reverse -> negative, only `neutral` -> neutral, anything else no sentiment label. anger = `anger`;
  frustration = `annoyance` or `disappointment`.
"""

from __future__ import annotations

import csv
import enum
import hashlib
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from understanding.dataset import LabelledExample, load_examples
from understanding.errors import DataError
from understanding.sentiment_types import SentimentLabel

__all__ = [
    "Corpus",
    "Split",
    "SentimentExample",
    "DEFAULT_DATA_ROOT",
    "load_corpus",
    "split_of",
    "load_labelled_csv",
    "load_training_sets",
    "load_support_seed",
    "package_data",
    "CORPUS_LANGUAGE",
    "SUPPORT_DEV",
    "SUPPORT_DEV_FILES",
    "SUPPORT_SEED",
]

DEFAULT_DATA_ROOT = Path("/work/shared/data")


@enum.unique
class Corpus(enum.StrEnum):
    POTTS_DE = "potts_de_sentiment"
    XED_DE = "xed_de_emotion"
    XED_EN = "xed_en_emotion"
    GOEMOTIONS_EN = "goemotions_en"


@enum.unique
class Split(enum.StrEnum):
    TRAIN = "train"
    DEV = "dev"
    TEST = "test"


CORPUS_LANGUAGE: dict[Corpus, str] = {
    Corpus.POTTS_DE: "de",
    Corpus.XED_DE: "de",
    Corpus.XED_EN: "en",
    Corpus.GOEMOTIONS_EN: "en",
}


class SentimentExample(BaseModel):
    """A text with whichever labels its corpus has (None: the corpus does not say)."""

    model_config = ConfigDict(frozen=True)

    text: str
    label: SentimentLabel | None
    anger: bool | None = None
    frustration: bool | None = None
    source: str
    language: str | None = None  # "de" / "en" for corpus rows; None for hand-made rows
    weight: float = 1.0  # how many corpus rows this row counts as in training


_XED_POSITIVE = frozenset({"joy", "trust", "anticipation"})
_XED_NEGATIVE = frozenset({"anger", "disgust", "fear", "sadness"})
_GO_POSITIVE = frozenset(
    {
        "admiration",
        "amusement",
        "approval",
        "caring",
        "desire",
        "excitement",
        "gratitude",
        "joy",
        "love",
        "optimism",
        "pride",
        "relief",
    }
)
_GO_NEGATIVE = frozenset(
    {
        "anger",
        "annoyance",
        "disappointment",
        "disapproval",
        "disgust",
        "embarrassment",
        "fear",
        "grief",
        "nervousness",
        "remorse",
        "sadness",
    }
)
_GO_FRUSTRATION = frozenset({"annoyance", "disappointment"})


def split_of(text: str) -> Split:
    bucket = int(hashlib.sha256(text.encode("utf-8")).hexdigest(), 16) % 10
    return Split.TRAIN if bucket < 7 else Split.DEV if bucket == 7 else Split.TEST


def _polarity(emotions: frozenset[str], positive: frozenset[str], negative: frozenset[str]) -> SentimentLabel | None:
    is_pos, is_neg = bool(emotions & positive), bool(emotions & negative)
    if is_pos and not is_neg:
        return SentimentLabel.POSITIVE
    if is_neg and not is_pos:
        return SentimentLabel.NEGATIVE
    if emotions == {"neutral"}:
        return SentimentLabel.NEUTRAL
    return None


def _rows(path: Path) -> list[tuple[str, str]]:
    if not path.is_file():
        raise DataError(
            f"{path}: not found. Pass --data-root pointing at the shared data folder "
            f"(default {DEFAULT_DATA_ROOT}) that holds {', '.join(c.value for c in Corpus)}."
        )
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if not {"text", "label"} <= set(reader.fieldnames or ()):
            raise DataError(
                f"{path}:1: expected the columns 'text,label', found {reader.fieldnames}. "
                "Use the shared data files unchanged."
            )
        return [(row["text"].strip(), row["label"].strip()) for row in reader if row["text"].strip()]


def load_corpus(corpus: Corpus, split: Split, *, root: Path = DEFAULT_DATA_ROOT) -> list[SentimentExample]:
    folder = Path(root) / corpus.value
    source, language = f"{corpus.value}/{split.value}", CORPUS_LANGUAGE[corpus]
    if corpus is Corpus.POTTS_DE:
        return [
            SentimentExample(text=t, label=SentimentLabel(lab), source=source, language=language)
            for t, lab in _rows(folder / f"{split.value}.csv")
        ]
    if corpus is Corpus.GOEMOTIONS_EN:
        out = []
        for text, lab in _rows(folder / "emotions" / f"{split.value}.csv"):
            emotions = frozenset(lab.split(";"))
            out.append(
                SentimentExample(
                    text=text,
                    label=_polarity(emotions, _GO_POSITIVE, _GO_NEGATIVE),
                    anger="anger" in emotions,
                    frustration=bool(emotions & _GO_FRUSTRATION),
                    source=source,
                    language=language,
                )
            )
        return out
    return [
        SentimentExample(
            text=text,
            label=_polarity(frozenset(lab.split(";")), _XED_POSITIVE, _XED_NEGATIVE),
            anger="anger" in lab.split(";"),
            source=source,
            language=language,
        )
        for text, lab in _rows(folder / "emotions.csv")
        if split_of(text) is split
    ]


def load_labelled_csv(
    path: Path, *, source: str | None = None, weight: float = 1.0, text_col: str = "text", label_col: str = "label"
) -> list[SentimentExample]:
    """A `text,label` CSV whose labels are negative/neutral/positive (corrections, evaluation sets)."""
    examples: Sequence[LabelledExample] = load_examples(path, text_col=text_col, label_col=label_col)
    allowed = {label.value for label in SentimentLabel}
    out = []
    for example in examples:
        label = example.label.lower()
        if label not in allowed:
            raise DataError(
                f"{path}: the row {example.text[:40]!r} has label {example.label!r}; a sentiment label "
                f"must be one of {', '.join(sorted(allowed))}. Fix the label or drop the row."
            )
        out.append(
            SentimentExample(text=example.text, label=SentimentLabel(label), source=source or str(path), weight=weight)
        )
    return out


# support-style dev sets (de/en, written by hand for the first lexicon scorer): used to tune the label
# rule alongside the corpora's dev splits, never for training
SUPPORT_DEV_FILES = ("sentiment_eval.csv", "sentiment_eval_blind.csv")
SUPPORT_DEV = "support_dev"

# The support seed: the bundled demo intent training file (de/en customer requests), labelled by intent.
# None of the public corpora has neutral German customer requests (PotTS's neutral tweets are news and
# chatter; XED-de has no neutral class), so without it "Wo ist meine Bestellung?" came out positive.
SUPPORT_SEED_FILE = "demo_intents.csv"
SUPPORT_SEED = "support_seed"
SUPPORT_SEED_LABELS: dict[str, SentimentLabel] = {
    **{
        intent: SentimentLabel.NEUTRAL
        for intent in (
            "order_status",
            "return_request",
            "invoice_question",
            "coverage_question",
            "contract_change",
            "general_question",
        )
    },
    "complaint": SentimentLabel.NEGATIVE,
}
SUPPORT_SEED_WEIGHT = 3.0


def package_data(name: str) -> Path:
    return Path(__file__).resolve().parent / "data" / name


def load_support_seed() -> list[SentimentExample]:
    """Demo intent rows whose intent fixes the sentiment (requests -> neutral, complaints -> negative);
    intents that mix tones (delivery problems, claims, small talk, ...) are left out."""
    return [
        SentimentExample(
            text=e.text, label=SUPPORT_SEED_LABELS[e.label], source=SUPPORT_SEED, weight=SUPPORT_SEED_WEIGHT
        )
        for e in load_examples(package_data(SUPPORT_SEED_FILE))
        if e.label in SUPPORT_SEED_LABELS
    ]


def load_training_sets(
    root: Path = DEFAULT_DATA_ROOT, *, support_seed: bool = True
) -> tuple[list[SentimentExample], dict[str, list[SentimentExample]]]:
    """The train splits of every corpus (+ the support seed), and the dev sets by name (each corpus's
    dev split + the support dev)."""
    train = [e for corpus in Corpus for e in load_corpus(corpus, Split.TRAIN, root=root)]
    if support_seed:
        train += load_support_seed()
    dev = {corpus.value: load_corpus(corpus, Split.DEV, root=root) for corpus in Corpus}
    dev[SUPPORT_DEV] = [
        e for name in SUPPORT_DEV_FILES for e in load_labelled_csv(package_data(name), source=SUPPORT_DEV)
    ]
    return train, dev
