"""The travel port (issue 17): how long a mobile technician drives between two places.

The application asks one ``TravelTimes`` for a whole table at once (one OSRM
``/table`` call, not one per pair) and turns the answer into the domain's
``TravelTable``, which the slot search, the booking check and the routes read.
``integrations.travel_times`` implements it (straight line by default, OSRM
when configured); tests may pass any object with this method.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from domain.mobile import TravelTable
from domain.shop import GeoPoint


class TravelTimes(Protocol):
    """Driving minutes between places."""

    async def table(self, origins: Sequence[GeoPoint], destinations: Sequence[GeoPoint]) -> list[list[int]]:
        """Whole minutes from each origin (rows) to each destination (columns)."""
        ...

    async def pairs(self, legs: Sequence[tuple[GeoPoint, GeoPoint]]) -> list[int]:
        """Whole minutes of each ``(from, to)`` leg (a route's consecutive stops: n legs, not n² pairs)."""
        ...


async def travel_table(port: TravelTimes, places: Iterable[GeoPoint]) -> TravelTable:
    """Minutes between every two of ``places`` (each distinct place asked once)."""
    unique = list(dict.fromkeys(places))
    if len(unique) < 2:
        return {}
    rows = await port.table(unique, unique)
    return {(a, b): rows[i][j] for i, a in enumerate(unique) for j, b in enumerate(unique) if i != j}


async def travel_legs(port: TravelTimes, legs: Iterable[tuple[GeoPoint, GeoPoint]]) -> TravelTable:
    """Minutes of each distinct leg (same place: left out, ``domain.mobile.travel`` answers 0)."""
    wanted = list(dict.fromkeys((a, b) for a, b in legs if a != b))
    if not wanted:
        return {}
    return dict(zip(wanted, await port.pairs(wanted), strict=True))


async def travel_from(port: TravelTimes, origin: GeoPoint, places: Iterable[GeoPoint]) -> TravelTable:
    """Minutes from ``origin`` to each place and back (a star, for a slot search: 2n pairs, not n²)."""
    others = [p for p in dict.fromkeys(places) if p != origin]
    if not others:
        return {}
    out_rows = await port.table([origin], others)
    back_rows = await port.table(others, [origin])
    table: dict[tuple[GeoPoint, GeoPoint], int] = {}
    for j, place in enumerate(others):
        table[(origin, place)] = out_rows[0][j]
        table[(place, origin)] = back_rows[j][0]
    return table
