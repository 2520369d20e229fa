"""Two admins who previewed the same live version and publish at the same instant: one wins, the
other is told to preview again (on every SQL backend)."""

from __future__ import annotations

import asyncio

from conversation import VersionConflict
from conversation.sql import Database, SqlPolicyVersions
from policies import DEFAULT_POLICY_PATH


async def test_only_one_of_two_concurrent_publishes_of_the_same_base_wins(database: Database) -> None:
    versions = SqlPolicyVersions(database)
    text = DEFAULT_POLICY_PATH.read_text()
    base = await versions.publish(text, author="setup", message="baseline")

    async def publish(who: str) -> object:
        try:
            return await versions.publish(
                text + f"\n# {who}\n", author=who, message=who, expected_live=base.version, check_live=True
            )
        except VersionConflict as exc:
            return exc

    results = await asyncio.gather(publish("ada"), publish("bob"))
    conflicts = [r for r in results if isinstance(r, VersionConflict)]
    assert len(conflicts) == 1
    assert [p.version for p in await versions.history()] == [base.version + 1, base.version]
