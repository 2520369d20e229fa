"""SQL back office (async SQLAlchemy; SQLite via aiosqlite by default) and its demo seed."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from knowledge.backoffice.demo import demo_data
from knowledge.backoffice.models import (
    ClaimDraft,
    ClaimIntake,
    ClaimState,
    ClaimStatus,
    Contract,
    Coverage,
    Customer,
    OrderItem,
    OrderStatus,
    ReturnEligibility,
)
from knowledge.backoffice.records import (
    ClaimRow,
    ContractRow,
    CoverageRow,
    OrderRow,
    ReturnRow,
    ShipmentRow,
    next_claim_number,
    to_claim_draft,
    to_claim_status,
    to_contract,
    to_coverage,
    to_order_status,
    to_return_eligibility,
)
from knowledge.errors import BackOfficeError, BackOfficeUnavailable

__all__ = ["SqlBackOffice", "seed_backoffice", "backoffice_url", "metadata"]

metadata = sa.MetaData()
_money = sa.String(24)  # Decimal as text: exact on every backend

customers = sa.Table(
    "bo_customers",
    metadata,
    sa.Column("customer_id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("phone", sa.String(20), nullable=False, unique=True),
    sa.Column("language", sa.String(8), nullable=False),
)
orders = sa.Table(
    "bo_orders",
    metadata,
    sa.Column("order_number", sa.String(32), primary_key=True),
    sa.Column("customer_id", sa.ForeignKey("bo_customers.customer_id"), nullable=False, index=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("ordered_on", sa.Date, nullable=False),
    sa.Column("delivered_on", sa.Date),
    sa.Column("items", sa.Text, nullable=False),
    sa.Column("shipping_fee", _money, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
)
shipments = sa.Table(
    "bo_shipments",
    metadata,
    sa.Column("order_number", sa.ForeignKey("bo_orders.order_number"), primary_key=True),
    sa.Column("carrier", sa.String(32), nullable=False),
    sa.Column("tracking_number", sa.String(64), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("shipped_on", sa.Date, nullable=False),
    sa.Column("eta", sa.Date, nullable=False),
)
returns = sa.Table(
    "bo_returns",
    metadata,
    sa.Column("return_id", sa.String(32), primary_key=True),
    sa.Column("order_number", sa.ForeignKey("bo_orders.order_number"), nullable=False, index=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("requested_on", sa.Date, nullable=False),
    sa.Column("refund_amount", _money, nullable=False),
)
contracts = sa.Table(
    "bo_contracts",
    metadata,
    sa.Column("policy_number", sa.String(32), primary_key=True),
    sa.Column("customer_id", sa.ForeignKey("bo_customers.customer_id"), nullable=False, index=True),
    sa.Column("product", sa.String(32), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("start_date", sa.Date, nullable=False),
    sa.Column("premium", _money, nullable=False),
    sa.Column("premium_interval", sa.String(16), nullable=False),
    sa.Column("sum_insured", _money, nullable=False),
    sa.Column("notice_period_months", sa.Integer, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
)
coverage = sa.Table(
    "bo_coverage",
    metadata,
    sa.Column("policy_number", sa.ForeignKey("bo_contracts.policy_number"), primary_key=True),
    sa.Column("risk", sa.String(32), primary_key=True),
    sa.Column("covered", sa.Boolean, nullable=False),
    sa.Column("deductible", _money, nullable=False),
    sa.Column("limit", _money, nullable=False),
)
claims = sa.Table(
    "bo_claims",
    metadata,
    sa.Column("claim_number", sa.String(32), primary_key=True),
    sa.Column("customer_id", sa.ForeignKey("bo_customers.customer_id"), nullable=False, index=True),
    sa.Column("policy_number", sa.ForeignKey("bo_contracts.policy_number"), nullable=False),
    sa.Column("risk", sa.String(32), nullable=False),
    sa.Column("status", sa.String(40), nullable=False),
    sa.Column("incident_date", sa.Date, nullable=False),
    sa.Column("reported_on", sa.Date, nullable=False),
    sa.Column("last_update", sa.Date, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("open_documents", sa.Text, nullable=False, default=""),
    sa.Column("idempotency_key", sa.String(200), unique=True),
)


def backoffice_url(path: Path | str) -> str:
    return f"sqlite+aiosqlite:///{Path(path)}"


def _order_row(m: sa.RowMapping) -> OrderRow:
    items = tuple(OrderItem.model_validate(i) for i in json.loads(m["items"]))
    return OrderRow.model_validate({**m, "items": items})


def _claim_row(m: sa.RowMapping) -> ClaimRow:
    docs = tuple(d for d in m["open_documents"].split(",") if d)
    return ClaimRow.model_validate({**m, "open_documents": docs})


_T = TypeVar("_T")


class SqlBackOffice:
    """Implements ``BackOffice`` over its own database (never the Glassdesk system of record)."""

    def __init__(self, engine: AsyncEngine, *, today: Callable[[], dt.date] = dt.date.today) -> None:
        self._engine = engine
        self._today = today

    @classmethod
    def from_path(cls, path: Path | str, *, today: Callable[[], dt.date] = dt.date.today) -> SqlBackOffice:
        return cls(create_async_engine(backoffice_url(path)), today=today)

    async def aclose(self) -> None:
        await self._engine.dispose()

    async def _run(self, work: Callable[[AsyncConnection], Awaitable[_T]], *, write: bool = False) -> _T:
        try:
            if write:
                async with self._engine.begin() as conn:
                    return await work(conn)
            async with self._engine.connect() as conn:
                return await work(conn)
        except OperationalError as exc:
            raise BackOfficeUnavailable(f"back-office database unavailable: {exc.orig}") from exc
        except SQLAlchemyError as exc:
            raise BackOfficeError(f"back-office query failed: {exc}") from exc

    async def find_customer(self, *, email: str | None = None, phone: str | None = None) -> Customer | None:
        conds = []
        if email:
            conds.append(customers.c.email == email.strip().lower())
        if phone:
            conds.append(customers.c.phone == phone.replace(" ", ""))
        if not conds:
            return None

        async def work(conn: AsyncConnection) -> Customer | None:
            row = (await conn.execute(sa.select(customers).where(sa.or_(*conds)).limit(1))).mappings().first()
            return None if row is None else Customer.model_validate(dict(row))

        return await self._run(work)

    @staticmethod
    async def _order(conn: AsyncConnection, customer_id: str, order_number: str) -> OrderStatus | None:
        row = (
            (
                await conn.execute(
                    sa.select(orders).where(orders.c.order_number == order_number, orders.c.customer_id == customer_id)
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        ship = (
            (await conn.execute(sa.select(shipments).where(shipments.c.order_number == order_number)))
            .mappings()
            .first()
        )
        rets = (await conn.execute(sa.select(returns).where(returns.c.order_number == order_number))).mappings().all()
        return to_order_status(
            _order_row(row),
            None if ship is None else ShipmentRow.model_validate(dict(ship)),
            returns=[ReturnRow.model_validate(dict(r)) for r in rets],
        )

    async def order_status(self, customer_id: str, order_number: str) -> OrderStatus | None:
        return await self._run(lambda conn: self._order(conn, customer_id, order_number))

    async def list_orders(self, customer_id: str) -> tuple[OrderStatus, ...]:
        async def work(conn: AsyncConnection) -> tuple[OrderStatus, ...]:
            numbers = (
                (
                    await conn.execute(
                        sa.select(orders.c.order_number)
                        .where(orders.c.customer_id == customer_id)
                        .order_by(orders.c.ordered_on.desc(), orders.c.order_number.desc())
                    )
                )
                .scalars()
                .all()
            )
            found = [await self._order(conn, customer_id, n) for n in numbers]
            # every listed number is this customer's order, read in the same transaction: none is None
            return tuple(status for status in found if status is not None)

        return await self._run(work)

    async def return_eligibility(self, customer_id: str, order_number: str) -> ReturnEligibility | None:
        status = await self.order_status(customer_id, order_number)
        return None if status is None else to_return_eligibility(status, today=self._today())

    @staticmethod
    async def _contract_row(conn: AsyncConnection, customer_id: str, policy_number: str) -> ContractRow | None:
        row = (
            (
                await conn.execute(
                    sa.select(contracts).where(
                        contracts.c.policy_number == policy_number, contracts.c.customer_id == customer_id
                    )
                )
            )
            .mappings()
            .first()
        )
        return None if row is None else ContractRow.model_validate(dict(row))

    async def contract(self, customer_id: str, policy_number: str) -> Contract | None:
        row = await self._run(lambda conn: self._contract_row(conn, customer_id, policy_number))
        return None if row is None else to_contract(row, today=self._today())

    async def list_contracts(self, customer_id: str) -> tuple[Contract, ...]:
        async def work(conn: AsyncConnection) -> list[sa.RowMapping]:
            return list(
                (
                    await conn.execute(
                        sa.select(contracts)
                        .where(contracts.c.customer_id == customer_id)
                        .order_by(contracts.c.policy_number)
                    )
                ).mappings()
            )

        rows = await self._run(work)
        return tuple(to_contract(ContractRow.model_validate(dict(r)), today=self._today()) for r in rows)

    async def coverage(self, customer_id: str, policy_number: str) -> Coverage | None:
        async def work(conn: AsyncConnection) -> Coverage | None:
            row = await self._contract_row(conn, customer_id, policy_number)
            if row is None:
                return None
            items = (
                (await conn.execute(sa.select(coverage).where(coverage.c.policy_number == policy_number)))
                .mappings()
                .all()
            )
            return to_coverage(row, [CoverageRow.model_validate(dict(i)) for i in items])

        return await self._run(work)

    async def claim_status(self, customer_id: str, claim_number: str) -> ClaimStatus | None:
        async def work(conn: AsyncConnection) -> ClaimStatus | None:
            row = (
                (
                    await conn.execute(
                        sa.select(claims).where(
                            claims.c.claim_number == claim_number, claims.c.customer_id == customer_id
                        )
                    )
                )
                .mappings()
                .first()
            )
            return None if row is None else to_claim_status(_claim_row(row))

        return await self._run(work)

    async def list_claims(self, customer_id: str) -> tuple[ClaimStatus, ...]:
        """The customer's claims, newest report first (at most 50): for the agent's customer panel."""

        async def work(conn: AsyncConnection) -> tuple[ClaimStatus, ...]:
            rows = (
                await conn.execute(
                    sa.select(claims)
                    .where(claims.c.customer_id == customer_id)
                    .order_by(claims.c.reported_on.desc())
                    .limit(50)
                )
            ).mappings()
            return tuple(to_claim_status(_claim_row(r)) for r in rows)

        return await self._run(work)

    async def file_claim(self, customer_id: str, intake: ClaimIntake) -> ClaimDraft | None:
        today = self._today()

        async def work(conn: AsyncConnection) -> ClaimDraft | None:
            if await self._contract_row(conn, customer_id, intake.policy_number) is None:
                return None
            existing = (
                (await conn.execute(sa.select(claims).where(claims.c.idempotency_key == intake.idempotency_key)))
                .mappings()
                .first()
            )
            if existing is not None:
                row = _claim_row(existing)
                return to_claim_draft(row) if row.customer_id == customer_id else None
            numbers = (await conn.execute(sa.select(claims.c.claim_number))).scalars().all()
            row = ClaimRow(
                claim_number=next_claim_number(list(numbers), year=today.year),
                customer_id=customer_id,
                policy_number=intake.policy_number,
                risk=intake.risk,
                status=ClaimState.DRAFT_PENDING_HUMAN_REVIEW,
                incident_date=intake.incident_date,
                reported_on=today,
                last_update=today,
                description=intake.description,
                idempotency_key=intake.idempotency_key,
            )
            await conn.execute(claims.insert().values(**_claim_values(row)))
            return to_claim_draft(row)

        return await self._run(work, write=True)


def _claim_values(row: ClaimRow) -> dict[str, object]:
    values = row.model_dump()
    values["open_documents"] = ",".join(row.open_documents)
    return values


def _text(value: object) -> object:
    return str(value) if isinstance(value, Decimal) else value


async def seed_backoffice(path: Path | str, *, today: dt.date | None = None, reset: bool = False) -> Path:
    """Create the demo back-office database at ``path`` and fill it with the demo data.

    Idempotent: an already seeded database is left alone unless ``reset=True``. Dates are relative
    to ``today`` (default: the current date). Returns the path.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    data = demo_data(today)
    engine = create_async_engine(backoffice_url(target))
    try:
        async with engine.begin() as conn:
            if reset:
                await conn.run_sync(metadata.drop_all)
            await conn.run_sync(metadata.create_all)
            if (await conn.execute(sa.select(sa.func.count()).select_from(customers))).scalar_one():
                return target
            await conn.execute(customers.insert(), [c.model_dump() for c in data.customers])
            await conn.execute(
                orders.insert(),
                [
                    {
                        **{k: _text(v) for k, v in o.model_dump(exclude={"items"}).items()},
                        "items": json.dumps([i.model_dump(mode="json") for i in o.items], ensure_ascii=False),
                    }
                    for o in data.orders
                ],
            )
            await conn.execute(shipments.insert(), [s.model_dump() for s in data.shipments])
            await conn.execute(
                returns.insert(), [{k: _text(v) for k, v in r.model_dump().items()} for r in data.returns]
            )
            await conn.execute(
                contracts.insert(), [{k: _text(v) for k, v in c.model_dump().items()} for c in data.contracts]
            )
            await conn.execute(
                coverage.insert(), [{k: _text(v) for k, v in c.model_dump().items()} for c in data.coverage]
            )
            await conn.execute(claims.insert(), [_claim_values(c) for c in data.claims])
    finally:
        await engine.dispose()
    return target
