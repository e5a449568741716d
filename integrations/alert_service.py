"""The Alert Service client: an alert's details, for ``alert.created`` events that carry only its id.

``GET {ALERT_SERVICE_URL}/alerts/{alert_id}`` answers (unknown fields are ignored)::

    {"alert_id": "A-1", "vehicle_id": "V001", "severity": "CRITICAL",
     "component": "coolant", "recommended_service": "engine_repair",
     "description": "...", "shop_id": "shop_001",
     "location": {"lat": 40.7, "lon": -74.0}, "customer": {"name": "...", "email": "...", "tier": "fleet"}}

``alert_id`` (or ``id``), ``vehicle_id`` and ``severity`` are required and must
be strings; the id must be the one asked for. Anything else is unusable and
raises ``NeighbourUnavailable``: an alert is never booked on a guess.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from domain.neighbours import NeighbourUnavailable
from integrations.neighbour_http import NeighbourHttp


class _Location(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class _Customer(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    tier: str | None = None


class AlertWire(BaseModel):
    """The Alert Service's answer, as far as this service reads it."""

    model_config = ConfigDict(extra="ignore", strict=True)

    alert_id: str = Field(min_length=1, validation_alias=AliasChoices("alert_id", "id"))
    vehicle_id: str = Field(min_length=1)
    severity: str = Field(min_length=1)
    component: str | None = None
    recommended_service: str | None = None
    description: str | None = None
    shop_id: str | None = None
    location: _Location | None = None
    customer: _Customer | None = None


class AlertServiceClient:
    """``AlertDetailsSource`` over HTTP."""

    def __init__(self, http: NeighbourHttp) -> None:
        self._http = http

    async def alert_details(self, alert_id: str) -> dict[str, Any]:
        """The alert's fields in the shape of an ``alert.created`` payload (absent ones left out)."""
        wire = await self._http.get(f"/alerts/{quote(alert_id, safe='')}", AlertWire.model_validate)
        if wire.alert_id != alert_id:
            raise NeighbourUnavailable("alert", f"asked for alert {alert_id!r}, answered about {wire.alert_id!r}")
        return wire.model_dump(exclude_none=True)

    async def aclose(self) -> None:
        await self._http.aclose()
