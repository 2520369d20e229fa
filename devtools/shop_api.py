"""A demo shop REST API, for developing and trying the REST connector.

It answers from the demo back office's orders (``bo_orders``, ``bo_shipments``, ``bo_returns`` in the
SQLite file that ``seed_backoffice`` writes, the same rows the SQL back office reads), in the shop's own
JSON shape: upper-case states, a nested customer, order lines, totals. That is the shape
``devtools/connectors.demo.yaml`` (and ``knowledge/backoffice/connectors.example.yaml``) maps onto the
back-office models. Every call needs a bearer token from ``POST /oauth/token`` (OAuth2 client credentials,
HTTP Basic client authentication) for ``DEMO_CLIENT_ID`` / ``DEMO_CLIENT_SECRET``.

    .venv/bin/python -m devtools.shop_api --port 8767 --db var/backoffice.db

Each request is logged on stdout as ``shop-api: GET /api/v2/orders/10023 200`` (method, path and status,
never a query string or a body). Development only: tokens live in memory and the secret is fixed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import json
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import uvicorn
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from knowledge.backoffice import ReturnState, seed_backoffice
from knowledge.backoffice.sql import backoffice_url, metadata

__all__ = ["API_PREFIX", "DEMO_CLIENT_ID", "DEMO_CLIENT_SECRET", "TOKEN_PATH", "create_app", "serve"]

DEMO_CLIENT_ID = "glassdesk"
DEMO_CLIENT_SECRET = "demo-shop-secret"
API_PREFIX = "/api/v2"
TOKEN_PATH = "/oauth/token"
TOKEN_LIFETIME_S = 3600
_OPEN_RETURNS = (ReturnState.REQUESTED.value, ReturnState.RECEIVED.value)
_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def _money(value: object) -> str:
    return f"{Decimal(str(value)):.2f}"


def _iso(value: Any) -> str | None:
    return None if value is None else str(value.isoformat())


def _error(code: str, status: int, **headers: str) -> JSONResponse:
    return JSONResponse({"error": code}, status_code=status, headers={**_HEADERS, **headers})


class _Shop:
    def __init__(self, engine: AsyncEngine, *, client_id: str, client_secret: str) -> None:
        self.engine = engine
        self.client_id = client_id
        self.client_secret = client_secret
        self.tokens: dict[str, float] = {}  # token -> monotonic expiry

    def authorized(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        expiry = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        return expiry is not None and expiry > time.monotonic()

    async def token(self, request: Request) -> Response:
        form = await request.form()
        if form.get("grant_type") != "client_credentials":
            return _error("unsupported_grant_type", 400)
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            client_id, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            client_id, secret = "", ""
        good_id = secrets.compare_digest(client_id.encode(), self.client_id.encode())
        good_secret = secrets.compare_digest(secret.encode(), self.client_secret.encode())
        if scheme.lower() != "basic" or not (good_id and good_secret):
            return _error("invalid_client", 401, **{"WWW-Authenticate": 'Basic realm="shop"'})
        now = time.monotonic()
        self.tokens = {t: e for t, e in self.tokens.items() if e > now}
        issued = secrets.token_urlsafe(24)
        self.tokens[issued] = now + TOKEN_LIFETIME_S
        body = {"access_token": issued, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME_S}
        return JSONResponse(body, headers=_HEADERS)

    async def _order_json(self, conn: AsyncConnection, row: sa.RowMapping) -> dict[str, Any]:
        shipments, returns = metadata.tables["bo_shipments"], metadata.tables["bo_returns"]
        number = row["order_number"]
        ship = (await conn.execute(sa.select(shipments).where(shipments.c.order_number == number))).mappings().first()
        ret = (
            (
                await conn.execute(
                    sa.select(returns)
                    .where(returns.c.order_number == number, returns.c.status.in_(_OPEN_RETURNS))
                    .order_by(returns.c.requested_on)
                )
            )
            .mappings()
            .first()
        )
        lines = json.loads(row["items"])
        fee = Decimal(str(row["shipping_fee"]))
        gross = sum((Decimal(str(i["unit_price"])) * int(i["quantity"]) for i in lines), Decimal("0")) + fee
        return {
            "number": number,
            "customer": {"id": row["customer_id"]},
            "state": str(row["status"]).upper(),
            "created": _iso(row["ordered_on"]),
            "delivered": _iso(row["delivered_on"]),
            "lines": [
                {"sku": i["sku"], "title": i["name"], "qty": i["quantity"], "price": _money(i["unit_price"])}
                for i in lines
            ],
            "shipping": {"fee": _money(fee)},
            "totals": {"gross": _money(gross), "currency": row["currency"]},
            "shipment": None
            if ship is None
            else {
                "carrier": ship["carrier"],
                "tracking": ship["tracking_number"],
                "status": ship["status"],
                "shipped": _iso(ship["shipped_on"]),
                "eta": _iso(ship["eta"]),
            },
            "open_return": None
            if ret is None
            else {
                "id": ret["return_id"],
                "order": ret["order_number"],
                "status": ret["status"],
                "requested": _iso(ret["requested_on"]),
                "refund": _money(ret["refund_amount"]),
            },
        }

    async def order(self, request: Request) -> Response:
        if not self.authorized(request):
            return _error("unauthorized", 401, **{"WWW-Authenticate": "Bearer"})
        orders = metadata.tables["bo_orders"]
        async with self.engine.connect() as conn:
            query = sa.select(orders).where(orders.c.order_number == request.path_params["number"])
            row = (await conn.execute(query)).mappings().first()
            if row is None:
                return _error("not_found", 404)
            return JSONResponse({"data": await self._order_json(conn, row)}, headers=_HEADERS)

    async def customer_orders(self, request: Request) -> Response:
        if not self.authorized(request):
            return _error("unauthorized", 401, **{"WWW-Authenticate": "Bearer"})
        orders = metadata.tables["bo_orders"]
        query = (
            sa.select(orders)
            .where(orders.c.customer_id == request.path_params["customer"])
            .order_by(orders.c.ordered_on.desc(), orders.c.order_number.desc())
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
            found = [await self._order_json(conn, r) for r in rows]
        return JSONResponse({"orders": found}, headers=_HEADERS)


def _logged(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        response = await handler(request)
        print(f"shop-api: {request.method} {request.url.path} {response.status_code}", flush=True)
        return response

    return run


def create_app(db_path: Path, *, client_id: str = DEMO_CLIENT_ID, client_secret: str = DEMO_CLIENT_SECRET) -> Starlette:
    """The shop over the demo back-office database at ``db_path`` (seed it with ``seed_backoffice``)."""
    engine = create_async_engine(backoffice_url(db_path))
    shop = _Shop(engine, client_id=client_id, client_secret=client_secret)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await engine.dispose()

    return Starlette(
        lifespan=lifespan,
        routes=[
            Route(TOKEN_PATH, _logged(shop.token), methods=["POST"]),
            Route(API_PREFIX + "/orders/{number}", _logged(shop.order)),
            Route(API_PREFIX + "/customers/{customer}/orders", _logged(shop.customer_orders)),
        ],
    )


async def serve(host: str = "127.0.0.1", port: int = 8767, db_path: Path = Path("var/backoffice.db")) -> None:
    """Seed the demo back office at ``db_path`` if needed, then serve the shop until interrupted."""
    await seed_backoffice(db_path)
    server = uvicorn.Server(uvicorn.Config(create_app(db_path), host=host, port=port, log_level="warning"))
    await server.serve()


def main() -> None:  # pragma: no cover - a thin command line around serve()
    parser = argparse.ArgumentParser(description="Serve the demo shop REST API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--db", type=Path, default=Path("var/backoffice.db"))
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port, args.db))


if __name__ == "__main__":  # pragma: no cover
    main()
