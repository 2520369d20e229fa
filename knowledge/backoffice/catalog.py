"""The port's lookups as data: their names, the placeholders a connector may use, the model each answers
with and how that model's fields are shaped. Connector configs are checked against this."""

from __future__ import annotations

import enum
import types
import typing
from functools import cache

from pydantic import BaseModel, ConfigDict

from knowledge.backoffice.models import (
    ClaimDraft,
    ClaimStatus,
    Contract,
    Coverage,
    Customer,
    OrderStatus,
    ReturnEligibility,
)

__all__ = ["CUSTOMER_ID", "SHAPES", "FieldKind", "FieldShape", "LookupName", "LookupShape", "field_shapes"]

CUSTOMER_ID = "customer_id"
"""The placeholder (REST) or read field (robots) carrying the customer a record belongs to."""


@enum.unique
class LookupName(enum.StrEnum):
    """One per ``BackOffice`` method."""

    FIND_CUSTOMER = "find_customer"
    ORDER_STATUS = "order_status"
    LIST_ORDERS = "list_orders"
    RETURN_ELIGIBILITY = "return_eligibility"
    CONTRACT = "contract"
    LIST_CONTRACTS = "list_contracts"
    COVERAGE = "coverage"
    CLAIM_STATUS = "claim_status"
    FILE_CLAIM = "file_claim"


class LookupShape(BaseModel):
    """``reference`` is the placeholder holding what the customer asked about; the answer's own
    ``identifier`` field must equal it. The answer's ``source_id`` is ``lookup:<source>:<source_field>``."""

    model_config = ConfigDict(frozen=True)

    name: LookupName
    model: type[BaseModel]
    variables: tuple[str, ...]
    reference: str | None
    identifier: str | None
    source: str | None
    source_field: str | None = None
    many: bool = False

    @property
    def source_key(self) -> str | None:
        return self.source_field or self.identifier

    @property
    def scoped(self) -> bool:
        return CUSTOMER_ID in self.variables


_INTAKE = ("policy_number", "risk", "incident_date", "description", "idempotency_key")

SHAPES: dict[LookupName, LookupShape] = {
    shape.name: shape
    for shape in (
        LookupShape(
            name=LookupName.FIND_CUSTOMER,
            model=Customer,
            variables=("email", "phone"),
            reference=None,
            identifier=None,
            source=None,
        ),
        LookupShape(
            name=LookupName.ORDER_STATUS,
            model=OrderStatus,
            variables=(CUSTOMER_ID, "order_number"),
            reference="order_number",
            identifier="order_number",
            source="order_status",
        ),
        LookupShape(
            name=LookupName.LIST_ORDERS,
            model=OrderStatus,
            variables=(CUSTOMER_ID,),
            reference=None,
            identifier="order_number",
            source="order_status",
            many=True,
        ),
        LookupShape(
            name=LookupName.RETURN_ELIGIBILITY,
            model=ReturnEligibility,
            variables=(CUSTOMER_ID, "order_number"),
            reference="order_number",
            identifier="order_number",
            source="return_eligibility",
        ),
        LookupShape(
            name=LookupName.CONTRACT,
            model=Contract,
            variables=(CUSTOMER_ID, "policy_number"),
            reference="policy_number",
            identifier="policy_number",
            source="contract",
        ),
        LookupShape(
            name=LookupName.LIST_CONTRACTS,
            model=Contract,
            variables=(CUSTOMER_ID,),
            reference=None,
            identifier="policy_number",
            source="contract",
            many=True,
        ),
        LookupShape(
            name=LookupName.COVERAGE,
            model=Coverage,
            variables=(CUSTOMER_ID, "policy_number"),
            reference="policy_number",
            identifier="policy_number",
            source="coverage",
        ),
        LookupShape(
            name=LookupName.CLAIM_STATUS,
            model=ClaimStatus,
            variables=(CUSTOMER_ID, "claim_number"),
            reference="claim_number",
            identifier="claim_number",
            source="claim_status",
        ),
        LookupShape(
            name=LookupName.FILE_CLAIM,
            model=ClaimDraft,
            variables=(CUSTOMER_ID, *_INTAKE),
            reference="policy_number",
            identifier="policy_number",
            source="claim_intake",
            source_field="claim_number",
        ),
    )
}


@enum.unique
class FieldKind(enum.StrEnum):
    VALUE = "value"  # text, number, date, enum, boolean
    VALUES = "values"  # tuple[str, ...]
    RECORD = "record"  # a nested model
    RECORDS = "records"  # tuple[Model, ...]


class FieldShape(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    kind: FieldKind
    nullable: bool
    record: type[BaseModel] | None = None
    text: bool = False  # a str field: JSON integers are accepted as their digits


@cache
def field_shapes(model: type[BaseModel]) -> dict[str, FieldShape]:
    """The fields a connector fills for ``model``; ``source_id`` is always set by Glassdesk."""
    out: dict[str, FieldShape] = {}
    for name, info in model.model_fields.items():
        if name == "source_id":
            continue
        annotation = info.annotation
        args = typing.get_args(annotation)
        nullable = typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in args
        if nullable:
            annotation = next(a for a in args if a is not type(None))
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out[name] = FieldShape(name=name, kind=FieldKind.RECORD, nullable=nullable, record=annotation)
        elif typing.get_origin(annotation) is tuple:
            item = typing.get_args(annotation)[0]
            if isinstance(item, type) and issubclass(item, BaseModel):
                out[name] = FieldShape(name=name, kind=FieldKind.RECORDS, nullable=nullable, record=item)
            else:
                out[name] = FieldShape(name=name, kind=FieldKind.VALUES, nullable=nullable)
        else:
            out[name] = FieldShape(name=name, kind=FieldKind.VALUE, nullable=nullable, text=annotation is str)
    return out
