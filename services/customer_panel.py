"""The agent's customer panel: who the contact is across channels, every conversation of theirs, the
back-office records of a *verified* identity, merge suggestions with their evidence, and the merges made.

Which identity counts (the same rule as the turn, ``flows.steps._customer``): a phone number reached
us through the carrier and counts as verified; an email address counts once its owner entered a
one-time code (:mod:`services.email_verification`); a chat session is anonymous. Records are read for
a verified identity only. An unverified back-office match is shown as a claim (name and customer id,
no records), because staff need it to judge a merge or to send a code.

Suggestions come from evidence only: a back-office customer that lists an address of this contact
and an address of another contact. Evidence strings carry ids and kinds, never addresses.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from conversation import ChannelIdentity, Conversation, EmailAddress, PhoneAddress
from services.contact_merge import unproven
from services.container import Container

if TYPE_CHECKING:
    from knowledge.backoffice import Customer, Lookups

__all__ = [
    "BackOfficeMatch",
    "CustomerPanel",
    "CustomerPanelReader",
    "MergeSuggestion",
    "PanelBackOffice",
    "Records",
]

log = logging.getLogger("glassdesk.customer_panel")

_CLAIM_REF = re.compile(r"\bCLM-\d{4}-\d{4}\b", re.IGNORECASE)
_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class PanelBackOffice:
    """What the panel reads the back office with: the turn's own ``Lookups`` (scoped, timed out,
    retried) and the back office behind it (for listing claims, where it can)."""

    lookups: Lookups
    backoffice: object


@dataclass(frozen=True, slots=True)
class BackOfficeMatch:
    customer_id: str
    name: str
    identity_id: str
    kind: str  # the identity kind that matched: "phone" | "email"
    verified: bool


@dataclass(frozen=True, slots=True)
class Records:
    orders: list[dict[str, str]] = field(default_factory=list)
    contracts: list[dict[str, str]] = field(default_factory=list)
    claims: list[dict[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # "contracts: back office unavailable …"
    claims_complete: bool = True  # False: only the claims the conversations named (no listing)


@dataclass(frozen=True, slots=True)
class MergeSuggestion:
    contact_id: str  # the other contact (it would be merged into this one)
    identities: list[ChannelIdentity]
    conversations: int
    evidence: list[str]
    summary: str  # what the merge record keeps (no addresses)
    blocked: str = ""  # why it cannot be merged yet, with what to do


@dataclass(frozen=True, slots=True)
class CustomerPanel:
    contact_id: str
    name: str  # the contact's, else a verified back-office match's, else ""
    identities: list[ChannelIdentity]
    conversations: list[Conversation]
    matches: list[BackOfficeMatch]
    verified_match: BackOfficeMatch | None
    records: Records | None
    suggestions: list[MergeSuggestion]
    merges: list[dict[str, Any]]
    unproven_here: list[ChannelIdentity]
    backoffice_problem: str = ""


class CustomerPanelReader:
    def __init__(self, services: Container, backoffice: PanelBackOffice | None) -> None:
        self._s = services
        self._bo = backoffice

    async def read(self, conversation_id: str) -> CustomerPanel:
        s = self._s
        contact = await s.messages.contact_for(conversation_id)
        identities = await s.messages.identities_of(contact.id)
        conversations = await s.messages.conversations_of_contact(contact.id)
        merges = await s.messages.merge_records(contact.id)
        matches: list[BackOfficeMatch] = []
        problem = ""
        customers: dict[str, Customer] = {}
        if self._bo is None:
            problem = "none is configured (no connectors file, no var/backoffice.db; `glassdesk demo` seeds the sample)"
        else:
            try:
                matches, customers = await self._matches(identities)
            except Exception as exc:  # noqa: BLE001 - the panel still shows identities and conversations
                problem = f"the back office could not be asked ({type(exc).__name__}); try again later"
                log.warning("customer panel for contact %s: back office failed: %s", contact.id, type(exc).__name__)
        verified = next((m for m in matches if m.verified), None)
        records = await self._records(verified.customer_id, conversations) if verified else None
        suggestions = await self._suggestions(contact.id, identities, matches, customers)
        if verified and not contact.display_name and not contact.backoffice_customer_id:
            await s.messages.link_backoffice(contact.id, customer_id=verified.customer_id, display_name=verified.name)
        name = contact.display_name or (verified.name if verified else "")
        return CustomerPanel(
            contact_id=contact.id,
            name=name,
            identities=identities,
            conversations=conversations,
            matches=matches,
            verified_match=verified,
            records=records,
            suggestions=suggestions,
            merges=merges,
            unproven_here=unproven(identities),
            backoffice_problem=problem,
        )

    # -- who is it -----------------------------------------------------------------------------------
    async def _matches(self, identities: list[ChannelIdentity]) -> tuple[list[BackOfficeMatch], dict[str, Customer]]:
        assert self._bo is not None
        lookups = self._bo.lookups
        out: list[BackOfficeMatch] = []
        customers: dict[str, Customer] = {}
        ordered = sorted(identities, key=lambda i: (i.address.kind != "phone", not i.verified))
        for ident in ordered:
            a = ident.address
            if isinstance(a, PhoneAddress):
                found = await lookups.find_customer(phone=a.number)
            elif isinstance(a, EmailAddress):
                found = await lookups.find_customer(email=a.address)
            else:
                continue
            if found is None:
                continue
            customers[found.customer_id] = found
            proven = isinstance(a, PhoneAddress) or ident.verified
            out.append(BackOfficeMatch(found.customer_id, found.name, ident.id, a.kind, proven))
        return out, customers

    # -- what they have ------------------------------------------------------------------------------
    async def _records(self, customer_id: str, conversations: list[Conversation]) -> Records:
        from knowledge import LookupFailed
        from knowledge.backoffice.claims_listing import list_claims

        assert self._bo is not None
        lookups, problems = self._bo.lookups, []
        orders: list[dict[str, str]] = []
        contracts: list[dict[str, str]] = []
        claims: list[dict[str, str]] = []
        try:
            orders = [_order_row(o) for o in await lookups.list_orders(customer_id)]
        except LookupFailed as exc:
            problems.append(f"orders: {exc.reason}")
        try:
            contracts = [_contract_row(c) for c in await lookups.list_contracts(customer_id)]
        except LookupFailed as exc:
            problems.append(f"contracts: {exc.reason}")
        listed = None
        try:
            listed = await asyncio.wait_for(list_claims(self._bo.backoffice, customer_id), timeout=_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001 - listing is best effort; named claims below still show
            problems.append(f"claims list: {type(exc).__name__}")
        seen = {c.claim_number for c in listed or ()}
        named = await self._named_claims(conversations)
        found = list(listed or ())
        for number in sorted(named - seen):
            try:
                found.append(await lookups.claim_status(customer_id, number))
            except Exception:  # noqa: BLE001 - not this customer's, or unreachable: not shown
                continue
        claims = [_claim_row(c) for c in found]
        return Records(orders, contracts, claims, problems, claims_complete=listed is not None)

    async def _named_claims(self, conversations: list[Conversation]) -> set[str]:
        """Claim numbers the contact's conversations named (messages and decision records)."""
        numbers: set[str] = set()
        for conv in conversations[:20]:
            for m in await self._s.messages.list_messages(conv.id):
                numbers.update(n.upper() for n in _CLAIM_REF.findall(m.text[:5000]))
        return numbers

    # -- who else is it ------------------------------------------------------------------------------
    async def _suggestions(
        self,
        contact_id: str,
        identities: list[ChannelIdentity],
        matches: list[BackOfficeMatch],
        customers: dict[str, Customer],
    ) -> list[MergeSuggestion]:
        s = self._s
        by_other: dict[str, list[str]] = {}
        summaries: dict[str, str] = {}
        own = {i.id: i for i in identities}
        for m in matches:
            c = customers[m.customer_id]
            mine = own[m.identity_id]
            addresses: list[EmailAddress | PhoneAddress] = []
            try:
                addresses.append(PhoneAddress(number=c.phone))
            except ValueError:
                pass
            try:
                addresses.append(EmailAddress(address=c.email))
            except ValueError:
                pass
            for other in await s.messages.owners_of(list(addresses)):
                if other.contact_id == contact_id:
                    continue
                lines = by_other.setdefault(other.contact_id, [])
                lines.append(
                    f"Back-office customer {c.customer_id} lists this contact's {mine.address.kind} "
                    f"({_proof(mine)}) and the other contact's {other.address.kind} ({_proof(other)})."
                )
                summaries.setdefault(
                    other.contact_id,
                    f"back-office customer {c.customer_id} lists a {mine.address.kind} of {contact_id} "
                    f"and a {other.address.kind} of {other.contact_id}",
                )
        out = []
        mine_weak = unproven(identities)
        for other_id, lines in by_other.items():
            other_identities = await s.messages.identities_of(other_id)
            if not other_identities:
                continue  # merged away meanwhile
            weak = unproven(other_identities) + mine_weak
            blocked = ""
            if weak:
                kinds = sorted({i.address.kind for i in weak})
                blocked = (
                    f"Not yet: an unverified {' and '.join(kinds)} address is involved. A merge would let "
                    "whoever wrote from it read this customer's records. Send that address a verification "
                    "code from its conversation first."
                )
            convs = await s.messages.conversations_of_contact(other_id)
            out.append(
                MergeSuggestion(
                    contact_id=other_id,
                    identities=other_identities,
                    conversations=len(convs),
                    evidence=sorted(set(lines)),
                    summary=summaries[other_id][:255],
                    blocked=blocked,
                )
            )
        return out


