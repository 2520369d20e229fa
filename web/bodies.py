"""Request bodies read with a byte cap while they stream in (a chunked body cannot bypass it)."""

from __future__ import annotations

from fastapi import HTTPException, Request

__all__ = ["read_capped"]


async def read_capped(request: Request, limit: int, *, what: str = "request bodies") -> bytes:
    """The body, or 413 as soon as it is longer than ``limit`` bytes (declared or actually sent)."""
    too_large = HTTPException(status_code=413, detail=f"{what} are limited to {limit} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)
