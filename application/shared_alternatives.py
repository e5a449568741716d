"""Alternatives for the losers of a race, computed once for all who lost at the same time.

When many clients race for the same slots, every loser is owed a 409 with
fresh alternatives, and each of those is a slot search (the shop-day's
calendars, then a CP-SAT solve). Computed per loser, they cost more than the
race itself: 200 clients on 2 cores answered about 7 times a second, most
answers after 20 s (``bench/http.py --race``).

Losers who ask for the same search at the same time get one computation
("single flight"): the first starts it, the others wait for its answer. The
answer is as fresh as each loser's own would have been (it started after the
first of them lost, and nothing is cached once it is answered). A vehicle's
own bookings shape its search, so a vehicle that has any in the window
searches alone; every other field of the search is part of the key.

The shared search runs in a context of its own, not in the first loser's:
if that client goes away, its request is cancelled along with the calls it
made (Ray Serve cancels them recursively), and the others still need it.
"""

from __future__ import annotations

import asyncio
import contextvars
from dataclasses import replace
from datetime import datetime

from application.slot_search import SlotFinder, SlotSearch
from domain.job import Slot


class SharedAlternatives:
    """``SlotFinder.find`` for refusals, shared by concurrent identical searches of vehicles with no other booking."""

    def __init__(self, finder: SlotFinder) -> None:
        self._finder = finder
        self._in_flight: dict[SlotSearch, asyncio.Task[tuple[Slot, ...]]] = {}
        self.computed = 0
        """Searches actually run (tests and benches compare it with the refusals answered)."""

    async def find(self, search: SlotSearch, now: datetime) -> list[Slot]:
        if await self._finder.vehicle_busy(search, now):
            return list(await self._compute(search, now))
        key = replace(search, vehicle_id="")
        pending = self._in_flight.get(key)
        if pending is None:
            loop = asyncio.get_running_loop()
            pending = loop.create_task(self._compute(search, now), context=contextvars.Context())
            self._in_flight[key] = pending
            pending.add_done_callback(lambda done: self._forget(key, done))
        # shield: one loser giving up (its client gone) must not cancel the search the others wait on
        return list(await asyncio.shield(pending))

    async def _compute(self, search: SlotSearch, now: datetime) -> tuple[Slot, ...]:
        self.computed += 1
        return (await self._finder.find(search, now)).slots

    def _forget(self, key: SlotSearch, done: asyncio.Task[tuple[Slot, ...]]) -> None:
        if self._in_flight.get(key) is done:
            del self._in_flight[key]
