"""Outbound email through an SMTP relay (aiosmtplib, wrapped, never subclassed).

Headers are built with ``EmailMessage`` and ``policy.SMTP``; every header value and address is
refused if it contains CR/LF/NUL (aiosmtplib GHSA-v3q9-hj7j-63hq, CVE-2024-6923 class), and the
serialised header block is re-parsed to prove no header was injected (CPython 3.11.7 has no
``verify_generated_headers``).
"""

from __future__ import annotations

import html
import re
import ssl
import uuid
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import format_datetime, localtime

import aiosmtplib
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from channels.email.addresses import Mailbox, contains_line_break, plus_address
from channels.email.errors import HeaderInjectionError
from channels.email.threads import subject_tag
from conversation.errors import OutcomeUnknown, PermanentDeliveryError, TransientDeliveryError

__all__ = ["EmailSender", "OutboundEmail", "EmailFile", "RelaySettings", "make_message_id", "render_bodies"]

_MAX_REFERENCES = 20
_SMTP_POLICY = policy.SMTP.clone(max_line_length=998)


def make_message_id(domain: str) -> str:
    """A new Message-ID of ours: ``<gd.{uuid4}@{domain}>``."""
    if contains_line_break(domain) or not domain or any(c in domain for c in " <>@"):
        raise ValueError(f"invalid Message-ID domain: {domain!r}")
    return f"<gd.{uuid.uuid4()}@{domain}>"


def _check_msg_id(value: str) -> str:
    value = value.strip()
    if (
        contains_line_break(value)
        or not (value.startswith("<") and value.endswith(">"))
        or any(ch.isspace() for ch in value)
        or value.count("<") != 1
        or value.count(">") != 1
        or len(value) > 998
    ):
        raise ValueError(f"not a Message-ID: {value!r} (expected <id@domain> without spaces)")
    return value


class RelaySettings(BaseModel):
    """Where and how outbound mail is relayed."""

    model_config = ConfigDict(frozen=True)

    host: str
    port: int = Field(default=587, gt=0, lt=65536)
    starttls: bool = True
    implicit_tls: bool = False
    username: str | None = None
    password: SecretStr | None = None
    timeout: float = Field(default=30.0, gt=0)
    validate_certs: bool = True
    message_id_domain: str = "glassdesk.local"
    local_hostname: str | None = None


_MIME_TOKEN = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class EmailFile(BaseModel):
    """One file sent as a MIME part of an outbound email."""

    model_config = ConfigDict(frozen=True)

    filename: str = Field(min_length=1, max_length=255)
    content_type: str = "application/octet-stream"
    content: bytes = Field(repr=False)

    @field_validator("filename")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        cleaned = _CONTROL.sub("", value).replace("/", "_").replace("\\", "_").strip()
        return cleaned or "attachment"

    def mime_type(self) -> tuple[str, str]:
        maintype, _, subtype = self.content_type.split(";", 1)[0].strip().lower().partition("/")
        if _MIME_TOKEN.match(maintype) and _MIME_TOKEN.match(subtype) and maintype != "multipart":
            return maintype, subtype
        return "application", "octet-stream"


