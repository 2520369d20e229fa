"""The REST connector against a real local shop API: mapping, scoping, retries, Retry-After, timeouts,
unreadable answers and OAuth2 client credentials."""

from __future__ import annotations

import datetime as dt
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from knowledge.backoffice import ClaimIntake, ClaimState, InMemoryBackOffice, Lookups, Risk
from knowledge.backoffice.connectors import load_connectors
from knowledge.backoffice.httpcall import retry_after_seconds
from knowledge.backoffice.rest import RestBackOffice
from knowledge.backoffice.rest_config import RestConnector
from knowledge.errors import ConnectorFailure, ConnectorUnavailable, LookupNotFound
from tests.integration.backoffice.conftest import ANNA, BACKOFFICE_DIR, JOHN, LENA, TODAY, example_text
from tests.integration.backoffice.shop_api import SECRETS, Misbehave, ShopState

FAKE = InMemoryBackOffice(today=lambda: TODAY)


def shop_config(shop: ShopState, *, edit: Callable[[str], str] = lambda t: t) -> RestConnector:
    text = edit(example_text(shop_url=shop.base_url))
    config = load_connectors(text, source="connectors.yaml", base_dir=BACKOFFICE_DIR)
    spec = config.connectors["shop"].spec
    assert isinstance(spec, RestConnector)
    return spec


def fast_retries(text: str) -> str:
    return text.replace("retry: {attempts: 3, backoff_seconds: 0.2,", "retry: {attempts: 3, backoff_seconds: 0.1,")


@pytest.fixture
async def rest(shop: ShopState) -> AsyncIterator[RestBackOffice]:
    backoffice = RestBackOffice(shop_config(shop, edit=fast_retries), secrets=SECRETS, today=lambda: TODAY)
    try:
        yield backoffice
    finally:
        await backoffice.aclose()


async def test_the_shop_answers_exactly_like_the_sql_back_office(rest: RestBackOffice) -> None:
    for customer, order in ((ANNA, "10023"), (ANNA, "10019"), (JOHN, "10024"), (LENA, "10027")):
        assert await rest.order_status(customer, order) == await FAKE.order_status(customer, order)
        assert await rest.return_eligibility(customer, order) == await FAKE.return_eligibility(customer, order)
    for customer in (ANNA, JOHN):
        assert await rest.list_orders(customer) == await FAKE.list_orders(customer)
    assert await rest.find_customer(email=" Anna.Schmidt@example.com ") == await FAKE.find_customer(
        email="anna.schmidt@example.com"
    )
    assert await rest.find_customer(phone="+44 7700 900123") == await FAKE.find_customer(phone="+447700900123")
    assert await rest.find_customer(email="nobody@example.com") is None
    assert await rest.find_customer() is None


async def test_another_customers_order_answers_like_a_missing_one(rest: RestBackOffice, shop: ShopState) -> None:
    assert await rest.order_status(JOHN, "10023") is None  # Anna's order: the shop answered, the owner differs
    assert shop.hits["order"] == 1
    assert await rest.order_status(JOHN, "99999") is None  # 404
    lookups = Lookups(rest)
    for reference in ("10023", "99999"):
        with pytest.raises(LookupNotFound) as caught:
            await lookups.order_status(JOHN, reference)
        assert (caught.value.kind, caught.value.reference) == ("order", reference)
    assert [o.order_number for o in await rest.list_orders(JOHN)] == ["10031", "10024"]


async def test_list_elements_of_another_customer_are_dropped(shop: ShopState) -> None:
    leaky = shop_config(
        shop, edit=lambda t: t.replace("/customers/{customer_id}/orders", "/customers/CUST-1001/orders")
    )
    rest = RestBackOffice(leaky, secrets=SECRETS)
    try:
        assert await rest.list_orders(JOHN) == ()  # the shop sent Anna's orders; none is John's
        assert len(await rest.list_orders(ANNA)) == 2
    finally:
        await rest.aclose()


async def test_server_errors_are_retried_with_growing_backoff(rest: RestBackOffice, shop: ShopState) -> None:
    shop.script["order"] = [Misbehave.server_error(500), Misbehave.server_error(502)]
    assert await rest.order_status(ANNA, "10023") == await FAKE.order_status(ANNA, "10023")
    arrivals = shop.arrivals["order"]
    assert len(arrivals) == 3
    assert arrivals[1] - arrivals[0] >= 0.09  # backoff 0.1 s, then 0.2 s
    assert arrivals[2] - arrivals[1] >= 0.19


