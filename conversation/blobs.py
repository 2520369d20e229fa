"""Attachment bytes live in a blob folder, content-addressed, never inline in rows."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from pathlib import Path

from conversation.errors import NotFound

__all__ = ["FileBlobStore", "MemoryBlobStore"]

_KEY = re.compile(r"^[0-9a-f]{64}$")


class FileBlobStore:
    def __init__(self, root: Path) -> None:
        self._root = root

    def _path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise NotFound(f"no blob {key!r}")
        return self._root / key[:2] / key

    async def put(self, content: bytes, *, content_type: str) -> str:
        key = hashlib.sha256(content).hexdigest()
        path = self._path(key)
        if not path.exists():
            await asyncio.to_thread(_write_atomic, path, content)
        return key

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError as exc:
            raise NotFound(f"no blob {key!r}") from exc

    async def delete(self, key: str) -> None:
        path = self._path(key)
        await asyncio.to_thread(path.unlink, missing_ok=True)


def _write_atomic(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(content)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class MemoryBlobStore:
    """The fake of :class:`FileBlobStore`."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    async def put(self, content: bytes, *, content_type: str) -> str:
        key = hashlib.sha256(content).hexdigest()
        self.blobs[key] = content
        return key

    async def get(self, key: str) -> bytes:
        try:
            return self.blobs[key]
        except KeyError as exc:
            raise NotFound(f"no blob {key!r}") from exc

    async def delete(self, key: str) -> None:
        self.blobs.pop(key, None)
