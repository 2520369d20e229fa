"""The live routing policy, as the turn sees it."""

from __future__ import annotations

import time

from conversation.sql import SqlPolicyVersions
from policies import DEFAULT_POLICY_PATH, Policy, load_policy

__all__ = ["PolicySource"]


class PolicySource:
    """The newest published version, parsed once per version. The store is asked at most every
    ``recheck_s`` seconds, so a publish or rollback takes effect within that time."""

    def __init__(self, versions: SqlPolicyVersions, *, recheck_s: float = 2.0) -> None:
        self._versions = versions
        self._cached: tuple[int, Policy] | None = None
        self._checked_at = float("-inf")
        self._recheck_s = recheck_s

    async def current(self) -> Policy:
        if self._cached is not None and time.monotonic() - self._checked_at < self._recheck_s:
            return self._cached[1]
        stored = await self._versions.active()
        if stored is None:
            text = DEFAULT_POLICY_PATH.read_text()
            stored = await self._versions.publish(text, author="system", message="default policy")
        if self._cached is None or self._cached[0] != stored.version:
            policy = load_policy(stored.text, source=f"policy v{stored.version}", version=str(stored.version))
            self._cached = (stored.version, policy)
        self._checked_at = time.monotonic()
        return self._cached[1]
