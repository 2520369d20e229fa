"""No phone number or message text reaches a log through vendor request logging, at any level."""

from __future__ import annotations

import logging
from pathlib import Path

from services.settings import Settings, configure_logging


def test_vendor_request_logs_stay_quiet_even_at_debug(tmp_path: Path) -> None:
    root = logging.getLogger()
    before = root.level
    try:
        configure_logging(Settings(var_dir=tmp_path, log_level="DEBUG"))
        for name in ("twilio.http_client", "twilio.async_http_client", "httpx", "aiosmtplib"):
            assert not logging.getLogger(name).isEnabledFor(logging.INFO), name
        assert logging.getLogger("glassdesk.worker").isEnabledFor(logging.DEBUG)
    finally:
        root.setLevel(before)
