"""Attachment bytes live in a blob folder, content-addressed, never inline in rows."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from conversation.errors import NotFound
from conversation.models import Attachment

__all__ = ["FileBlobStore", "MemoryBlobStore", "AttachmentFile", "store_file", "load_file"]

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


class _Blobs(Protocol):
    async def put(self, content: bytes, *, content_type: str) -> str: ...

    async def get(self, key: str) -> bytes: ...


@dataclass(frozen=True, slots=True)
class AttachmentFile:
    """An attachment with its bytes, for the one moment they are needed (a MIME part, an upload)."""

    attachment: Attachment
    content: bytes


async def store_file(blobs: _Blobs, content: bytes, *, filename: str, content_type: str) -> Attachment:
    """Put ``content`` in the blob store and return its metadata (the row keeps only this)."""
    key = await blobs.put(content, content_type=content_type)
    return Attachment(
        filename=filename[:255] or "attachment",
        content_type=(content_type or "application/octet-stream")[:255],
        size=len(content),
        sha256=Attachment.digest(content),
        blob_key=key,
    )


async def load_file(blobs: _Blobs, attachment: Attachment) -> AttachmentFile:
    """The attachment's bytes, checked against its digest (a changed blob is never served or sent)."""
    content = await blobs.get(attachment.blob_key)
    if Attachment.digest(content) != attachment.sha256:
        raise NotFound(f"blob {attachment.blob_key!r} does not match attachment {attachment.id}")
    return AttachmentFile(attachment, content)
