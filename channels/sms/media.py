"""Fetching MMS media from Twilio: only from Twilio's hosts (plus an explicit allow-list), bounded in
size and time, with the account's credentials sent to api.twilio.com only.

Twilio's ``MediaUrl`` points at ``api.twilio.com``, which answers with a redirect to its media CDN.
Every hop is checked against the allow-list before it is requested (a redirect elsewhere is refused,
never followed), and the basic-auth credentials go only to the host they belong to. Plain http is
accepted only for loopback hosts on the allow-list (the local Twilio-compatible endpoint of tests).
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import aiohttp

from conversation.errors import GlassdeskError

__all__ = ["TWILIO_MEDIA_HOSTS", "MediaFetchError", "MediaRefused", "FetchedMedia", "MediaFetcherConfig", "fetch_media"]

TWILIO_MEDIA_HOSTS = ("api.twilio.com", "media.twiliocdn.com")
_AUTH_HOSTS = frozenset({"api.twilio.com"})
_MAX_REDIRECTS = 3
_CHUNK = 64 * 1024


class MediaFetchError(GlassdeskError):
    """The media could not be fetched (network, timeout, an error answer); ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MediaRefused(MediaFetchError):
    """We refused to fetch it (a host not on the allow-list, too large): retrying will not help."""


@dataclass(frozen=True, slots=True)
class FetchedMedia:
    content: bytes
    content_type: str


@dataclass(frozen=True, slots=True)
class MediaFetcherConfig:
    account_sid: str
    auth_token: str
    max_bytes: int
    timeout_s: float
    extra_hosts: tuple[str, ...] = ()  # host or host:port

    @classmethod
    def hosts_from(cls, setting: str) -> tuple[str, ...]:
        return tuple(h.strip().lower() for h in setting.split(",") if h.strip())


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, config: MediaFetcherConfig) -> str:
    """``url`` if it may be fetched; raises :class:`MediaRefused` naming the host otherwise."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host or parts.username or parts.password:
        raise MediaRefused("the media URL has no plain host")
    try:
        port = parts.port
    except ValueError:
        raise MediaRefused("the media URL has an invalid port") from None
    hostport = f"{host}:{port}" if port else host
    twilio = host in TWILIO_MEDIA_HOSTS and parts.scheme == "https" and port in (None, 443)
    extra = host in config.extra_hosts or hostport in config.extra_hosts
    if extra and parts.scheme == "http" and not _loopback(host):
        extra = False  # plain http only to loopback (tests, development)
    if not twilio and not (extra and parts.scheme in ("http", "https")):
        raise MediaRefused(
            f"media host {hostport!r} is not allowed (only {', '.join(TWILIO_MEDIA_HOSTS)} over https, "
            "and GLASSDESK_MMS_MEDIA_HOSTS)"
        )
    return url


async def fetch_media(url: str, config: MediaFetcherConfig) -> FetchedMedia:
    """The media at ``url`` (redirects re-checked hop by hop), at most ``config.max_bytes``."""
    try:
        return await asyncio.wait_for(_fetch(url, config), config.timeout_s)
    except TimeoutError:
        raise MediaFetchError(f"no answer within {config.timeout_s:g} s") from None


async def _fetch(url: str, config: MediaFetcherConfig) -> FetchedMedia:
    timeout = aiohttp.ClientTimeout(total=config.timeout_s)
    async with aiohttp.ClientSession(timeout=timeout, trust_env=False) as session:
        for _ in range(_MAX_REDIRECTS + 1):
            check_url(url, config)
            host = (urlsplit(url).hostname or "").lower()
            headers = {}
            if (
                config.account_sid
                and config.auth_token
                and (host in _AUTH_HOSTS or host in config.extra_hosts or _hostport(url) in config.extra_hosts)
            ):
                pair = f"{config.account_sid}:{config.auth_token}".encode()
                headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
            try:
                async with session.get(url, headers=headers, allow_redirects=False) as response:
                    if response.status in (301, 302, 303, 307, 308):
                        location = response.headers.get("Location", "")
                        if not location:
                            raise MediaFetchError(f"redirect {response.status} without a Location")
                        url = urljoin(url, location)
                        continue
                    if response.status != 200:
                        raise MediaFetchError(f"Twilio answered HTTP {response.status}")
                    declared = response.headers.get("Content-Length", "")
                    if declared.isdigit() and int(declared) > config.max_bytes:
                        raise MediaRefused(f"the media is {declared} bytes; the limit is {config.max_bytes}")
                    body = bytearray()
                    async for chunk in response.content.iter_chunked(_CHUNK):
                        body.extend(chunk)
                        if len(body) > config.max_bytes:
                            raise MediaRefused(f"the media is larger than the limit of {config.max_bytes} bytes")
                    content_type = response.headers.get("Content-Type", "application/octet-stream")
                    return FetchedMedia(bytes(body), content_type.split(";", 1)[0].strip()[:255])
            except aiohttp.ClientError as exc:
                raise MediaFetchError(f"{type(exc).__name__} while fetching the media") from exc
        raise MediaFetchError(f"more than {_MAX_REDIRECTS} redirects")


def _hostport(url: str) -> str:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return f"{host}:{parts.port}" if parts.port else host
