"""A host of resource actors: where commands meet calendars.

A host holds the ``TechnicianCalendar``/``BayCalendar`` shells of one placement
unit (one shop, or one single resource) and applies batches of commands to
them. Loading and reloading await the store; applying a command never awaits,
so check-then-set on a calendar is atomic within the host's event loop.

The class is plain Python: the Ray factory wraps it as an actor, and the
in-process directory uses it directly in unit tests.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Sequence
from datetime import datetime, timedelta

from actors.bay_calendar import bay_not_found
from actors.calendar_shell import CalendarShell
from actors.calendar_source import CalendarSource
from actors.commands import Book, Envelope, Expire, Hold, Outcome, Release, Reload, Settle, View
from actors.technician_calendar import technician_not_found
from application.ports import ResourceKind, ResourceRef
from domain.errors import DomainError
from domain.time_windows import Interval

log = logging.getLogger(__name__)

LOOK_BEHIND = timedelta(days=1)
LOOK_AHEAD = timedelta(days=60)
"""The rolling window a calendar is loaded for; a command beyond it extends it first."""


class CalendarHost:
    """Resource actors of one placement unit, loaded lazily from a ``CalendarSource``."""

    def __init__(self, source: CalendarSource) -> None:
        self.source = source
        self._actors: dict[ResourceRef, CalendarShell] = {}
        self._loading: dict[ResourceRef, asyncio.Future[CalendarShell | None]] = {}
        self._reload_locks: dict[ResourceRef, asyncio.Lock] = {}
        self._in_flight = 0
        self._last_used = time.monotonic()

    # -- lifecycle -------------------------------------------------------------

    def pid(self) -> int:
        return os.getpid()

    def idle_seconds(self) -> float:
        """Seconds since the last command finished; 0 while one is running."""
        return 0.0 if self._in_flight else time.monotonic() - self._last_used

    def resources(self) -> list[ResourceRef]:
        return sorted(self._actors)

    async def activate(self, shop_id: str, now: datetime) -> int:
        """Load every resource of a shop in one read; resources already live keep their state."""
        self._in_flight += 1
        try:
            for actor in await self.source.load_shop(shop_id, _default_window(now), now):
                self._actors.setdefault(actor.ref, actor)
            return sum(1 for ref in self._actors if ref.shop_id == shop_id)
        finally:
            self._done()

    async def close(self) -> None:
        await self.source.close()

    # -- commands --------------------------------------------------------------

    async def apply(self, batch: Sequence[Envelope]) -> list[Outcome]:
        """Apply each command to its resource; one outcome per command, in order.

        Each command succeeds or fails alone: a command that cannot be loaded
        for, or that raises, answers its own failure and its neighbours in the
        batch go on (one client's bad request never fails another's).
        """
        self._in_flight += 1
        try:
            ready: list[CalendarShell | Outcome] = []
            for env in batch:
                try:
                    actor = await self._ready(env)
                except Exception as exc:
                    log.warning("command %s on %s failed before applying", type(env.command).__name__,
                                env.ref.label, exc_info=True)
                    ready.append(Outcome.failed(exc))
                    continue
                ready.append(actor or Outcome.failed(_not_found(env.ref)))
            outcomes: list[Outcome] = []
            to_reload: dict[ResourceRef, tuple[CalendarShell, datetime]] = {}
            to_refresh: dict[ResourceRef, datetime] = {}
            # No await in this loop: every check-then-set below is atomic.
            for env, found in zip(batch, ready, strict=True):
                if isinstance(found, Outcome):
                    outcomes.append(found)
                    continue
                actor = found
                if isinstance(env.command, Reload) and env.command.refresh:
                    to_refresh[env.ref] = env.now
                    outcomes.append(Outcome(True))
                    continue
                if isinstance(env.command, Reload | Settle):
                    # a settle memory cannot honour means memory is stale: the store decides
                    if isinstance(env.command, Reload) or not _settled(actor, env.command, env.now):
                        to_reload[env.ref] = (actor, env.now)
                    outcomes.append(Outcome(True))
                    continue
                outcomes.append(_apply(actor, env))
            for ref, now in to_refresh.items():
                # The resource changed (its hours or time off): a fresh calendar replaces the old one.
                fresh = await self.source.load(ref, self._actors[ref].loaded, now)
                if fresh is not None:
                    self._actors[ref] = fresh
                to_reload.pop(ref, None)
            for actor, now in to_reload.values():
                try:
                    await self._reload(actor, actor.loaded, now)
                except Exception:
                    # The settle stands (the database committed it); the next command reloads first.
                    log.warning("reload of %s failed; it reloads on next use", actor.ref.label, exc_info=True)
                    actor.stale = True
            return outcomes
        finally:
            self._done()

    async def _ready(self, env: Envelope) -> CalendarShell | None:
        actor = self._actors.get(env.ref)
        if actor is None:
            pending = self._loading.get(env.ref)
            if pending is None:
                pending = asyncio.ensure_future(self._load(env.ref, env.now))
                self._loading[env.ref] = pending
            # shield: one batch giving up must not cancel the load others wait on
            actor = await asyncio.shield(pending)
            if actor is None:
                return None
        if actor.stale:
            await self._reload(actor, actor.loaded, env.now)
        span = _span(env)
        if span is not None and not _well_inside(span, actor.loaded) and not actor.covers(span):
            needed = actor.span_needed(span)
            wider = Interval(min(actor.loaded.start, needed.start), max(actor.loaded.end, needed.end))
            await self._reload(actor, wider, env.now)
        return actor

    async def _load(self, ref: ResourceRef, now: datetime) -> CalendarShell | None:
        try:
            actor = await self.source.load(ref, _default_window(now), now)
            if actor is not None:
                self._actors.setdefault(ref, actor)
                actor = self._actors[ref]
            return actor
        finally:
            self._loading.pop(ref, None)

    async def _reload(self, actor: CalendarShell, window: Interval, now: datetime) -> None:
        lock = self._reload_locks.setdefault(actor.ref, asyncio.Lock())
        async with lock:
            actor.begin_reload()
            try:
                stored = await self.source.entries(actor.ref, window, now)
            except BaseException:
                actor.finish_reload_aborted()
                raise
            actor.finish_reload(stored, window, now)
            actor.stale = False

    def _done(self) -> None:
        self._in_flight -= 1
        self._last_used = time.monotonic()


def _settled(actor: CalendarShell, cmd: Settle, now: datetime) -> bool:
    try:
        return actor.settle(cmd, now)
    except Exception:
        log.warning("settle of %s on %s failed; reloading", cmd.key, actor.ref.label, exc_info=True)
        return False


def _apply(actor: CalendarShell, env: Envelope) -> Outcome:
    cmd = env.command
    try:
        if isinstance(cmd, Hold):
            return Outcome(actor.hold(cmd, env.now))
        if isinstance(cmd, Book):
            return Outcome(actor.book(cmd, env.now))
        if isinstance(cmd, Release):
            return Outcome(actor.release(cmd.key))
        if isinstance(cmd, Expire):
            return Outcome(actor.expire(env.now))
        if isinstance(cmd, View):
            return Outcome(actor.view(cmd.window, env.now))
        raise TypeError(f"unknown command {cmd!r}")
    except DomainError as exc:
        return Outcome.failed(exc)
    except Exception as exc:
        log.warning("command %s on %s failed", type(cmd).__name__, env.ref.label, exc_info=True)
        return Outcome.failed(exc)


def _span(env: Envelope) -> Interval | None:
    cmd = env.command
    if isinstance(cmd, Hold | Book | Settle):
        return cmd.interval
    if isinstance(cmd, View):
        return cmd.window
    return None


_LONGEST_LOCAL_DAY = timedelta(hours=48)  # generous: real days are 23 to 25 h


def _well_inside(span: Interval, loaded: Interval) -> bool:
    """True when ``span``'s whole local days (a margin of two days) surely lie inside ``loaded``.

    A cheap test that answers most commands; ``covers`` computes the days exactly.
    """
    return loaded.start <= span.start - _LONGEST_LOCAL_DAY and span.end + _LONGEST_LOCAL_DAY <= loaded.end


def _default_window(now: datetime) -> Interval:
    return Interval(now - LOOK_BEHIND, now + LOOK_AHEAD)


def _not_found(ref: ResourceRef) -> DomainError:
    return technician_not_found(ref) if ref.kind is ResourceKind.TECHNICIAN else bay_not_found(ref)
