"""The RPA back office: the port over a web portal, driven in Chromium by a declared :class:`Robot`.

One lookup = one fresh browser context from the pool: log in, run the lookup's steps, read the fields.
The whole run has ``budget_seconds`` (waiting for a browser included); each step gets at most
``step_timeout_seconds`` of what is left. Robots are never retried here: a failure is a
:class:`ConnectorUnavailable` at once, with a screenshot kept in ``screenshots`` for ops (every filled and
read element, and the robot's ``mask`` selectors, blanked; names carry no customer data).

Scoping: the record's ``customer_id`` as the portal shows it must be the asking customer's, or the answer
is "not found", exactly as for a record that does not exist.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import quote, urlsplit

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page
from playwright.async_api import TimeoutError as PlaywrightTimeout
from pydantic import BaseModel, SecretStr

from knowledge.backoffice.browser_pool import BrowserPool
from knowledge.backoffice.catalog import CUSTOMER_ID, SHAPES, LookupName, field_shapes
from knowledge.backoffice.mapping import Unreadable, finish_record
from knowledge.backoffice.models import (
    ClaimDraft,
    ClaimIntake,
    ClaimStatus,
    Contract,
    Coverage,
    Customer,
    OrderStatus,
    ReturnEligibility,
)
from knowledge.backoffice.robot import (
    SCREENSHOT_GRACE_SECONDS,
    Click,
    Fill,
    Goto,
    Read,
    RobotLookup,
    RpaConnector,
    Step,
    WaitFor,
)
from knowledge.errors import ConnectorFailure, ConnectorUnavailable, LookupFailed

__all__ = ["RpaBackOffice"]

log = logging.getLogger("glassdesk.backoffice")

M = TypeVar("M", bound=BaseModel)
_SCREENSHOT_TIMEOUT_MS = 2000
_UNSAFE_SEGMENTS = ("", ".", "..")


class _NotFound(Exception):
    """The portal says there is no such record (``wait_for`` saw ``missing``), or nothing can be asked."""


class _StepFailed(Exception):
    def __init__(self, failure: ConnectorFailure, detail: str) -> None:
        self.failure = failure
        self.detail = detail
        super().__init__(detail)


class RpaBackOffice:
    """Implements ``BackOffice`` for the lookups its robot declares; the others raise ``LookupFailed``."""

    def __init__(
        self,
        config: RpaConnector,
        *,
        secrets: Mapping[str, str],
        pool: BrowserPool,
        screenshots: Path,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = config.name
        self._config = config
        self._robot = config.robot
        self._pool = pool
        self._screenshots = screenshots
        self._clock = clock
        parts = urlsplit(config.base_url)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._base = config.base_url.rstrip("/")
        needed = {
            s.secret
            for s in (*self._robot.login, *(st for lk in self._robot.lookups.values() for st in lk.steps))
            if isinstance(s, Fill) and s.secret is not None
        }
        missing = sorted(n for n in needed if not secrets.get(n))
        if missing:
            raise ValueError(
                f"connector '{self.name}' needs the secret(s) {', '.join(missing)}, which were not "
                "provided: map them from Settings into the secrets passed to the connector"
            )
        self._secrets = {n: SecretStr(secrets[n]) for n in needed}

    @property
    def lookups(self) -> frozenset[LookupName]:
        return frozenset(self._robot.lookups)

    async def aclose(self) -> None:
        await self._pool.aclose()

    # -- one run --------------------------------------------------------------------------------

    async def _run(self, tool: LookupName, model: type[M], values: Mapping[str, str | None]) -> M | None:
        lookup = self._robot.lookups.get(tool)
        if lookup is None:
            raise LookupFailed(tool, f"connector '{self.name}' has no robot steps for '{tool}'", attempts=0)
        deadline = self._clock() + self._config.budget_seconds
        try:
            async with asyncio.timeout(self._config.budget_seconds + SCREENSHOT_GRACE_SECONDS):
                async with self._pool.page(origin=self._origin) as page:
                    reads = await self._steps(tool, page, lookup, values, deadline)
        except _NotFound:
            return None
        except TimeoutError:
            budget = self._config.budget_seconds
            raise ConnectorUnavailable(
                self.name,
                ConnectorFailure.TIMEOUT,
                tool=tool,
                detail=f"the run took longer than its {budget:g}s budget",
            ) from None
        except PlaywrightError:  # the browser could not start or died outside a step
            raise ConnectorUnavailable(
                self.name, ConnectorFailure.ROBOT_FAILED, tool=tool, detail="the browser failed"
            ) from None
        return self._answer(tool, model, values, reads)

    async def _steps(
        self, tool: LookupName, page: Page, lookup: RobotLookup, values: Mapping[str, str | None], deadline: float
    ) -> dict[str, Any]:
        reads: dict[str, Any] = {}
        steps = (*self._robot.login, *lookup.steps)
        for number, step in enumerate(steps, start=1):
            remaining = deadline - self._clock()
            try:
                if remaining <= 0:
                    raise _StepFailed(ConnectorFailure.TIMEOUT, f"budget of {self._config.budget_seconds:g}s used")
                timeout_ms = 1000 * min(self._config.step_timeout_seconds, remaining)
                await self._step(page, step, values, reads, timeout_ms=timeout_ms)
            except _StepFailed as exc:
                await self._keep_screenshot(page, tool, lookup, number, step, exc.failure)
                raise ConnectorUnavailable(
                    self.name, exc.failure, tool=tool, detail=f"step {number} ({step.kind}): {exc.detail}"
                ) from None
            except PlaywrightTimeout:
                await self._keep_screenshot(page, tool, lookup, number, step, ConnectorFailure.TIMEOUT)
                raise ConnectorUnavailable(
                    self.name, ConnectorFailure.TIMEOUT, tool=tool, detail=f"step {number} ({step.kind}) timed out"
                ) from None
            except PlaywrightError as exc:
                failure = ConnectorFailure.DOWN if "net::ERR_" in exc.message else ConnectorFailure.ROBOT_FAILED
                await self._keep_screenshot(page, tool, lookup, number, step, failure)
                raise ConnectorUnavailable(
                    self.name, failure, tool=tool, detail=f"step {number} ({step.kind}) failed"
                ) from None
        return reads

    async def _step(
        self, page: Page, step: Step, values: Mapping[str, str | None], reads: dict[str, Any], *, timeout_ms: float
    ) -> None:
        if isinstance(step, Goto):
            for name in step.path.variables:
                if values.get(name) in (None, *_UNSAFE_SEGMENTS):
                    raise _NotFound
            path = cast(str, step.path.render(values, encode=lambda v: quote(v, safe="")))
            response = await page.goto(self._base + path, timeout=timeout_ms, wait_until="domcontentloaded")
            if response is not None and response.status >= 500:
                raise _StepFailed(ConnectorFailure.SERVER_ERROR, f"HTTP {response.status}")
            if response is not None and response.status >= 400:
                raise _StepFailed(ConnectorFailure.ROBOT_FAILED, f"HTTP {response.status}")
        elif isinstance(step, Fill):
            if step.secret is not None:
                text = self._secrets[step.secret].get_secret_value()
            else:
                rendered = step.value.render(values) if step.value is not None else None
                if rendered is None:
                    raise _NotFound
                text = rendered
            await page.locator(step.selector).fill(text, timeout=timeout_ms)
        elif isinstance(step, Click):
            await page.locator(step.selector).click(timeout=timeout_ms)
        elif isinstance(step, WaitFor):
            target = page.locator(step.selector)
            if step.missing is None:
                await target.first.wait_for(state="visible", timeout=timeout_ms)
                return
            missing = page.locator(step.missing)
            await target.or_(missing).first.wait_for(state="visible", timeout=timeout_ms)
            if await missing.count() and await missing.first.is_visible():
                raise _NotFound
        else:
            await self._read(page, step, reads, timeout_ms=timeout_ms)

    @staticmethod
    async def _read(page: Page, step: Read, reads: dict[str, Any], *, timeout_ms: float) -> None:
        target = page.locator(step.selector)
        try:
            if step.all:
                reads[step.field] = [step.rule.apply(t) for t in await target.all_inner_texts()]
            else:
                reads[step.field] = step.rule.apply(await target.inner_text(timeout=timeout_ms))
        except ValueError:
            raise _StepFailed(ConnectorFailure.MALFORMED_RESPONSE, f"'{step.field}' has an unexpected form") from None

    def _answer(
        self, tool: LookupName, model: type[M], values: Mapping[str, str | None], reads: dict[str, Any]
    ) -> M | None:
        shape = SHAPES[tool]
        if CUSTOMER_ID in reads and str(reads.pop(CUSTOMER_ID)) != values.get(CUSTOMER_ID):
            return None
        record_values = {name: reads.get(name) for name in field_shapes(model)}
        source = (shape.source, shape.source_key) if shape.source and shape.source_key else None
        try:
            record = finish_record(model, record_values, source=source)
        except Unreadable as exc:
            raise ConnectorUnavailable(
                self.name, ConnectorFailure.MALFORMED_RESPONSE, tool=tool, detail=f"field '{exc.where}'"
            ) from None
        if shape.reference and shape.identifier and getattr(record, shape.identifier) != values[shape.reference]:
            raise ConnectorUnavailable(
                self.name,
                ConnectorFailure.MALFORMED_RESPONSE,
                tool=tool,
                detail=f"the portal showed a different {shape.identifier}",
            )
        return cast(M, record)

    # -- failure screenshots --------------------------------------------------------------------

    def _masks(self, lookup: RobotLookup) -> list[str]:
        filled = [s.selector for s in (*self._robot.login, *lookup.steps) if isinstance(s, Fill)]
        return [*self._robot.mask, *filled, *(r.selector for r in lookup.reads)]

    async def _keep_screenshot(
        self, page: Page, tool: LookupName, lookup: RobotLookup, number: int, step: Step, failure: ConnectorFailure
    ) -> None:
        stamp = dt.datetime.now(dt.UTC)
        stem = f"{self.name}-{tool}-{stamp:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        image = self._screenshots / f"{stem}.png"
        try:
            await asyncio.to_thread(self._screenshots.mkdir, parents=True, exist_ok=True)
            await page.screenshot(
                path=str(image),
                full_page=True,
                timeout=_SCREENSHOT_TIMEOUT_MS,
                animations="disabled",
                mask=[page.locator(s) for s in self._masks(lookup)],
            )
            note = {
                "connector": self.name,
                "lookup": str(tool),
                "failure": str(failure),
                "step": number,
                "step_kind": str(step.kind),
                "robot": f"{self._robot.source}:{step.line}",
                "at": stamp.isoformat(timespec="seconds"),
                "screenshot": image.name,
            }
            await asyncio.to_thread(image.with_suffix(".json").write_text, json.dumps(note, indent=2) + "\n")
            await asyncio.to_thread(_prune, self._screenshots, f"{self.name}-", self._config.keep_screenshots)
            log.warning(
                "connector %s: %s failed at step %d (%s, %s); screenshot %s",
                self.name,
                tool,
                number,
                step.kind,
                failure,
                image,
            )
        except (PlaywrightError, OSError) as exc:
            log.warning(
                "connector %s: %s failed at step %d (%s); no screenshot (%s)",
                self.name,
                tool,
                number,
                failure,
                type(exc).__name__,
            )

    # -- the port -------------------------------------------------------------------------------

    async def find_customer(self, *, email: str | None = None, phone: str | None = None) -> Customer | None:
        wanted_email = email.strip().lower() if email and email.strip() else None
        wanted_phone = phone.replace(" ", "") if phone and phone.strip() else None
        if wanted_email is None and wanted_phone is None:
            return None
        customer = await self._run(LookupName.FIND_CUSTOMER, Customer, {"email": wanted_email, "phone": wanted_phone})
        if customer is None:
            return None
        if (wanted_email and customer.email.lower() == wanted_email) or (
            wanted_phone and customer.phone.replace(" ", "") == wanted_phone
        ):
            return customer
        return None

    async def order_status(self, customer_id: str, order_number: str) -> OrderStatus | None:
        return await self._run(
            LookupName.ORDER_STATUS, OrderStatus, {CUSTOMER_ID: customer_id, "order_number": order_number}
        )

    async def list_orders(self, customer_id: str) -> tuple[OrderStatus, ...]:
        raise LookupFailed(LookupName.LIST_ORDERS, f"connector '{self.name}' (a robot) cannot list", attempts=0)

    async def return_eligibility(self, customer_id: str, order_number: str) -> ReturnEligibility | None:
        return await self._run(
            LookupName.RETURN_ELIGIBILITY, ReturnEligibility, {CUSTOMER_ID: customer_id, "order_number": order_number}
        )

    async def contract(self, customer_id: str, policy_number: str) -> Contract | None:
        return await self._run(
            LookupName.CONTRACT, Contract, {CUSTOMER_ID: customer_id, "policy_number": policy_number}
        )

    async def list_contracts(self, customer_id: str) -> tuple[Contract, ...]:
        raise LookupFailed(LookupName.LIST_CONTRACTS, f"connector '{self.name}' (a robot) cannot list", attempts=0)

    async def coverage(self, customer_id: str, policy_number: str) -> Coverage | None:
        return await self._run(
            LookupName.COVERAGE, Coverage, {CUSTOMER_ID: customer_id, "policy_number": policy_number}
        )

    async def claim_status(self, customer_id: str, claim_number: str) -> ClaimStatus | None:
        return await self._run(
            LookupName.CLAIM_STATUS, ClaimStatus, {CUSTOMER_ID: customer_id, "claim_number": claim_number}
        )

    async def file_claim(self, customer_id: str, intake: ClaimIntake) -> ClaimDraft | None:
        raise LookupFailed(LookupName.FILE_CLAIM, f"connector '{self.name}' (a robot) does not file claims", attempts=0)


def _prune(folder: Path, prefix: str, keep: int) -> None:
    """Keep the newest ``keep`` screenshots (and their notes) of one connector."""
    images = sorted(folder.glob(f"{prefix}*.png"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in images[keep:]:
        old.unlink(missing_ok=True)
        old.with_suffix(".json").unlink(missing_ok=True)