def _proof(ident: ChannelIdentity) -> str:
    if ident.address.kind == "phone":
        return "verified: it reached us through the carrier"
    return "verified by a one-time code" if ident.verified else "not verified: only a claim"


def _d(value: object) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _order_row(o: object) -> dict[str, str]:
    from knowledge.backoffice import OrderStatus

    assert isinstance(o, OrderStatus)
    row = {
        "ref": o.order_number,
        "state": o.status.value.replace("_", " "),
        "when": _d(o.ordered_on),
        "total": f"{o.total} {o.currency}",
        "detail": "",
    }
    details = []
    if o.shipment is not None:
        details.append(f"{o.shipment.carrier} {o.shipment.status.value.replace('_', ' ')}, ETA {_d(o.shipment.eta)}")
    if o.open_return is not None:
        details.append(f"return {o.open_return.return_id}: {o.open_return.status.value.replace('_', ' ')}")
    row["detail"] = "; ".join(details)
    return row


def _contract_row(c: object) -> dict[str, str]:
    from knowledge.backoffice import Contract

    assert isinstance(c, Contract)
    return {
        "ref": c.policy_number,
        "state": c.status.value.replace("_", " "),
        "when": _d(c.start_date),
        "total": f"{c.premium} {c.currency} {c.premium_interval}",
        "detail": c.product.value.replace("_", " "),
    }


def _claim_row(c: object) -> dict[str, str]:
    from knowledge.backoffice import ClaimDraft, ClaimStatus

    assert isinstance(c, ClaimStatus | ClaimDraft)
    docs = getattr(c, "open_documents", ()) or ()
    return {
        "ref": c.claim_number,
        "state": c.status.value.replace("_", " "),
        "when": _d(c.reported_on),
        "total": c.policy_number,
        "detail": f"{c.risk.value.replace('_', ' ')}" + (f"; still needed: {', '.join(docs)}" if docs else ""),
    }
