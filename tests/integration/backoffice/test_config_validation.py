"""Connector and robot files are refused with every problem as file:line:column, field path and fix."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from knowledge.backoffice.catalog import LookupName
from knowledge.backoffice.connectors import ConnectorKind, load_connectors, load_connectors_file
from knowledge.backoffice.robot import StepKind
from knowledge.backoffice.robot_reader import load_robot, load_robot_file
from knowledge.errors import ConfigProblem, ConnectorConfigInvalid
from tests.integration.backoffice.conftest import EXAMPLE, PORTAL_SECRETS, ROBOT

ORDER_LOOKUP = """\
      order_status:
        path: /orders/{order_number}
        owner: $.customer_id
        fields:
          order_number: $.number
          status: {select: $.state, map: {SHIPPED: shipped, OPEN: processing}}
          ordered_on: $.created
          delivered_on: $.delivered
          items: {each: "$.lines[*]", fields: {sku: $.sku, name: $.title, quantity: $.qty, unit_price: $.price}}
          shipping_fee: $.fee
          total: $.total
          currency: {const: EUR}
"""
DOCUMENT = """\
connectors:
  shop:
    kind: rest
    base_url: http://127.0.0.1:9/api
    auth: {kind: api_key, header: X-Api-Key, secret: shop_key}
    lookups:
{lookups}  db:
    kind: provided
routes:
  order_status: shop
