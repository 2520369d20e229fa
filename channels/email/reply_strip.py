"""Strip quoted history and signatures from a reply body, leaving only the new content.

What the agent sees (``StrippedText.text``):

* **Reply, top-posted** (the customer's words above the first quote marker): those words; the
  marker (see ``channels.email.quote_headers``: ``>`` lines, "Am … schrieb …:", "On … wrote:",
  Outlook "Von:/Gesendet:/An:/Betreff:" blocks, "-----Ursprüngliche Nachricht-----", "Zitat von …:")
  and everything after it is history.
* **Reply, inline or bottom-posted**: the answers between the quoted blocks; quote markers and
  ``>`` lines are dropped.
* **Forward** (the first marker is "---------- Forwarded message ---------", "-------- Weitergeleitete
  Nachricht --------", "Begin forwarded message:", "Anfang der weitergeleiteten Nachricht:", or the
  subject passed in starts with "Fwd:/FW:/WG:/TR:" …): the customer's own words, a blank line, then
  the forwarded block verbatim from its marker line on, nested quotes and all. The forward is the
  context the customer wants us to read, so it is kept, not trimmed; ``quoted_removed`` stays false
  for it. Without ``subject`` an Outlook forward (no marker line, only a header block) looks like a
  reply and is trimmed as one.
* **Signatures** are removed from the customer's words: ``-- `` / a line of underscores (Outlook
  ruler, mailing-list footer) / "Disclaimer" and everything after; device lines ("Gesendet von
  meinem iPhone", "Von meinem iPhone gesendet", "Sent from my iPhone", "Get Outlook for Android",
  "Gesendet mit der WEB.DE Mail App", …); and a sign-off block: a line that is only a closing
  formula ("Mit freundlichen Grüßen", "Viele Grüße", "MfG", "LG Petra", "Danke und Gruß", "Best
  regards,", "Thanks,", "Cheers, Tom", and the usual ones in da/sv/nl/pl/fr/es/it), after some
  content, followed by at most 15 signature lines that start with a name-like line and hold no
  postscript ("PS:"/"P.S." keeps the whole block). A bare name ("-Abhishek", "/John") is kept.
* **Never empty**: if trimming would leave nothing (only a quote, only a sign-off, only a device
  line), the original text is kept, with ``quoted_removed`` and ``signature_removed`` false.
"""

from __future__ import annotations

import re

from channels.email.models import StrippedText
from channels.email.quote_headers import Marker, MarkerKind, find_markers, is_forward_subject

__all__ = ["strip_reply"]

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
    r"|gesendet mit der [\w.&-]{1,20} mail app"
    r"|diese nachricht wurde von meinem [\w -]{1,40} mit [\w.&-]{1,20} mail gesendet"
    r"|outlook für (?:ios|android) (?:beziehen|herunterladen)"
    r"|holen sie sich outlook für (?:ios|android)"
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
_GRUSS = r"gr(?:ü|ue|u)(?:ß|ss)(?:e|en)?"
_CLOSING = (
    # de
    rf"mit (?:freundliche[mn]|beste[mn]|herzliche[mn]|liebe[mn]|kollegiale[mn]) {_GRUSS}"
    rf"|(?:viele|liebe|lieben|beste|besten|herzliche|herzlichen|schöne|sonnige|freundliche|freundlichen) {_GRUSS}"
    rf"|{_GRUSS}|mfg|lg|vg|bg|herzlichst|danke(?: schön| sehr)?|vielen dank|besten dank|tschüss|ciao|bis bald"
    # en
    r"|(?:best|kind|kindest|warm|warmest|many) regards|regards|rgds|best wishes|all the best|best|cheers"
    r"|(?:many )?thanks(?: again| a lot| so much| in advance)?|thank you(?: very much| so much| again)?|thx"
    r"|(?:yours )?(?:sincerely|faithfully|truly)|yours|br|kr|take care|talk soon|with thanks"
    # da, no, sv, nl, pl, fr, es, it
    r"|(?:med )?venn?lig(?:st)? hilsen|kærlig hilsen|hilsen|mvh|kh|med vänliga? hälsningar?|vänliga hälsningar"
    r"|hälsningar|(?:met )?vriendelijke groet(?:en)?|groet(?:en|jes)?|mvg|pozdrawiam(?: serdecznie)?"
    r"|z powa(?:ż|z)aniem|pozdrowienia|(?:bien )?cordialement|bien à vous|salutations(?: distinguées)?"
    r"|(?:un )?saludos?(?: cordiales)?|atentamente|(?:cordiali |distinti )?saluti"
)
_NAME = r"[A-ZÀ-ÖØ-Þ][\w.'’-]*(?:\s+[A-ZÀ-ÖØ-Þ][\w.'’-]*){0,2}"
_SIGN_OFF = re.compile(
    rf"^\s*(?i:(?:{_CLOSING})(?:\s*(?:/|&|\+|,|and|und|og|och|en|et|y|e)\s*(?:{_CLOSING}))*)"
    rf"\s*[,.!]*(?:\s+{_NAME})?\s*[,.!]?\s*$"
)
_POSTSCRIPT = re.compile(r"^\s*p\.?\s?(?:p\.?\s?)?s\b", re.IGNORECASE)
_INITIAL = re.compile(r"[A-ZÀ-ÖØ-Þ][a-zà-ÿ]?\.$")
_MAX_SIGNATURE_LINES = 15
_MAX_SIGN_OFF_CHARS = 80
_EXTERNAL_BANNER = re.compile(
    r"^\s*(?:\[?(?:caution|warning|external|achtung|vorsicht)\b[^\n]{0,40}?[:\]])"
    r"[^\n]{0,300}\b(?:outside|external|extern|außerhalb)",
    re.IGNORECASE,
)
_RULER = re.compile(r"^[\s\-_=*~]*$")


