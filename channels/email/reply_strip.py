"""Strip quoted history and signatures from a reply body, leaving only the new content.

Rules (a line-based classifier, no ML):

* Quote markers: ``>`` lines; attribution lines ("On ... wrote:", "Am ... schrieb ...:",
  "Le ... a écrit :", "Op ... schreef ...:", "Den ... skrev ...:", "... napisał(a):",
  "... написал:", and any line ending in ``:`` with a date or address right before a ``>`` block,
  which covers e.g. Japanese clients); "-----Original Message-----" style separators in several
  languages; Outlook header blocks ("From:/Sent:/To:/Subject:", "Von:/Gesendet:/An:/Betreff:",
  Danish, Dutch, French, Polish, Russian, Swedish, Japanese keys, with or without ``*bold*``).
* Signatures: ``-- `` / ``--`` delimiter, a line of underscores (mailing-list footers, Outlook
  rulers), "Disclaimer", and mobile signatures ("Sent from my iPhone", "Von meinem iPhone
  gesendet", "Gesendet von meinem Samsung Galaxy", "Get Outlook for iOS", ...).
* Top-posting (real content above the first quote marker): everything from the marker on is
  history. Otherwise (bottom-posting / inline answers) only the quote markers and ``>`` lines are
  removed and the answers between them are kept.
"""

from __future__ import annotations

import re

from channels.email.models import StrippedText

__all__ = ["strip_reply"]

_QUOTED = re.compile(r"^[ \t]{0,3}>")
_WS = re.compile(r"\s+")
_HAS_DATE_OR_ADDRESS = re.compile(r"\d|@")
_MAX_WINDOW = 500

_ATTRIBUTION_TAIL = re.compile(
    r"\b(?:wrote|writes|schrieb|a\s+écrit|schreef|skrev|kirjoitti|escribió|ha\s+scritto|"
    r"escreveu|napisał(?:\(a\))?|napisała|написал(?:\(а\)|а)?|пишет|yazdı|írta|書きました)"
    r"(?:\s[^:]{0,200}?)?\s*[:：]$",
    re.IGNORECASE,
)
_ATTRIBUTION_LEAD = re.compile(
    r"^[-\s]*(?:On|Am|Le|Op|Den|El|Il|Em|Dnia|W dniu|På)\s", re.IGNORECASE
)
_SEPARATOR = re.compile(
    r"^\s*(?:-{2,}|_{2,}|={2,})?\s*(?:original message|ursprüngliche nachricht|"
    r"oprindelig meddelelse|originalmeddelelse|message d'origine|message original|"
    r"oorspronkelijk bericht|originalmeddelande|ursprungligt meddelande|mensaje original|"
    r"messaggio originale|wiadomość oryginalna|исходное сообщение|alkuperäinen viesti|"
    r"forwarded message|weitergeleitete nachricht|message transféré|doorgestuurd bericht|"
    r"videresendt meddelelse|vidarebefordrat meddelande)\s*(?:-{2,}|_{2,}|={2,})?\s*$"
    r"|^\s*(?:begin forwarded message|anfang der weitergeleiteten nachricht|"
    r"début du message réexpédié|original message processed by\b.*)\s*:?\s*$",
    re.IGNORECASE,
)
_HEADER_KEY = re.compile(r"^[\s*_]*(?P<key>[^\W\d_][^:：]{0,24}?)[\s*_]*[:：]")
_FROM_KEYS = frozenset(
    "from von fra van de od от från lähettäjä da mittente remitente 差出人 发件人 寄件者 "
    "feladó afzender expéditeur".split()
)
_OTHER_KEYS = frozenset(
    "sent date to cc bcc subject gesendet datum an betreff kopie sendt dato til emne verzonden "
    "aan onderwerp envoyé à objet wysłano data do temat отправлено дата кому тема копия skickat "
    "till ämne kopia lähetetty vastaanottaja aihe inviato a oggetto enviado para asunto assunto "
    "送信日時 宛先 件名 日時 reply-to".split()
)
_SIG_DELIMITER = re.compile(
    r"^(?:--|—)\s*$|^_{5,}\s*$|^\s*(?:disclaimer|haftungsausschluss|confidentiality notice|"
    r"vertraulichkeitshinweis)\s*:?\s*$",
    re.IGNORECASE,
)
_DEVICE = r"[\w .'&+-]{1,40}"
_MOBILE_SIGNATURE = re.compile(
    r"^\s*(?:"
    rf"sent from my {_DEVICE}"
    r"|sent from (?:iphone|ipad|android|outlook|mail for windows|yahoo mail|gmail|aol|proton ?mail|"
    r"samsung|my mobile)[\w .-]{0,30}"
    r"|sent (?:with|using) (?:sparrow|airmail|spark|blackberry|proton ?mail|bluemail)[\w .-]{0,30}"
    r"|get outlook for (?:ios|android)"
    rf"|von meinem {_DEVICE} gesendet"
    rf"|gesendet von meinem {_DEVICE}"
    r"|gesendet (?:von|mit) (?:iphone|ipad|outlook|mail für windows|samsung|android)[\w .-]{0,30}"
    r"|outlook für (?:ios|android) (?:beziehen|herunterladen)"
    rf"|envoyé (?:de|depuis) mon {_DEVICE}"
    r"|obtenir outlook pour (?:ios|android)"
    rf"|(?:verzonden|verstuurd) (?:vanaf|met|van) mijn {_DEVICE}"
    rf"|sendt fra min {_DEVICE}"
    rf"|skickat från min {_DEVICE}"
    rf"|enviado (?:desde|do|de) (?:mi|meu) {_DEVICE}"
    rf"|inviato da(?:l mio)? (?:iphone|ipad|android|samsung|{_DEVICE})"
    rf"|wysłane z (?:mojego )?{_DEVICE}"
    rf"|отправлено с (?:моего )?{_DEVICE}"
    r"|\w{2,20}から送信"
    r")\s*[.!]?\s*(?:<[^>\s]{1,300}>|\([^)\s]{1,300}\))?\s*$",
    re.IGNORECASE,
)
_EXTERNAL_BANNER = re.compile(
    r"^\s*(?:\[?(?:caution|warning|external|achtung|vorsicht)\b[^\n]{0,40}?[:\]])"
    r"[^\n]{0,300}\b(?:outside|external|extern|außerhalb)",
    re.IGNORECASE,
)
_RULER = re.compile(r"^[\s\-_=*~]*$")


