"""The Ray side of the resource actors: the one place ``ray.remote`` options are applied.

``RayDirectory`` gets or creates one named, detached actor per host
(``Placement.host_name``: ``tech:<id>``/``bay:<id>`` or ``shop:<id>``) in a
configurable namespace, sends it batches of commands, and when the actor has
died (retired when idle, killed, its node lost) drops the handle and
gets-or-creates it again; commands are idempotent by key, so resending a
batch is safe. Actors restart after a crash (``max_restarts``) and rebuild
their calendars from the store on first use.

The composition roots build it from plain values (the settings are read at
the entry points); a connected Ray (``ray.init``) is the caller's business.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import ray
from ray.exceptions import RayActorError
from tenacity import RetryError, retry, retry_if_exception_type, stop_after_delay, wait_exponential

from actors.batching import Batcher
from actors.calendar_host import CalendarHost
from actors.calendar_source import StoreCalendarSource
from actors.commands import Envelope, Outcome
from actors.directory import Placement, RoutedHandle
from application.ports import ResourceHandle, ResourceKind, ResourceRef
from domain.errors import ServiceUnavailable
from domain.policy import SchedulingPolicy

DEFAULT_NAMESPACE = "scheduling"
RETRY_DEADLINE_S = 30.0
"""How long a batch is resent to a host that died before the caller hears about it."""

RESEND_TO_A_DEAD_HOST = retry(
    retry=retry_if_exception_type(RayActorError),
    wait=wait_exponential(multiplier=0.02, max=0.5),  # 0.02 s, doubling, at most 0.5 s
    stop=stop_after_delay(RETRY_DEADLINE_S),
)
"""Resend a call to a host that died (``RayActorError``) until ``RETRY_DEADLINE_S``; then ``RetryError``."""


class RayCalendarHost(CalendarHost):
    """A ``CalendarHost`` as a Ray actor: builds its store source in-process and retires when idle."""

    def __init__(self, dsn: str, policy: SchedulingPolicy, idle_seconds: float) -> None:
        super().__init__(StoreCalendarSource(dsn, policy))
        self._idle_limit = idle_seconds
        self._watchdog: asyncio.Task[None] | None = None

    def node_id(self) -> str:
        """The Ray node this host runs on (tests and tools check placement with it)."""
        node: str = ray.get_runtime_context().get_node_id()
        return node

    async def apply(self, batch: Sequence[Envelope]) -> list[Outcome]:
        self._start_watchdog()
        return await super().apply(batch)

    async def activate(self, shop_id: str, now: datetime) -> int:
        self._start_watchdog()
        return await super().activate(shop_id, now)

    def _start_watchdog(self) -> None:
        # Started from a method (not __init__): an async actor's loop runs its methods.
        if self._watchdog is None:
            self._watchdog = asyncio.get_running_loop().create_task(self._watch_idle())

    async def _watch_idle(self) -> None:
        me = ray.get_runtime_context().current_actor
        period = max(0.05, min(self._idle_limit / 4, 30.0))
        while True:
            await asyncio.sleep(period)
            if self.idle_seconds() >= self._idle_limit:
                # ray.kill with no_restart: exit_actor() on an actor with max_restarts
                # is restarted like a crash, and retirement must free the process.
                # A call racing this fails with RayActorError; directories resend it.
                await self.close()
                if self.idle_seconds() < self._idle_limit:
                    continue  # a call arrived while closing: stay (the pool reopens lazily)
                ray.kill(me, no_restart=True)
                return


class RayDirectory:
    """``ResourceDirectory`` over named Ray actors (one per resource or per shop)."""

    def __init__(
        self,
        dsn: str,
        policy: SchedulingPolicy,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        placement: Placement = Placement.PER_SHOP,
        idle_seconds: float = 600.0,
        max_restarts: int = -1,
        max_task_retries: int = 3,
    ) -> None:
        self.dsn = dsn
        self.policy = policy
        self.namespace = namespace
        self.placement = placement
        self.idle_seconds = idle_seconds
        self.max_restarts = max_restarts
        self.max_task_retries = max_task_retries
        self._actors: dict[str, Any] = {}
        self._batchers: dict[str, Batcher] = {}

    # -- ResourceDirectory -------------------------------------------------------

    def technician(self, shop_id: str, technician_id: str) -> ResourceHandle:
        return self._handle(ResourceRef(ResourceKind.TECHNICIAN, shop_id, technician_id))

    def bay(self, shop_id: str, bay_id: str) -> ResourceHandle:
        return self._handle(ResourceRef(ResourceKind.BAY, shop_id, bay_id))

    async def activate(self, refs: Sequence[ResourceRef], now: datetime) -> None:
        """Start the hosts of ``refs`` and load their calendars (a shop's in one read when per shop)."""
        handles = [self._handle(ref) for ref in refs]
        if self.placement is Placement.PER_SHOP:
            shops = sorted({ref.shop_id for ref in refs})
            await asyncio.gather(*(self._call(f"shop:{s}", "activate", s, now) for s in shops))
        await asyncio.gather(*(h.expire(now=now) for h in handles))

    async def shutdown(self) -> None:
        """Kill this directory's actors (tests; an operator's reset). Calendars rebuild from the store."""
        for name in list(self._actors):
            with contextlib.suppress(RayActorError, ValueError):
                ray.kill(self._actor(name), no_restart=True)
        self._actors.clear()
        self._batchers.clear()

    # -- tools (bench, tests) -------------------------------------------------------

    async def pids(self) -> dict[str, int]:
        """The process id of every live host this directory created."""
        names = list(self._actors)
        pids = await asyncio.gather(*(self._call(n, "pid") for n in names))
        return dict(zip(names, pids, strict=True))

    async def nodes(self, refs: Sequence[ResourceRef]) -> dict[str, str]:
        """The Ray node id of the host of each of ``refs``, by host name (started if it was not)."""
        names = sorted({self.placement.host_name(ref) for ref in refs})
        nodes = await asyncio.gather(*(self._call(n, "node_id") for n in names))
        return dict(zip(names, nodes, strict=True))

    def actor(self, ref: ResourceRef) -> Any:
        """The raw Ray actor handle of ``ref``'s host (tests kill it to prove restarts)."""
        return self._actor(self.placement.host_name(ref))

    # -- internals ----------------------------------------------------------------

    def _handle(self, ref: ResourceRef) -> RoutedHandle:
        name = self.placement.host_name(ref)
        batcher = self._batchers.get(name)
        if batcher is None:

            async def send(batch: Sequence[Envelope]) -> list[Outcome]:
                outcomes: list[Outcome] = await self._call(name, "apply", list(batch))
                return outcomes

            batcher = self._batchers[name] = Batcher(send)
        return RoutedHandle(ref, batcher, name)

    def _actor(self, name: str) -> Any:
        actor = self._actors.get(name)
        if actor is None:
            actor = self._actors[name] = (
                _host_class()
                .options(
                    name=name,
                    namespace=self.namespace,
                    get_if_exists=True,
                    lifetime="detached",  # shared by every replica and the bridge; retires when idle
                    max_restarts=self.max_restarts,
                    max_task_retries=self.max_task_retries,
                    num_cpus=0,  # mostly idle, waiting on calls: never reserve a core
                    max_concurrency=1000,
                    # With no resources asked, the default strategy packs every host on the caller's node;
                    # spreading puts a cluster's shops on all its nodes (and, after a node is lost, its
                    # hosts restart on the others). On one node it changes nothing.
                    scheduling_strategy="SPREAD",
                )
                .remote(self.dsn, self.policy, self.idle_seconds)
            )
        return actor

    async def _call(self, name: str, method: str, *args: Any) -> Any:
        try:
            return await self._send(name, method, *args)
        except RetryError:
            raise ServiceUnavailable(f"the calendars of {name} cannot be reached; retry shortly") from None

    @RESEND_TO_A_DEAD_HOST
    async def _send(self, name: str, method: str, *args: Any) -> Any:
        actor = self._actor(name)
        try:
            return await getattr(actor, method).remote(*args)
        except RayActorError:
            # Dead (retired, killed for good) or restarting: the next try gets-or-creates it again.
            if self._actors.get(name) is actor:
                del self._actors[name]
            raise


_HOST_CLASS: Any = None


def _host_class() -> Any:
    """``ray.remote(RayCalendarHost)``, made on first use (never at import: workers import this module)."""
    global _HOST_CLASS
    if _HOST_CLASS is None:
        _HOST_CLASS = ray.remote(RayCalendarHost)
    return _HOST_CLASS
