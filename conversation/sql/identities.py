"""SQL for identities: find and add a channel identity, merge contacts on evidence (every merge
recorded in ``identity_merges``, what it moved in ``contact_merges``) and undo a merge. Part of
:class:`conversation.sql.SqlMessageStore`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from conversation.addresses import Address, address_key
from conversation.enums import ChannelKind
from conversation.errors import NotFound
from conversation.ids import new_id
from conversation.models import ChannelIdentity, Conversation, utcnow
from conversation.sql import schema as t
from conversation.sql.database import Database
from conversation.sql.rows import ADDRESS, aware, to_conversation
from conversation.sql.schema_customer import contact_merges

__all__ = ["IdentityQueries", "MergeUndone", "to_identity"]

_CONFLICT_RETRIES = 8
_MAX_EVIDENCE = 255  # identity_merges.evidence
_MAX_ACTOR = 64  # identity_merges.actor


class MergeUndone(dict[str, Any]):
    """The ``contact_merges`` row of a merge that was just undone (ids, times, who)."""


class IdentityQueries:
    """Identity and merge operations of the message store (it supplies ``_db`` and ``verify_identity``)."""

    _db: Database

    async def verify_identity(self, identity_id: str) -> None:  # implemented by the store
        raise NotImplementedError

    async def find_identity(self, address: Address) -> ChannelIdentity | None:
        """The identity of ``address`` (whoever owns it), or None."""
        ci = t.channel_identities
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    select(ci).where(and_(ci.c.kind == address.kind, ci.c.address == address_key(address)))
                )
            ).first()
        return to_identity(row) if row is not None else None

    async def ensure_identity(self, contact_id: str, address: Address, *, verified: bool) -> ChannelIdentity:
        """Give ``contact_id`` the identity ``address`` unless someone owns it already.

        Returns the identity that owns the address afterwards: check its ``contact_id``, it is another
        contact's when the address was taken (nothing is changed then). ``verified`` marks a new or
        own identity verified; it never clears the flag."""
        for _ in range(_CONFLICT_RETRIES):
            existing = await self.find_identity(address)
            if existing is not None:
                if existing.contact_id == contact_id and verified and not existing.verified:
                    await self.verify_identity(existing.id)
                    return existing.model_copy(update={"verified": True})
                return existing
            ident = ChannelIdentity(contact_id=contact_id, address=address, verified=verified)
            try:
                async with self._db.begin() as conn:
                    if (
                        await conn.execute(select(t.contacts.c.id).where(t.contacts.c.id == contact_id))
                    ).first() is None:
                        raise NotFound(f"contact {contact_id} does not exist")
                    await conn.execute(
                        insert(t.channel_identities).values(
                            id=ident.id,
                            contact_id=contact_id,
                            kind=address.kind,
                            address=address_key(address),
                            verified=verified,
                            created_at=ident.created_at,
                        )
                    )
                return ident
            except IntegrityError:  # taken concurrently: read the winner
                continue
        raise RuntimeError(f"identity for contact {contact_id} kept conflicting")

    async def find_conversation_by_address(self, address: Address, *, channel: ChannelKind) -> Conversation | None:
        """The most recently updated ``channel`` conversation of the contact that owns ``address``
        (for a chat session: the conversation its next message joins)."""
        ci, cv = t.channel_identities, t.conversations
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    select(cv)
                    .join(ci, ci.c.contact_id == cv.c.contact_id)
                    .where(
                        and_(
                            ci.c.kind == address.kind,
                            ci.c.address == address_key(address),
                            cv.c.channel == channel.value,
                        )
                    )
                    .order_by(cv.c.updated_at.desc())
                    .limit(1)
                )
            ).first()
        return to_conversation(row) if row is not None else None

    async def merge_contacts(
        self,
        from_contact_id: str,
        into_contact_id: str,
        *,
        evidence: str,
        actor: str,
        proven: Address | None = None,
    ) -> bool:
        """Move every identity and conversation of ``from`` to ``into`` in one transaction, mark the
        ``proven`` identity verified and record the merge in ``identity_merges``.

        Idempotent: repeating a recorded merge changes nothing more and returns False (True: this
        call recorded it). Refuses (ValueError) a merge into itself, into a contact that was merged
        away, or of a contact already merged into another one; NotFound for an unknown contact.
        ``evidence`` says what proved it (no PII: no addresses, no codes)."""
        _check_merge(from_contact_id, into_contact_id, evidence=evidence, actor=actor)
        c, ci, cv, im = t.contacts, t.channel_identities, t.conversations, t.identity_merges
        async with self._db.begin() as conn:
            rows = {
                r.id: r
                for r in await conn.execute(
                    select(c).where(c.c.id.in_([from_contact_id, into_contact_id])).with_for_update()
                )
            }
            for cid in (from_contact_id, into_contact_id):
                if cid not in rows:
                    raise NotFound(f"contact {cid} does not exist")
            earlier = (
                await conn.execute(
                    select(im.c.from_contact_id, im.c.into_contact_id).where(
                        im.c.from_contact_id.in_([from_contact_id, into_contact_id])
                    )
                )
            ).all()
            recorded = False
            for merged_from, merged_into in earlier:
                if merged_from == into_contact_id:
                    raise ValueError(f"contact {into_contact_id} was merged into {merged_into}; merge into that one")
                if merged_into != into_contact_id:
                    raise ValueError(f"contact {from_contact_id} was already merged into {merged_into}")
                recorded = True
            moved_identities = list(
                (await conn.execute(select(ci.c.id).where(ci.c.contact_id == from_contact_id))).scalars()
            )
            moved_conversations = list(
                (await conn.execute(select(cv.c.id).where(cv.c.contact_id == from_contact_id))).scalars()
            )
            await conn.execute(update(ci).where(ci.c.contact_id == from_contact_id).values(contact_id=into_contact_id))
            await conn.execute(
                update(cv)
                .where(cv.c.contact_id == from_contact_id)
                .values(contact_id=into_contact_id, updated_at=utcnow())
            )
            source, target = rows[from_contact_id]._mapping, rows[into_contact_id]._mapping
            carry = {k: source[k] for k in ("backoffice_customer_id", "display_name") if source[k] and not target[k]}
            if carry:
                await conn.execute(update(c).where(c.c.id == into_contact_id).values(**carry))
            if proven is not None:
                res = await conn.execute(
                    update(ci)
                    .where(
                        and_(
                            ci.c.kind == proven.kind,
                            ci.c.address == address_key(proven),
                            ci.c.contact_id == into_contact_id,
                        )
                    )
                    .values(verified=True)
                )
                if res.rowcount != 1:
                    raise ValueError(
                        f"the proven {proven.kind} address is not an identity of contact {into_contact_id}"
                    )
            if not recorded:
                row = {
                    "from_contact_id": from_contact_id,
                    "into_contact_id": into_contact_id,
                    "evidence": evidence,
                    "actor": actor,
                    "created_at": utcnow(),
                }
                merge_id = new_id("mg")
                await conn.execute(insert(im).values(id=merge_id, **row))
                await conn.execute(
                    insert(contact_merges).values(
                        merge_id=merge_id,
                        identity_ids=moved_identities,
                        conversation_ids=moved_conversations,
                        carried=sorted(carry),
                        **row,
                    )
                )
        return not recorded

    async def undo_merge(self, merge_id: str, *, actor: str) -> MergeUndone:
        """Move back what merge ``merge_id`` moved, clear the fields it carried over and drop its
        ``identity_merges`` row (``contact_merges`` keeps it, marked undone by ``actor``).

        Refuses (ValueError, saying what to do) a merge that is already undone, one whose target was
        merged away since (undo that merge first), or one whose identities moved on since. NotFound
        for an unknown merge id. Identities and conversations the target got after the merge stay."""
        if not actor.strip() or len(actor) > _MAX_ACTOR:
            raise ValueError(f"actor: name who undid the merge in 1-{_MAX_ACTOR} characters")
        c, ci, cv, im, cm = t.contacts, t.channel_identities, t.conversations, t.identity_merges, contact_merges
        async with self._db.begin() as conn:
            rec = (await conn.execute(select(cm).where(cm.c.merge_id == merge_id).with_for_update())).first()
            if rec is None:
                raise NotFound(f"merge {merge_id} does not exist")
            m = rec._mapping
            if m["undone_at"] is not None:
                raise ValueError(f"merge {merge_id} was already undone by {m['undone_by']}")
            source, target = m["from_contact_id"], m["into_contact_id"]
            later = (await conn.execute(select(im.c.into_contact_id).where(im.c.from_contact_id == target))).first()
            if later is not None:
                raise ValueError(f"contact {target} was merged into {later[0]} after this merge; undo that merge first")
            identity_ids, conversation_ids = list(m["identity_ids"]), list(m["conversation_ids"])
            if identity_ids:
                owned = await conn.execute(select(ci.c.id, ci.c.contact_id).where(ci.c.id.in_(identity_ids)))
                owners: dict[str, str] = {str(r[0]): str(r[1]) for r in owned}
                moved_on = [i for i in identity_ids if owners.get(i, target) != target]
                if moved_on:
                    raise ValueError(
                        f"identities {', '.join(moved_on)} belong to another contact now; move them back first"
                    )
                await conn.execute(update(ci).where(ci.c.id.in_(identity_ids)).values(contact_id=source))
            if conversation_ids:
                await conn.execute(
                    update(cv)
                    .where(and_(cv.c.id.in_(conversation_ids), cv.c.contact_id == target))
                    .values(contact_id=source, updated_at=utcnow())
                )
            carried = [k for k in m["carried"] if k in ("backoffice_customer_id", "display_name")]
            if carried:
                await conn.execute(update(c).where(c.c.id == target).values(**{k: None for k in carried}))
            await conn.execute(delete(im).where(im.c.id == merge_id))
            now = utcnow()
            await conn.execute(update(cm).where(cm.c.merge_id == merge_id).values(undone_at=now, undone_by=actor))
            return MergeUndone({**m, "undone_at": now, "undone_by": actor})

    async def merge_records(self, contact_id: str) -> list[dict[str, Any]]:
        """Every merge into or out of ``contact_id`` with what it moved, undone ones too, newest first."""
        cm = contact_merges
        async with self._db.read() as conn:
            rows = await conn.execute(
                select(cm)
                .where((cm.c.from_contact_id == contact_id) | (cm.c.into_contact_id == contact_id))
                .order_by(cm.c.created_at.desc())
            )
            return [dict(r._mapping) for r in rows]

    async def conversations_of_contact(self, contact_id: str) -> list[Conversation]:
        """Every conversation of ``contact_id``, on every channel, most recently updated first."""
        cv = t.conversations
        async with self._db.read() as conn:
            rows = await conn.execute(
                select(cv).where(cv.c.contact_id == contact_id).order_by(cv.c.updated_at.desc()).limit(200)
            )
            return [to_conversation(r) for r in rows]

    async def owners_of(self, addresses: list[Address]) -> list[ChannelIdentity]:
        """The identities of these addresses that exist (whoever owns them)."""
        if not addresses:
            return []
        ci = t.channel_identities
        wanted = [and_(ci.c.kind == a.kind, ci.c.address == address_key(a)) for a in addresses]
        async with self._db.read() as conn:
            rows = await conn.execute(select(ci).where(or_(*wanted)))
            return [to_identity(r) for r in rows]

    async def merges_of(self, contact_id: str) -> list[dict[str, Any]]:
        """The recorded merges into or out of ``contact_id``, oldest first."""
        im = t.identity_merges
        async with self._db.read() as conn:
            rows = await conn.execute(
                select(im)
                .where((im.c.from_contact_id == contact_id) | (im.c.into_contact_id == contact_id))
                .order_by(im.c.created_at)
            )
            return [dict(r._mapping) for r in rows]


def _check_merge(from_contact_id: str, into_contact_id: str, *, evidence: str, actor: str) -> None:
    if from_contact_id == into_contact_id:
        raise ValueError(f"contact {from_contact_id} cannot be merged into itself")
    if not evidence.strip() or len(evidence) > _MAX_EVIDENCE:
        raise ValueError(f"evidence: say what proved the merge in 1-{_MAX_EVIDENCE} characters (no addresses or codes)")
    if not actor.strip() or len(actor) > _MAX_ACTOR:
        raise ValueError(f"actor: name who merged in 1-{_MAX_ACTOR} characters")


def to_identity(row: Any) -> ChannelIdentity:
    return ChannelIdentity(
        id=row.id,
        contact_id=row.contact_id,
        address=ADDRESS.validate_python(_address_dict(row.kind, row.address)),
        verified=bool(row.verified),
        created_at=aware(row.created_at),
    )


def _address_dict(kind: str, value: str) -> dict[str, str]:
    field = {"email": "address", "phone": "number", "chat": "session_id"}[kind]
    return {"kind": kind, field: value}
