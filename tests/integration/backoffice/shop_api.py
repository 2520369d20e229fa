"""A local shop API over real HTTP, the counterpart of ``knowledge/backoffice/connectors.example.yaml``.

It serves the demo shop (``demo_data``) in its own JSON shape (upper-case states, nested customer, order
lines, totals), behind OAuth2 client credentials or an API key. Tests script misbehaviour per route:
``state.script["order"] = [Misbehave.server_error(), Misbehave.ok()]`` makes the next two order requests
fail with 500 and then answer. Also used by ``bench/connectors.py``.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from knowledge.backoffice.demo import DemoData, demo_data
from knowledge.backoffice.models import ReturnState
from knowledge.backoffice.records import OrderRow

CLIENT_ID = "glassdesk"
CLIENT_SECRET = "shop-client-secret"
API_KEY = "shop-api-key"
SECRETS = {"shop_client_secret": CLIENT_SECRET, "shop_api_key": API_KEY}


@dataclass(frozen=True)
class Misbehave:
    """One scripted answer: ``status`` (with ``retry_after``), a ``delay`` first, or a ``malformed`` body."""

    status: int = 200
    delay: float = 0.0
    retry_after: str | None = None
    malformed: bool = False

    @staticmethod
    def ok() -> Misbehave:
        return Misbehave()

    @staticmethod
    def server_error(status: int = 500) -> Misbehave:
        return Misbehave(status=status)

    @staticmethod
    def rate_limited(retry_after: str) -> Misbehave:
        return Misbehave(status=429, retry_after=retry_after)

    @staticmethod
    def slow(seconds: float) -> Misbehave:
        return Misbehave(delay=seconds)

    @staticmethod
    def garbage() -> Misbehave:
        return Misbehave(malformed=True)


@dataclass
class ShopState:
    base_url: str = ""
    data: DemoData = field(default_factory=lambda: demo_data(dt.date(2026, 11, 23)))
    token_lifetime: int = 3600
    script: dict[str, list[Misbehave]] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    arrivals: dict[str, list[float]] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    issued: int = 0
    claims: dict[str, dict[str, Any]] = field(default_factory=dict)  # by Idempotency-Key
    last_headers: dict[str, dict[str, str]] = field(default_factory=dict)

    def reset(self) -> None:
        self.script.clear()
        self.hits.clear()
        self.arrivals.clear()
        self.last_headers.clear()
        self.tokens.clear()
        self.claims.clear()
        self.issued = 0
        self.token_lifetime = 3600

    def revoke_tokens(self) -> None:
        self.tokens.clear()


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _order_json(data: DemoData, order: OrderRow) -> dict[str, Any]:
    shipment = next((s for s in data.shipments if s.order_number == order.order_number), None)
    open_return = next(
        (
            r
            for r in data.returns
            if r.order_number == order.order_number and r.status in (ReturnState.REQUESTED, ReturnState.RECEIVED)
        ),
        None,
    )
    return {
        "number": order.order_number,
        "customer": {"id": order.customer_id},
        "state": order.status.value.upper(),
        "created": order.ordered_on.isoformat(),
        "delivered": order.delivered_on.isoformat() if order.delivered_on else None,
        "lines": [
            {"sku": i.sku, "title": i.name, "qty": i.quantity, "price": _money(i.unit_price)} for i in order.items
        ],
        "shipping": {"fee": _money(order.shipping_fee)},
        "totals": {"gross": _money(order.total), "currency": order.currency},
        "shipment": None
        if shipment is None
        else {
            "carrier": shipment.carrier,
            "tracking": shipment.tracking_number,
            "status": shipment.status.value,
            "shipped": shipment.shipped_on.isoformat(),
            "eta": shipment.eta.isoformat(),
        },
        "open_return": None
        if open_return is None
        else {
            "id": open_return.return_id,
            "order": open_return.order_number,
            "status": open_return.status.value,
            "requested": open_return.requested_on.isoformat(),
            "refund": _money(open_return.refund_amount),
        },
    }


def create_app(state: ShopState) -> Starlette:
    async def misbehave(route: str, request: Request) -> Response | None:
        state.hits[route] = state.hits.get(route, 0) + 1
        state.arrivals.setdefault(route, []).append(time.monotonic())
        state.last_headers[route] = dict(request.headers)
        queue = state.script.get(route)
        step = queue.pop(0) if queue else Misbehave.ok()
        if step.delay:
            await asyncio.sleep(step.delay)
        if step.malformed:
            return PlainTextResponse('{"data": {"number": "100', media_type="application/json")
        if step.status != 200:
            headers = {"Retry-After": step.retry_after} if step.retry_after is not None else {}
            return JSONResponse({"error": "scripted"}, status_code=step.status, headers=headers)
        return None

    def authorized(request: Request) -> bool:
        if request.headers.get("x-api-key") == API_KEY:
            return True
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and token in state.tokens

    async def token(request: Request) -> Response:
        if (early := await misbehave("token", request)) is not None:
            return early
        form = await request.form()
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if form.get("grant_type") != "client_credentials" or scheme != "Basic" or encoded != expected:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        state.issued += 1
        issued = f"tok-{state.issued}"
        state.tokens.add(issued)
        return JSONResponse({"access_token": issued, "token_type": "Bearer", "expires_in": state.token_lifetime})

    async def order(request: Request) -> Response:
        if (early := await misbehave("order", request)) is not None:
            return early
        if not authorized(request):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        number = request.path_params["number"]
        row = next((o for o in state.data.orders if o.order_number == number), None)
        if row is None:
            return JSONResponse({"error": "not_found"}, status_code=404)
        return JSONResponse({"data": _order_json(state.data, row)})

    async def orders(request: Request) -> Response:
        if (early := await misbehave("orders", request)) is not None:
            return early
        if not authorized(request):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        mine = sorted(
            (o for o in state.data.orders if o.customer_id == request.path_params["customer"]),
            key=lambda o: (o.ordered_on, o.order_number),
            reverse=True,
        )
        return JSONResponse({"orders": [_order_json(state.data, o) for o in mine]})

    async def customers(request: Request) -> Response:
        if (early := await misbehave("customers", request)) is not None:
            return early
        if not authorized(request):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        email, phone = request.query_params.get("email"), request.query_params.get("phone")
        found = [c for c in state.data.customers if (email and c.email == email) or (phone and c.phone == phone)]
        return JSONResponse(
            {
                "results": [
                    {"id": c.customer_id, "name": c.name, "email": c.email, "phone": c.phone, "locale": c.language}
                    for c in found
                ]
            }
        )

    async def file_claim(request: Request) -> Response:
        """The insurer side: a claim draft per Idempotency-Key; the policy must be the customer's."""
        if not authorized(request):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        body = await request.json()
        key = request.headers.get("idempotency-key", "")
        customer = request.path_params["customer"]
        if not key:
            return JSONResponse({"error": "Idempotency-Key required"}, status_code=400)
        policy = next(
            (c for c in state.data.contracts if c.policy_number == body.get("policy") and c.customer_id == customer),
            None,
        )
        if policy is None:
            return JSONResponse({"error": "not_found"}, status_code=404)
        if key not in state.claims:
            state.claims[key] = {
                "number": f"CLM-2026-{9000 + len(state.claims):04d}",
                "policy": policy.policy_number,
                "peril": body["peril"],
                "state": "draft_pending_human_review",
                "incident": body["date"],
                "reported": "2026-11-23",
            }
        if (early := await misbehave("claims", request)) is not None:  # stored, then the answer is lost
            return early
        return JSONResponse({"claim": state.claims[key]}, status_code=201)

    return Starlette(
        routes=[
            Route("/api/v2/customers/{customer}/claims", file_claim, methods=["POST"]),
            Route("/oauth/token", token, methods=["POST"]),
            Route("/api/v2/orders/{number}", order),
            Route("/api/v2/customers/{customer}/orders", orders),
            Route("/api/v2/customers", customers),
        ]
    )


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serve_in_thread(app: Starlette, *, what: str) -> Iterator[str]:
    """Run ``app`` with uvicorn on 127.0.0.1 (free port) in a thread; yields its base URL."""
    sock = free_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"{what} did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextmanager
def running_shop() -> Iterator[ShopState]:
    state = ShopState()
    with serve_in_thread(create_app(state), what="the local shop API") as base_url:
        state.base_url = base_url
        yield state


def default_app() -> Starlette:
    """``uvicorn --factory tests.integration.backoffice.shop_api:default_app`` (the connectors bench)."""
    return create_app(ShopState())
