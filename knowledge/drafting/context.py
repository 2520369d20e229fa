"""Render KB hits and lookup results as the drafting context (the only facts a draft may use)."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from decimal import Decimal

from pydantic import BaseModel

from knowledge.article import Audience, Language
from knowledge.backoffice.models import RETURN_WINDOW_DAYS, ReturnEligibility
from knowledge.drafting.labels import label
from knowledge.drafting.models import LookupResult
from knowledge.retrieval import Hit

__all__ = ["render_context", "source_ids", "customer_hits"]


def customer_hits(hits: Sequence[Hit]) -> list[Hit]:
    """Only customer-facing articles may reach a customer-facing draft."""
    return [h for h in hits if h.audience is Audience.CUSTOMER]


def source_ids(hits: Sequence[Hit], lookups: Sequence[LookupResult]) -> tuple[str, ...]:
    return tuple([h.source_id for h in hits] + [r.source_id for r in lookups])


def _value(value: object, language: Language) -> str:
    if isinstance(value, enum.Enum):
        return f"{value.value} ({label(value, language)})"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.date | Decimal | int | float | str):
        return str(value)
    if value is None:
        return "none"
    if isinstance(value, BaseModel):
        return "{" + _fields(value, language) + "}"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_value(v, language) for v in value) + "]"
    return str(value)


def _fields(model: BaseModel, language: Language) -> str:
    parts = []
    for name in type(model).model_fields:
        if name == "source_id":
            continue
        raw = getattr(model, name)
        if name == "open_documents" and isinstance(raw, tuple):
            parts.append(f"{name}: [" + ", ".join(f"{d} ({label(d, language)})" for d in raw) + "]")
        else:
            parts.append(f"{name}: {_value(raw, language)}")
    return "; ".join(parts)


def render_context(hits: Sequence[Hit], lookups: Sequence[LookupResult], *, language: Language) -> str:
    """One block per source, headed by its id in brackets. Enum values carry their localized label."""
    blocks = []
    for hit in hits:
        blocks.append(f"[{hit.source_id}] {hit.title}\n{hit.snippet}")
    for result in lookups:
        text = _fields(result, language)
        if isinstance(result, ReturnEligibility):
            text += f"; return_window_days: {RETURN_WINDOW_DAYS}"
        blocks.append(f"[{result.source_id}] {text}")
    return "\n\n".join(blocks)
