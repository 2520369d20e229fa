"""GET /healthz: the state of the database, Redis, the Prefect API and the worker."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from runtime.compose import WORKER_BEAT_PREFIX
from services.container import Container
from services.ops_metrics import prefect_basic_auth
from services.process_status import crash_looping, read_supervisor_status

__all__ = ["check_health"]


async def _timed(name: str, coro: Any) -> tuple[str, dict[str, Any]]:
    start = time.perf_counter()
    try:
        detail = await asyncio.wait_for(coro, timeout=3.0)
        return name, {"ok": True, "ms": round((time.perf_counter() - start) * 1000, 1), **(detail or {})}
    except Exception as exc:  # noqa: BLE001 - health reports every failure by name
        return name, {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}


async def _db(s: Container) -> dict[str, Any]:
    await s.db.ping()
    return {"backend": "sqlite" if s.db.is_sqlite else "postgresql"}


async def _redis(s: Container) -> dict[str, Any]:
    await s.redis.ping()
    return {}


async def _prefect(s: Container) -> dict[str, Any]:
    """The Prefect API answers, and accepts our basic auth (``/health`` itself needs none)."""
    auth = prefect_basic_auth(await asyncio.to_thread(s.settings.prefect_auth_string))
    api = s.settings.prefect_api_url.rstrip("/")
    async with httpx.AsyncClient(timeout=2.5, auth=auth) as client:
        resp = await client.get(api + "/health")
        resp.raise_for_status()
        version = await client.get(api + "/admin/version")
    if version.status_code in (401, 403):
        raise RuntimeError(
            "the Prefect API refuses our credentials: start it with the same GLASSDESK_PREFECT_AUTH "
            "(or var/prefect-auth.key) as Glassdesk, as `glassdesk run` does"
        )
    return {"url": s.settings.prefect_api_url}


async def _worker(s: Container) -> dict[str, Any]:
    names = [k async for k in s.redis.scan_iter(match=WORKER_BEAT_PREFIX + "*", count=100)]
    if not names:
        raise RuntimeError("no worker heartbeat in the last 15 s; start one with `glassdesk worker`")
    return {"workers": len(names)}


async def _processes(s: Container) -> dict[str, Any]:
    status = await asyncio.to_thread(read_supervisor_status, s.settings.var_dir)
    if status is None:
        return {"supervised": False}
    looping = crash_looping(status)
    if looping:
        raise RuntimeError(f"in a crash loop: {', '.join(looping)}; see var/log/<name>.log")
    children = status.get("children", {})
    return {
        "supervised": True,
        "restarts": {name: c.get("restarts", 0) for name, c in children.items()},
        "restarting": sorted(n for n, c in children.items() if c.get("state") != "running"),
    }


async def check_health(services: Container) -> tuple[bool, dict[str, Any]]:
    results = await asyncio.gather(
        _timed("database", _db(services)),
        _timed("redis", _redis(services)),
        _timed("prefect", _prefect(services)),
        _timed("worker", _worker(services)),
        _timed("processes", _processes(services)),
    )
    checks = dict(results)
    ok = all(c["ok"] for c in checks.values())
    return ok, {"status": "ok" if ok else "degraded", "checks": checks}