def _has_content(lines: list[str]) -> bool:
    return any(line.strip() and not _RULER.match(line) for line in lines)


def _signature_cut(lines: list[str]) -> int | None:
    for i, line in enumerate(lines):
        if _SIG_DELIMITER.match(line) or _MOBILE_SIGNATURE.match(line):
            return i
    return None


def _name_like(line: str) -> bool:
    """The first line under a sign-off: a name ("Dr. Katharina Vogel", "K. Becker", "/John"), a ruler."""
    text = line.strip()
    if _RULER.match(text) or _SIG_DELIMITER.match(text) or _SIGN_OFF.match(text):
        return True
    words = text.split()
    if len(words) > 6 or len(text) > 60 or (text[-1] in ".?!:;" and not _INITIAL.search(words[-1])):
        return False
    alpha = [w for w in words if w[0].isalpha()]
    return 2 * sum(w[0].isupper() for w in alpha) >= len(alpha)


def _sign_off_cut(lines: list[str]) -> int | None:
    """Index of the sign-off line that starts the closing block, if there is one.

    Only the last ``_MAX_SIGNATURE_LINES + 1`` non-blank lines can start it, so this stays linear.
    """
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    first_content = next((i for i in nonblank if not _RULER.match(lines[i])), None)
    if first_content is None:
        return None
    window = nonblank[-(_MAX_SIGNATURE_LINES + 1) :]
    for n, i in enumerate(window):
        line = lines[i]
        if i <= first_content or len(line) > _MAX_SIGN_OFF_CHARS or not _SIGN_OFF.match(line):
            continue
        tail = [lines[k] for k in window[n + 1 :]]
        if any(_POSTSCRIPT.match(t) for t in tail):
            continue
        if not tail or _name_like(tail[0]):
            return i
    return None


def _trim_signature(lines: list[str]) -> tuple[list[str], bool]:
    """The customer's words without signature block, and whether anything was removed."""
    removed = False
    cut = _signature_cut(lines)
    if cut is not None:
        removed = _has_content(lines[cut:])
        lines = lines[:cut]
    cut = _sign_off_cut(lines)
    if cut is not None:
        removed = True
        lines = lines[:cut]
    return lines, removed


def _finish(lines: list[str], *, collapse: bool) -> str:
    lines = list(lines)
    while lines and _RULER.match(lines[-1]):
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    text = "\n".join(lines)
    if collapse:
        text = re.sub(r"\n{3,}", "\n\n", text)
    return text


def _forward(lines: list[str], first: int) -> StrippedText:
    own, signature_removed = _trim_signature(lines[:first])
    forwarded = _finish(lines[first:], collapse=False)
    if not _has_content(own):
        return StrippedText(text=forwarded, quoted_removed=False, signature_removed=False)
    return StrippedText(
        text=f"{_finish(own, collapse=False)}\n\n{forwarded}",
        quoted_removed=False,
        signature_removed=signature_removed,
    )


def _is_top_posted(top: list[str]) -> bool:
    sig = _signature_cut(top)
    nonblank = [line for line in (top[:sig] if sig is not None else top) if line.strip()]
    return len(nonblank) >= 2 or sum(len(line.strip()) for line in nonblank) >= 20


def _reply(lines: list[str], marks: dict[int, Marker], first: int) -> StrippedText:
    top_posted = _is_top_posted(lines[:first])
    quoted_removed = False
    kept: list[str] = []
    if top_posted or not marks:
        kept = lines[:first]
        quoted_removed = _has_content(lines[first:])
    else:
        i = 0
        while i < len(lines):
            mark = marks.get(i)
            if mark is None:
                kept.append(lines[i])
                i += 1
                continue
            quoted_removed = True
            at_top = not _has_content(kept)
            if mark.kind in (MarkerKind.QUOTED, MarkerKind.ATTRIBUTION_QUOTED) or (
                at_top and mark.kind is not MarkerKind.ATTRIBUTION
            ):
                i = mark.end + 1
                continue
            break  # unquoted history follows: everything from here on is old
    kept, signature_removed = _trim_signature(kept)
    return StrippedText(
        text=_finish(kept, collapse=not top_posted),
        quoted_removed=quoted_removed,
        signature_removed=signature_removed,
    )


def strip_reply(text: str, *, subject: str | None = None) -> StrippedText:
    """Return the new content of an email body with quoted history and signatures removed.

    ``subject`` (optional) lets an Outlook forward ("WG:", "FW:" …), which has no marker line in
    the body, be kept as a forward instead of trimmed as a reply.
    """
    original = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    lines = original
    first_nonblank = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first_nonblank is not None and _EXTERNAL_BANNER.match(lines[first_nonblank]):
        lines = lines[first_nonblank + 1 :]
    marks = find_markers(lines)
    first = min(marks, default=len(lines))
    if marks and (marks[first].kind is MarkerKind.FORWARD or is_forward_subject(subject)):
        result = _forward(lines, first)
    else:
        result = _reply(lines, marks, first)
    if _has_content(result.text.split("\n")) or not _has_content(original):
        return result
    return StrippedText(text=_finish(original, collapse=False), quoted_removed=False, signature_removed=False)