def _window(lines: list[str], start: int, end: int) -> str | None:
    parts = [lines[k].strip() for k in range(start, end + 1)]
    if any(not p for p in parts):
        return None
    joined = ""
    for part in parts:  # a trailing "=" is a quoted-printable soft line break left undecoded
        joined = joined[:-1] + part if joined.endswith("=") else f"{joined} {part}"
    joined = _WS.sub(" ", joined).strip()
    return joined if len(joined) <= _MAX_WINDOW else None


def _attribution_start(lines: list[str], end: int) -> int | None:
    """If lines ``s..end`` (up to 3 lines) form an attribution, return where it starts.

    Prefers the latest start line that begins with a lead word ("On", "Am", "Le", ...), so a
    preceding sentence ("Am heutigen Tage") is not swallowed; otherwise the latest matching start,
    extended backwards over an address split across lines ("... <" / "<addr> wrote:").
    """
    line = lines[end].rstrip()
    if not line.endswith((":", "：")) or len(line) > _MAX_WINDOW:
        return None
    candidates: list[int] = []
    for start in range(end, max(end - 3, -1), -1):
        text = _window(lines, start, end)
        if text is None:
            break
        if _ATTRIBUTION_TAIL.search(text) and (
            _ATTRIBUTION_LEAD.match(text) or _HAS_DATE_OR_ADDRESS.search(text)
        ):
            candidates.append(start)
    if not candidates:
        return None
    leads = [s for s in candidates if _ATTRIBUTION_LEAD.match(lines[s])]
    if leads:
        return max(leads)
    start = max(candidates)
    while start - 1 in candidates and (
        lines[start - 1].rstrip().endswith(("<", ",")) or lines[start].lstrip().startswith("<")
    ):
        start -= 1
    return start


