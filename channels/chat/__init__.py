"""The web chat channel: signed session tokens, the socket's frame protocol, and rendering replies
(AI badge + disclosure) and progress into frames. Imports `conversation`, itsdangerous and pydantic."""

from channels.chat.frames import (
    MAX_CHAT_TEXT,
    AckFrame,
    ChatErrorCode,
    ClientFrame,
    ErrorFrame,
    FrameError,
    HelloFrame,
    HistoryFrame,
    HistoryMessage,
    MessageFrame,
    PingFrame,
    PongFrame,
    ProgressFrame,
    ProgressStep,
    ReplyFrame,
    ServerFrame,
    SessionFrame,
    VerifyCodeFrame,
    VerifyFrame,
    VerifyStartFrame,
    VerifyState,
    claimed_address,
    code_digits,
    dump_frame,
    parse_client_frame,
)
from channels.chat.render import (
    CHAT_REPLY_EVENT,
    chat_reply_payload,
    handoff_notice,
    history_frame,
    is_visible_to_customer,
    progress_frame,
    reply_frame,
    ui_language,
)
from channels.chat.sender import ChatChannelSender, FakeChatChannelSender
from channels.chat.tokens import DEFAULT_MAX_AGE_S, SESSION_SALT, SessionSigner, new_chat_session

__all__ = [
    "MAX_CHAT_TEXT", "AckFrame", "ChatErrorCode", "ClientFrame", "ErrorFrame", "FrameError", "HelloFrame",
    "HistoryFrame", "HistoryMessage", "MessageFrame", "PingFrame", "PongFrame", "ProgressFrame", "ProgressStep",
    "ReplyFrame", "ServerFrame", "SessionFrame", "dump_frame", "parse_client_frame",
    "VerifyCodeFrame", "VerifyFrame", "VerifyStartFrame", "VerifyState", "claimed_address", "code_digits",
    "CHAT_REPLY_EVENT", "chat_reply_payload", "handoff_notice", "history_frame", "is_visible_to_customer",
    "progress_frame", "reply_frame", "ui_language",
    "ChatChannelSender", "FakeChatChannelSender",
    "DEFAULT_MAX_AGE_S", "SESSION_SALT", "SessionSigner", "new_chat_session",
]
