"""X-Twilio-Signature known vectors: valid passes; every variant of a bad one is InboundRejected."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from channels.sms import WebhookVerifier, webhook_url
from conversation import InboundRejected
from tests.support.twilio_api import twilio_signature

TOKEN = "12345"
URL = "https://desk.example.com/webhooks/twilio/sms"
PAYLOADS = Path("/work/shared/data/twilio/inbound_sms_payloads.json")


def _form() -> dict[str, str]:
    return dict(json.loads(PAYLOADS.read_text())["payloads"][0]["form"])


def test_twilio_documented_vector() -> None:
    # twilio.com/docs/usage/webhooks/webhooks-security (token 12345) - the SDK's own test vector
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675309",
        "Digits": "1234",
        "From": "+14158675309",
        "To": "+18005551212",
    }
    WebhookVerifier(TOKEN).verify_form(url, params.items(), "RSOYDt4T1cUTdK1PDd93/VVr8B8=")


def test_valid_signature_passes() -> None:
    form = _form()
    WebhookVerifier(TOKEN).verify_form(URL, form.items(), twilio_signature(TOKEN, URL, form))


@pytest.mark.parametrize(
    "variant",
    [
        "missing",
        "empty",
        "wrong_token",
        "tampered",
        "added",
        "removed",
        "other_port",
        "trailing_slash",
        "other_scheme",
        "other_host",
    ],
)
def test_invalid_signatures_are_rejected(variant: str) -> None:
    form = _form()
    signed_url, signed_form, token = URL, dict(form), TOKEN
    sent_form = dict(form)
    signature: str | None = None
    match variant:
        case "wrong_token":
            token = "54321"
        case "tampered":
            sent_form["Body"] = "Ahoy! Send me the refund"
        case "added":
            sent_form["Extra"] = "1"
        case "removed":
            del sent_form["FromZip"]
        case "other_port":
            signed_url = "https://desk.example.com:8443/webhooks/twilio/sms"
        case "trailing_slash":
            signed_url = URL + "/"
        case "other_scheme":
            signed_url = URL.replace("https://", "http://")
        case "other_host":
            signed_url = URL.replace("desk.example.com", "evil.example.com")
    if variant == "empty":
        signature = ""
    elif variant != "missing":
        signature = twilio_signature(token, signed_url, signed_form)
    with pytest.raises(InboundRejected):
        WebhookVerifier(TOKEN).verify_form(URL, sent_form.items(), signature)


def test_default_port_is_accepted_like_twilio_does() -> None:
    form = _form()
    signature = twilio_signature(TOKEN, "https://desk.example.com:443/webhooks/twilio/sms", form)
    WebhookVerifier(TOKEN).verify_form(URL, form.items(), signature)


def test_repeated_parameters_are_signed_in_order() -> None:
    pairs = [("MessageSid", "SM" + "a" * 32), ("MediaUrl", "https://b"), ("MediaUrl", "https://a")]
    signature = twilio_signature(TOKEN, URL, pairs)
    WebhookVerifier(TOKEN).verify_form(URL, pairs, signature)
    with pytest.raises(InboundRejected):
        WebhookVerifier(TOKEN).verify_form(URL, pairs[:2], signature)


def _json_case(body: bytes) -> tuple[str, str]:
    url = f"{URL}?bodySHA256={hashlib.sha256(body).hexdigest()}"
    return url, twilio_signature(TOKEN, url, {})


def test_json_body_with_matching_hash_passes() -> None:
    body = b'{"MessageSid": "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "From": "+15017122661", "Body": "Ahoy"}'
    url, signature = _json_case(body)
    WebhookVerifier(TOKEN).verify_json(url, body, signature)


def test_json_body_modified_under_the_original_hash_is_rejected() -> None:
    body = b'{"MessageSid": "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "From": "+15017122661", "Body": "Ahoy"}'
    url, signature = _json_case(body)
    with pytest.raises(InboundRejected, match="bodySHA256"):
        WebhookVerifier(TOKEN).verify_json(url, body.replace(b"Ahoy", b"Pay me"), signature)


def test_json_body_without_body_hash_is_rejected() -> None:
    body = b'{"MessageSid": "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}'
    with pytest.raises(InboundRejected, match="bodySHA256"):
        WebhookVerifier(TOKEN).verify_json(URL, body, twilio_signature(TOKEN, URL, {}))


def test_json_hash_swapped_in_the_url_breaks_the_signature() -> None:
    body, other = b'{"a": "1"}', b'{"a": "2"}'
    url, signature = _json_case(body)
    forged_url, _ = _json_case(other)
    with pytest.raises(InboundRejected, match="Signature"):
        WebhookVerifier(TOKEN).verify_json(forged_url, other, signature)


def test_webhook_url_is_built_from_configuration() -> None:
    assert webhook_url("https://desk.example.com/", "/webhooks/twilio/status", "outbox=ob_1") == (
        "https://desk.example.com/webhooks/twilio/status?outbox=ob_1"
    )
    assert webhook_url("https://desk.example.com", "/webhooks/twilio/sms") == URL


def test_a_verifier_needs_a_token() -> None:
    with pytest.raises(ValueError, match="Auth Token"):
        WebhookVerifier("")
