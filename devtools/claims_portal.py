"""A demo legacy insurance portal, for developing and testing the RPA connector.

Deliberately old-fashioned: server-rendered HTML forms, a login that sets a session cookie, table layout,
a search by claim number and by contract number, no JSON API. It reads the demo back office's claims
and contracts (``bo_claims``, ``bo_contracts``, ``bo_customers`` in the SQLite file that
``seed_backoffice`` writes), shows dates as DD.MM.YYYY and amounts with a decimal comma, and labels
states in words, so the robot in ``knowledge/backoffice/robots/claims_portal.yaml`` has real work to do.

    .venv/bin/python -m devtools.claims_portal --port 8766 --db var/backoffice.db

Log in as ``clerk`` / ``legacy-portal`` (``DEMO_USER``/``DEMO_PASSWORD``). Development only: sessions
live in memory and the password is fixed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import html
import secrets
from collections.abc import AsyncIterator, Callable, Mapping
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from knowledge.backoffice import ClaimState, ContractState, Product, Risk, seed_backoffice
from knowledge.backoffice.records import next_renewal
from knowledge.backoffice.sql import backoffice_url, metadata

__all__ = ["DEMO_PASSWORD", "DEMO_USER", "SESSION_COOKIE", "create_app", "serve"]

DEMO_USER = "clerk"
DEMO_PASSWORD = "legacy-portal"
SESSION_COOKIE = "PORTALSESSION"

CLAIM_STATES = {
    ClaimState.DRAFT_PENDING_HUMAN_REVIEW: "Draft (pending review)",
    ClaimState.SUBMITTED: "Submitted",
    ClaimState.IN_REVIEW: "In review",
    ClaimState.AWAITING_DOCUMENTS: "Awaiting documents",
    ClaimState.APPROVED: "Approved",
    ClaimState.REJECTED: "Rejected",
    ClaimState.PAID: "Paid",
    ClaimState.CLOSED: "Closed",
}
RISKS = {
    Risk.WATER_DAMAGE: "Water damage",
    Risk.FIRE: "Fire",
    Risk.BURGLARY: "Burglary",
    Risk.STORM_HAIL: "Storm / hail",
    Risk.BICYCLE_THEFT: "Bicycle theft",
    Risk.GLASS_BREAKAGE: "Glass breakage",
    Risk.NATURAL_HAZARDS: "Natural hazards",
    Risk.PERSONAL_LIABILITY: "Personal liability",
    Risk.RENTED_PROPERTY: "Rented property",
    Risk.LOST_KEYS: "Lost keys",
}
PRODUCTS = {Product.HOUSEHOLD_CONTENTS: "Household contents", Product.PERSONAL_LIABILITY: "Personal liability"}
CONTRACT_STATES = {ContractState.ACTIVE: "Active", ContractState.CANCELLED: "Cancelled"}
INTERVALS = {"monthly": "per month", "yearly": "per year"}
DOCUMENTS = {"photos": "Photos of the damage", "repair_estimate": "Repair estimate"}

_STYLE = (
    "body{font-family:Verdana,Arial,sans-serif;font-size:12px;background:#d4d0c8}"
    "th{background:#003366;color:#fff;text-align:left}td.label{background:#e8e8e8;font-weight:bold}"
)
_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
}


def _date(value: dt.date) -> str:
    return value.strftime("%d.%m.%Y")


def _money(value: Decimal | str, currency: str) -> str:
    text = f"{Decimal(value):,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return f"{text} {currency}"


def _page(title: str, body: str, *, user: str | None = None) -> HTMLResponse:
    bar = (
        f'Logged in as <b>{html.escape(user)}</b> | <a href="/search">Search</a> | <a href="/logout">Log out</a>'
        if user
        else "&nbsp;"
    )
    document = (
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">\n'
        f"<html><head><title>{html.escape(title)} - Claims Portal</title><style>{_STYLE}</style></head>"
        '<body><table width="100%" border="0" cellpadding="4" cellspacing="0">'
        '<tr><td bgcolor="#003366"><font color="#ffffff" size="4"><b>CLAIMS PORTAL</b> v2.3</font></td>'
        f'<td bgcolor="#003366" align="right"><font color="#ffffff">{bar}</font></td></tr></table>'
        f"<h3>{html.escape(title)}</h3>{body}"
        '<hr><font size="1">&copy; Legacy Insurance Systems. Best viewed in 1024x768.</font></body></html>'
    )
    return HTMLResponse(document, headers=_HEADERS)


def _search_forms(claim: str = "", contract: str = "") -> str:
    return (
        '<table border="1" cellpadding="6" cellspacing="0"><tr><td valign="top">'
        '<form id="claim-search" method="get" action="/claims">Claim number:<br>'
        f'<input type="text" name="claim_number" size="20" value="{html.escape(claim)}"> '
        '<input type="submit" value="Search claim"></form></td><td valign="top">'
        '<form id="contract-search" method="get" action="/contracts">Contract number:<br>'
        f'<input type="text" name="contract_number" size="20" value="{html.escape(contract)}"> '
        '<input type="submit" value="Search contract"></form></td></tr></table>'
    )


def _record(table_id: str, rows: list[tuple[str, str, str]]) -> str:
    cells = "".join(
        f'<tr><td class="label">{html.escape(label)}</td><td id="{cell_id}">{value}</td></tr>'
        for label, cell_id, value in rows
    )
    return f'<br><table id="{table_id}" class="record" border="1" cellpadding="3" cellspacing="0">{cells}</table>'


class _Portal:
    def __init__(self, engine: AsyncEngine, *, users: Mapping[str, str], today: Callable[[], dt.date]) -> None:
        self.engine = engine
        self.users = dict(users)
        self.today = today
        self.sessions: dict[str, str] = {}

    def user(self, request: Request) -> str | None:
        return self.sessions.get(request.cookies.get(SESSION_COOKIE, ""))

    async def login_form(self, request: Request) -> Response:
        failed = request.query_params.get("failed") == "1"
        message = '<p id="login-error"><font color="#cc0000">Login failed.</font></p>' if failed else ""
        return _page(
            "Login",
            message
            + (
                '<form id="login" method="post" action="/login"><table border="0" cellpadding="3">'
                '<tr><td>User name:</td><td><input type="text" name="username" size="20"></td></tr>'
                '<tr><td>Password:</td><td><input type="password" name="password" size="20"></td></tr>'
                '<tr><td></td><td><input type="submit" value="Log in"></td></tr></table></form>'
            ),
        )

    async def login(self, request: Request) -> Response:
        form = await request.form()
        username, password = str(form.get("username", "")), str(form.get("password", ""))
        expected = self.users.get(username)
        if expected is None or not secrets.compare_digest(expected.encode(), password.encode()):
            return RedirectResponse("/login?failed=1", status_code=303)
        token = secrets.token_urlsafe(24)
        self.sessions[token] = username
        response = RedirectResponse("/search", status_code=303)
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", path="/")
        return response

    async def logout(self, request: Request) -> Response:
        self.sessions.pop(request.cookies.get(SESSION_COOKIE, ""), None)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def home(self, request: Request) -> Response:
        return RedirectResponse("/search" if self.user(request) else "/login", status_code=303)

    async def search(self, request: Request) -> Response:
        user = self.user(request)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        return _page("Search", _search_forms(), user=user)

    async def claim(self, request: Request) -> Response:
        user = self.user(request)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        number = request.query_params.get("claim_number", "").strip().upper()
        claims, customers = metadata.tables["bo_claims"], metadata.tables["bo_customers"]
        query = (
            sa.select(claims, customers.c.name)
            .join(customers, customers.c.customer_id == claims.c.customer_id)
            .where(claims.c.claim_number == number)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        forms = _search_forms(claim=number)
        if row is None:
            return _page("Claim search", forms + '<p id="no-result">No claim found for this number.</p>', user=user)
        documents = [d for d in str(row["open_documents"]).split(",") if d]
        items = "".join(f"<li>{html.escape(DOCUMENTS.get(d, d))}</li>" for d in documents)
        rows = [
            ("Claim number", "claim-number", html.escape(row["claim_number"])),
            ("Customer no.", "claim-customer", html.escape(row["customer_id"])),
            ("Customer", "claim-customer-name", html.escape(row["name"])),
            ("Contract", "claim-policy", html.escape(row["policy_number"])),
            ("Peril", "claim-risk", html.escape(RISKS[Risk(row["risk"])])),
            ("Status", "claim-status", html.escape(CLAIM_STATES[ClaimState(row["status"])])),
            ("Date of loss", "claim-incident", _date(row["incident_date"])),
            ("Reported on", "claim-reported", _date(row["reported_on"])),
            ("Last update", "claim-updated", _date(row["last_update"])),
            ("Documents outstanding", "claim-documents", f"<ul>{items}</ul>" if items else "none"),
        ]
        return _page("Claim", forms + _record("claim", rows), user=user)

    async def contract(self, request: Request) -> Response:
        user = self.user(request)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        number = request.query_params.get("contract_number", "").strip().upper()
        contracts, customers = metadata.tables["bo_contracts"], metadata.tables["bo_customers"]
        query = (
            sa.select(contracts, customers.c.name)
            .join(customers, customers.c.customer_id == contracts.c.customer_id)
            .where(contracts.c.policy_number == number)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        forms = _search_forms(contract=number)
        if row is None:
            return _page(
                "Contract search", forms + '<p id="no-result">No contract found for this number.</p>', user=user
            )
        currency = row["currency"]
        rows = [
            ("Contract number", "contract-number", html.escape(row["policy_number"])),
            ("Customer no.", "contract-customer", html.escape(row["customer_id"])),
            ("Customer", "contract-customer-name", html.escape(row["name"])),
            ("Product", "contract-product", html.escape(PRODUCTS[Product(row["product"])])),
            ("Status", "contract-status", html.escape(CONTRACT_STATES[ContractState(row["status"])])),
            ("Start of cover", "contract-start", _date(row["start_date"])),
            ("Premium", "contract-premium", _money(row["premium"], currency)),
            (
                "Payment",
                "contract-interval",
                html.escape(INTERVALS.get(row["premium_interval"], row["premium_interval"])),
            ),
            ("Sum insured", "contract-sum", _money(row["sum_insured"], currency)),
            ("Notice period", "contract-notice", f"{int(row['notice_period_months'])} months"),
            ("Next renewal", "contract-renewal", _date(next_renewal(row["start_date"], today=self.today()))),
        ]
        return _page("Contract", forms + _record("contract", rows), user=user)


def create_app(
    db_path: Path, *, users: Mapping[str, str] | None = None, today: Callable[[], dt.date] = dt.date.today
) -> Starlette:
    """The portal over the demo back-office database at ``db_path`` (seed it with ``seed_backoffice``)."""
    engine = create_async_engine(backoffice_url(db_path))
    portal = _Portal(engine, users=users if users is not None else {DEMO_USER: DEMO_PASSWORD}, today=today)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await engine.dispose()

    return Starlette(
        lifespan=lifespan,
        routes=[
            Route("/", portal.home),
            Route("/login", portal.login_form, methods=["GET"]),
            Route("/login", portal.login, methods=["POST"]),
            Route("/logout", portal.logout),
            Route("/search", portal.search),
            Route("/claims", portal.claim),
            Route("/contracts", portal.contract),
        ],
    )


async def serve(host: str = "127.0.0.1", port: int = 8766, db_path: Path = Path("var/backoffice.db")) -> None:
    """Seed the demo back office at ``db_path`` if needed, then serve the portal until interrupted."""
    await seed_backoffice(db_path)
    server = uvicorn.Server(uvicorn.Config(create_app(db_path), host=host, port=port, log_level="warning"))
    await server.serve()


def main() -> None:  # pragma: no cover - a thin command line around serve()
    parser = argparse.ArgumentParser(description="Serve the demo legacy claims portal.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--db", type=Path, default=Path("var/backoffice.db"))
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port, args.db))


if __name__ == "__main__":  # pragma: no cover
    main()
