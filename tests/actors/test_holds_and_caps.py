"""Holds expire on an injected clock; caps and buffers hold even when clients race."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from application import booking as booking_module
from application.booking import TRANSIENT_HOLD_TTL, BookingService
from application.clock import ManualClock
from application.resource_pair import PairPlacement
from domain.appointment import AppointmentStatus
from domain.errors import DailyCapReached, HoldExpired, SlotTaken
from tests.actors.checks import calendars_match_database, outbox_events, overlapping_rows, queries_for
from tests.actors.conftest import START, request
from tests.factories import seed_shop


async def test_a_hold_expires_after_its_ttl_and_its_time_becomes_bookable(
    db: Any, service: BookingService, clock: ManualClock
) -> None:
    await seed_shop(db, techs=1, bays=1)
    held = await service.book(request(), hold=True)
    assert held.status is AppointmentStatus.HELD
    with pytest.raises(SlotTaken):
        await service.book(request())
    clock.advance(timedelta(minutes=15))
    booked = await service.book(request())
    assert booked.status is AppointmentStatus.SCHEDULED
    with pytest.raises(HoldExpired):
        await service.confirm(held.id)
    assert (await queries_for(service).get(held.id)).status is AppointmentStatus.EXPIRED
    assert await overlapping_rows(db) == 0
    assert await calendars_match_database(service, "shop_a", clock.now()) == []


class _CallerDied(Exception):
    """Stands for a process dying between the actor holds and the commit."""


async def test_a_booking_whose_caller_dies_after_holding_blocks_only_for_the_transient_ttl(
    db: Any, service: BookingService, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_shop(db, techs=1, bays=1)

    async def dies(*args: Any, **kwargs: Any) -> Any:
        raise _CallerDied

    async def nothing_undone(*args: Any, **kwargs: Any) -> None:
        return None

    with monkeypatch.context() as patch:
        patch.setattr(booking_module, "in_transaction", dies)
        patch.setattr(PairPlacement, "undo", nothing_undone)
        with pytest.raises(_CallerDied):
            await service.book(request())
    with pytest.raises(SlotTaken):  # the actors still hold it; the database has nothing
        await service.book(request())
    clock.advance(TRANSIENT_HOLD_TTL)
    booked = await service.book(request())
    assert booked.status is AppointmentStatus.SCHEDULED
    assert await calendars_match_database(service, "shop_a", clock.now()) == []


async def test_a_clients_hold_outlives_the_transient_ttl(db: Any, service: BookingService, clock: ManualClock) -> None:
    await seed_shop(db, techs=1, bays=1)
    await service.book(request(), hold=True)
    clock.advance(TRANSIENT_HOLD_TTL * 2)
    with pytest.raises(SlotTaken):
        await service.book(request())


async def test_a_confirmed_hold_writes_its_events_once_and_confirming_twice_answers_the_same(
    db: Any, service: BookingService, clock: ManualClock
) -> None:
    await seed_shop(db, techs=1, bays=1)
    held = await service.book(request(), hold=True)
    assert await outbox_events(db, held.id) == []
    clock.advance(timedelta(minutes=14))
    first = await service.confirm(held.id)
    second = await service.confirm(held.id)
    assert first.status is second.status is AppointmentStatus.SCHEDULED
    assert (first.id, first.interval) == (second.id, second.interval)
    types = [e.event_type for e in await outbox_events(db, held.id)]
    assert types == ["appointment.scheduled", "technician.assigned"]
    clock.advance(timedelta(hours=1))  # a confirmed appointment never expires
    with pytest.raises(SlotTaken):
        await service.book(request())


async def test_the_sweeper_expires_holds_in_the_store_and_the_actors(
    db: Any, service: BookingService, clock: ManualClock
) -> None:
    await seed_shop(db, techs=1, bays=1)
    held = await service.book(request(), hold=True)
    clock.advance(timedelta(minutes=20))
    expired = await service.expire_holds()
    assert [a.id for a in expired] == [held.id]
    assert await calendars_match_database(service, "shop_a", clock.now()) == []


async def test_a_released_hold_frees_its_time_at_once(db: Any, service: BookingService) -> None:
    await seed_shop(db, techs=1, bays=1)
    held = await service.book(request(), hold=True)
    assert (await service.release_hold(held.id)).status is AppointmentStatus.CANCELLED
    assert (await service.release_hold(held.id)).status is AppointmentStatus.CANCELLED
    await service.book(request())


async def test_the_seventh_booking_of_a_technicians_day_is_refused_when_the_cap_is_six(
    db: Any, service: BookingService
) -> None:
    await seed_shop(db, techs=1, bays=7)
    # 1 h jobs, 90 min apart: the 30 min buffer is kept
    starts = [START.replace(hour=7) + timedelta(minutes=90 * i) for i in range(7)]
    for i, start in enumerate(starts[:6]):
        await service.book(request(bay=f"shop_a_b{i}", start=start))
    with pytest.raises(DailyCapReached):
        await service.book(request(bay="shop_a_b6", start=starts[6]))


async def test_the_cap_holds_when_clients_race(db: Any, service: BookingService) -> None:
    await seed_shop(db, techs=1, bays=8)
    starts = [START.replace(hour=7) + timedelta(minutes=90 * i) for i in range(8)]
    results = await asyncio.gather(
        *(service.book(request(bay=f"shop_a_b{i}", start=s)) for i, s in enumerate(starts)), return_exceptions=True
    )
    assert sum(1 for r in results if not isinstance(r, BaseException)) == 6
    assert all(isinstance(r, DailyCapReached) for r in results if isinstance(r, BaseException))


async def test_the_buffer_between_a_technicians_jobs_is_kept(db: Any, service: BookingService) -> None:
    await seed_shop(db, techs=1, bays=2)
    await service.book(request(bay="shop_a_b0", start=START))
    with pytest.raises(SlotTaken):
        await service.book(request(bay="shop_a_b1", start=START + timedelta(minutes=80)))
    with pytest.raises(SlotTaken):
        await service.book(request(bay="shop_a_b1", start=START - timedelta(minutes=80)))
    await service.book(request(bay="shop_a_b1", start=START + timedelta(minutes=90)))
    # a bay needs no buffer
    await service.book(request(tech="shop_a_t0", bay="shop_a_b0", start=START + timedelta(hours=3)))
    assert await overlapping_rows(db) == 0
