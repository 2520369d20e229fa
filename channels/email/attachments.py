"""Attachment file names made safe to show and store."""

from __future__ import annotations

import mimetypes
import re
import unicodedata

__all__ = ["sanitize_filename"]

_UNSAFE = re.compile(r'[<>:"|?*\\/]')
_RESERVED = frozenset(
    ["con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))]
)
_MAX_NAME = 150


def sanitize_filename(name: str | None, *, index: int, content_type: str) -> str:
    """A file name without directories, control/bidi characters or reserved names.

    ``../../etc/passwd`` becomes ``passwd``; ``invoice\\u202egpj.exe`` loses the override character;
    a missing or empty name becomes ``attachment-<index><ext>`` from the content type.
    """
    cleaned = ""
    if name:
        text = unicodedata.normalize("NFC", name)
        text = "".join(" " if ch in "\t\r\n" else ch for ch in text)
        text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf"))
        text = re.split(r"[\\/]", text)[-1]
        text = _UNSAFE.sub("_", text)
        text = " ".join(text.split()).strip(" .")
        stem, dot, ext = text.rpartition(".")
        if not dot or len(ext) > 16:
            stem, ext = text, ""
        if stem.lower() in _RESERVED:
            stem = f"_{stem}"
        budget = _MAX_NAME - (len(ext) + 1 if ext else 0)
        cleaned = f"{stem[:budget]}.{ext}" if ext else stem[:_MAX_NAME]
        cleaned = cleaned.strip(" .")
    if not cleaned:
        guessed = mimetypes.guess_extension(content_type, strict=False) or ".bin"
        cleaned = f"attachment-{index}{guessed}"
    return cleaned
