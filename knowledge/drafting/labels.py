"""Localized labels and formats for looked-up facts (German and English)."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from knowledge.article import Language

__all__ = ["label", "fmt_date", "fmt_money", "MONTHS"]

MONTHS = {
    Language.EN: (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    Language.DE: (
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ),
}

_LABELS: dict[str, tuple[str, str]] = {  # value -> (de, en)
    "processing": ("in Bearbeitung", "being processed"),
    "shipped": ("versandt", "shipped"),
    "delivered": ("zugestellt", "delivered"),
    "cancelled": ("storniert", "cancelled"),
    "label_created": ("Versandetikett erstellt", "label created"),
    "in_transit": ("unterwegs", "in transit"),
    "out_for_delivery": ("in Zustellung", "out for delivery"),
    "requested": ("angemeldet", "requested"),
    "received": ("bei uns eingegangen", "received by us"),
    "refunded": ("erstattet", "refunded"),
    "rejected": ("abgelehnt", "rejected"),
    "household_contents": ("Hausratversicherung", "household contents insurance"),
    "personal_liability": ("Privathaftpflicht", "personal liability"),
    "active": ("aktiv", "active"),
    "water_damage": ("Leitungswasserschäden", "water damage"),
    "fire": ("Feuer", "fire"),
    "burglary": ("Einbruchdiebstahl", "burglary"),
    "storm_hail": ("Sturm und Hagel", "storm and hail"),
    "bicycle_theft": ("Fahrraddiebstahl", "bicycle theft"),
    "glass_breakage": ("Glasbruch", "glass breakage"),
    "natural_hazards": ("Elementarschäden", "natural hazards"),
    "rented_property": ("Mietsachschäden", "damage to rented property"),
    "lost_keys": ("Schlüsselverlust", "lost keys"),
    "draft_pending_human_review": (
        "Entwurf, wird von einer Sachbearbeiterin oder einem Sachbearbeiter geprüft",
        "draft, waiting for review by a claims handler",
    ),
    "submitted": ("eingereicht", "submitted"),
    "in_review": ("in Prüfung", "in review"),
    "awaiting_documents": ("wartet auf Unterlagen", "waiting for documents"),
    "approved": ("anerkannt", "approved"),
    "paid": ("ausgezahlt", "paid out"),
    "closed": ("abgeschlossen", "closed"),
    "monthly": ("monatlich", "per month"),
    "yearly": ("jährlich", "per year"),
    "photos": ("Fotos des Schadens", "photos of the damage"),
    "repair_estimate": ("Kostenvoranschlag", "repair estimate"),
    "receipts": ("Kaufbelege", "receipts"),
    "police_report": ("Polizeiliche Anzeige", "police report"),
}


def label(value: str | enum.Enum, language: Language) -> str:
    key = value.value if isinstance(value, enum.Enum) else value
    pair = _LABELS.get(str(key))
    if pair is None:
        return str(key).replace("_", " ")
    return pair[0] if language is Language.DE else pair[1]


def fmt_date(value: dt.date, language: Language) -> str:
    if language is Language.DE:
        return f"{value.day:02d}.{value.month:02d}.{value.year}"
    return f"{value.day} {MONTHS[Language.EN][value.month - 1]} {value.year}"


def fmt_money(amount: Decimal, currency: str, *, language: Language) -> str:
    whole = amount == amount.to_integral_value()
    text = f"{amount:,.0f}" if whole else f"{amount:,.2f}"
    if language is Language.DE:
        text = text.replace(",", "X").replace(".", ",").replace("X", ".")
        return f"{text} {'€' if currency == 'EUR' else currency}"
    return f"{'€' if currency == 'EUR' else currency + ' '}{text}"
