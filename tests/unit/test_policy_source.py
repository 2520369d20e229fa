"""The worker reads the live policy at most every few seconds, and picks up a new version after that."""

from __future__ import annotations

import datetime as dt

from conversation.sql import StoredPolicy
from policies import DEFAULT_POLICY_PATH
from services.policy_source import PolicySource


class _Versions:
    def __init__(self) -> None:
        self.calls = 0
        self.version = 1

    async def active(self) -> StoredPolicy:
        self.calls += 1
        return StoredPolicy(
            version=self.version,
            author="a",
            message="m",
            text=DEFAULT_POLICY_PATH.read_text(),
            sha256="x",
            rolled_back_from=None,
            created_at=dt.datetime.now(dt.UTC),
        )


async def test_reads_are_cached_and_a_new_version_is_picked_up() -> None:
    versions = _Versions()
    source = PolicySource(versions, recheck_s=3600)  # type: ignore[arg-type]  # a stand-in for SqlPolicyVersions
    first = await source.current()
    assert await source.current() is first and versions.calls == 1

    versions.version = 2
    fresh = PolicySource(versions, recheck_s=0)  # type: ignore[arg-type]  # a stand-in for SqlPolicyVersions
    await fresh.current()
    versions.version = 3
    policy = await fresh.current()
    assert str(policy.version) == "3"
