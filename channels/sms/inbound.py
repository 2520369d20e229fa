"""Parse verified Twilio webhooks into our model. Runs only after the signature check.

Inbound SMS/MMS (form or JSON) -> :class:`conversation.InboundMessage`; status callbacks ->
:class:`StatusUpdate`. MMS media is kept as metadata (URL, content type) only: nothing here fetches a
URL (SSRF); a later, allowlisted fetcher may.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from pydantic import ValidationError

from channels.sms.errors import InvalidField
from conversation.addresses import PhoneAddress
from conversation.enums import ChannelKind, DeliveryStatus
from conversation.models import InboundMessage

__all__ = [
    "MAX_WEBHOOK_BYTES",
    "MAX_FIELDS",
    "MAX_MEDIA",
    "form_pairs",
    "json_params",
    "parse_inbound",
    "StatusUpdate",
    "parse_status",
]

MAX_WEBHOOK_BYTES = 64 * 1024  # a real SMS/MMS webhook is 1-3 KB (Body <= 1,600 chars, <= 10 media)
MAX_FIELDS = 200
MAX_MEDIA = 10  # Twilio's MMS limit
_SID = re.compile(r"^[A-Z]{2}[0-9A-Za-z]{16,62}$")
_MAX_BODY = 1600 * 4  # Twilio caps Body at 1,600 characters; allow concatenated carrier quirks
_MAX_URL = 2048


def form_pairs(body: bytes) -> list[tuple[str, str]]:
    """Decode an application/x-www-form-urlencoded body (UTF-8), bounded in fields."""
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidField("body", f"not a valid UTF-8 form body ({exc.__class__.__name__})") from exc


def json_params(body: bytes) -> dict[str, str]:
    """A JSON webhook as flat parameters: either Twilio's field names at the top level, or a
    CloudEvent ``com.twilio.messaging.inbound-message.*`` whose ``data`` uses camelCase names."""
    try:
        obj = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidField("body", "not valid JSON") from exc
    if not isinstance(obj, dict):
        raise InvalidField("body", "a JSON webhook must be an object")
    if isinstance(obj.get("data"), dict) and str(obj.get("type", "")).startswith("com.twilio.messaging."):
        data = obj["data"]
        names = {"messageSid": "MessageSid", "from": "From", "to": "To", "body": "Body", "numMedia": "NumMedia"}
        obj = {ours: data[theirs] for theirs, ours in names.items() if theirs in data}
    if len(obj) > MAX_FIELDS:
        raise InvalidField("body", f"more than {MAX_FIELDS} fields")
    out: dict[str, str] = {}
    for key, value in obj.items():
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            if value is None:
                continue
            raise InvalidField(str(key)[:64], "must be a string or a number")
        out[str(key)] = str(value)
    return out


def _first(params: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    if isinstance(params, Mapping):
        return dict(params)
    out: dict[str, str] = {}
    for k, v in params:
        out.setdefault(k, v)
    return out


def _sid(p: dict[str, str]) -> str:
    sid = p.get("MessageSid") or p.get("SmsMessageSid") or p.get("SmsSid") or ""
    if not sid:
        raise InvalidField("MessageSid", "missing")
    if not _SID.match(sid):
        raise InvalidField("MessageSid", "not a Twilio message SID (two letters, then letters and digits)")
    return sid


def parse_inbound(params: Mapping[str, str] | Iterable[tuple[str, str]]) -> InboundMessage:
    """An inbound SMS/MMS webhook -> InboundMessage (channel SMS, external_id = MessageSid)."""
    p = _first(params)
    sid = _sid(p)
    try:
        sender = PhoneAddress(number=p.get("From", ""))
    except ValidationError as exc:
        raise InvalidField("From", "missing or not an E.164 phone number") from exc
    text = p.get("Body", "").replace("\x00", "")
    if len(text) > _MAX_BODY:
        raise InvalidField("Body", f"longer than {_MAX_BODY} characters")
    num_media = _int(p, "NumMedia", default=0)
    if not 0 <= num_media <= MAX_MEDIA:
        raise InvalidField("NumMedia", f"must be between 0 and {MAX_MEDIA}")
    media: list[dict[str, str]] = []
    for i in range(num_media):
        url = p.get(f"MediaUrl{i}", "")
        if not url or len(url) > _MAX_URL:
            raise InvalidField(f"MediaUrl{i}", "missing or longer than 2,048 characters")
        media.append({"url": url, "content_type": p.get(f"MediaContentType{i}", "")[:255]})
    meta: dict[str, Any] = {"to": p.get("To", "")[:64], "num_media": num_media, "media": media}
    if "NumSegments" in p:
        meta["num_segments"] = _int(p, "NumSegments", default=1)
    try:
        return InboundMessage(channel=ChannelKind.SMS, external_id=sid, address=sender, text=text, meta=meta)
    except ValidationError as exc:  # pragma: no cover - the checks above cover the model's rules
        raise InvalidField("body", str(exc.errors()[0].get("msg", "invalid"))) from exc


def _int(p: dict[str, str], name: str, *, default: int) -> int:
    raw = p.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise InvalidField(name, "not an integer") from exc


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    message_sid: str
    status: DeliveryStatus | None  # None: a status we do not know (Twilio adds some); ignore it
    raw_status: str
    error_code: int | None


def parse_status(params: Mapping[str, str] | Iterable[tuple[str, str]]) -> StatusUpdate:
    """A message status callback (MessageStatus, or the legacy SmsStatus)."""
    p = _first(params)
    sid = _sid(p)
    raw = (p.get("MessageStatus") or p.get("SmsStatus") or "").strip().lower()
    if not raw:
        raise InvalidField("MessageStatus", "missing")
    try:
        status: DeliveryStatus | None = DeliveryStatus(raw)
    except ValueError:
        status = None
    if status is DeliveryStatus.RECEIVED:  # an inbound state; never applied to our outbound message
        status = None
    code = p.get("ErrorCode")
    return StatusUpdate(sid, status, raw[:40], int(code) if code and code.isdigit() else None)
