"""One client's bad command never fails another's, and nothing after a commit turns it into an error.

Commands to one host travel in batches: a command that cannot be applied
(here a time in year 9999, whose day arithmetic overflows) must answer its
own failure while its neighbours in the batch succeed. And once the database
committed a booking, a calendar that misses the settle reloads; the caller
still hears success.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from actors.factory import RayDirectory
from application.booking import BookingService
from application.ports import HoldToken, ResourceHandle, ResourceRef
from domain.appointment import AppointmentStatus
from domain.errors import DomainError, InvalidRequest
from domain.policy import CancellationPolicy
from domain.time_windows import Interval
from tests.actors.checks import calendars_match_database, queries_for
from tests.actors.conftest import NOW, POLICY, START, request
from tests.factories import seed_shop

FAR = Interval(datetime(9999, 12, 31, 10, tzinfo=UTC), datetime(9999, 12, 31, 12, tzinfo=UTC))


async def test_a_poison_command_fails_alone_in_its_batch(db: Any, directory: RayDirectory) -> None:
    await seed_shop(db, techs=3, bays=3)
    honest = [directory.technician("shop_a", f"shop_a_t{i}") for i in (1, 2)]
    poison = directory.technician("shop_a", "shop_a_t0")
    expires = NOW + timedelta(minutes=15)
    at = Interval(START, START + timedelta(hours=1))

    # gathered in one turn of the loop, the three holds leave for the shop's host in one batch
    results = await asyncio.gather(
        poison.hold("poison", FAR, expires, now=NOW),
        *(h.hold(f"honest-{i}", at, expires, now=NOW) for i, h in enumerate(honest)),
        return_exceptions=True,
    )

    assert isinstance(results[0], InvalidRequest), results[0]
    assert all(isinstance(r, HoldToken) for r in results[1:]), results[1:]
    # the host survived: the poisoned technician still answers
    token = await poison.hold("after", at, expires, now=NOW)
    assert token.interval == at


@dataclass
class _SettleFails:
    """A calendar handle whose host is lost right after the commit: every settle fails."""

    inner: ResourceHandle

    @property
    def ref(self) -> ResourceRef:
        return self.inner.ref

    @property
    def host(self) -> str:
        return self.inner.host

    async def restore(self, key: str, interval: Interval, held_until: datetime | None, *, now: datetime) -> None:
        raise RuntimeError("calendar host lost after the commit")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class _DirectoryLosingSettles:
    def __init__(self, inner: RayDirectory) -> None:
        self.inner = inner

    def technician(self, shop_id: str, technician_id: str) -> Any:
        return _SettleFails(self.inner.technician(shop_id, technician_id))

    def bay(self, shop_id: str, bay_id: str) -> Any:
        return _SettleFails(self.inner.bay(shop_id, bay_id))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.mark.parametrize("hold", [False, True])
async def test_a_settle_lost_after_the_commit_does_not_fail_the_booking(
    db: Any, directory: RayDirectory, hold: bool
) -> None:
    await seed_shop(db, techs=1, bays=1)
    lossy = BookingService(db, _DirectoryLosingSettles(directory), POLICY, CancellationPolicy())  # type: ignore[arg-type]

    appt = await lossy.book(request(), hold=hold, now=NOW)
    if hold:
        appt = await lossy.confirm(appt.id, now=NOW)

    assert appt.status is AppointmentStatus.SCHEDULED
    stored = await queries_for(lossy).get(appt.id)
    assert stored.status is AppointmentStatus.SCHEDULED
    # the calendars reloaded from the store: a second booking of the same time is refused
    with pytest.raises(DomainError):
        await lossy.book(request(), now=NOW)
    assert await calendars_match_database(lossy, "shop_a", NOW) == []
