"""`glassdesk smtp`: the inbound SMTP server, persisting every accepted message before its 250."""

from __future__ import annotations

import asyncio
import logging
import ssl

from channels.email import SmtpLimits, start_smtp_server
from runtime.compose import open_container
from services.email_ingest import EmailIngest
from services.settings import Settings, configure_logging

__all__ = ["serve_smtp"]

log = logging.getLogger("glassdesk.email")


async def serve_smtp(settings: Settings, stop: asyncio.Event) -> None:
    configure_logging(settings)
    tls = None
    if settings.smtp_tls_cert and settings.smtp_tls_key:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.minimum_version = ssl.TLSVersion.TLSv1_2
        tls.load_cert_chain(settings.smtp_tls_cert, settings.smtp_tls_key)
    users = None
    if settings.smtp_auth_users:
        pairs = [p.split(":", 1) for p in settings.smtp_auth_users.get_secret_value().split(",") if ":" in p]
        users = {u.strip(): pw for u, pw in pairs}
    async with open_container(settings) as services:
        server = await start_smtp_server(
            host=settings.smtp_host,
            port=settings.smtp_port,
            handler_callback=EmailIngest(services),
            limits=SmtpLimits(
                data_size_limit=settings.smtp_max_bytes,
                idle_timeout=settings.smtp_idle_timeout_s,
                session_deadline=settings.smtp_session_deadline_s,
                max_recipients=settings.smtp_max_recipients,
            ),
            tls_context=tls,
            require_starttls=settings.smtp_require_starttls,
            auth_users=users,
        )
        log.info("SMTP server on %s:%d", settings.smtp_host, settings.smtp_port)
        try:
            await stop.wait()
        finally:
            await server.aclose()
