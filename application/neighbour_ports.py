"""The ports through which the use cases ask the neighbouring services.

``integrations/`` implements them over HTTP (``health_service``,
``inventory_service``); tests implement them against fake servers. Every
failure reaches the caller as ``domain.neighbours.NeighbourUnavailable``.
Both are optional: without one, the use cases do as they did before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from domain.parts import PartStock
from domain.vehicle_health import VehicleHealth


class VehicleHealthSource(Protocol):
    """A vehicle's health (the Health Service)."""

    async def vehicle_health(self, vehicle_id: str) -> VehicleHealth: ...


class InventorySource(Protocol):
    """Stock and lead time of parts at shops (the Inventory Service), in one call."""

    async def stock(self, shop_ids: Sequence[str], part_codes: Sequence[str]) -> list[PartStock]: ...


@dataclass(frozen=True, slots=True)
class Neighbours:
    """The neighbouring services this process may ask; None where one is not configured."""

    health: VehicleHealthSource | None = None
    inventory: InventorySource | None = None
    inventory_cache_seconds: float = 30.0
