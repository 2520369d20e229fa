"""Policy requests in the store (SQLite and, when configured, PostgreSQL): deciding is atomic, so two
admins acting on the same request at the same instant cannot both win, and a request never ends up
"rejected" while its text went live."""

from __future__ import annotations

import asyncio

import pytest

from conversation import VersionConflict
from conversation.sql import Database, RequestDecided, RequestKind, RequestStatus, SqlPolicyVersions
from policies import DEFAULT_POLICY_PATH

pytestmark = pytest.mark.postgres
TEXT = DEFAULT_POLICY_PATH.read_text()


async def _pending(versions: SqlPolicyVersions, suffix: str) -> tuple[int, str]:
    live = await versions.active()
    base = live.version if live else None
    request = await versions.request(
        RequestKind.PUBLISH, TEXT + f"\n# {suffix}\n", message=suffix, requested_by="ada", base_version=base
    )
    return base or 0, request.id


async def test_two_approvals_at_once_publish_once(database: Database) -> None:
    versions = SqlPolicyVersions(database)
    await versions.publish(TEXT, author="setup", message="baseline")
    base, request_id = await _pending(versions, "race")

    async def approve(who: str) -> object:
        try:
            return await versions.approve(request_id, approver=who)
        except RequestDecided as exc:
            return exc

    results = await asyncio.gather(approve("bob"), approve("cyd"))
    assert sum(isinstance(r, RequestDecided) for r in results) == 1
    history = await versions.history()
    assert [p.version for p in history] == [base + 1, base]
    decided = await versions.get_request(request_id)
    assert decided.status is RequestStatus.APPROVED and decided.published_version == base + 1
    assert history[0].approved_by == decided.decided_by and history[0].author == "ada"


async def test_an_approval_racing_a_rejection_leaves_one_consistent_outcome(database: Database) -> None:
    versions = SqlPolicyVersions(database)
    await versions.publish(TEXT, author="setup", message="baseline")
    base, request_id = await _pending(versions, "approve-or-reject")

    async def approve() -> object:
        try:
            return await versions.approve(request_id, approver="bob")
        except RequestDecided as exc:
            return exc

    async def reject() -> object:
        try:
            return await versions.decide(request_id, RequestStatus.REJECTED, by="cyd", note="no")
        except RequestDecided as exc:
            return exc

    results = await asyncio.gather(approve(), reject())
    assert sum(isinstance(r, RequestDecided) for r in results) == 1
    decided = await versions.get_request(request_id)
    live = await versions.active()
    assert live is not None
    if decided.status is RequestStatus.APPROVED:
        assert live.version == base + 1 == decided.published_version
    else:
        assert decided.status is RequestStatus.REJECTED and live.version == base and decided.published_version is None


async def test_a_request_on_an_old_live_version_is_superseded(database: Database) -> None:
    versions = SqlPolicyVersions(database)
    await versions.publish(TEXT, author="setup", message="baseline")
    _base, request_id = await _pending(versions, "late")
    moved = await versions.publish(TEXT + "\n# someone else\n", author="eve", message="meanwhile")
    with pytest.raises(VersionConflict, match="went live after"):
        await versions.approve(request_id, approver="bob")
    closed = await versions.get_request(request_id)
    assert closed.status is RequestStatus.SUPERSEDED and f"v{moved.version}" in (closed.decision_note or "")
    assert (await versions.active()) == moved
    with pytest.raises(RequestDecided):
        await versions.decide(request_id, RequestStatus.REJECTED, by="bob", note=None)
