"""Compare two policy versions: a unified text diff and which rules changed."""

from __future__ import annotations

import difflib

from pydantic import BaseModel, ConfigDict

from policies.model import Policy

__all__ = ["PolicyChanges", "diff_policies", "compare_policies"]


class PolicyChanges(BaseModel):
    """Rule ids added, removed, changed (same id, other content) or moved (order matters)."""

    model_config = ConfigDict(frozen=True)

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    moved: tuple[str, ...] = ()
    default_changed: bool = False
    metadata_changed: bool = False

    @property
    def empty(self) -> bool:
        return not (
            self.added or self.removed or self.changed or self.moved or self.default_changed or self.metadata_changed
        )

    def __str__(self) -> str:
        parts = [
            f"{label}: {', '.join(ids)}"
            for label, ids in (
                ("added", self.added),
                ("removed", self.removed),
                ("changed", self.changed),
                ("moved", self.moved),
            )
            if ids
        ]
        if self.default_changed:
            parts.append("default changed")
        if self.metadata_changed:
            parts.append("name/description changed")
        return "; ".join(parts) or "no changes"


def diff_policies(old_text: str, new_text: str, *, old_label: str = "old", new_label: str = "new") -> str:
    """A unified diff of two policy documents ("" when they are identical)."""
    lines = difflib.unified_diff(
        old_text.splitlines(keepends=True),
        new_text.splitlines(keepends=True),
        fromfile=old_label,
        tofile=new_label,
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def compare_policies(old: Policy, new: Policy) -> PolicyChanges:
    """Which rules changed between two loaded policies (the version field is ignored)."""
    old_rules = {rule.id: rule for rule in old.rules}
    new_rules = {rule.id: rule for rule in new.rules}
    added = tuple(rule.id for rule in new.rules if rule.id not in old_rules)
    removed = tuple(rule.id for rule in old.rules if rule.id not in new_rules)
    changed = tuple(rule.id for rule in new.rules if rule.id in old_rules and old_rules[rule.id] != rule)
    old_order = [rule.id for rule in old.rules if rule.id in new_rules]
    new_order = [rule.id for rule in new.rules if rule.id in old_rules]
    matcher = difflib.SequenceMatcher(a=old_order, b=new_order, autojunk=False)
    kept = {old_order[block.a + i] for block in matcher.get_matching_blocks() for i in range(block.size)}
    moved = tuple(rule_id for rule_id in new_order if rule_id not in kept)
    return PolicyChanges(
        added=added,
        removed=removed,
        changed=changed,
        moved=moved,
        default_changed=old.default != new.default,
        metadata_changed=(old.name, old.description) != (new.name, new.description),
    )
