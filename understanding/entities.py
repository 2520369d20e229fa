"""References and figures a customer typed: order, policy and claim numbers, an amount, a date.

Extraction only: a reference is only ever looked up within the identified customer's own records."""

from __future__ import annotations

import datetime as dt
import re

from pydantic import BaseModel, ConfigDict

__all__ = ["Entities", "extract_entities"]

_AMOUNT = re.compile(r"(\d{1,6}(?:[.,]\d{2})?)\s?(?:€|eur|euro)|(?:€|eur)\s?(\d{1,6}(?:[.,]\d{2})?)", re.I)
_ORDER_REF = re.compile(r"(?<![\w-])#?(\d{5,10})(?![\w-])")
_POLICY_REF = re.compile(r"\bPOL-?\d{6}\b", re.I)
_CLAIM_REF = re.compile(r"\bCLM-?\d{4}-?\d{4}\b", re.I)
_DATE = re.compile(r"\b(\d{1,2})\.(\d{1,2})\.(\d{4})\b|\b(\d{4})-(\d{2})-(\d{2})\b")


class Entities(BaseModel):
    model_config = ConfigDict(frozen=True)

    order_ref: str | None = None
    policy_ref: str | None = None
    claim_ref: str | None = None
    amount: float | None = None
    incident_date: dt.date | None = None


def extract_entities(text: str) -> Entities:
    return Entities(
        order_ref=_first(_ORDER_REF, text),
        policy_ref=_first(_POLICY_REF, text),
        claim_ref=_first(_CLAIM_REF, text),
        amount=_amount(text),
        incident_date=_date(text),
    )


def _first(pattern: re.Pattern[str], text: str) -> str | None:
    m = pattern.search(text)
    return (m.group(1) if m.groups() else m.group(0)) if m else None


def _amount(text: str) -> float | None:
    m = _AMOUNT.search(text)
    if not m:
        return None
    return float((m.group(1) or m.group(2)).replace(",", "."))


def _date(text: str) -> dt.date | None:
    m = _DATE.search(text)
    if not m:
        return None
    try:
        if m.group(1):
            return dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        return dt.date(int(m.group(4)), int(m.group(5)), int(m.group(6)))
    except ValueError:
        return None
