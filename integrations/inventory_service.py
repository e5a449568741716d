"""The Inventory Service client: stock and lead time of a job's parts at the shops searched, in one call.

``POST {INVENTORY_SERVICE_URL}/parts/availability`` with
``{"shop_ids": ["shop_001", ...], "part_codes": ["thermostat", ...]}`` answers
(unknown fields are ignored)::

    {"items": [{"shop_id": "shop_001", "part_code": "thermostat", "name": "Thermostat",
                "quantity": 0, "lead_time_hours": 48}]}

``quantity`` is an integer of at least 0 and ``lead_time_hours`` a number of at
least 0. A part a shop does not list is one it does not stock (the job cannot
be placed there), exactly as with the local ``parts`` table. Items about shops
or parts that were not asked about are ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from domain.parts import PartStock
from integrations.neighbour_http import NeighbourHttp


class _Item(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    shop_id: str = Field(min_length=1)
    part_code: str = Field(min_length=1)
    name: str | None = None
    quantity: int = Field(ge=0)
    lead_time_hours: float = Field(ge=0, le=24 * 365)


class InventoryWire(BaseModel):
    """The Inventory Service's answer, as far as this service reads it."""

    model_config = ConfigDict(extra="ignore", strict=True)

    items: list[_Item]


class InventoryServiceClient:
    """``InventorySource`` over HTTP."""

    def __init__(self, http: NeighbourHttp) -> None:
        self._http = http

    async def stock(self, shop_ids: Sequence[str], part_codes: Sequence[str]) -> list[PartStock]:
        body = {"shop_ids": list(shop_ids), "part_codes": list(part_codes)}
        wire = await self._http.post("/parts/availability", body, InventoryWire.model_validate)
        shops, codes = set(shop_ids), set(part_codes)
        return [
            PartStock(i.shop_id, i.part_code, i.name or i.part_code, i.quantity, timedelta(hours=i.lead_time_hours))
            for i in wire.items
            if i.shop_id in shops and i.part_code in codes
        ]

    async def aclose(self) -> None:
        await self._http.aclose()
