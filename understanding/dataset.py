"""Labelled examples and the CSV reader that validates them."""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, field_validator

from understanding.errors import DataError

__all__ = [
    "LabelledExample",
    "load_examples",
    "data_hash",
    "validate_for_training",
    "rare_labels",
    "RARE_LABEL_MAX_EXAMPLES",
]

# a label with at most this many examples is "rare": trained on, but kept out of validation folds
RARE_LABEL_MAX_EXAMPLES = 2


class LabelledExample(BaseModel):
    """One text with its intent label."""

    model_config = ConfigDict(frozen=True)

    text: str
    label: str

    @field_validator("text", "label")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty or whitespace")
        return value.strip()


def load_examples(path: Path, *, text_col: str = "text", label_col: str = "label") -> list[LabelledExample]:
    """Read a CSV with a header row into examples. Raises DataError with a fix hint on bad input."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found. Pass the path of an existing CSV file.")
    raw = path.read_bytes()
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{path}:{line}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}). "
            "Re-save the file as UTF-8, e.g. `iconv -f latin1 -t utf-8 in.csv > out.csv`."
        ) from None
    if not content.strip():
        raise DataError(f"{path}: the file is empty. Add a header row ('{text_col},{label_col}') and data rows.")
    reader = csv.DictReader(io.StringIO(content, newline=""))
    columns = [c for c in (reader.fieldnames or [])]
    missing = [c for c in (text_col, label_col) if c not in columns]
    if missing:
        raise DataError(
            f"{path}:1: missing column(s) {', '.join(repr(c) for c in missing)}; the header has "
            f"{', '.join(repr(c) for c in columns) or 'no columns'}. "
            "Fix the header or pass --text-col/--label-col with the right names."
        )
    examples: list[LabelledExample] = []
    for row in reader:
        line = reader.line_num
        text = (row.get(text_col) or "").strip()
        label = (row.get(label_col) or "").strip()
        if not text and not label:
            continue
        if not text or not label:
            which = text_col if not text else label_col
            raise DataError(f"{path}:{line}: empty '{which}' value. Fill it in or delete the row.")
        examples.append(LabelledExample(text=text, label=label))
    if not examples:
        raise DataError(f"{path}: the header is there but no data rows follow. Add rows of '{text_col},{label_col}'.")
    return examples


def rare_labels(examples: Iterable[LabelledExample], *, max_count: int = RARE_LABEL_MAX_EXAMPLES) -> dict[str, int]:
    """Labels with at most `max_count` examples, with their counts (sorted by label)."""
    counts = Counter(e.label for e in examples)
    return {label: n for label, n in sorted(counts.items()) if n <= max_count}


def validate_for_training(examples: Sequence[LabelledExample], *, source: str = "training data") -> list[str]:
    """Training needs at least two labels. Labels with only one or two examples are accepted (real
    ticket exports always have some): they are trained on but kept out of calibration, and each gets a
    warning, which is returned (and recorded in the model metadata by training)."""
    counts = Counter(e.label for e in examples)
    if len(counts) < 2:
        raise DataError(
            f"{source}: only one label ({next(iter(counts), 'none')!r}) found. "
            "An intent classifier needs at least two labels; add examples of other intents."
        )
    return [
        f"{source}: label {label!r} has only {n} example{'s' if n > 1 else ''}; it is trained on but kept out "
        "of calibration and threshold tuning, so its confidence is less reliable. Add more examples (10+)."
        for label, n in rare_labels(examples).items()
    ]


def data_hash(examples: Iterable[LabelledExample]) -> str:
    """A sha256 over the examples in order; recorded in model metadata."""
    digest = hashlib.sha256()
    for example in examples:
        digest.update(example.text.encode("utf-8"))
        digest.update(b"\x1f")
        digest.update(example.label.encode("utf-8"))
        digest.update(b"\x1e")
    return "sha256:" + digest.hexdigest()
