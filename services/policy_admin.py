"""Policy administration shared by the CLI (`glassdesk policy`) and the admin page: validate, preview
(diff against the live version and a dry run over the stored facts of past turns), publish and roll
back. Every change is written to the audit log.

Four-eyes publishing (``Settings.four_eyes_publishing``: on unless in demo mode): a publish or a
rollback becomes a request that a second, different admin approves (or rejects) before it goes
live. The rules live here, so the page and the CLI refuse the same things:

- with four-eyes on, only an admin account may ask, and only another admin account may approve;
- the requester cannot approve their own request (they may withdraw it);
- a request is approved only while the version that was live when it was made is still live;
- the text is validated again with today's loader when it is approved.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import hashlib
from dataclasses import dataclass
from typing import Any

from conversation import VersionConflict
from conversation.sql import PolicyRequest, RequestDecided, RequestKind, RequestStatus, StoredPolicy
from services.container import Container
from services.staff_accounts import admin_named

__all__ = [
    "Preview",
    "StalePreview",
    "text_sha256",
    "replay_history",
    "guards_for",
    "PublishRefused",
    "SelfApproval",
    "RequestClosed",
    "PolicyAction",
    "Outcome",
    "preview_policy",
    "publish_policy",
    "rollback_policy",
    "approve_request",
    "reject_request",
    "PUBLISHED",
    "ROLLED_BACK",
]


@enum.unique
class PolicyAction(enum.StrEnum):
    PUBLISHED = "policy.published"
    ROLLED_BACK = "policy.rolled_back"
    REQUESTED = "policy.change_requested"
    APPROVED = "policy.request_approved"
    REJECTED = "policy.request_rejected"
    WITHDRAWN = "policy.request_withdrawn"
    SUPERSEDED = "policy.request_superseded"


PUBLISHED = PolicyAction.PUBLISHED
ROLLED_BACK = PolicyAction.ROLLED_BACK


class PublishRefused(ValueError):
    """The change breaks a rule of the policy service (the message says which); nothing changed."""


class SelfApproval(PublishRefused):
    """The admin who asked for a change cannot approve it: four eyes means two people."""


class RequestClosed(PublishRefused):
    """The request was approved, rejected, withdrawn or superseded already."""


class StalePreview(ValueError):
    """The text (or the live version) changed since the preview the publisher saw."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a publish or rollback did: went live (``published``), or waits for a second admin (``request``)."""

    published: StoredPolicy | None = None
    request: PolicyRequest | None = None


def text_sha256(text: str) -> str:
    """The same digest the policy store keeps (``policy_versions.sha256``)."""
    return hashlib.sha256(text.encode()).hexdigest()


def guards_for(services: Container) -> Any:
    """The guards the runtime uses (see ``services.policy_source.build_turn_deps``)."""
    from policies import GuardConfig

    return GuardConfig(
        refund_limit=services.settings.refund_limit, supported_languages=services.settings.supported_languages
    )


async def replay_history(
    services: Container, *, since: dt.timedelta, limit: int | None = None
) -> tuple[list[tuple[str, Any, str]], int]:
    """``(turn id, Facts, route taken)`` of the turns decided within ``since`` (newest first when
    ``limit`` cuts), and how many were skipped because their facts no longer fit today's schema."""
    from sqlalchemy import select

    from conversation.sql import schema as t
    from policies import Facts

    cutoff = dt.datetime.now(dt.UTC) - since
    query = select(t.decisions.c.record).where(t.decisions.c.created_at >= cutoff)
    if limit is not None:
        query = query.order_by(t.decisions.c.created_at.desc()).limit(limit)
    out: list[tuple[str, Any, str]] = []
    skipped = 0
    async with services.db.read() as conn:
        for (record,) in await conn.execute(query):
            stored = record.get("facts") or {}
            facts = {k: v for k, v in stored.items() if k in Facts.model_fields}
            # compare with the route the policy chose then, not the final route (a turn with no source is
            # handed off whatever the policy said): an unchanged policy then changes nothing
            decided = stored.get("policy_route") or record["route"]
            try:
                out.append((record["inbound_message_id"], Facts.model_validate(facts), decided))
            except Exception:  # noqa: BLE001 - facts of an older schema: skip, counted
                skipped += 1
    return out, skipped


@dataclass(frozen=True)
class Preview:
    sha256: str  # of the previewed text: publishing must send it back
    live_version: int | None
    diff: str  # unified diff live -> draft ("" when identical)
    changes: Any  # policies.PolicyChanges | None (None: nothing live yet)
    report: Any  # policies.SimulationReport
    replayed: int
    skipped: int
    since_days: int

    def to_json(self) -> dict[str, Any]:
        changes = self.changes
        return {
            "sha256": self.sha256,
            "live_version": self.live_version,
            "diff": self.diff,
            "changes": None if changes is None else {**changes.model_dump(mode="json"), "summary": str(changes)},
            "dry_run": {
                **self.report.model_dump(mode="json"),
                "replayed": self.replayed,
                "skipped": self.skipped,
                "since_days": self.since_days,
            },
        }


