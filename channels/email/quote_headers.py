"""Where quoted history starts in a plain-text reply: the quote headers of the common mail clients.

A line-based classifier (no ML). ``find_markers(lines)`` maps a line index to a ``Marker``:

* ``QUOTED``: a ``>`` line.
* ``ATTRIBUTION`` / ``ATTRIBUTION_QUOTED``: "On … wrote:" (Gmail, Apple Mail, Thunderbird),
  "Am … schrieb …:", "<name> schrieb am <date>, <time>:" (Gmail app, Lotus Notes), "Am …, hat …
  Folgendes geschrieben:" (Yahoo), "Zitat von …:" / "Quoting …:" (Horde), and the same in other
  languages, wrapped over up to four lines; ``ATTRIBUTION_QUOTED`` when ``>`` lines follow it.
  A line ending in "schrieb:" or "wrote:" counts only with evidence: ``>`` lines follow, or it has
  an address, a clock time or (after a lead word such as "Am"/"On") a four-digit year - so "wie ich
  Ihnen am 20.11. schrieb:" stays the customer's sentence.
* ``SEPARATOR``: "-----Original Message-----", "-----Ursprüngliche Nachricht-----" and the like.
* ``FORWARD``: "---------- Forwarded message ---------", "-------- Weitergeleitete Nachricht --------",
  "Begin forwarded message:", "Anfang der weitergeleiteten Nachricht:" and the like.
* ``HEADERS``: an Outlook-style block ("From:/Sent:/To:/Subject:", "Von:/Gesendet:/An:/Betreff:",
  "Von:/Datum:/An:/Betreff:", in any order, ``*bold*`` keys, tab-separated values, values wrapped
  onto the next line), with a From key and at least three keys, or two when the From value holds an
  address.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Marker", "MarkerKind", "find_markers", "is_forward_subject"]


@enum.unique
class MarkerKind(enum.StrEnum):
    QUOTED = "quoted"
    ATTRIBUTION = "attribution"
    ATTRIBUTION_QUOTED = "attribution_quoted"
    SEPARATOR = "separator"
    FORWARD = "forward"
    HEADERS = "headers"


@dataclass(frozen=True, slots=True)
class Marker:
    """A quote marker starting at some line and ending at line ``end`` (inclusive)."""

    kind: MarkerKind
    end: int


_QUOTED = re.compile(r"^[ \t]{0,3}>")
_WS = re.compile(r"\s+")
_MAX_WINDOW = 500
_ADDRESS = re.compile(r"@|\[mailto:", re.IGNORECASE)
_CLOCK = re.compile(r"(?<!\d)\d{1,2}:\d{2}(?!\d)|\bkl\.\s?\d{1,2}[.:]\d{2}\b", re.IGNORECASE)
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
_HAS_DATE_OR_ADDRESS = re.compile(r"\d|@")

# The verb of an attribution; after it only a name or "am <date>, <time>" up to the final colon.
_VERB = re.compile(
    r"\b(?:wrote|writes|schrieb|geschrieben|a\s+écrit|schreef|skrev|kirjoitti|escribió|ha\s+scritto|"
    r"escreveu|napisał(?:\(a\))?|napisała|написал(?:\(а\)|а)?|пишет|yazdı|írta|書きました)(?=\s|$)",
    re.IGNORECASE,
)
_BARE_COLON = re.compile(r"(?<!\d)[:：]|[:：](?!\d)")  # a colon that is not inside a clock time
_MAX_AFTER_VERB = 200
_FIRST_PERSON = re.compile(r"\b(?:schrieb|wrote)\s+(?:ich|wir|i|we)\b", re.IGNORECASE)
_ATTRIBUTION_LEAD = re.compile(r"^[-\s]*(?:On|Am|Le|Op|Den|El|Il|Em|Dnia|W dniu|På)\s", re.IGNORECASE)
_QUOTING_LEAD = re.compile(r"^\s*(?:zitat von|quoting|citando|citation de|cytat od)\s", re.IGNORECASE)
_QUOTING = re.compile(_QUOTING_LEAD.pattern + r".{1,300}[:：]$", re.IGNORECASE)

_DASHES = r"(?:-{2,}|_{2,}|={2,})"
_REPLY_SEPARATOR = re.compile(
    rf"^\s*{_DASHES}?\s*(?:original message|ursprüngliche nachricht|oprindelig meddelelse|"
    r"originalmeddelelse|message d'origine|message original|oorspronkelijk bericht|originalmeddelande|"
    r"ursprungligt meddelande|mensaje original|messaggio originale|wiadomość oryginalna|исходное сообщение|"
    rf"alkuperäinen viesti)\s*{_DASHES}?\s*$"
    r"|^\s*original message processed by\b.*$",
    re.IGNORECASE,
)
_FORWARD_SEPARATOR = re.compile(
    rf"^\s*{_DASHES}?\s*(?:forwarded message|weitergeleitete nachricht|message transféré|doorgestuurd bericht|"
    rf"videresendt meddelelse|vidarebefordrat meddelande|mensaje reenviado|messaggio inoltrato)\s*{_DASHES}?\s*$"
    r"|^\s*(?:begin forwarded message|anfang der weitergeleiteten nachricht|début du message réexpédié)\s*:?\s*$",
    re.IGNORECASE,
)
_FORWARD_SUBJECT = re.compile(
    r"^(?:\s*\[[^\]]{0,40}\])*\s*(?:fwd?|wg|tr|doorst|vs|vb|rv|enc|pd)\s*(?:\[\d{1,3}\])?\s*:", re.IGNORECASE
)

_HEADER_KEY = re.compile(r"^[\s*_]*(?P<key>[^\W\d_][^:：]{0,24}?)[\s*_]*[:：]")
_FROM_KEYS = frozenset(
    {
        "from",
        "von",
        "fra",
        "van",
        "de",
        "od",
        "от",
        "från",
        "lähettäjä",
        "da",
        "mittente",
        "remitente",
        "差出人",
        "发件人",
        "寄件者",
        "feladó",
        "afzender",
        "expéditeur",
    }
)
_OTHER_KEYS = frozenset(
    {
        "sent",
        "date",
        "to",
        "cc",
        "bcc",
        "subject",
        "gesendet",
        "datum",
        "an",
        "betreff",
        "kopie",
        "sendt",
        "dato",
        "til",
        "emne",
        "verzonden",
        "aan",
        "onderwerp",
        "envoyé",
        "à",
        "objet",
        "wysłano",
        "data",
        "do",
        "temat",
        "отправлено",
        "дата",
        "кому",
        "тема",
        "копия",
        "skickat",
        "till",
        "ämne",
        "kopia",
        "lähetetty",
        "vastaanottaja",
        "aihe",
        "inviato",
        "a",
        "oggetto",
        "enviado",
        "para",
        "asunto",
        "assunto",
        "送信日時",
        "宛先",
        "件名",
        "日時",
        "reply-to",
    }
)
_MAX_HEADER_LINES = 16
_MAX_WRAPPED = 2


def is_forward_subject(subject: str | None) -> bool:
    """True for "Fwd:", "FW:", "WG:", "TR:" … subjects: the body carries a forwarded message."""
    return bool(subject and _FORWARD_SUBJECT.match(subject))


def _window(lines: Sequence[str], start: int, end: int) -> str | None:
    parts = [lines[k].strip() for k in range(start, end + 1)]
    if any(not p for p in parts):
        return None
    joined = ""
    for part in parts:  # a trailing "=" is a quoted-printable soft line break left undecoded
        joined = joined[:-1] + part if joined.endswith("=") else f"{joined} {part}"
    joined = _WS.sub(" ", joined).strip()
    return joined if len(joined) <= _MAX_WINDOW else None


def _has_attribution_tail(text: str) -> bool:
    """``text`` ends in "<verb>[ <up to 200 chars without a colon outside a clock time>]:"."""
    if not text.endswith((":", "：")):
        return False
    body = text[:-1].rstrip()
    start = max(0, len(body) - _MAX_AFTER_VERB - 20)
    for colon in _BARE_COLON.finditer(body, start):
        start = colon.end()
    return _VERB.search(body, start) is not None


def _is_attribution(text: str, *, quote_follows: bool) -> bool:
    if _QUOTING.match(text):
        return quote_follows or bool(_ADDRESS.search(text))
    if not _has_attribution_tail(text) or _FIRST_PERSON.search(text):
        return False
    if quote_follows:
        return True
    lead = bool(_ATTRIBUTION_LEAD.match(text))
    return bool(_ADDRESS.search(text) or _CLOCK.search(text) or (lead and _YEAR.search(text)))


def _attribution_start(lines: Sequence[str], end: int, *, quote_follows: bool) -> int | None:
    """If lines ``s..end`` (up to 4 lines) form an attribution, return where it starts.

    Prefers the latest start line that begins with a lead word ("On", "Am", "Le", ...), so a
    preceding sentence ("Am heutigen Tage") is not swallowed; otherwise the latest matching start,
    extended backwards over an address split across lines ("... <" / "<addr> wrote:").
    """
    line = lines[end].rstrip()
    if not line.endswith((":", "：")) or len(line) > _MAX_WINDOW:
        return None
    candidates: list[int] = []
    for start in range(end, max(end - 4, -1), -1):
        text = _window(lines, start, end)
        if text is None:
            break
        if _is_attribution(text, quote_follows=quote_follows):
            if _ATTRIBUTION_LEAD.match(lines[start]) or _QUOTING_LEAD.match(lines[start]):
                return start
            candidates.append(start)
    if not candidates:
        return None
    start = max(candidates)
    while start - 1 in candidates and (
        lines[start - 1].rstrip().endswith(("<", ",")) or lines[start].lstrip().startswith("<")
    ):
        start -= 1
    return start


def _next_nonblank(lines: Sequence[str], index: int, limit: int = 6) -> int | None:
    for k in range(index, min(index + limit, len(lines))):
        if lines[k].strip():
            return k
    return None


def _header_key(line: str) -> str | None:
    match = _HEADER_KEY.match(line)
    if not match:
        return None
    key = match.group("key").strip().lower()
    if key in _FROM_KEYS:
        return "from"
    if key in _OTHER_KEYS:
        return "other"
    return None


def _wrapped_value_end(lines: Sequence[str], k: int) -> int | None:
    """If lines from ``k`` on continue the previous header's value, the index of the next header line."""
    for j in range(k, min(k + _MAX_WRAPPED + 1, len(lines))):
        if not lines[j].strip():
            return None
        if j > k and _header_key(lines[j]) is not None:
            return j
    return None


