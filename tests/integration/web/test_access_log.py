"""A customer's status token never reaches the web access log: `glassdesk web` (real uvicorn, its own
logging configuration, access log on) serves the status page and its event stream, and the log it
writes shows the request with the token redacted."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from conversation import ChannelKind, InboundMessage, PhoneAddress
from runtime.compose import open_container
from services.ingest import Ingestor
from services.settings import Settings
from web.access_log import RedactPathSecrets

GLASSDESK = str(Path(sys.executable).parent / "glassdesk")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _status_token(settings: Settings) -> str:
    async def make() -> str:
        async with open_container(settings) as services:
            result = await Ingestor(services).accept(
                InboundMessage(
                    channel=ChannelKind.SMS,
                    external_id="SM" + "7" * 32,
                    address=PhoneAddress(number="+4915112345670"),
                    text="where is my parcel",
                )
            )
            return result.conversation.status_token

    return asyncio.run(make())


def test_the_access_log_of_glassdesk_web_has_no_status_token(tmp_path: Path, redis_url: str) -> None:
    port = _free_port()
    settings = Settings(var_dir=tmp_path / "var", redis_url=redis_url)
    token = _status_token(settings)
    assert len(token) >= 16
    log_path = tmp_path / "web.log"
    env = {
        **os.environ,
        "GLASSDESK_VAR_DIR": str(settings.var_dir),
        "GLASSDESK_REDIS_URL": redis_url,
        "GLASSDESK_WEB_PORT": str(port),
        "GLASSDESK_LOG_LEVEL": "INFO",
    }
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [GLASSDESK, "web"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/login", timeout=2)
                break
            except httpx.HTTPError:
                assert proc.poll() is None, log_path.read_text()[-2000:]
                assert time.monotonic() < deadline, "glassdesk web did not answer within 60 s"
                time.sleep(0.3)
        page = httpx.get(f"{base}/status/{token}", timeout=10)
        assert page.status_code == 200 and "where is my parcel" not in page.text
        with httpx.stream("GET", f"{base}/status/{token}/events", timeout=10) as stream:
            assert stream.status_code == 200
            next(stream.iter_raw())  # the stream is open: the request is logged once it ends
        assert httpx.get(f"{base}/status/not-a-real-token-0000", timeout=10).status_code == 404
        deadline = time.monotonic() + 10
        while log_path.read_text().count("GET /status/") < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    written = log_path.read_text()
    assert token not in written and "not-a-real-token-0000" not in written
    assert 'GET /status/[redacted] HTTP/1.1" 200' in written, written[-2000:]
    assert 'GET /status/[redacted]/events HTTP/1.1" 200' in written
    assert 'GET /status/[redacted] HTTP/1.1" 404' in written
    assert 'GET /login HTTP/1.1" 200' in written  # the access log itself is on, other paths as they are


def test_the_filter_rewrites_arguments_and_messages_and_keeps_every_record() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/status/abcDEF_123-xyz?lang=de", "1.1", 200),
        None,
    )
    assert RedactPathSecrets().filter(record) is True
    assert record.getMessage() == '127.0.0.1:5000 - "GET /status/[redacted]?lang=de HTTP/1.1" 200'
    plain = logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, "closing /status/tok123/events", None, None)
    RedactPathSecrets().filter(plain)
    assert plain.getMessage() == "closing /status/[redacted]/events"
