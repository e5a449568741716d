"""A technician and a bay taken together: both held, or neither.

Used by booking and rescheduling. ``PairPlacement`` remembers where the key
was before (for a move) so an abandoned attempt puts each calendar back as
the database still has it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime

from application.ports import HoldToken, Requirement, ResourceHandle
from domain.time_windows import Interval

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Previous:
    """Where the key stands in the database before this attempt (None: nowhere on this resource)."""

    interval: Interval
    held_until: datetime | None


@dataclass(slots=True)
class PairPlacement:
    """Holds on a technician and a bay under one key, with how to undo each."""

    key: str
    technician: ResourceHandle
    bay: ResourceHandle
    technician_before: Previous | None = None
    bay_before: Previous | None = None

    async def hold(
        self,
        interval: Interval,
        expires_at: datetime,
        now: datetime,
        *,
        skill: str | None,
        equipment: frozenset[str],
    ) -> tuple[HoldToken, HoldToken]:
        """Hold both or neither; the technician's refusal wins when both refuse.

        On one host both holds leave together and are applied in order, so of
        two callers racing for the pair the first takes both. On two hosts the
        technician is held first and the bay only then: were they held at once,
        racing callers could each take one half and all of them fail.
        """

        def hold_technician() -> Awaitable[HoldToken]:
            return self.technician.hold(self.key, interval, expires_at, now=now, requirement=Requirement(skill=skill))

        def hold_bay() -> Awaitable[HoldToken]:
            return self.bay.hold(self.key, interval, expires_at, now=now, requirement=Requirement(equipment=equipment))

        if self.technician.host == self.bay.host:
            tech, bay = await asyncio.gather(_outcome(hold_technician()), _outcome(hold_bay()))
        else:
            tech = await _outcome(hold_technician())
            bay = await _outcome(hold_bay()) if isinstance(tech, HoldToken) else tech
        if isinstance(tech, HoldToken) and isinstance(bay, HoldToken):
            return tech, bay
        await self.undo(now, technician=isinstance(tech, HoldToken), bay=isinstance(bay, HoldToken))
        error = tech if isinstance(tech, BaseException) else bay
        assert isinstance(error, BaseException)
        raise error

    async def settle(self, interval: Interval, held_until: datetime | None, now: datetime) -> None:
        """The database committed the key at ``interval``: both calendars take its word.

        Never raises: it runs after the commit, and the commit is the answer. A
        calendar that missed the settle reloads from the store instead.
        """
        await asyncio.gather(
            _settle_one(self.technician, self.key, interval, held_until, now),
            _settle_one(self.bay, self.key, interval, held_until, now),
        )

    async def finish(self, interval: Interval, now: datetime) -> None:
        """The job at ``interval`` was completed: both calendars free its time, the technician's keeps counting
        it toward the day's cap. Never raises, like ``settle``: a calendar that missed it reloads instead."""
        await asyncio.gather(
            _finish_one(self.technician, self.key, interval, now), _release_one(self.bay, self.key, now)
        )

    async def undo(self, now: datetime, *, technician: bool = True, bay: bool = True, reload: bool = False) -> None:
        """Put each calendar back as the database has it; never raises (a stray hold expires anyway)."""
        steps = []
        if technician:
            steps.append(_put_back(self.technician, self.key, self.technician_before, now, reload))
        if bay:
            steps.append(_put_back(self.bay, self.key, self.bay_before, now, reload))
        await asyncio.gather(*steps)


async def _outcome(call: Awaitable[HoldToken]) -> HoldToken | Exception:
    try:
        return await call
    except Exception as exc:
        return exc


async def _settle_one(
    handle: ResourceHandle, key: str, interval: Interval, held_until: datetime | None, now: datetime
) -> None:
    await _or_reload(handle, "settle", key, now, handle.restore(key, interval, held_until, now=now))


async def _finish_one(handle: ResourceHandle, key: str, interval: Interval, now: datetime) -> None:
    await _or_reload(handle, "finish", key, now, handle.finish(key, interval, now=now))


async def _or_reload(handle: ResourceHandle, what: str, key: str, now: datetime, step: Awaitable[None]) -> None:
    """Await ``step`` (a command the database already committed); a calendar that missed it reloads instead."""
    try:
        await step
    except Exception:
        log.warning("%s of %s on %s failed; reloading it", what, key, handle.ref.label, exc_info=True)
        try:
            await handle.reload(now=now)
        except Exception:  # its host is gone: a new one loads from the store anyway
            log.warning("reload of %s failed too", handle.ref.label, exc_info=True)


async def _release_one(handle: ResourceHandle, key: str, now: datetime) -> None:
    await _put_back(handle, key, None, now, reload=False)


async def _put_back(handle: ResourceHandle, key: str, before: Previous | None, now: datetime, reload: bool) -> None:
    try:
        if before is None:
            await handle.release(key, now=now)
        else:
            await handle.restore(key, before.interval, before.held_until, now=now)
        if reload:
            await handle.reload(now=now)
    except Exception:
        log.warning("could not put back %s on %s", key, handle.ref.label, exc_info=True)
