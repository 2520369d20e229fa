"""The two small languages of connector configs: JSONPath-like selectors and ``{placeholder}`` templates."""

from __future__ import annotations

import pytest

from knowledge.backoffice.selector import MISSING, SelectorSyntaxError, parse_selector
from knowledge.backoffice.template import TemplateSyntaxError, parse_template

ANSWER = {
    "data": {
        "status": "SHIPPED",
        "customer": {"id": "CUST-1001"},
        "note": None,
        "items": [{"carrier": "DHL", "sku": "A"}, {"carrier": "UPS", "sku": "B"}],
        "odd key": 7,
    },
}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("$.data.status", "SHIPPED"),
        ("$.data.customer.id", "CUST-1001"),
        ("$.data.items[0].carrier", "DHL"),
        ("$.data.items[-1].sku", "B"),
        ("$['data']['odd key']", 7),
        ("$.data.note", None),
    ],
)
def test_a_selector_finds_its_value(text: str, value: object) -> None:
    assert parse_selector(text).one(ANSWER) == value


@pytest.mark.parametrize("text", ["$.data.missing", "$.data.items[5].sku", "$.data.status.deeper", "$.data[0]"])
def test_a_broken_path_is_missing_not_null(text: str) -> None:
    assert parse_selector(text).one(ANSWER) is MISSING


def test_wildcards_select_every_element_or_nothing() -> None:
    assert parse_selector("$.data.items[*].sku").many_values(ANSWER) == ["A", "B"]
    assert parse_selector("$.data.items").many_values(ANSWER) == ANSWER["data"]["items"]
    assert parse_selector("$.data.items[*].price").many_values(ANSWER) is None  # one element lacks it
    assert parse_selector("$.data.lines[*]").many_values(ANSWER) is None
    assert parse_selector("$.data.empty[*]").many_values({"data": {"empty": []}}) == []


@pytest.mark.parametrize(
    ("text", "offset", "words"),
    [
        ("data.status", 0, "starts with '$'"),
        ("$.data..status", 7, "member name"),
        ("$.items[x]", 8, "not an index"),
        ("$.items[0", 7, "never closed"),
        ("$.a[*].b[*]", 8, "at most one"),
        ("$.a b", 3, "unexpected ' '"),
    ],
)
def test_selector_errors_say_where(text: str, offset: int, words: str) -> None:
    with pytest.raises(SelectorSyntaxError) as caught:
        parse_selector(text)
    assert caught.value.offset == offset
    assert words in caught.value.message


def test_templates_render_and_encode_values() -> None:
    template = parse_template("/customers/{customer_id}/orders/{order_number}", allowed=("customer_id", "order_number"))
    assert template.variables == ("customer_id", "order_number")
    rendered = template.render({"customer_id": "C 1", "order_number": "../x"}, encode=lambda v: v.replace("/", "%2F"))
    assert rendered == "/customers/C 1/orders/..%2Fx"
    assert template.render({"customer_id": "C1", "order_number": None}) is None


@pytest.mark.parametrize(
    ("text", "offset", "words"),
    [
        ("/orders/{order_id}", 8, "unknown placeholder '{order_id}'"),
        ("/orders/{order_number", 8, "unmatched '{'"),
        ("/orders/}", 8, "unmatched '}'"),
        ("/orders/{Order Number}", 8, "not a placeholder name"),
    ],
)
def test_template_errors_say_where(text: str, offset: int, words: str) -> None:
    with pytest.raises(TemplateSyntaxError) as caught:
        parse_template(text, allowed=("order_number",))
    assert caught.value.offset == offset
    assert words in caught.value.message
