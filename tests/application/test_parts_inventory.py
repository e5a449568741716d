"""One Inventory Service call per search, cached for a short TTL; failures are not cached."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from application.parts_inventory import PartsInventory
from domain.neighbours import NeighbourUnavailable
from domain.parts import PartStock
from tests.neighbours.conftest import ManualClock


class CountingInventory:
    def __init__(self) -> None:
        self.calls: list[tuple[list[str], list[str]]] = []
        self.down = False

    async def stock(self, shop_ids: Sequence[str], part_codes: Sequence[str]) -> list[PartStock]:
        self.calls.append((list(shop_ids), list(part_codes)))
        if self.down:
            raise NeighbourUnavailable("inventory", "connection failed: ConnectError")
        return [PartStock(s, p, p, 1, timedelta(0)) for s in shop_ids for p in part_codes]


async def test_answers_are_reused_until_the_ttl_passes() -> None:
    source, clock = CountingInventory(), ManualClock()
    inventory = PartsInventory(source, ttl_seconds=30, clock=clock)
    first = await inventory.stock(["b", "a"], ["p"])
    assert first.stock is not None and set(first.stock) == {"a", "b"}
    assert await inventory.stock(["a", "b"], ["p"]) == first  # same shops and parts, any order
    clock.advance(30)
    await inventory.stock(["a", "b"], ["p"])
    assert source.calls == [(["a", "b"], ["p"]), (["a", "b"], ["p"])]


async def test_a_failure_answers_none_with_a_note_and_is_not_cached() -> None:
    source = CountingInventory()
    source.down = True
    inventory = PartsInventory(source, clock=ManualClock())
    answer = await inventory.stock(["a"], ["p"])
    assert answer.stock is None and answer.note is not None and "inventory service unavailable" in answer.note
    source.down = False
    assert (await inventory.stock(["a"], ["p"])).stock is not None


async def test_without_a_service_or_without_parts_nobody_is_asked() -> None:
    source = CountingInventory()
    assert (await PartsInventory(None).stock(["a"], ["p"])).stock is None
    assert (await PartsInventory(source).stock(["a"], [])).stock is None
    assert source.calls == []
