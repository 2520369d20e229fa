"""SMS errors: subclasses of the conversation error tree that keep Twilio's error code."""

from __future__ import annotations

from conversation.errors import InboundParseError, OutcomeUnknown, PermanentDeliveryError, TransientDeliveryError

__all__ = ["InvalidField", "SmsTransientError", "SmsPermanentError", "SendOutcomeUnknown"]


class InvalidField(InboundParseError):
    """A signed webhook with a missing or malformed field: answer 400 naming ``field``."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"invalid field {field}", problem)
        self.field = field
        self.problem = problem


class SmsTransientError(TransientDeliveryError):
    """Twilio said "not now" (429, 5xx) or could not be reached: nothing was sent; retry later."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class SmsPermanentError(PermanentDeliveryError):
    """Twilio refused the message (4xx other than 429), e.g. 21211 invalid number, 21610 opted out."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class SendOutcomeUnknown(OutcomeUnknown):
    """The request may have reached Twilio (timeout or connection lost after sending).

    Do NOT release the outbox entry for a blind resend: leave it ``sending`` so the status callback
    (which carries the outbox id) or a provider lookup settles it; unresolved means a human decides.
    """