fallback: db
"""
SECRETS = {"shop_key": "k"}


def document(lookups: str = ORDER_LOOKUP) -> str:
    return DOCUMENT.replace("{lookups}", lookups)


def problems_of(text: str, *, secrets: dict[str, str] | None = None) -> list[ConfigProblem]:
    with pytest.raises(ConnectorConfigInvalid) as caught:
        load_connectors(text, source="connectors.yaml", secrets=SECRETS if secrets is None else secrets)
    return list(caught.value.problems)


def where(text: str, needle: str, offset: int = 0) -> tuple[int, int]:
    """1-based line and column of ``needle`` (plus ``offset`` characters) in ``text``."""
    index = text.index(needle) + offset
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def one(problems: list[ConfigProblem], words: str) -> ConfigProblem:
    found = [p for p in problems if words in p.problem]
    assert len(found) == 1, [str(p) for p in problems]
    return found[0]


def test_the_base_document_is_valid() -> None:
    config = load_connectors(document(), source="connectors.yaml", secrets=SECRETS)
    assert config.routes[LookupName.ORDER_STATUS] == "shop" and config.routes[LookupName.COVERAGE] == "db"
    assert config.connectors["shop"].kind is ConnectorKind.REST


def test_an_unknown_field_is_named_with_a_suggestion() -> None:
    text = document().replace("    base_url:", "    bse_url:")
    problems = problems_of(text)
    typo = one(problems, "unknown field 'bse_url'")
    assert (typo.line, typo.column) == where(text, "bse_url")
    assert "did you mean 'base_url'?" in typo.fix
    assert one(problems, "has no 'base_url'").path == "connectors.shop.base_url"


def test_a_bad_selector_points_at_the_character() -> None:
    text = document().replace("order_number: $.number", "order_number: $.data..number")
    problem = one(problems_of(text), "invalid selector")
    assert (problem.line, problem.column) == where(text, "$.data..number", offset=7)
    assert problem.path == "connectors.shop.lookups.order_status.fields.order_number"
    assert "$.data.status" in problem.fix


def test_an_unknown_placeholder_points_into_the_path() -> None:
    text = document().replace("/orders/{order_number}", "/orders/{order_id}")
    problem = one(problems_of(text), "unknown placeholder '{order_id}'")
    assert (problem.line, problem.column) == where(text, "{order_id}")
    assert problem.fix == "use one of: {customer_id}, {order_number}"


def test_every_required_model_field_must_be_mapped() -> None:
    text = document().replace("          total: $.total\n", "")
    problem = one(problems_of(text), "OrderStatus needs total")
    assert (problem.line, problem.column) == where(text, "order_number: $.number")
    assert "{const: ...}" in problem.fix


def test_a_lookup_must_be_scoped_to_the_customer() -> None:
    text = document().replace("        owner: $.customer_id\n", "")
    problem = one(problems_of(text), "not scoped to the customer")
    assert "owner: $.customer_id" in problem.fix and "{customer_id}" in problem.fix
    scoped_by_path = text.replace("/orders/{order_number}", "/customers/{customer_id}/orders/{order_number}")
    load_connectors(scoped_by_path, source="connectors.yaml", secrets=SECRETS)


def test_translated_values_must_fit_the_model() -> None:
    text = document().replace("SHIPPED: shipped", "SHIPPED: shiped")
    problem = one(problems_of(text), "'shiped' is not a valid value for OrderStatus.status")
    assert (problem.line, problem.column) == where(text, "shiped")
    assert "processing, shipped, delivered, cancelled" in problem.fix


def test_a_secret_that_is_not_provided_is_named_where_it_is_used() -> None:
    text = document()
    problem = one(problems_of(text, secrets={"other": "x"}), "secret 'shop_key' is not provided")
    assert (problem.line, problem.column) == where(text, "shop_key")
    assert "other" in problem.fix


def test_routes_must_reach_connectors_that_declare_the_lookup() -> None:
    text = document().replace("  order_status: shop\n", "  order_status: shop\n  coverage: shop\n  claim_status: shp\n")
    problems = problems_of(text)
    undeclared = one(problems, "does not declare 'coverage'")
    assert (undeclared.line, undeclared.column) == where(text, "shop\n  claim_status")
    assert "did you mean 'shop'?" in one(problems, "no connector named 'shp'").fix


def test_without_a_fallback_every_lookup_needs_a_route() -> None:
    problem = one(problems_of(document().replace("fallback: db\n", "")), "no connector answers")
    assert "find_customer" in problem.problem and "coverage" in problem.problem
    assert "fallback" in problem.fix


def test_all_problems_come_at_once_in_document_order() -> None:
    text = (
        document()
        .replace("bse", "")
        .replace("    base_url:", "    base_url: ftp://x\n    bse_url:")
        .replace("SHIPPED: shipped", "SHIPPED: shiped")
        .replace("/orders/{order_number}", "/orders/{order_id}")
    )
    problems = problems_of(text)
    assert len(problems) >= 3
    assert [(p.line, p.column) for p in problems] == sorted((p.line, p.column) for p in problems)
    text_of_first = str(problems[0])
    assert text_of_first.startswith(f"connectors.yaml:{problems[0].line}:{problems[0].column}: connectors.shop.")
    assert " Fix: " in text_of_first


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("connectors:\n\tshop: {}\n", "invalid YAML"),
        ("connectors: &c {}\nroutes: *c\n", "anchor '&c' is not allowed"),
        ("connectors: {}\nconnectors: {}\n", "duplicate key 'connectors'"),
        ("connectors: !!python/object {}\n", "tag 'tag:yaml.org,2002:python/object' is not allowed"),
    ],
)
def test_unsafe_or_broken_yaml_is_refused_with_its_position(text: str, words: str) -> None:
    problem = one(problems_of(text), words)
    assert problem.line >= 1 and problem.column >= 1
    if "duplicate" in words:
        assert problem.line == 2


def test_the_shipped_example_and_robot_are_valid(tmp_path: Path) -> None:
    config = load_connectors_file(EXAMPLE, secrets={"shop_client_secret": "s", **PORTAL_SECRETS})
    assert {e.kind for e in config.connectors.values()} == set(ConnectorKind)
    assert config.routes[LookupName.CLAIM_STATUS] == "claims_portal"
    assert config.routes[LookupName.COVERAGE] == "backoffice_db"
    assert config.longest_budget_seconds == 15 + 3  # the robot's budget and its screenshot grace
    assert set(load_robot_file(ROBOT).lookups) == {"claim_status", "contract"}


ROBOT_TEXT = """\
name: portal
login:
  - goto: /login
  - fill: {selector: "#user", secret: portal_user}
lookups:
  claim_status:
    - goto: /claims?claim_number={claim_number}
    - wait_for: {selector: "#claim", missing: "#none"}
    - read: {field: customer_id, selector: "#customer"}
    - read: {field: claim_number, selector: "#number"}
    - read: {field: policy_number, selector: "#policy"}
    - read: {field: risk, selector: "#risk", map: {Water: water_damage}}
    - read: {field: status, selector: "#status"}
    - read: {field: incident_date, selector: "#incident", date_format: "%d.%m.%Y"}
    - read: {field: reported_on, selector: "#reported", date_format: "%d.%m.%Y"}
    - read: {field: last_update, selector: "#updated", date_format: "%d.%m.%Y"}
    - read: {field: open_documents, selector: "#docs li", all: true}
