"""The rules of serving and sending attachments, without sockets: which type is served and how it
opens, the RFC 5987 file name, the MIME part of an outbound email, and which media URLs may be fetched."""

from __future__ import annotations

from email import message_from_bytes, policy
from urllib.parse import unquote

import pytest

from channels.email import EmailSender, Mailbox, OutboundEmail, RelaySettings
from channels.email.sender import EmailFile
from channels.sms.media import MediaFetcherConfig, MediaRefused, check_url
from conversation.blobs import MemoryBlobStore, load_file, store_file
from conversation.errors import NotFound
from web.attachments import content_disposition, is_inline, served_type, sniff

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 16
GIF = b"GIF89a" + b"\x00" * 8
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 "
PDF = b"%PDF-1.7\n"
HTML = b"<!doctype html><script>alert(1)</script>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"/>'


@pytest.mark.parametrize(
    ("declared", "content", "served"),
    [
        ("image/png", PNG, "image/png"),
        ("image/jpg", JPEG, "image/jpeg"),
        ("image/gif", GIF, "image/gif"),
        ("image/webp", WEBP, "image/webp"),
        ("application/pdf; name=x.pdf", PDF, "application/pdf"),
        ("application/octet-stream", PNG, "image/png"),  # a generic declaration: the bytes decide
        ("image/png", HTML, "application/octet-stream"),  # says PNG, is HTML
        ("text/html", PNG, "application/octet-stream"),  # the declaration and the bytes disagree
        ("image/svg+xml", SVG, "application/octet-stream"),
        ("text/html", HTML, "application/octet-stream"),
        ("text/plain", b"hello", "application/octet-stream"),
    ],
)
def test_only_recognised_safe_types_are_served_as_themselves(declared: str, content: bytes, served: str) -> None:
    assert served_type(declared, content) == served


def test_svg_and_html_are_never_inline() -> None:
    assert sniff(SVG) is None and sniff(HTML) is None
    assert not is_inline("image/svg+xml") and not is_inline("text/html")
    assert is_inline("image/png") and is_inline("application/pdf")


def test_file_names_are_rfc5987_encoded_with_an_ascii_fallback() -> None:
    value = content_disposition('Rechnung "März"\r\n.pdf', inline=False)
    assert value.startswith('attachment; filename="Rechnung _M_rz_.pdf"; ')
    assert "\r" not in value and "\n" not in value
    assert unquote(value.split("filename*=UTF-8''", 1)[1]) == 'Rechnung "März".pdf'
    assert content_disposition("", inline=True).startswith('inline; filename="attachment"')


async def test_a_blob_that_does_not_match_its_digest_is_not_served() -> None:
    blobs = MemoryBlobStore()
    att = await store_file(blobs, PNG, filename="a.png", content_type="image/png")
    assert (await load_file(blobs, att)).content == PNG
    blobs.blobs[att.blob_key] = HTML
    with pytest.raises(NotFound):
        await load_file(blobs, att)


def test_an_outbound_email_carries_files_as_attachment_parts() -> None:
    sender = EmailSender(RelaySettings(host="127.0.0.1", port=1))
    email = OutboundEmail(
        to=(Mailbox(address="anna@example.org"),),
        **{"from": Mailbox(address="support@glassdesk.local")},
        subject="Your claim",
        text="The form is attached.",
        attachments=(
            EmailFile(filename="Formular ä.pdf", content_type="application/pdf", content=PDF),
            EmailFile(filename="evil\r\nBcc: x@evil.example.txt", content_type="text/html\r\nX: y", content=b"hi"),
        ),
    )
    parsed = message_from_bytes(sender.build_message(email).as_bytes(), policy=policy.default)
    assert parsed.get_content_type() == "multipart/mixed"
    assert "Bcc" not in parsed and parsed.get_body(("plain",)).get_content().strip() == "The form is attached."
    first, second = parsed.iter_attachments()
    assert first.get_filename() == "Formular ä.pdf" and first.get_content() == PDF
    assert first.get_content_type() == "application/pdf"
    assert second.get_filename() == "evilBcc: x@evil.example.txt"  # one header value, no new header
    assert second.get_content_type() == "application/octet-stream"


CONFIG = MediaFetcherConfig(
    account_sid="AC1", auth_token="t", max_bytes=10, timeout_s=1, extra_hosts=("127.0.0.1:8999",)
)


@pytest.mark.parametrize(
    "url",
    [
        "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
        "https://media.twiliocdn.com/AC1/abc",
        "http://127.0.0.1:8999/media/1",
    ],
)
def test_twilio_hosts_and_the_allow_list_may_be_fetched(url: str) -> None:
    assert check_url(url, CONFIG) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://api.twilio.com/2010-04-01/x",  # Twilio only over https
        "https://api.twilio.com.evil.example/x",
        "https://evil.example/x",
        "https://user:pw@api.twilio.com/x",
        "http://127.0.0.1:9000/x",  # another port than the allowed one
        "http://169.254.169.254/latest/meta-data",
        "file:///etc/passwd",
    ],
)
def test_other_media_urls_are_refused(url: str) -> None:
    with pytest.raises(MediaRefused):
        check_url(url, CONFIG)


def test_plain_http_to_a_non_loopback_allowed_host_is_refused() -> None:
    config = MediaFetcherConfig(account_sid="", auth_token="", max_bytes=1, timeout_s=1, extra_hosts=("media.example",))
    assert check_url("https://media.example/x", config)
    with pytest.raises(MediaRefused):
        check_url("http://media.example/x", config)
