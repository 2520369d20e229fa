"""Real local servers for the connector tests: the shop API (``shop_api.py``) and the demo claims portal
(``devtools/claims_portal.py``) over a seeded SQLite back office, each uvicorn on 127.0.0.1, free port."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.claims_portal import DEMO_PASSWORD, DEMO_USER, create_app
from knowledge.backoffice import seed_backoffice
from tests.integration.backoffice.shop_api import ShopState, running_shop, serve_in_thread

TODAY = dt.date(2026, 11, 23)
ANNA, JOHN, LENA = "CUST-1001", "CUST-1002", "CUST-1003"
BACKOFFICE_DIR = Path(__file__).resolve().parents[3] / "knowledge" / "backoffice"
EXAMPLE = BACKOFFICE_DIR / "connectors.example.yaml"
ROBOT = BACKOFFICE_DIR / "robots" / "claims_portal.yaml"
PORTAL_SECRETS = {"claims_portal_user": DEMO_USER, "claims_portal_password": DEMO_PASSWORD}


@pytest.fixture(scope="module")
def shop_server() -> Iterator[ShopState]:
    with running_shop() as state:
        yield state


@pytest.fixture
def shop(shop_server: ShopState) -> ShopState:
    shop_server.reset()
    return shop_server


@pytest.fixture(scope="module")
def backoffice_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return asyncio.run(seed_backoffice(tmp_path_factory.mktemp("backoffice") / "backoffice.db", today=TODAY))


@pytest.fixture(scope="module")
def portal(backoffice_db: Path) -> Iterator[str]:
    with serve_in_thread(create_app(backoffice_db, today=lambda: TODAY), what="the demo claims portal") as url:
        yield url


def example_text(*, shop_url: str, portal_url: str = "http://127.0.0.1:8766") -> str:
    """The shipped example config, pointed at the local servers."""
    return (
        EXAMPLE.read_text(encoding="utf-8")
        .replace("https://shop.example.com", shop_url)
        .replace("http://127.0.0.1:8766", portal_url)
    )
