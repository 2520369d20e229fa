"""Policy administration shared by the CLI (`glassdesk policy`) and the admin page: validate, preview
(diff against the live version and a dry run over the stored facts of past turns), publish and roll
back. Every change is written to the audit log.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from conversation import VersionConflict
from services.container import Container

__all__ = [
    "Preview",
    "StalePreview",
    "text_sha256",
    "replay_history",
    "guards_for",
    "PublishRefused",
    "preview_policy",
    "publish_policy",
    "rollback_policy",
    "PUBLISHED",
    "ROLLED_BACK",
]

PUBLISHED = "policy.published"
ROLLED_BACK = "policy.rolled_back"


class PublishRefused(ValueError):
    """The publish breaks a rule of the policy service (no message, nothing changed); nothing changed."""


class StalePreview(ValueError):
    """The text (or the live version) changed since the preview the publisher saw."""


def text_sha256(text: str) -> str:
    """The same digest the policy store keeps (``policy_versions.sha256``)."""
    return hashlib.sha256(text.encode()).hexdigest()


def guards_for(services: Container) -> Any:
    """The guards the runtime uses (see ``services.policy_source.build_turn_deps``)."""
    from policies import GuardConfig

    return GuardConfig(refund_limit=services.settings.refund_limit,
                       supported_languages=services.settings.supported_languages)


async def replay_history(services: Container, *, since: dt.timedelta,
                         limit: int | None = None) -> tuple[list[tuple[str, Any, str]], int]:
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
            "dry_run": {**self.report.model_dump(mode="json"), "replayed": self.replayed,
                        "skipped": self.skipped, "since_days": self.since_days},
        }


async def preview_policy(services: Container, text: str, *, since_days: int, source: str = "<policy>",
                         limit: int = 20_000) -> Preview:
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
    return Preview(sha256=text_sha256(text), live_version=live.version if live else None, diff=diff,
                   changes=changes, report=report, replayed=len(history), skipped=skipped, since_days=since_days)


async def publish_policy(services: Container, text: str, *, author: str, message: str, source: str = "<policy>",
                         previewed_sha256: str | None = None, base_version: int | None = None) -> Any:
    """Validate and publish ``text`` as the new live version; audit it. Raises ``PolicyError`` for an
    invalid text and :class:`StalePreview` when ``previewed_sha256`` / ``base_version`` are given and no
    longer match (the text was edited, or someone else published, after the preview)."""
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
    if base_version is not None:
        live = await services.policies.active()
        if (live.version if live else None) != base_version:
            raise StalePreview(f"version {live.version if live else '-'} was published since your preview "
                               f"(of version {base_version}); preview again before publishing")
    try:  # checked again inside the write transaction: two publishers at the same instant cannot both win
        stored = await services.policies.publish(text, author=author, message=message,
                                                 expected_live=base_version, check_live=base_version is not None)
    except VersionConflict as exc:
        raise StalePreview(f"{exc}; preview again before publishing") from exc
    await services.audit.record(actor=author, action=PUBLISHED, object_id=str(stored.version),
                                data={"message": message, "sha256": digest})
    return stored


async def rollback_policy(services: Container, version: int, *, author: str, message: str | None = None) -> Any:
    """Make ``version`` live again as a new version (history stays immutable); audit it. Raises
    ``conversation.errors.NotFound`` for an unknown version and ``PolicyError`` when today's loader
    refuses that old text."""
    from policies import load_policy

    old = await services.policies.get(version)
    load_policy(old.text, source=f"v{version}")
    note = f"rollback to v{version}" + (f": {message}" if message else "")
    stored = await services.policies.publish(old.text, author=author, message=note, rolled_back_from=version)
    data: dict[str, Any] = {"to": version}
    if message:
        data["message"] = message
    await services.audit.record(actor=author, action=ROLLED_BACK, object_id=str(stored.version), data=data)
    return stored
