"""What the status page says about a lookup: the customer's own reference, its state, the next step."""

from __future__ import annotations

import datetime as dt

from knowledge.backoffice.models import ClaimState, ClaimStatus, Risk
from knowledge.drafting.checked import customer_view, describe_checked, failed_view


def _claim() -> ClaimStatus:
    return ClaimStatus(
        source_id="lookup:claim_status:CLM-2026-0001",
        claim_number="CLM-2026-0001",
        policy_number="POL-100234",
        risk=Risk.WATER_DAMAGE,
        status=ClaimState.AWAITING_DOCUMENTS,
        incident_date=dt.date(2026, 11, 20),
        reported_on=dt.date(2026, 11, 21),
        last_update=dt.date(2026, 11, 25),
        open_documents=("photos",),
    )


def test_a_claim_names_its_state_and_what_is_still_needed() -> None:
    view = customer_view(_claim())
    assert view == {"kind": "claim", "ref": "CLM-2026-0001", "state": "awaiting_documents", "missing": ["photos"]}
    assert (
        describe_checked(view, "en")
        == "Claim CLM-2026-0001: waiting for documents (still needed: photos of the damage)"
    )
    assert describe_checked(view, "de") == (
        "Schadenmeldung CLM-2026-0001: wartet auf Unterlagen (es fehlen: Fotos des Schadens)"
    )
    assert "POL-100234" not in describe_checked(view, "en")  # only what was asked about


def test_failures_say_so_without_details() -> None:
    assert describe_checked(failed_view("order_status", not_found=True), "en") == "Order: not found for you"
    assert describe_checked(failed_view("claim_status", not_found=False), "de") == (
        "Schadenmeldung: System nicht erreichbar, ein Mensch prüft das"
    )


def test_a_return_names_its_deadline() -> None:
    item = {"kind": "return", "ref": "10023", "state": "eligible", "until": "2026-12-20"}
    assert describe_checked(item, "en") == "Return for order 10023: possible (until 20 December 2026)"
    assert describe_checked(item, "de") == "Rücksendung zu Bestellung 10023: möglich (bis 20.12.2026)"