async def test_persistent_server_errors_give_no_answer(rest: RestBackOffice, shop: ShopState) -> None:
    shop.script["order"] = [Misbehave.server_error(503)] * 5
    with pytest.raises(ConnectorUnavailable) as caught:
        await rest.order_status(ANNA, "10023")
    error = caught.value
    assert (error.connector, error.failure, error.attempts, error.tool) == (
        "shop",
        ConnectorFailure.SERVER_ERROR,
        3,
        "order_status",
    )
    assert shop.hits["order"] == 3
    assert "HTTP 503" in error.reason
    for secret in ("10023", ANNA, "http", "127.0.0.1", "/orders"):
        assert secret not in error.reason


async def test_429_waits_for_retry_after(rest: RestBackOffice, shop: ShopState) -> None:
    shop.script["order"] = [Misbehave.rate_limited("1")]
    started = time.monotonic()
    assert await rest.order_status(ANNA, "10019") == await FAKE.order_status(ANNA, "10019")
    assert time.monotonic() - started >= 0.95
    arrivals = shop.arrivals["order"]
    assert len(arrivals) == 2 and arrivals[1] - arrivals[0] >= 0.95


async def test_429_asking_longer_than_allowed_fails_without_waiting(rest: RestBackOffice, shop: ShopState) -> None:
    shop.script["order"] = [Misbehave.rate_limited("120")]
    with pytest.raises(ConnectorUnavailable) as caught:
        await rest.order_status(ANNA, "10019")
    assert (caught.value.failure, caught.value.attempts) == (ConnectorFailure.RATE_LIMITED, 1)
    assert shop.hits["order"] == 1


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = dt.datetime(2026, 11, 23, 12, 0, 0, tzinfo=dt.UTC)
    assert retry_after_seconds("7", now=now) == 7.0
    assert retry_after_seconds("Mon, 23 Nov 2026 12:00:30 GMT", now=now) == 30.0
    assert retry_after_seconds("Mon, 23 Nov 2026 11:00:00 GMT", now=now) == 0.0
    assert retry_after_seconds("soon", now=now) is None
    assert retry_after_seconds(None, now=now) is None


async def test_a_slow_shop_times_out_within_the_budget(shop: ShopState) -> None:
    def tight(text: str) -> str:
        return (
            fast_retries(text)
            .replace("timeout_seconds: 2 ", "timeout_seconds: 0.3 ")
            .replace("budget_seconds: 5 ", "budget_seconds: 0.8 ")
        )

    rest = RestBackOffice(shop_config(shop, edit=tight), secrets=SECRETS)
    shop.script["order"] = [Misbehave.slow(3), Misbehave.slow(3), Misbehave.slow(3)]
    try:
        with pytest.raises(ConnectorUnavailable) as caught:
            await rest.order_status(ANNA, "10023")
    finally:
        await rest.aclose()
    assert caught.value.failure is ConnectorFailure.TIMEOUT
    assert caught.value.attempts == 2  # 0.3 s, wait 0.1 s, 0.3 s: no room for a third inside 0.8 s
    assert shop.hits["order"] == 2


async def test_malformed_json_is_never_an_answer(rest: RestBackOffice, shop: ShopState) -> None:
    shop.script["order"] = [Misbehave.garbage()]
    with pytest.raises(ConnectorUnavailable) as caught:
        await rest.order_status(ANNA, "10023")
    assert (caught.value.failure, caught.value.attempts) == (ConnectorFailure.MALFORMED_RESPONSE, 1)
    assert shop.hits["order"] == 1


async def test_an_answer_about_another_record_is_unreadable(shop: ShopState) -> None:
    wrong = shop_config(shop, edit=lambda t: t.replace("path: /orders/{order_number}", "path: /orders/10019"))
    rest = RestBackOffice(wrong, secrets=SECRETS)
    try:
        with pytest.raises(ConnectorUnavailable) as caught:
            await rest.order_status(ANNA, "10023")
    finally:
        await rest.aclose()
    assert caught.value.failure is ConnectorFailure.MALFORMED_RESPONSE
    assert "different order_number" in caught.value.reason


async def test_find_customer_never_links_a_fuzzy_match(shop: ShopState) -> None:
    fuzzy = shop_config(shop, edit=lambda t: t.replace('phone: "{phone}"', 'phone: "+447700900123"'))
    rest = RestBackOffice(fuzzy, secrets=SECRETS)
    try:
        assert await rest.find_customer(email="nobody@example.com") is None  # the shop offered John
        assert shop.hits["customers"] == 1
    finally:
        await rest.aclose()


async def test_the_oauth_token_is_fetched_once_and_reused(rest: RestBackOffice, shop: ShopState) -> None:
    for order in ("10023", "10019", "10023"):
        assert await rest.order_status(ANNA, order) is not None
    assert (shop.issued, shop.hits["token"]) == (1, 1)
    assert shop.last_headers["order"]["authorization"] == "Bearer tok-1"


