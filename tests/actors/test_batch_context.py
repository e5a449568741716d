"""A batch runs in a context of its own, not in that of the caller who submitted first.

Ray attributes a call to the task whose context makes it, and Ray Serve
cancels a request's calls when its client goes away; a batch that inherited
the first caller's context was cancelled with it, failing every neighbour.
The same holds for the alternatives losers of a race share.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Sequence
from datetime import UTC, datetime

from actors.batching import Batcher
from actors.commands import Envelope, Expire, Outcome
from application.ports import ResourceKind, ResourceRef
from application.shared_alternatives import SharedAlternatives
from tests.application.test_shared_alternatives import GatedFinder, search

REQUEST = contextvars.ContextVar("REQUEST", default="none")
NOW = datetime(2030, 3, 1, tzinfo=UTC)


async def test_a_batch_does_not_run_in_its_first_callers_context() -> None:
    seen: list[str] = []

    async def send(batch: Sequence[Envelope]) -> list[Outcome]:
        seen.append(REQUEST.get())
        return [Outcome(True) for _ in batch]

    batcher = Batcher(send)
    ref = ResourceRef(ResourceKind.TECHNICIAN, "shop_a", "t1")

    async def caller(name: str) -> Outcome:
        REQUEST.set(name)
        return await batcher.submit(Envelope(ref, Expire(), NOW))

    outcomes = await asyncio.gather(caller("first"), caller("second"))

    assert [o.unwrap() for o in outcomes] == [True, True]
    assert seen == ["none"]


async def test_a_shared_search_does_not_run_in_its_first_callers_context() -> None:
    seen: list[str] = []
    finder = GatedFinder()
    original = finder.find

    async def find(s: object, now: datetime | None = None) -> object:
        seen.append(REQUEST.get())
        return await original(s, now)  # type: ignore[arg-type]

    finder.find = find  # type: ignore[method-assign]
    shared = SharedAlternatives(finder)  # type: ignore[arg-type]

    async def loser(name: str) -> None:
        REQUEST.set(name)
        await shared.find(search(name), NOW)

    losers = [asyncio.ensure_future(loser(n)) for n in ("first", "second")]
    while not seen:
        await asyncio.sleep(0)
    finder.gate.set()
    await asyncio.gather(*losers)

    assert seen == ["none"]