def _header_block_end(lines: Sequence[str], start: int) -> int | None:
    """If an Outlook-style header block starts at ``start``, return its last header line's index.

    A non-blank line without a key between two header lines is a wrapped value
    ("Von: Kundenservice" / "<support@example.com>" / "Gesendet: …").
    """
    kinds: list[str] = []
    from_value = ""
    last = start
    k = start
    while k < len(lines) and k - start < _MAX_HEADER_LINES:
        kind = _header_key(lines[k])
        if kind is None:
            resume = _wrapped_value_end(lines, k) if kinds else None
            if resume is None:
                break
            if kinds[-1] == "from":
                from_value += " ".join(lines[k:resume])
            k = resume
            continue
        if kind == "from":
            from_value += lines[k]
        kinds.append(kind)
        last = k
        k += 1
    if "from" in kinds and "other" in kinds and (len(kinds) >= 3 or _ADDRESS.search(from_value)):
        return last
    return None


def _attribution_marker(lines: Sequence[str], i: int) -> tuple[int, Marker] | None:
    nxt = _next_nonblank(lines, i + 1)
    quote_follows = nxt is not None and bool(_QUOTED.match(lines[nxt]))
    start = _attribution_start(lines, i, quote_follows=quote_follows)
    line = lines[i].rstrip()
    fallback = start is None and quote_follows and line.endswith((":", "：")) and len(line) <= _MAX_WINDOW
    if fallback and _HAS_DATE_OR_ADDRESS.search(line):  # e.g. "2022年1月1日(金) 9:00 田中太郎 <taro@example.com>:"
        start = i - 1 if i > 0 and lines[i - 1].rstrip().endswith("<") else i
    if start is None:
        return None
    return start, Marker(MarkerKind.ATTRIBUTION_QUOTED if quote_follows else MarkerKind.ATTRIBUTION, i)


def find_markers(lines: Sequence[str]) -> dict[int, Marker]:
    """Map line index -> ``Marker`` for every quote marker in ``lines`` (already right-stripped)."""
    marks: dict[int, Marker] = {}
    covered = -1  # last line of the latest header block
    for i, line in enumerate(lines):
        if _QUOTED.match(line):
            marks[i] = Marker(MarkerKind.QUOTED, i)
            continue
        if not line.strip() or i <= covered:
            continue
        if _FORWARD_SEPARATOR.match(line):
            marks[i] = Marker(MarkerKind.FORWARD, i)
            continue
        if _REPLY_SEPARATOR.match(line):
            marks[i] = Marker(MarkerKind.SEPARATOR, i)
            continue
        found = _attribution_marker(lines, i)
        if found is not None:
            start, marker = found
            for k in range(start, i + 1):
                marks.pop(k, None)
            marks[start] = marker
            continue
        end = _header_block_end(lines, i)
        if end is not None:
            marks[i] = Marker(MarkerKind.HEADERS, end)
            covered = end
    return marks