class OutboundEmail(BaseModel):
    """One reply to send. ``ai_generated`` requires a (localized) ``ai_disclosure`` text."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    to: tuple[Mailbox, ...] = Field(min_length=1, max_length=50)
    from_: Mailbox = Field(alias="from")
    subject: str = Field(max_length=998)
    text: str
    html: str | None = None
    message_id: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    reply_token: str | None = None
    tag_subject: bool = True
    ai_generated: bool = False
    ai_disclosure: str | None = None
    auto_reply: bool = False
    attachments: tuple[EmailFile, ...] = Field(default=(), max_length=50)

    @field_validator("subject", "ai_disclosure", "reply_token")
    @classmethod
    def _single_line(cls, value: str | None) -> str | None:
        if value is not None and contains_line_break(value):
            raise ValueError("must not contain CR, LF or NUL (header injection)")
        return value

    @field_validator("reply_token")
    @classmethod
    def _token(cls, value: str | None) -> str | None:
        if value is not None:
            subject_tag(value)  # raises ValueError with a clear message when malformed
        return value

    @field_validator("message_id", "in_reply_to")
    @classmethod
    def _msg_id(cls, value: str | None) -> str | None:
        return None if value is None else _check_msg_id(value)

    @field_validator("references")
    @classmethod
    def _refs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_check_msg_id(v) for v in value)

    @model_validator(mode="after")
    def _disclosure_required(self) -> OutboundEmail:
        if self.ai_generated and not (self.ai_disclosure and self.ai_disclosure.strip()):
            raise ValueError("ai_generated=True requires ai_disclosure (the localized disclosure text)")
        return self


def _text_to_html(text: str) -> str:
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    body = "\n".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body>\n{body}\n</body></html>'


def _insert_after_body_tag(document: str, fragment: str) -> str:
    lower = document.lower()
    start = lower.find("<body")
    if start != -1:
        end = lower.find(">", start)
        if end != -1:
            return document[: end + 1] + fragment + document[end + 1 :]
    return fragment + document


def render_bodies(msg: OutboundEmail) -> tuple[str, str]:
    """(text, html) with the AI disclosure visible at the top of both, when ``ai_generated``."""
    text = msg.text
    document = msg.html if msg.html is not None else _text_to_html(msg.text)
    if msg.ai_generated and msg.ai_disclosure:
        disclosure = msg.ai_disclosure.strip()
        text = f"{disclosure}\n\n{text}"
        fragment = (
            '<p class="gd-ai-disclosure" style="color:#555;font-size:90%;'
            'border-bottom:1px solid #ddd;padding-bottom:6px">'
            f"{html.escape(disclosure)}</p>"
        )
        document = _insert_after_body_tag(document, fragment)
    return text, document


def _address(box: Mailbox) -> Address:
    for value in (box.address, box.display_name or ""):
        if contains_line_break(value):
            raise HeaderInjectionError("address or display name contains CR/LF/NUL; refused")
    local, _, domain = box.address.rpartition("@")
    return Address(display_name=box.display_name or "", username=local, domain=domain)


def _references(msg: OutboundEmail) -> list[str]:
    refs = list(dict.fromkeys(msg.references))
    if msg.in_reply_to and (not refs or refs[-1] != msg.in_reply_to):
        refs = [r for r in refs if r != msg.in_reply_to] + [msg.in_reply_to]
    if len(refs) > _MAX_REFERENCES:
        refs = refs[:1] + refs[-(_MAX_REFERENCES - 1) :]
    return refs


def _verify_headers(message: EmailMessage, expected: set[str]) -> None:
    """Re-parse the serialised headers; any header we did not set means injection."""
    head = message.as_bytes(policy=_SMTP_POLICY).split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
    parsed = BytesHeaderParser(policy=policy.compat32).parsebytes(head)
    names = {k.lower() for k in parsed.keys()}
    unexpected = names - expected - {"mime-version", "content-type", "content-transfer-encoding"}
    if unexpected or parsed.defects:
        raise HeaderInjectionError(f"generated headers failed verification: {sorted(unexpected)}")


class EmailSender:
    """Sends ``OutboundEmail`` through one relay. Owns no connection between sends."""

    def __init__(self, settings: RelaySettings, *, tls_context: ssl.SSLContext | None = None) -> None:
        self._settings = settings
        self._tls_context = tls_context

    def build_message(self, msg: OutboundEmail) -> EmailMessage:
        """Build the MIME message (pure; no I/O). Raises ``HeaderInjectionError`` on CR/LF."""
        for value in (msg.subject, msg.ai_disclosure or "", msg.reply_token or "", *msg.references):
            if contains_line_break(value):
                raise HeaderInjectionError("a header value contains CR/LF/NUL; refused")
        settings = self._settings
        message = EmailMessage(policy=_SMTP_POLICY)
        message["From"] = _address(msg.from_)
        message["To"] = [_address(m) for m in msg.to]
        subject = msg.subject
        if msg.reply_token:
            tag = subject_tag(msg.reply_token)
            if msg.tag_subject and tag.lower() not in subject.lower():
                subject = f"{subject} {tag}".strip()
            reply_to = Mailbox(
                address=plus_address(msg.from_.address, msg.reply_token),
                display_name=msg.from_.display_name,
            )
            message["Reply-To"] = _address(reply_to)
        message["Subject"] = subject
        message["Date"] = format_datetime(localtime())
        message["Message-ID"] = msg.message_id or make_message_id(settings.message_id_domain)
        expected = {"from", "to", "subject", "date", "message-id"}
        if msg.reply_token:
            expected.add("reply-to")
        if msg.in_reply_to:
            message["In-Reply-To"] = msg.in_reply_to
            expected.add("in-reply-to")
        refs = _references(msg)
        if refs:
            message["References"] = " ".join(refs)
            expected.add("references")
        if msg.ai_generated:
            message["X-Glassdesk-AI"] = "generated"
            expected.add("x-glassdesk-ai")
        if msg.auto_reply:
            message["Auto-Submitted"] = "auto-replied"
            expected.add("auto-submitted")
        text, document = render_bodies(msg)
        message.set_content(text, cte="quoted-printable")
        message.add_alternative(document, subtype="html", cte="quoted-printable")
        for file in msg.attachments:
            maintype, subtype = file.mime_type()
            message.add_attachment(file.content, maintype=maintype, subtype=subtype, filename=file.filename)
        _verify_headers(message, expected)
        return message

    async def send(self, msg: OutboundEmail) -> str:
        """Send ``msg``; return its Message-ID (the provider id we store).

        Raises ``TransientDeliveryError`` (4xx, refused connection, timeout: retry) or
        ``PermanentDeliveryError`` (5xx, invalid address, header injection: do not retry as is).
        """
        try:
            message = self.build_message(msg)
        except PermanentDeliveryError:
            raise
        except (ValueError, TypeError) as exc:
            raise PermanentDeliveryError(f"message could not be built: {exc}") from exc
        message_id = str(message["Message-ID"])
        s = self._settings
        client = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            timeout=s.timeout,
            use_tls=s.implicit_tls,
            start_tls=s.starttls if not s.implicit_tls else False,
            validate_certs=s.validate_certs,
            tls_context=self._tls_context,
            local_hostname=s.local_hostname,
        )
        # MAIL, RCPT and DATA one by one: until the message content is sent, any failure means nothing
        # was delivered (retry); once it was sent, a lost answer means the relay may have queued it, and
        # resending could deliver it twice (OutcomeUnknown).
        content_sent = False
        try:
            async with client:
                if s.username is not None:
                    await client.login(s.username, s.password.get_secret_value() if s.password else "")
                sender = msg.from_.address
                recipients = [m.address for m in msg.to]
                await client.mail(sender)
                refused: dict[str, int] = {}
                for rcpt in recipients:
                    try:
                        await client.rcpt(rcpt)
                    except aiosmtplib.SMTPRecipientRefused as exc:
                        refused[rcpt] = exc.code
                if len(refused) == len(recipients):
                    codes = sorted(refused.values())
                    if all(400 <= c < 500 for c in codes):
                        raise TransientDeliveryError(f"relay deferred all recipients ({codes})")
                    raise PermanentDeliveryError(f"relay refused all recipients ({codes})")
                content_sent = True
                await client.data(message.as_bytes(policy=_SMTP_POLICY))
        except (TransientDeliveryError, PermanentDeliveryError):
            raise
        except aiosmtplib.SMTPResponseException as exc:
            # the relay answered: nothing was queued when it refused (4xx: later, 5xx: not at all)
            detail = f"relay answered {exc.code} {exc.message}"
            if 400 <= exc.code < 500:
                raise TransientDeliveryError(detail) from exc
            raise PermanentDeliveryError(detail) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            detail = f"{s.host}:{s.port}: {type(exc).__name__}: {exc}"
            if content_sent:
                raise OutcomeUnknown(
                    f"the relay took the message but did not confirm it ({detail}); not resent, to avoid a duplicate"
                ) from exc
            raise TransientDeliveryError(f"could not deliver through {detail}") from exc
        if refused:
            raise PermanentDeliveryError(f"relay refused some recipients: {refused}")
        return message_id