def _next_nonblank(lines: list[str], index: int, limit: int = 6) -> int | None:
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


def _header_block_end(lines: list[str], start: int) -> int | None:
    """If an Outlook-style header block starts at ``start``, return its last line index."""
    kinds: list[str] = []
    k = start
    while k < len(lines) and k - start < 12:
        kind = _header_key(lines[k])
        if kind is None:
            break
        kinds.append(kind)
        k += 1
    if len(kinds) >= 2 and "from" in kinds and "other" in kinds:
        return k - 1
    return None


def _classify(lines: list[str]) -> dict[int, tuple[str, int]]:
    """Map line index -> (kind, last line index) for every quote marker."""
    marks: dict[int, tuple[str, int]] = {}
    for i, line in enumerate(lines):
        if _QUOTED.match(line):
            marks[i] = ("quoted", i)
            continue
        if not line.strip():
            continue
        start = _attribution_start(lines, i)
        nxt = _next_nonblank(lines, i + 1)
        followed_by_quote = nxt is not None and bool(_QUOTED.match(lines[nxt]))
        if start is None and followed_by_quote and line.rstrip().endswith((":", "：")):
            if len(line) <= _MAX_WINDOW and _HAS_DATE_OR_ADDRESS.search(line):
                start = i
                if i > 0 and lines[i - 1].rstrip().endswith("<"):
                    start = i - 1
        if start is not None:
            for k in range(start, i + 1):
                marks.pop(k, None)
            marks[start] = ("attribution_quoted" if followed_by_quote else "attribution", i)
            continue
        if _SEPARATOR.match(line):
            marks[i] = ("separator", i)
            continue
        end = _header_block_end(lines, i)
        if end is not None and (i == 0 or _header_key(lines[i - 1]) is None):
            marks[i] = ("headers", end)
    return marks


def _signature_cut(lines: list[str]) -> int | None:
    for i, line in enumerate(lines):
        if _SIG_DELIMITER.match(line) or _MOBILE_SIGNATURE.match(line):
            return i
    return None


def _has_content(lines: list[str]) -> bool:
    return any(line.strip() and not _RULER.match(line) for line in lines)


def _finish(lines: list[str], *, collapse: bool) -> str:
    while lines and _RULER.match(lines[-1]):
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    text = "\n".join(lines)
    if collapse:
        text = re.sub(r"\n{3,}", "\n\n", text)
    return text


def strip_reply(text: str) -> StrippedText:
    """Return the new content of an email body with quoted history and signatures removed."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    first = _next_nonblank(lines, 0, limit=len(lines))
    if first is not None and _EXTERNAL_BANNER.match(lines[first]):
        lines = lines[first + 1 :]
    marks = _classify(lines)
    first_mark = min(marks) if marks else len(lines)

    top = lines[:first_mark]
    sig_in_top = _signature_cut(top)
    top_content = top[:sig_in_top] if sig_in_top is not None else top
    nonblank = [line for line in top_content if line.strip()]
    top_posted = len(nonblank) >= 2 or sum(len(line.strip()) for line in nonblank) >= 20

    quoted_removed = False
    kept: list[str] = []
    if top_posted or not marks:
        kept = top
        quoted_removed = _has_content(lines[first_mark:])
    else:
        i = 0
        while i < len(lines):
            mark = marks.get(i)
            if mark is None:
                kept.append(lines[i])
                i += 1
                continue
            kind, end = mark
            quoted_removed = True
            at_top = not _has_content(kept)
            if kind in ("quoted", "attribution_quoted") or (at_top and kind != "attribution"):
                i = end + 1
                continue
            break  # unquoted history follows: everything from here on is old

    signature_removed = False
    cut = _signature_cut(kept)
    if cut is not None:
        signature_removed = _has_content(kept[cut:])
        kept = kept[:cut]
    return StrippedText(
        text=_finish(kept, collapse=not top_posted),
        quoted_removed=quoted_removed,
        signature_removed=signature_removed,
    )
