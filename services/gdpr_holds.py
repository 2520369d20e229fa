"""Legal holds: what keeps a contact's data from being erased (and from the retention purge).

- a manual hold (``legal_holds``: litigation, an authority's request), placed and released by an admin;
- an open insurance claim in the back office for the contact's customer (linked, or found by a verified
  address): the conversations are evidence for the claim.

With a connectors file (REST or portal back office) the claims cannot be listed here; a contact linked
to a back-office customer is then held until a person confirms they checked (``claims_checked_by``)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from conversation.sql.gdpr import SubjectRecords
from conversation.sql.receipts import SqlLegalHolds
from knowledge.backoffice.models import ClaimState
from knowledge.backoffice.sql import backoffice_url
from knowledge.backoffice.sql import metadata as backoffice_tables
from services.container import Container

__all__ = ["HoldKind", "Hold", "holds_of", "held_contacts", "CLOSED_CLAIM_STATES"]

CLOSED_CLAIM_STATES = frozenset({ClaimState.REJECTED, ClaimState.PAID, ClaimState.CLOSED})


@enum.unique
class HoldKind(enum.StrEnum):
    MANUAL = "manual"
    OPEN_CLAIM = "open_claim"
    CLAIMS_UNCHECKED = "claims_unchecked"


@dataclass(frozen=True, slots=True)
class Hold:
    kind: HoldKind
    reference: str  # the hold id, the claim number, or the customer id
    reason: str  # for the person who asked: what holds the data and how to lift it

    def receipt_text(self) -> str:
        """The reason without the reference, for the receipt (a claim number is personal data)."""
        return {
            HoldKind.MANUAL: "a manual legal hold",
            HoldKind.OPEN_CLAIM: "an open insurance claim",
            HoldKind.CLAIMS_UNCHECKED: "claims not checkable in the configured back office",
        }[self.kind]


async def holds_of(services: Container, records: SubjectRecords, *, claims_checked_by: str | None = None) -> list[Hold]:
    holds = [
        Hold(
            HoldKind.MANUAL,
            h.id,
            f"legal hold {h.id} placed by {h.placed_by} on "
            f"{h.placed_at:%Y-%m-%d}: {h.reason}. Release it first "
            f"(`glassdesk gdpr release {h.id} --by NAME`) when it no longer applies.",
        )
        for h in await SqlLegalHolds(services.db).active(list(records.contact_ids))
    ]
    linked = {str(c["backoffice_customer_id"]) for c in records.contacts if c.get("backoffice_customer_id")}
    settings = services.settings
    if settings.connectors_file:
        if linked and claims_checked_by is None:
            holds += [
                Hold(
                    HoldKind.CLAIMS_UNCHECKED,
                    customer,
                    f"the contact is back-office customer {customer} and the configured connectors cannot "
                    "list claims; check for open claims in the back office, then erase with "
                    "--claims-checked-by NAME",
                )
                for customer in sorted(linked)
            ]
        return holds
    path = settings.var_dir / "backoffice.db"
    if not path.exists():
        return holds
    verified = [(str(i["kind"]), str(i["address"])) for i in records.identities if i["verified"]]
    for number, status in await _open_claims(backoffice_url(path), linked, verified):
        holds.append(
            Hold(
                HoldKind.OPEN_CLAIM,
                number,
                f"insurance claim {number} is open in the back office ({status}); its conversations "
                "are kept as evidence until the claim is closed, paid or rejected",
            )
        )
    return holds


async def held_contacts(services: Container, contacts: dict[str, str | None]) -> set[str]:
    """Of ``contacts`` (contact id -> back-office customer id), those under a manual hold or linked to a
    customer with an open claim (retention skips them; a connectors back office holds every linked one)."""
    held = {h.contact_id for h in await SqlLegalHolds(services.db).active(list(contacts))}
    linked = {cid: customer for cid, customer in contacts.items() if customer}
    if not linked:
        return held
    if services.settings.connectors_file:
        return held | set(linked)
    path = services.settings.var_dir / "backoffice.db"
    if not path.exists():
        return held
    claims = backoffice_tables.tables["bo_claims"]
    engine = create_async_engine(backoffice_url(path))
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                sa.select(claims.c.customer_id, claims.c.status).where(
                    claims.c.customer_id.in_(sorted(set(linked.values())))
                )
            )
            open_for = {str(c) for c, status in rows if status not in CLOSED_CLAIM_STATES}
    finally:
        await engine.dispose()
    return held | {cid for cid, customer in linked.items() if customer in open_for}


async def _open_claims(url: str, customers: set[str], verified: list[tuple[str, str]]) -> list[tuple[str, str]]:
    claims, people = backoffice_tables.tables["bo_claims"], backoffice_tables.tables["bo_customers"]
    emails = [a for k, a in verified if k == "email"]
    phones = [a for k, a in verified if k == "phone"]
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            if emails or phones:
                found = await conn.execute(
                    sa.select(people.c.customer_id).where(
                        sa.or_(people.c.email.in_(emails), people.c.phone.in_(phones))
                    )
                )
                customers = customers | {str(r[0]) for r in found}
            if not customers:
                return []
            rows = await conn.execute(
                sa.select(claims.c.claim_number, claims.c.status).where(claims.c.customer_id.in_(sorted(customers)))
            )
            return [(str(n), str(s)) for n, s in rows if s not in CLOSED_CLAIM_STATES]
    finally:
        await engine.dispose()
