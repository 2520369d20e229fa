"""Plain text from HTML email bodies, offline and without executing anything.

Scripts, styles and head content are dropped, block elements become line breaks, and
``<blockquote>`` content is prefixed with ``> `` so reply stripping treats it as quoted history.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["html_to_text"]

_SKIP = frozenset({"script", "style", "head", "title", "noscript", "template", "svg", "xml", "object"})
_BLOCK = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "center",
        "dd",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    }
)
_PARAGRAPH = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol"})
_WS = re.compile(r"\s+")
_MAX_DEPTH = 200


class _TextBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[int, str]] = []
        self._current: list[str] = []
        self._current_depth = 0
        self._skip = 0
        self._quote = 0
        self._pre = 0
        self._stack = 0

    def _break(self, *, blank: bool = False) -> None:
        text = "".join(self._current).strip()
        if text:
            self.lines.append((self._current_depth, text))
        if blank and self.lines and self.lines[-1][1] != "":
            self.lines.append((self._quote, ""))
        self._current = []
        self._current_depth = self._quote

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._stack = min(self._stack + 1, _MAX_DEPTH)
        if tag in _SKIP:
            self._skip += 1
            return
        if tag == "br":
            self._break(blank=not "".join(self._current).strip())
            return
        if tag in _BLOCK:
            self._break(blank=tag in _PARAGRAPH)
            if tag == "blockquote":
                self._quote += 1
                self._current_depth = self._quote
            elif tag == "pre":
                self._pre += 1
            elif tag == "li":
                self._current.append("- ")
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt and not self._skip:
                self._current.append(f"[{_WS.sub(' ', alt).strip()}]")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            return
        self.handle_starttag(tag, attrs)
        if tag not in ("br", "hr", "img"):
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip = max(self._skip - 1, 0)
            return
        if tag in _BLOCK:
            self._break(blank=tag in _PARAGRAPH)
            if tag == "blockquote":
                self._quote = max(self._quote - 1, 0)
                self._current_depth = self._quote
            elif tag == "pre":
                self._pre = max(self._pre - 1, 0)

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        data = data.replace("\xa0", " ")
        if self._pre:
            parts = data.split("\n")
            for i, part in enumerate(parts):
                if i:
                    self._break()
                self._current.append(part)
            return
        if not "".join(self._current).strip():
            self._current_depth = self._quote
        self._current.append(_WS.sub(" ", data))

    def result(self) -> str:
        self._break()
        out: list[str] = []
        for depth, text in self.lines:
            if not text:
                if out and out[-1].strip(">").strip() != "":
                    out.append("> " * depth if depth else "")
                continue
            out.append(("> " * depth) + text)
        return "\n".join(line.rstrip() for line in out).strip("\n")


def html_to_text(html: str) -> str:
    """Render HTML as plain text: scripts/styles removed, block elements on their own lines."""
    builder = _TextBuilder()
    try:
        builder.feed(html)
        builder.close()
    except Exception:  # noqa: BLE001 - html.parser is lenient; this is a last-resort guard
        pass
    return builder.result()