async def preview_policy(
    services: Container, text: str, *, since_days: int, source: str = "<policy>", limit: int = 20_000
) -> Preview:
    """Diff ``text`` against the live version and replay the last ``since_days`` through it.
    Raises ``policies.PolicyError`` when the text is invalid."""
    from policies import compare_policies, diff_policies, load_policy, simulate

    draft = load_policy(text, source=source)
    live = await services.policies.active()
    diff, changes = "", None
    if live is not None:
        diff = diff_policies(live.text, text, old_label=f"v{live.version} (live)", new_label="draft")
        try:
            changes = compare_policies(load_policy(live.text, source=f"v{live.version}"), draft)
        except Exception:  # noqa: BLE001 - a live text today's loader refuses: the text diff still shows it
            changes = None
    history, skipped = await replay_history(services, since=dt.timedelta(days=since_days), limit=limit)
    report = await asyncio.to_thread(simulate, draft, history, guards=guards_for(services))
    return Preview(
        sha256=text_sha256(text),
        live_version=live.version if live else None,
        diff=diff,
        changes=changes,
        report=report,
        replayed=len(history),
        skipped=skipped,
        since_days=since_days,
    )


async def _requester(services: Container, name: str) -> str:
    """With four-eyes on, the account that asks must be an admin (so "another admin" means something)."""
    account = await admin_named(services, name)
    if account is None:
        raise PublishRefused(
            f"{name!r} is not an admin account: with four-eyes publishing a change is asked for "
            "and approved by admin accounts (`glassdesk users list`; the CLI takes --author)"
        )
    return account.username


async def _request(
    services: Container,
    kind: RequestKind,
    text: str,
    *,
    requester: str,
    message: str,
    base_version: int | None,
    target_version: int | None = None,
) -> Outcome:
    request = await services.policies.request(
        kind, text, message=message, requested_by=requester, base_version=base_version, target_version=target_version
    )
    await services.audit.record(
        actor=requester,
        action=PolicyAction.REQUESTED,
        object_id=request.id,
        data={
            "kind": kind.value,
            "sha256": request.sha256,
            "base_version": base_version,
            "target_version": target_version,
            "message": message,
        },
    )
    return Outcome(request=request)


async def publish_policy(
    services: Container,
    text: str,
    *,
    author: str,
    message: str,
    source: str = "<policy>",
    previewed_sha256: str | None = None,
    base_version: int | None = None,
) -> Outcome:
    """Validate ``text`` and publish it as the new live version, or, with four-eyes publishing, store
    it as a request for a second admin; audit either. Raises ``PolicyError`` for an invalid text,
    :class:`PublishRefused` for a broken rule and :class:`StalePreview` when ``previewed_sha256`` /
    ``base_version`` are given and no longer match (edited, or someone published, since the preview)."""
    from policies import load_policy

    if not message.strip():
        raise PublishRefused("write a message: why this change (it is kept in the history)")
    load_policy(text, source=source)
    digest = text_sha256(text)
    current = await services.policies.active()
    if current is not None and current.sha256 == digest:
        raise PublishRefused(f"nothing to publish: the text is the live version v{current.version}")
    if previewed_sha256 is not None and previewed_sha256 != digest:
        raise StalePreview("the policy text changed since the preview; preview it again before publishing")
    live_version = current.version if current else None
    if base_version is not None and live_version != base_version:
        raise StalePreview(
            f"version {live_version or '-'} was published since your preview "
            f"(of version {base_version}); preview again before publishing"
        )
    if services.settings.four_eyes_publishing:
        requester = await _requester(services, author)
        return await _request(
            services, RequestKind.PUBLISH, text, requester=requester, message=message, base_version=live_version
        )
    try:  # checked again inside the write transaction: two publishers at the same instant cannot both win
        stored = await services.policies.publish(
            text, author=author, message=message, expected_live=base_version, check_live=base_version is not None
        )
    except VersionConflict as exc:
        raise StalePreview(f"{exc}; preview again before publishing") from exc
    await services.audit.record(
        actor=author,
        action=PolicyAction.PUBLISHED,
        object_id=str(stored.version),
        data={"message": message, "sha256": digest},
    )
    return Outcome(published=stored)