"""


def robot_problems(text: str) -> list[ConfigProblem]:
    with pytest.raises(ConnectorConfigInvalid) as caught:
        load_robot(text, source="robot.yaml")
    return list(caught.value.problems)


def test_the_base_robot_is_valid() -> None:
    robot = load_robot(ROBOT_TEXT, source="robot.yaml")
    assert [s.kind for s in robot.lookups[LookupName.CLAIM_STATUS].steps][:2] == [StepKind.GOTO, StepKind.WAIT_FOR]


@pytest.mark.parametrize(
    ("change", "needle", "words", "fix"),
    [
        (("- wait_for:", "- wiat_for:"), "wiat_for", "unknown step 'wiat_for'", "did you mean 'wait_for'?"),
        (("goto: /login", "goto: https://elsewhere.example/login"), "https://", "must stay on the portal", "/search"),
        (
            ("secret: portal_user", 'value: "{claim_number}"'),
            '{claim_number}"}',
            "unknown placeholder",
            "login steps use no placeholders",
        ),
        (
            (
                'date_format: "%d.%m.%Y"}\n    - read: {field: reported_on',
                'date_format: "%d.%m"}\n    - read: {field: reported_on',
            ),
            '"%d.%m"',
            "not a full date format",
            "%d.%m.%Y",
        ),
        (
            ("{Water: water_damage}", "{Water: flood}"),
            "flood",
            "'flood' is not a valid value for ClaimStatus.risk",
            "water_damage",
        ),
        (
            ('selector: "#docs li", all: true', 'selector: "#docs li"'),
            "open_documents",
            "holds a list of texts",
            "all: true",
        ),
        (
            ('    - read: {field: customer_id, selector: "#customer"}\n', ""),
            "claim_status:",
            "not scoped to the customer",
            "customer_id",
        ),
        (
            ('    - read: {field: status, selector: "#status"}\n', ""),
            "claim_status:",
            "never read status",
            "field: status",
        ),
    ],
)
def test_robot_problems_say_where_and_how(change: tuple[str, str], needle: str, words: str, fix: str) -> None:
    text = ROBOT_TEXT.replace(*change)
    assert text != ROBOT_TEXT
    problem = one(robot_problems(text), words)
    assert (problem.line, problem.column) == where(text, needle)
    assert fix in problem.fix


@pytest.mark.parametrize(
    ("lookup", "words"),
    [
        ("file_claim", "robots do not file claims"),
        ("list_orders", "list lookups need a REST or SQL connector"),
    ],
)
def test_robots_refuse_lookups_they_cannot_do_safely(lookup: str, words: str) -> None:
    text = ROBOT_TEXT + f"  {lookup}:\n    - goto: /x\n"
    assert one(robot_problems(text), words).line == where(text, f"  {lookup}:")[0]


def test_a_robot_cannot_read_nested_records() -> None:
    text = textwrap.dedent("""\
        name: shop
        lookups:
          order_status:
            - goto: /orders/{order_number}
            - read: {field: items, selector: "#items"}
        """)
    problem = one(robot_problems(text), "'items' holds records, which robots cannot read")
    assert "REST or SQL" in problem.fix


def test_robot_problems_keep_the_robot_file_as_their_source(tmp_path: Path) -> None:
    robot = tmp_path / "robots" / "portal.yaml"
    robot.parent.mkdir()
    robot.write_text(ROBOT_TEXT.replace("- wait_for:", "- wiat_for:"), encoding="utf-8")
    config = tmp_path / "connectors.yaml"
    config.write_text(
        "connectors:\n  portal:\n    kind: rpa\n    base_url: http://127.0.0.1:9\n"
        "    robot: robots/portal.yaml\n  db: {kind: provided}\nfallback: db\n",
        encoding="utf-8",
    )
    with pytest.raises(ConnectorConfigInvalid) as caught:
        load_connectors_file(config, secrets={"portal_user": "u"})
    sources = {p.source for p in caught.value.problems}
    assert str(robot) in sources
    missing = config.read_text().replace("robots/portal.yaml", "robots/nope.yaml")
    config.write_text(missing, encoding="utf-8")
    with pytest.raises(ConnectorConfigInvalid) as caught:
        load_connectors_file(config)
    assert (caught.value.problems[0].line, caught.value.problems[0].column) == where(missing, "robots/nope.yaml")
