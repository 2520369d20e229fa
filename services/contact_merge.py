"""A person merges two contacts, or undoes a merge; both audited.

A typed or forged address is a claim, not proof, so a manual merge joins only proven identities: a
phone number (it reached us through the carrier) or an email address or chat session verified by a
one-time code. Merging an unverified email contact into a verified one would let whoever wrote that
From header read the verified customer's orders and claims: refused, with what to do instead (send
the sender a code first). Every merge, one-time-code merges too, can be undone
(:meth:`conversation.sql.identities.IdentityQueries.undo_merge`).
"""

from __future__ import annotations

from dataclasses import dataclass

from conversation import ChannelIdentity
from services.container import Container

__all__ = ["ContactMerger", "MergeRefused", "MergeDone", "unproven"]

MERGED = "identity.merged_manually"
UNDONE = "identity.merge_undone"


class MergeRefused(ValueError):
    """The merge would join an identity nobody proved; the message says which kind and what to do."""


@dataclass(frozen=True, slots=True)
class MergeDone:
    merge_id: str
    from_contact_id: str
    into_contact_id: str


def unproven(identities: list[ChannelIdentity]) -> list[ChannelIdentity]:
    """Identities nobody proved: an email address or chat session without a verified code."""
    return [i for i in identities if i.address.kind != "phone" and not i.verified]


class ContactMerger:
    def __init__(self, services: Container) -> None:
        self._s = services

    async def merge(self, from_contact_id: str, into_contact_id: str, *, evidence: str, actor: str) -> MergeDone:
        """Move everything of ``from`` to ``into``. MergeRefused when an identity is unproven;
        ValueError for a merge the store refuses (into itself, chains); NotFound for unknown contacts."""
        s = self._s
        for contact_id in (from_contact_id, into_contact_id):
            weak = unproven(await s.messages.identities_of(contact_id))
            if weak:
                kinds = sorted({i.address.kind for i in weak})
                raise MergeRefused(
                    f"contact {contact_id} has an unverified {' and '.join(kinds)} identity: "
                    "send that address a verification code first (email: 'Send verification code' on its "
                    "conversation; chat: the customer enters a code in the chat), then merge"
                )
        await s.messages.merge_contacts(from_contact_id, into_contact_id, evidence=evidence, actor=actor)
        record = next(
            m for m in await s.messages.merge_records(into_contact_id) if m["from_contact_id"] == from_contact_id
        )
        await s.audit.record(
            actor=actor,
            action=MERGED,
            object_id=into_contact_id,
            data={
                "merge_id": record["merge_id"],
                "from_contact_id": from_contact_id,
                "into_contact_id": into_contact_id,
                "evidence": evidence,
                "identities": len(record["identity_ids"]),
                "conversations": len(record["conversation_ids"]),
            },
        )
        return MergeDone(record["merge_id"], from_contact_id, into_contact_id)

    async def undo(self, merge_id: str, *, actor: str) -> MergeDone:
        """Split a merge again (ValueError says why it cannot be, NotFound for an unknown id)."""
        undone = await self._s.messages.undo_merge(merge_id, actor=actor)
        await self._s.audit.record(
            actor=actor,
            action=UNDONE,
            object_id=undone["into_contact_id"],
            data={
                "merge_id": merge_id,
                "from_contact_id": undone["from_contact_id"],
                "into_contact_id": undone["into_contact_id"],
                "identities": len(undone["identity_ids"]),
                "conversations": len(undone["conversation_ids"]),
            },
        )
        return MergeDone(merge_id, undone["from_contact_id"], undone["into_contact_id"])
