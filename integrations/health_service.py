"""The Health Service client: a vehicle's health, as context for its slot search.

``GET {HEALTH_SERVICE_URL}/vehicles/{vehicle_id}/health`` answers (unknown fields are ignored)::

    {"vehicle_id": "V001", "health_score": 42.5,
     "active_fault_codes": ["P0217", "P0128"], "mileage_km": 182000}

``health_score`` (a number from 0, worst, to 100) is required; the fault codes
(a list of strings) and the mileage (a number of km, at least 0) are optional.
A body without a score (an error body with a 200), or with wrong types, raises
``NeighbourUnavailable``.
"""

from __future__ import annotations

from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from domain.neighbours import NeighbourUnavailable
from domain.vehicle_health import VehicleHealth
from integrations.neighbour_http import NeighbourHttp


class HealthWire(BaseModel):
    """The Health Service's answer, as far as this service reads it."""

    model_config = ConfigDict(extra="ignore", strict=True)

    vehicle_id: str | None = None
    health_score: float = Field(ge=0, le=100)
    active_fault_codes: list[str] = Field(default_factory=list)
    mileage_km: float | None = Field(default=None, ge=0)


class HealthServiceClient:
    """``VehicleHealthSource`` over HTTP."""

    def __init__(self, http: NeighbourHttp) -> None:
        self._http = http

    async def vehicle_health(self, vehicle_id: str) -> VehicleHealth:
        wire = await self._http.get(f"/vehicles/{quote(vehicle_id, safe='')}/health", HealthWire.model_validate)
        if wire.vehicle_id is not None and wire.vehicle_id != vehicle_id:
            raise NeighbourUnavailable("health", f"asked about {vehicle_id!r}, answered about {wire.vehicle_id!r}")
        codes = tuple(dict.fromkeys(c.strip() for c in wire.active_fault_codes if c.strip()))
        return VehicleHealth(vehicle_id, wire.health_score, codes, wire.mileage_km)

    async def aclose(self) -> None:
        await self._http.aclose()
