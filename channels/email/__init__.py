"""The email channel: parse and strip inbound mail, run an SMTP server, send replies."""

from channels.email.addresses import Mailbox, parse_mailbox, parse_mailbox_list, plus_address
from channels.email.attachments import sanitize_filename
from channels.email.channel import EmailChannelSender, FakeEmailChannelSender
from channels.email.errors import EmailParseError, HeaderInjectionError, ParseFailure
from channels.email.html_text import html_to_text
from channels.email.models import (
    Attachment,
    ParsedEmail,
    ParseLimits,
    QuarantineReason,
    StrippedText,
    ThreadKeys,
    TokenSource,
)
from channels.email.parse import parse_email, parse_to_json
from channels.email.render import render_email
from channels.email.reply_strip import strip_reply
from channels.email.sender import EmailFile, EmailSender, OutboundEmail, RelaySettings, make_message_id, render_bodies
from channels.email.smtp_server import InboundCallback, RunningSmtpServer, SmtpLimits, start_smtp_server
from channels.email.threads import make_reply_token, subject_tag, thread_keys

__all__ = [
    "Attachment",
    "EmailChannelSender",
    "EmailParseError",
    "FakeEmailChannelSender",
    "EmailSender",
    "EmailFile",
    "HeaderInjectionError",
    "InboundCallback",
    "Mailbox",
    "OutboundEmail",
    "ParseFailure",
    "ParseLimits",
    "ParsedEmail",
    "QuarantineReason",
    "RelaySettings",
    "RunningSmtpServer",
    "SmtpLimits",
    "StrippedText",
    "ThreadKeys",
    "TokenSource",
    "html_to_text",
    "make_message_id",
    "make_reply_token",
    "parse_email",
    "parse_mailbox",
    "parse_mailbox_list",
    "parse_to_json",
    "plus_address",
    "render_bodies",
    "render_email",
    "sanitize_filename",
    "start_smtp_server",
    "strip_reply",
    "subject_tag",
    "thread_keys",
]
