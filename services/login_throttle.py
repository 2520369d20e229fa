"""Throttling of staff logins that slows a guesser down without locking the real user out.

Wrong passwords count, in sliding windows, against (in this order):

1. the (name, address) pair: a few mistakes, then that address waits before trying that name again;
2. the address: more, across all names, then that address waits for every name;
3. the name across all addresses: many, then only addresses this account logged in from before may
   try it (a spread-out guesser is stopped, the real user at their usual address is not).

Nobody can lock the real user out from another address: an attacker fills their own pair and address
windows, and the name-wide window never blocks an address the account is known at. A successful login
clears its pair's failures and remembers the address for the name. Blocked attempts are not counted
and do not check the password, so the answer reveals nothing about it. Keys live under
``gd:rl:login:`` in Redis (sorted sets of failure times; a set of known addresses per name).
"""

from __future__ import annotations

import enum
import secrets
import time
from dataclasses import dataclass

import redis.asyncio as aioredis

__all__ = ["LoginThrottle", "LoginLimits", "Throttled"]


@enum.unique
class Throttled(enum.StrEnum):
    PAIR = "name_and_address"
    ADDRESS = "address"
    NAME = "name"


@dataclass(frozen=True, slots=True)
class LoginLimits:
    pair: int = 5  # failures of one name from one address
    address: int = 20  # failures from one address, all names
    name: int = 50  # failures of one name, all addresses; then only its known addresses
    window_s: int = 300
    known_for_s: int = 30 * 24 * 3600  # how long a successful login makes an address known for the name


class LoginThrottle:
    def __init__(
        self, redis: aioredis.Redis, *, limits: LoginLimits | None = None, prefix: str = "gd:rl:login:"
    ) -> None:
        self._r = redis
        self.limits = limits or LoginLimits()
        self._prefix = prefix

    def _keys(self, name: str, address: str) -> dict[Throttled, str]:
        name = name.strip().lower()
        return {
            Throttled.PAIR: f"{self._prefix}pair:{address}:{name}",
            Throttled.ADDRESS: f"{self._prefix}addr:{address}",
            Throttled.NAME: f"{self._prefix}name:{name}",
        }

    def _known(self, name: str) -> str:
        return f"{self._prefix}known:{name.strip().lower()}"

    def _limit(self, scope: Throttled) -> int:
        return {
            Throttled.PAIR: self.limits.pair,
            Throttled.ADDRESS: self.limits.address,
            Throttled.NAME: self.limits.name,
        }[scope]

    async def blocked(self, name: str, address: str) -> Throttled | None:
        """Why this attempt must wait, or None when it may check the password."""
        keys = self._keys(name, address)
        now = time.time()
        async with self._r.pipeline(transaction=False) as pipe:
            for key in keys.values():
                pipe.zcount(key, now - self.limits.window_s, "+inf")
            pipe.sismember(self._known(name), address)
            *counts, known = await pipe.execute()
        for (scope, _key), count in zip(keys.items(), counts, strict=True):
            if int(count) >= self._limit(scope) and not (scope is Throttled.NAME and known):
                return scope
        return None

    async def failed(self, name: str, address: str) -> list[Throttled]:
        """Count one wrong password; the scopes this failure just closed (for the audit log)."""
        keys = self._keys(name, address)
        now = time.time()
        member = f"{now:.6f}:{secrets.token_hex(4)}"
        async with self._r.pipeline(transaction=True) as pipe:
            for key in keys.values():
                pipe.zremrangebyscore(key, "-inf", now - self.limits.window_s)
                pipe.zadd(key, {member: now})
                pipe.zcard(key)
                pipe.expire(key, self.limits.window_s + 1)
            results = await pipe.execute()
        counts = results[2::4]
        return [scope for scope, count in zip(keys, counts, strict=True) if int(count) == self._limit(scope)]

    async def succeeded(self, name: str, address: str) -> None:
        """Forget this pair's failures and remember ``address`` as one the account logs in from."""
        keys = self._keys(name, address)
        known = self._known(name)
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.delete(keys[Throttled.PAIR])
            pipe.sadd(known, address)
            pipe.expire(known, self.limits.known_for_s)
            await pipe.execute()
