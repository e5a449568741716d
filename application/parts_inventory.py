"""Parts stock from the Inventory Service, for the shops of one search in one call, cached briefly.

The slot search and the booking both ask here, so a slot offered on the
Inventory Service's word is booked on the same word (the cache holds it for
``ttl_seconds``). When the service is not configured the answer is None and
the local ``parts`` table answers, as before; when it is down the answer is
None with a note, and the local table answers too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from application.neighbour_ports import InventorySource
from domain.neighbours import NeighbourUnavailable
from domain.parts import PartStock

log = logging.getLogger(__name__)

_MAX_ENTRIES = 1024


@dataclass(frozen=True, slots=True)
class InventoryAnswer:
    """Stock per shop and part code from the Inventory Service, or None (then the local table answers)."""

    stock: Mapping[str, Mapping[str, PartStock]] | None
    note: str | None = None
    """Why the Inventory Service's word is missing, for the explanation (None when it was not asked)."""


class PartsInventory:
    """Asks the Inventory Service (if any), one batched call per search, answers cached for a short TTL."""

    def __init__(
        self,
        source: InventorySource | None,
        *,
        ttl_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._ttl = ttl_seconds
        self._clock = clock
        self._cache: dict[tuple[frozenset[str], frozenset[str]], tuple[float, InventoryAnswer]] = {}

    @property
    def configured(self) -> bool:
        return self._source is not None

    async def stock(self, shop_ids: Sequence[str], part_codes: Sequence[str]) -> InventoryAnswer:
        if self._source is None or not part_codes or not shop_ids:
            return InventoryAnswer(None)
        key = (frozenset(shop_ids), frozenset(part_codes))
        now = self._clock()
        hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        try:
            items = await self._source.stock(sorted(key[0]), sorted(key[1]))
        except NeighbourUnavailable as exc:
            log.warning("parts checked against the local table: %s", exc)
            return InventoryAnswer(None, f"parts were checked against the local stock table: {exc}")
        by_shop: dict[str, dict[str, PartStock]] = {shop: {} for shop in key[0]}
        for item in items:
            by_shop[item.shop_id][item.part_code] = item
        answer = InventoryAnswer(by_shop)
        if len(self._cache) >= _MAX_ENTRIES:  # a bound, not an LRU: searches repeat within seconds or not at all
            self._cache.clear()
        self._cache[key] = (now + self._ttl, answer)
        return answer
