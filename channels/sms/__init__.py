"""The SMS channel (Twilio): verify and parse webhooks, render and send replies.

Imports ``conversation`` and ``twilio`` only. The web edge is ``web.sms``; the outbox discipline for
callers is described in :mod:`channels.sms.outbound`.
"""

from channels.sms.errors import InvalidField, SendOutcomeUnknown, SmsPermanentError, SmsTransientError
from channels.sms.inbound import (
    MAX_WEBHOOK_BYTES,
    StatusUpdate,
    form_pairs,
    json_params,
    parse_inbound,
    parse_status,
)
from channels.sms.outbound import SendResult, SendState, SmsSender, send_once
from channels.sms.segments import ELLIPSIS, RenderedSms, SegmentInfo, SmsEncoding, render_sms, sms_segments
from channels.sms.sender import (
    LocalApiHttpClient,
    SmsSenderConfig,
    TwilioSmsSender,
    render_outbound,
    status_callback_url,
)
from channels.sms.signature import SIGNATURE_HEADER, WebhookVerifier, webhook_url

__all__ = [
    "ELLIPSIS",
    "InvalidField",
    "LocalApiHttpClient",
    "MAX_WEBHOOK_BYTES",
    "RenderedSms",
    "SIGNATURE_HEADER",
    "SegmentInfo",
    "SendOutcomeUnknown",
    "SendResult",
    "SendState",
    "SmsEncoding",
    "SmsPermanentError",
    "SmsSender",
    "SmsSenderConfig",
    "SmsTransientError",
    "StatusUpdate",
    "TwilioSmsSender",
    "WebhookVerifier",
    "form_pairs",
    "json_params",
    "parse_inbound",
    "parse_status",
    "render_outbound",
    "render_sms",
    "send_once",
    "sms_segments",
    "status_callback_url",
    "webhook_url",
]