async def rollback_policy(services: Container, version: int, *, author: str, message: str | None = None) -> Outcome:
    """Make ``version`` live again as a new version (history stays immutable), or, with four-eyes
    publishing, ask a second admin to; audit it. Raises ``conversation.errors.NotFound`` for an
    unknown version, :class:`PublishRefused` when it is live already and ``PolicyError`` when today's
    loader refuses that old text."""
    from policies import load_policy

    old = await services.policies.get(version)
    live = await services.policies.active()
    if live is not None and live.version == version:
        raise PublishRefused(f"v{version} is already live")
    load_policy(old.text, source=f"v{version}")
    note = f"rollback to v{version}" + (f": {message}" if message else "")
    if services.settings.four_eyes_publishing:
        requester = await _requester(services, author)
        return await _request(
            services,
            RequestKind.ROLLBACK,
            old.text,
            requester=requester,
            message=note,
            base_version=live.version if live else None,
            target_version=version,
        )
    stored = await services.policies.publish(old.text, author=author, message=note, rolled_back_from=version)
    data: dict[str, Any] = {"to": version}
    if message:
        data["message"] = message
    await services.audit.record(actor=author, action=PolicyAction.ROLLED_BACK, object_id=str(stored.version), data=data)
    return Outcome(published=stored)


async def approve_request(services: Container, request_id: str, *, approver: str) -> tuple[PolicyRequest, StoredPolicy]:
    """A second admin approves: the request's text goes live now. Raises ``NotFound``,
    :class:`SelfApproval`, :class:`RequestClosed`, :class:`PublishRefused` (not an admin),
    ``PolicyError`` (today's loader refuses the text) or :class:`StalePreview` (another version went
    live since the request; it is closed as superseded)."""
    from policies import load_policy

    account = await admin_named(services, approver)
    if account is None:
        raise PublishRefused(
            f"{approver!r} is not an admin account: only another admin approves a policy change "
            "(`glassdesk users list`)"
        )
    request = await services.policies.get_request(request_id)
    if request.requested_by.lower() == account.username.lower():
        raise SelfApproval(
            f"{account.username} asked for {request.id}: another admin must approve it "
            "(four-eyes publishing); you may withdraw it"
        )
    if request.status is not RequestStatus.PENDING:
        raise RequestClosed(_closed(request))
    load_policy(request.text, source=request.id)
    try:
        decided, stored = await services.policies.approve(request.id, approver=account.username)
    except RequestDecided as exc:
        raise RequestClosed(str(exc)) from exc
    except VersionConflict as exc:
        closed = await services.policies.get_request(request.id)
        if closed.status is RequestStatus.SUPERSEDED:
            await services.audit.record(
                actor=account.username,
                action=PolicyAction.SUPERSEDED,
                object_id=request.id,
                data={"base_version": request.base_version},
            )
        raise StalePreview(str(exc)) from exc
    await services.audit.record(
        actor=account.username,
        action=PolicyAction.APPROVED,
        object_id=request.id,
        data={"requested_by": request.requested_by, "version": stored.version},
    )
    if request.kind is RequestKind.ROLLBACK:
        await services.audit.record(
            actor=request.requested_by,
            action=PolicyAction.ROLLED_BACK,
            object_id=str(stored.version),
            data={
                "to": request.target_version,
                "message": request.message,
                "approved_by": account.username,
                "request": request.id,
            },
        )
    else:
        await services.audit.record(
            actor=request.requested_by,
            action=PolicyAction.PUBLISHED,
            object_id=str(stored.version),
            data={
                "message": request.message,
                "sha256": request.sha256,
                "approved_by": account.username,
                "request": request.id,
            },
        )
    return decided, stored


async def reject_request(services: Container, request_id: str, *, by: str, note: str | None = None) -> PolicyRequest:
    """Another admin rejects the request, or its requester withdraws it; nothing goes live."""
    account = await admin_named(services, by)
    if account is None:
        raise PublishRefused(
            f"{by!r} is not an admin account: only admins decide on policy changes (`glassdesk users list`)"
        )
    request = await services.policies.get_request(request_id)
    if request.status is not RequestStatus.PENDING:
        raise RequestClosed(_closed(request))
    own = request.requested_by.lower() == account.username.lower()
    status = RequestStatus.WITHDRAWN if own else RequestStatus.REJECTED
    try:
        decided = await services.policies.decide(request.id, status, by=account.username, note=note or None)
    except RequestDecided as exc:
        raise RequestClosed(str(exc)) from exc
    await services.audit.record(
        actor=account.username,
        action=PolicyAction.WITHDRAWN if own else PolicyAction.REJECTED,
        object_id=request.id,
        data={"requested_by": request.requested_by, "note": note or ""},
    )
    return decided


def _closed(request: PolicyRequest) -> str:
    by = f" by {request.decided_by}" if request.decided_by else ""
    return f"{request.describe()} is already {request.status.value}{by}; nothing changed"
