"""Losers of a race who ask for the same alternatives at the same time share one search."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from application.shared_alternatives import SharedAlternatives
from application.slot_search import SlotSearch, SlotSearchResult
from domain.job import Slot
from domain.time_windows import Interval

NOW = datetime(2030, 3, 1, 8, 0, tzinfo=UTC)
SLOT = Slot("shop_a", "t1", "b1", Interval(NOW + timedelta(hours=2), NOW + timedelta(hours=3)), True, 0.9)


class GatedFinder:
    """A ``SlotFinder`` whose searches all wait on one gate; counts them. Vehicles named busy-* have a booking."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.searches: list[SlotSearch] = []

    async def vehicle_busy(self, search: SlotSearch, now: datetime) -> list[Interval]:
        return [Interval(NOW, NOW + timedelta(hours=1))] if search.vehicle_id.startswith("busy") else []

    async def find(self, search: SlotSearch, now: datetime | None = None) -> SlotSearchResult:
        self.searches.append(search)
        await self.gate.wait()
        return SlotSearchResult(slots=(SLOT,))


def search(vehicle: str, **fields: Any) -> SlotSearch:
    return SlotSearch(vehicle_id=vehicle, service_type="routine", shop_ids=("shop_a",), **fields)


async def _all(shared: SharedAlternatives, finder: GatedFinder, searches: list[SlotSearch]) -> list[list[Slot]]:
    pending = [asyncio.ensure_future(shared.find(s, NOW)) for s in searches]
    while len(finder.searches) < 1 or not all(_waiting(p) for p in pending):
        await asyncio.sleep(0)  # let every caller reach the gate (no timer involved)
    finder.gate.set()
    return list(await asyncio.gather(*pending))


def _waiting(task: asyncio.Future[Any]) -> bool:
    return not task.done()


async def test_concurrent_losers_of_different_vehicles_share_one_search() -> None:
    finder = GatedFinder()
    shared = SharedAlternatives(finder)  # type: ignore[arg-type]  # a fake of the finder's two methods

    answers = await _all(shared, finder, [search(f"V{i}") for i in range(20)])

    assert len(finder.searches) == 1 and shared.computed == 1
    assert answers == [[SLOT]] * 20


async def test_a_vehicle_with_a_booking_of_its_own_searches_alone() -> None:
    finder = GatedFinder()
    shared = SharedAlternatives(finder)  # type: ignore[arg-type]

    await _all(shared, finder, [search("V1"), search("V2"), search("busy-1"), search("busy-2")])

    assert sorted(s.vehicle_id for s in finder.searches) == ["V1", "busy-1", "busy-2"]


async def test_different_searches_are_not_shared_and_nothing_is_kept_once_answered() -> None:
    finder = GatedFinder()
    shared = SharedAlternatives(finder)  # type: ignore[arg-type]

    await _all(shared, finder, [search("V1"), search("V2", customer_tier="fleet"), search("V3", top_k=5)])
    assert shared.computed == 3
    await shared.find(search("V4"), NOW)  # answered before: searched afresh
    assert shared.computed == 4
