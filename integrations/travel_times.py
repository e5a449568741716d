"""Travel times for mobile service (issue 17): a straight-line formula, or an OSRM server.

``StraightLineTravel`` is the default: haversine distance × a road factor ÷ an
average speed (``TRAVEL_ROAD_FACTOR``, ``TRAVEL_SPEED_KMH``), rounded up to
whole minutes. ``OsrmTravel`` asks an OSRM server's table service
(``GET /table/v1/{profile}/{lon,lat;...}?sources=..&destinations=..&annotations=duration``,
http://project-osrm.org/docs/v5.24.0/api/#table-service) when ``OSRM_URL`` is
set. OSRM is optional: when it fails (down, slow, an unroutable pair) the
answer falls back to the formula for that call and says so in the log, so a
booking never fails because the routing server did.

Both implement ``application.travel.TravelTimes`` (structurally: integrations
import nothing of the application).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any, Protocol

import httpx

from domain.shop import GeoPoint

log = logging.getLogger(__name__)

OSRM_MAX_LOCATIONS = 100
"""OSRM's default ``--max-table-size``: more coordinates in one request are refused."""


class StraightLineTravel:
    """Haversine distance × ``road_factor`` ÷ ``speed_kmh``, in whole minutes (rounded up)."""

    def __init__(self, road_factor: float = 1.3, speed_kmh: float = 40.0) -> None:
        if road_factor < 1 or speed_kmh <= 0:
            raise ValueError("road_factor must be >= 1 and speed_kmh positive")
        self.road_factor = road_factor
        self.speed_kmh = speed_kmh

    def minutes(self, a: GeoPoint, b: GeoPoint) -> int:
        if a == b:
            return 0
        return math.ceil(a.distance_km(b) * self.road_factor / self.speed_kmh * 60)

    async def table(self, origins: Sequence[GeoPoint], destinations: Sequence[GeoPoint]) -> list[list[int]]:
        return [[self.minutes(a, b) for b in destinations] for a in origins]

    async def pairs(self, legs: Sequence[tuple[GeoPoint, GeoPoint]]) -> list[int]:
        return [self.minutes(a, b) for a, b in legs]


class OsrmTravel:
    """Driving times from an OSRM server's ``/table`` service, the formula when it cannot answer."""

    def __init__(
        self,
        base_url: str,
        *,
        profile: str = "driving",
        timeout_s: float = 2.0,
        fallback: StraightLineTravel | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.profile = profile
        self.fallback = fallback or StraightLineTravel()
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), timeout=httpx.Timeout(timeout_s), transport=transport
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def pairs(self, legs: Sequence[tuple[GeoPoint, GeoPoint]]) -> list[int]:
        """One table call over the legs' places (OSRM computes the square server-side, fast)."""
        origins = list(dict.fromkeys(a for a, _ in legs))
        destinations = list(dict.fromkeys(b for _, b in legs))
        rows = await self.table(origins, destinations)
        row, col = {p: i for i, p in enumerate(origins)}, {p: j for j, p in enumerate(destinations)}
        return [rows[row[a]][col[b]] for a, b in legs]

    async def table(self, origins: Sequence[GeoPoint], destinations: Sequence[GeoPoint]) -> list[list[int]]:
        places = list(dict.fromkeys([*origins, *destinations]))
        if len(places) > OSRM_MAX_LOCATIONS:
            log.warning("OSRM: %d places exceed the table limit; using the straight-line formula", len(places))
            return await self.fallback.table(origins, destinations)
        index = {p: i for i, p in enumerate(places)}
        coordinates = ";".join(f"{p.lon:.6f},{p.lat:.6f}" for p in places)
        params = {
            "sources": ";".join(str(index[p]) for p in origins),
            "destinations": ";".join(str(index[p]) for p in destinations),
            "annotations": "duration",
        }
        try:
            response = await self._client.get(f"/table/v1/{self.profile}/{coordinates}", params=params)
            seconds = _durations(response, len(origins), len(destinations))
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("OSRM table failed (%s); using the straight-line formula", exc)
            return await self.fallback.table(origins, destinations)
        return [
            [
                self.fallback.minutes(a, b) if s is None else math.ceil(s / 60)
                for b, s in zip(destinations, row, strict=True)
            ]
            for a, row in zip(origins, seconds, strict=True)
        ]


def _durations(response: httpx.Response, rows: int, cols: int) -> list[list[float | None]]:
    """The answer's ``durations`` (seconds; null: no route), checked against what was asked."""
    try:
        body: Any = response.json()
    except ValueError:
        raise ValueError(f"HTTP {response.status_code}, not JSON") from None
    if response.status_code != 200 or not isinstance(body, dict) or body.get("code") != "Ok":
        code = body.get("code") if isinstance(body, dict) else None
        raise ValueError(f"HTTP {response.status_code} {code or ''}".strip())
    durations = body.get("durations")
    if (
        not isinstance(durations, list)
        or len(durations) != rows
        or any(not isinstance(r, list) or len(r) != cols for r in durations)
        or any(v is not None and not isinstance(v, int | float) for r in durations for v in r)
    ):
        raise ValueError("durations do not match the request")
    return durations


class TravelSettings(Protocol):
    """The settings travel reads (a subset of ``config.settings.Settings``)."""

    @property
    def travel_road_factor(self) -> float: ...
    @property
    def travel_speed_kmh(self) -> float: ...
    @property
    def osrm_url(self) -> str | None: ...
    @property
    def osrm_profile(self) -> str: ...
    @property
    def osrm_timeout_seconds(self) -> float: ...


def travel_times_from(settings: TravelSettings) -> StraightLineTravel | OsrmTravel:
    """The configured travel times: OSRM when ``osrm_url`` is set, else the straight-line formula."""
    formula = StraightLineTravel(settings.travel_road_factor, settings.travel_speed_kmh)
    if not settings.osrm_url:
        return formula
    return OsrmTravel(
        settings.osrm_url,
        profile=settings.osrm_profile,
        timeout_s=settings.osrm_timeout_seconds,
        fallback=formula,
    )