async def test_an_expiring_token_is_renewed_before_it_expires(shop: ShopState) -> None:
    now = [1000.0]
    shop.token_lifetime = 60
    rest = RestBackOffice(shop_config(shop), secrets=SECRETS, clock=lambda: now[0])
    try:
        await rest.order_status(ANNA, "10023")
        now[0] += 50
        await rest.order_status(ANNA, "10023")
        assert shop.issued == 1
        now[0] += 5  # inside the last 10 % of its 60 s lifetime
        await rest.order_status(ANNA, "10023")
    finally:
        await rest.aclose()
    assert shop.issued == 2
    assert shop.last_headers["order"]["authorization"] == "Bearer tok-2"


async def test_a_revoked_token_is_replaced_once(rest: RestBackOffice, shop: ShopState) -> None:
    await rest.order_status(ANNA, "10023")
    shop.revoke_tokens()
    assert await rest.order_status(ANNA, "10023") is not None
    assert shop.issued == 2 and shop.hits["order"] == 3  # ok, 401, ok with the new token


async def test_a_wrong_client_secret_is_an_auth_failure(shop: ShopState) -> None:
    rest = RestBackOffice(shop_config(shop), secrets={"shop_client_secret": "wrong"})
    try:
        with pytest.raises(ConnectorUnavailable) as caught:
            await rest.order_status(ANNA, "10023")
    finally:
        await rest.aclose()
    assert (caught.value.failure, caught.value.attempts) == (ConnectorFailure.AUTH_FAILED, 1)
    assert shop.hits["token"] == 1 and "order" not in shop.hits
    assert "wrong" not in str(caught.value)


async def test_an_api_key_goes_in_its_header(shop: ShopState) -> None:
    def api_key(text: str) -> str:
        start, end = text.index("    auth:\n"), text.index("    timeout_seconds:")
        return text[:start] + "    auth: {kind: api_key, header: X-Api-Key, secret: shop_api_key}\n" + text[end:]

    rest = RestBackOffice(shop_config(shop, edit=api_key), secrets=SECRETS)
    try:
        assert await rest.order_status(ANNA, "10023") == await FAKE.order_status(ANNA, "10023")
    finally:
        await rest.aclose()
    assert shop.last_headers["order"]["x-api-key"] == SECRETS["shop_api_key"]
    assert "token" not in shop.hits


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_shop_that_is_down_gives_no_answer(shop: ShopState, tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{_closed_port()}"
    config = shop_config(shop, edit=lambda t: fast_retries(t).replace(shop.base_url, down))
    rest = RestBackOffice(config, secrets=SECRETS)
    try:
        with pytest.raises(ConnectorUnavailable) as caught:
            await rest.order_status(ANNA, "10023")
    finally:
        await rest.aclose()
    assert (caught.value.failure, caught.value.attempts) == (ConnectorFailure.DOWN, 3)


FILE_CLAIM = """\
      file_claim:
        method: POST
        path: /customers/{customer_id}/claims
        headers: {Idempotency-Key: "{idempotency_key}"}
        body: {policy: "{policy_number}", peril: "{risk}", date: "{incident_date}", text: "{description}"}
        at: $.claim
        fields:
          claim_number: $.number
          policy_number: $.policy
          risk: $.peril
          status: $.state
          incident_date: $.incident
          reported_on: $.reported
"""


async def test_a_claim_is_filed_once_even_when_the_answer_is_lost(shop: ShopState) -> None:
    config = shop_config(
        shop, edit=lambda t: fast_retries(t).replace("      find_customer:\n", FILE_CLAIM + "      find_customer:\n")
    )
    rest = RestBackOffice(config, secrets=SECRETS)
    intake = ClaimIntake(
        policy_number="POL-100234",
        risk=Risk.WATER_DAMAGE,
        incident_date=dt.date(2026, 11, 20),
        description="Pipe burst in the kitchen",
        idempotency_key="msg-42",
    )
    shop.script["claims"] = [Misbehave.server_error(502)]  # stored, but the first answer never arrives
    try:
        draft = await rest.file_claim(ANNA, intake)
        again = await rest.file_claim(ANNA, intake)
        not_hers = await rest.file_claim(JOHN, intake)
    finally:
        await rest.aclose()
    assert draft is not None and draft == again
    assert (draft.status, draft.risk, draft.policy_number) == (
        ClaimState.DRAFT_PENDING_HUMAN_REVIEW,
        Risk.WATER_DAMAGE,
        "POL-100234",
    )
    assert draft.source_id == f"lookup:claim_intake:{draft.claim_number}"
    assert list(shop.claims) == ["msg-42"] and shop.hits["claims"] == 3  # 502, retry, the second filing
    assert not_hers is None
    assert shop.last_headers["claims"]["idempotency-key"] == "msg-42"
