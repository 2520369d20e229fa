"""The SMS channel (Twilio): verify and parse webhooks, render and send replies.

Imports ``conversation`` and ``twilio`` only. The web edge is ``web.sms``; the outbox discipline for
callers lives in the deliverer (``services.delivery``).
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
from channels.sms.segments import ELLIPSIS, RenderedSms, SegmentInfo, SmsEncoding, render_sms, sms_segments
from channels.sms.sender import (
    FakeSmsSender,
    LocalApiHttpClient,
    SmsSenderConfig,
    TwilioSmsSender,
    render_outbound,
    status_callback_url,
)
from channels.sms.signature import SIGNATURE_HEADER, WebhookVerifier, sign_webhook, webhook_url

__all__ = [
    "ELLIPSIS",
    "FakeSmsSender",
    "InvalidField",
    "LocalApiHttpClient",
    "MAX_WEBHOOK_BYTES",
    "RenderedSms",
    "SIGNATURE_HEADER",
    "SegmentInfo",
    "SendOutcomeUnknown",
    "SmsEncoding",
    "SmsPermanentError",
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
    "sms_segments",
    "status_callback_url",
    "sign_webhook",
    "webhook_url",
]
