"""Parts stock per shop and what a job's parts mean for its earliest start."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from domain.catalog import PartRequirement


class PartsSource(StrEnum):
    """Who answered a job's parts check: the Inventory Service, or the local ``parts`` table."""

    INVENTORY = "inventory"
    LOCAL = "local"


@dataclass(frozen=True, slots=True)
class PartStock:
    """How many of a part a shop holds, and how long an order takes to arrive."""

    shop_id: str
    part_code: str
    name: str
    quantity: int
    lead_time: timedelta


@dataclass(frozen=True, slots=True)
class PartsAvailability:
    """The verdict on a job's parts at one shop.

    ``ready_at`` is the earliest instant the job may start (``now`` when all
    parts are in stock); ``missing`` lists the parts to order.
    """

    available: bool
    ready_at: datetime
    missing: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()


def check_parts(
    required: Sequence[PartRequirement],
    stock: Mapping[str, PartStock],
    now: datetime,
) -> PartsAvailability:
    """Parts in stock, or the longest lead time among the missing ones.

    A part the shop has never stocked has no known lead time: it is reported
    in ``unknown`` and the job cannot be placed at that shop.
    """
    missing: list[str] = []
    unknown: list[str] = []
    wait = timedelta(0)
    for req in required:
        item = stock.get(req.part_code)
        if item is None:
            unknown.append(req.part_code)
        elif item.quantity < req.quantity:
            missing.append(req.part_code)
            wait = max(wait, item.lead_time)
    return PartsAvailability(
        available=not missing and not unknown,
        ready_at=now + wait,
        missing=tuple(missing),
        unknown=tuple(unknown),
    )
