"""The typed interface between the application and the resource actors.

Everything above ``actors/`` reaches a technician's or bay's calendar through
``ResourceDirectory`` and ``ResourceHandle``; the Ray implementation lives in
``actors.factory`` and ``LocalDirectory`` (here) runs the same hosts in-process
for tests without Ray.

Placement decides which host carries a resource. ``PER_RESOURCE`` is the
design card's one actor per technician and per bay; ``PER_SHOP`` carries all
of a shop's resource actors in one process (see the README's booking protocol
section for the measured trade-off). Either way each resource has one
calendar in one place, so its contention is serialized there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from actors.batching import Batcher
from actors.calendar_host import CalendarHost
from actors.commands import Book, Command, Envelope, Expire, Hold, Release, Reload, Settle, View
from application.ports import HoldToken, Requirement, ResourceHandle, ResourceKind, ResourceRef, ResourceView
from domain.time_windows import Interval


class Placement(StrEnum):
    PER_RESOURCE = "per_resource"
    PER_SHOP = "per_shop"

    def host_name(self, ref: ResourceRef) -> str:
        """The host (named Ray actor) that carries ``ref``'s calendar."""
        return ref.label if self is Placement.PER_RESOURCE else f"shop:{ref.shop_id}"


Submit = Callable[[Envelope], Any]


class RoutedHandle:
    """A ``ResourceHandle`` that sends commands through its host's batcher."""

    def __init__(self, ref: ResourceRef, batcher: Batcher, host: str = "") -> None:
        self.ref = ref
        self.host = host
        self._batcher = batcher

    async def _send(self, command: Command, now: datetime) -> Any:
        outcome = await self._batcher.submit(Envelope(self.ref, command, now))
        return outcome.unwrap()

    async def hold(
        self,
        key: str,
        interval: Interval,
        expires_at: datetime,
        *,
        now: datetime,
        requirement: Requirement = Requirement(),  # noqa: B008 - frozen, shared safely
    ) -> HoldToken:
        token: HoldToken = await self._send(Hold(key, interval, expires_at, requirement), now)
        return token

    async def book(
        self,
        key: str,
        interval: Interval,
        *,
        now: datetime,
        requirement: Requirement = Requirement(),  # noqa: B008
    ) -> HoldToken:
        token: HoldToken = await self._send(Book(key, interval, requirement), now)
        return token

    async def confirm(self, key: str, interval: Interval, *, now: datetime) -> None:
        await self._send(Settle(key, interval, None), now)

    async def restore(self, key: str, interval: Interval, held_until: datetime | None, *, now: datetime) -> None:
        await self._send(Settle(key, interval, held_until), now)

    async def finish(self, key: str, interval: Interval, *, now: datetime) -> None:
        await self._send(Settle(key, interval, None, finished=True), now)

    async def release(self, key: str, *, now: datetime) -> bool:
        return bool(await self._send(Release(key), now))

    async def cancel(self, key: str, *, now: datetime) -> bool:
        return await self.release(key, now=now)

    async def reload(self, *, now: datetime, refresh: bool = False) -> None:
        await self._send(Reload(refresh), now)

    async def expire(self, *, now: datetime) -> list[str]:
        keys: list[str] = await self._send(Expire(), now)
        return keys

    async def view(self, window: Interval, *, now: datetime) -> ResourceView:
        result: ResourceView = await self._send(View(window), now)
        return result

    async def busy(self, window: Interval, *, now: datetime) -> list[Interval]:
        return list((await self.view(window, now=now)).busy)

    async def free(self, window: Interval, *, now: datetime) -> list[Interval]:
        return list((await self.view(window, now=now)).free)


class LocalDirectory:
    """Hosts in this process: the same calendars and commands as on Ray, for tests and tools."""

    def __init__(self, new_host: Callable[[], CalendarHost], placement: Placement = Placement.PER_SHOP) -> None:
        self._new_host = new_host
        self.placement = placement
        self.hosts: dict[str, CalendarHost] = {}
        self._batchers: dict[str, Batcher] = {}

    def _handle(self, ref: ResourceRef) -> RoutedHandle:
        name = self.placement.host_name(ref)
        batcher = self._batchers.get(name)
        if batcher is None:
            host = self.hosts[name] = self._new_host()
            batcher = self._batchers[name] = Batcher(host.apply)
        return RoutedHandle(ref, batcher, name)

    def technician(self, shop_id: str, technician_id: str) -> ResourceHandle:
        return self._handle(ResourceRef(ResourceKind.TECHNICIAN, shop_id, technician_id))

    def bay(self, shop_id: str, bay_id: str) -> ResourceHandle:
        return self._handle(ResourceRef(ResourceKind.BAY, shop_id, bay_id))

    async def activate(self, refs: Sequence[ResourceRef], now: datetime) -> None:
        handles = [self._handle(ref) for ref in refs]
        if self.placement is Placement.PER_SHOP:
            for shop_id in sorted({ref.shop_id for ref in refs}):
                await self.hosts[f"shop:{shop_id}"].activate(shop_id, now)
        for handle in handles:
            await handle.expire(now=now)

    async def shutdown(self) -> None:
        for host in self.hosts.values():
            await host.close()
        self.hosts.clear()
        self._batchers.clear()
