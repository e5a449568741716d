"""The waitlist in-process: freed time goes to the highest-priority entry, one offer at a time, with a hold.

One technician and one bay with a cap of one job a day make a day full with a
single booking: cancelling it frees exactly one job's room, so exactly one
entry can be offered it. Reserves are off (``policy_app``).
"""

from __future__ import annotations

import asyncio
import time as monotonic
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from application.booking import BookingRequest
from application.clock import ManualClock
from application.waitlist import JoinRequest
from application.wiring import Application
from domain.appointment import AppointmentStatus
from domain.customer import Customer, CustomerTier
from domain.errors import InvalidRequest, NotFound, OfferGone
from domain.job import Job
from domain.urgency import Urgency
from domain.waitlist import EntryStatus
from tests.application.conftest import PolicyApp

OFFERED = "appointment.waitlist.offered"


def _day(days: int) -> datetime:
    """07:00 UTC (the shop's opening) ``days`` from today."""
    d = datetime.now(UTC).date() + timedelta(days=days)
    return datetime(d.year, d.month, d.day, 7, tzinfo=UTC)


async def _book(app: Application, vehicle: str, start: datetime, tech: int = 0) -> str:
    job = Job(vehicle_id=vehicle, service_type="routine", urgency=Urgency.HIGH, duration=timedelta(hours=1))
    req = BookingRequest("shop_a", f"shop_a_t{tech}", f"shop_a_b{tech}", start, job)
    return (await app.booking.book(req)).id


def _join(vehicle: str, day: datetime, urgency: Urgency = Urgency.MEDIUM, tier: CustomerTier = CustomerTier.REGULAR):
    return JoinRequest(
        vehicle_id=vehicle,
        service_type="routine",
        urgency=urgency,
        earliest=day,
        latest=day + timedelta(hours=12),
        shop_id="shop_a",
        customer=Customer(name=vehicle, email=f"{vehicle.lower()}@example.test", tier=tier),
    )


async def _offer_events(db: Any, min_count: int = 1, deadline_s: float = 2.0) -> list[dict[str, Any]]:
    """The offer events in the outbox, waiting (up to ``deadline_s``) until there are ``min_count``."""
    give_up = monotonic.monotonic() + deadline_s
    while True:
        rows = await db.fetch("SELECT envelope FROM outbox WHERE event_type = $1 ORDER BY id", OFFERED)
        if len(rows) >= min_count or monotonic.monotonic() > give_up:
            return [r["envelope"]["data"] for r in rows]
        await asyncio.sleep(0.05)  # polling a condition with a deadline


@pytest.fixture
async def full_day(policy_app: PolicyApp) -> tuple[Application, datetime, str]:
    """One technician and bay, one job a day, and the day three days ahead booked at 10:00."""
    app = await policy_app(techs=1, bays=1, max_bookings_per_technician_per_day=1)
    day = _day(3)
    booked = await _book(app, "BOOKED", day + timedelta(hours=3))
    return app, day, booked


async def test_a_cancellation_offers_the_slot_once_to_the_highest_priority_entry_and_accepting_books_it(
    full_day: tuple[Application, datetime, str], db: Any
) -> None:
    app, day, booked = full_day
    await app.waitlist.join(_join("LOW", day, Urgency.LOW, CustomerTier.PREMIUM))
    await app.waitlist.join(_join("HIGH", day, Urgency.HIGH))
    first_premium, _ = await app.waitlist.join(_join("HIGH_PREMIUM", day, Urgency.HIGH, CustomerTier.PREMIUM))
    await app.waitlist.join(_join("HIGH_PREMIUM_LATER", day, Urgency.HIGH, CustomerTier.PREMIUM))
    await app.waitlist.join(_join("OTHER_DAY", day + timedelta(days=1), Urgency.CRITICAL))

    await app.booking.cancel(booked)

    events = await _offer_events(db)
    assert [e["vehicle_id"] for e in events] == ["HIGH_PREMIUM"]
    offer = events[0]
    assert offer["waitlist_entry_id"] == first_premium.id and offer["status"] == "held"
    await app.waitlist.settle()
    assert len(await _offer_events(db, deadline_s=0)) == 1  # nobody else: the day's one job is held for the offer
    view = await app.waitlist.entry(first_premium.id)
    assert view.offer is not None and view.offer.appointment_id == offer["appointment_id"]
    stored = await db.fetchval("SELECT secret_hash FROM waitlist_offers WHERE id = $1::uuid", offer["offer_id"])
    assert offer["offer_token"].split(".", 1)[1].encode() not in bytes(stored)  # only a hash at rest

    appt = await app.waitlist.accept(offer["offer_token"])

    assert appt.id == offer["appointment_id"] and appt.status is AppointmentStatus.SCHEDULED
    assert (await app.waitlist.entry(first_premium.id)).entry.status is EntryStatus.BOOKED
    with pytest.raises(OfferGone):
        await app.waitlist.accept(offer["offer_token"])  # single use
    with pytest.raises(OfferGone):
        await app.waitlist.decline(offer["offer_token"])
    with pytest.raises(NotFound):
        await app.waitlist.accept(offer["offer_token"][:-2] + "xx")  # a wrong secret is as unknown as none
    with pytest.raises(NotFound):
        await app.waitlist.accept("wo_nothing.at-all")


async def test_an_expired_offer_passes_to_the_next_entry_and_a_declined_one_too(
    full_day: tuple[Application, datetime, str], db: Any
) -> None:
    app, day, booked = full_day
    first, _ = await app.waitlist.join(_join("FIRST", day, Urgency.HIGH))
    second, _ = await app.waitlist.join(_join("SECOND", day, Urgency.MEDIUM))
    third, _ = await app.waitlist.join(_join("THIRD", day, Urgency.LOW))
    await app.booking.cancel(booked)
    (offer,) = await _offer_events(db)
    assert offer["waitlist_entry_id"] == first.id

    # the offer's hold expires (the sweep, at a later clock): the slot goes to the next entry
    await app.waitlist.settle()
    expired = await app.booking.expire_holds(now=datetime.now(UTC) + app.waitlist.offer_ttl + timedelta(seconds=1))
    assert [a.id for a in expired] == [offer["appointment_id"]]
    events = await _offer_events(db, 2)
    assert [e["waitlist_entry_id"] for e in events] == [first.id, second.id]
    with pytest.raises(OfferGone):
        await app.waitlist.accept(offer["offer_token"])
    assert (await app.waitlist.entry(first.id)).entry.status is EntryStatus.WAITING  # still waiting, for other time

    await app.waitlist.decline(events[1]["offer_token"])

    events = await _offer_events(db, 3)
    assert [e["waitlist_entry_id"] for e in events] == [first.id, second.id, third.id]
    await app.waitlist.settle()
    states = await db.fetch("SELECT state FROM waitlist_offers ORDER BY created_at")
    assert [r["state"] for r in states] == ["expired", "declined", "offered"]


async def test_an_offer_past_its_time_is_gone_and_its_slot_moves_on(
    full_day: tuple[Application, datetime, str], db: Any
) -> None:
    app, day, booked = full_day
    app.waitlist.offer_ttl = timedelta(milliseconds=300)
    first, _ = await app.waitlist.join(_join("FIRST", day, Urgency.HIGH))
    second, _ = await app.waitlist.join(_join("SECOND", day, Urgency.LOW))
    await app.booking.cancel(booked)
    (offer,) = await _offer_events(db)
    await app.waitlist.settle()
    await asyncio.sleep(0.35)  # the offer's 300 ms pass

    with pytest.raises(OfferGone, match="expired"):
        await app.waitlist.accept(offer["offer_token"])
    events = await _offer_events(db, 2)
    assert [e["waitlist_entry_id"] for e in events] == [first.id, second.id]


async def test_joining_twice_is_the_same_entry_and_bad_input_is_refused(policy_app: PolicyApp, db: Any) -> None:
    app = await policy_app()
    day = _day(3)

    entry, new = await app.waitlist.join(_join("V1", day))
    again, new_again = await app.waitlist.join(_join("V1", day, Urgency.HIGH))

    assert new and not new_again and again.id == entry.id
    assert await db.fetchval("SELECT count(*) FROM waitlist_entries") == 1
    with pytest.raises(InvalidRequest, match="unknown service_type"):
        await app.waitlist.join(JoinRequest("V2", "teleport", Urgency.LOW, day, day + timedelta(hours=1), "shop_a"))
    with pytest.raises(InvalidRequest, match="unknown shop"):
        await app.waitlist.join(JoinRequest("V2", "routine", Urgency.LOW, day, day + timedelta(hours=1), "nowhere"))
    with pytest.raises(InvalidRequest, match="latest"):
        await app.waitlist.join(JoinRequest("V2", "routine", Urgency.LOW, day, day, "shop_a"))
    left = await app.waitlist.leave(entry.id)
    assert left.entry.status is EntryStatus.LEFT
    fresh, new = await app.waitlist.join(_join("V1", day))  # once it left, joining again is a new entry
    assert new and fresh.id != entry.id


async def test_the_store_refuses_a_second_live_offer_for_an_entry_or_for_a_freed_slot(
    full_day: tuple[Application, datetime, str], db: Any
) -> None:
    app, day, booked = full_day
    entry, _ = await app.waitlist.join(_join("FIRST", day))
    other, _ = await app.waitlist.join(_join("SECOND", day))
    await app.booking.cancel(booked)
    (offer,) = await _offer_events(db)
    await app.waitlist.settle()
    insert = """
        INSERT INTO waitlist_offers (id, token_id, secret_hash, entry_id, appointment_id, freed_from, state,
            created_at, expires_at)
        SELECT gen_random_uuid(), md5(random()::text), secret_hash, $1::uuid, $2::uuid, $3::uuid, 'offered',
            created_at, expires_at FROM waitlist_offers WHERE id = $4::uuid
    """
    spare = await _book(app, "SPARE", day + timedelta(days=1, hours=3))

    with pytest.raises(asyncpg.UniqueViolationError, match="waitlist_one_live_offer_per_entry"):
        await db.execute(insert, entry.id, spare, str(offer["appointment_id"]), offer["offer_id"])
    with pytest.raises(asyncpg.UniqueViolationError, match="waitlist_one_live_offer_per_freed_slot"):
        await db.execute(insert, other.id, spare, booked, offer["offer_id"])


async def _free_the_day(app: Application, how: str, day: datetime, booked: str) -> None:
    start = day + timedelta(hours=3)
    if how == "reschedule":
        await app.booking.reschedule(booked, start=start + timedelta(days=2))
    elif how == "expired_hold":  # a client's hold took the day's room (``_hold_instead``) and lapses
        await app.booking.expire_holds(now=datetime.now(UTC) + app.booking.policy.hold_ttl + timedelta(seconds=1))
    elif how == "no_show":
        await app.lifecycle.no_show(booked, now=start + app.booking.policy.no_show_grace + timedelta(minutes=1))
    elif how == "early_completion":
        await app.lifecycle.check_in(booked, now=start - timedelta(minutes=5))
        await app.lifecycle.start(booked, now=start)
        await app.lifecycle.complete(booked, now=start + timedelta(minutes=20))
    elif how == "time_off_withdrawn":  # the technician was off that day (``_off_instead``) and is back
        absence = await app.pool.fetchval("SELECT id::text FROM technician_absences")
        await app.authorized._time_off_service().withdraw("shop_a_t0", absence)


async def _hold_instead(app: Application, day: datetime, booked: str) -> None:
    """The day's room held by a client instead of booked (before anyone waits)."""
    await app.booking.cancel(booked)
    await app.waitlist.settle()
    req = BookingRequest("shop_a", "shop_a_t0", "shop_a_b0", day + timedelta(hours=3), _job("HOLDER"))
    await app.booking.book(req, hold=True)


async def _off_instead(app: Application, day: datetime, booked: str) -> None:
    """The technician off that day instead (before anyone waits)."""
    await app.booking.cancel(booked)
    time_off = app.authorized._time_off_service()
    await time_off.record("shop_a_t0", day, day + timedelta(hours=12), "sick", dry_run=False)
    await app.waitlist.settle()


def _job(vehicle: str) -> Job:
    return Job(vehicle_id=vehicle, service_type="routine", urgency=Urgency.HIGH, duration=timedelta(hours=1))


@pytest.mark.parametrize("how", ["reschedule", "expired_hold", "no_show", "time_off_withdrawn"])
async def test_every_way_time_frees_up_offers_it(
    full_day: tuple[Application, datetime, str], db: Any, how: str
) -> None:
    app, day, booked = full_day
    if how == "expired_hold":
        await _hold_instead(app, day, booked)
    if how == "time_off_withdrawn":
        await _off_instead(app, day, booked)
    entry, _ = await app.waitlist.join(_join("WAITING", day, Urgency.HIGH))

    await _free_the_day(app, how, day, booked)

    events = await _offer_events(db)
    assert [e["waitlist_entry_id"] for e in events] == [entry.id]


async def test_an_early_completion_is_announced_but_the_finished_job_still_fills_the_daily_cap(
    full_day: tuple[Application, datetime, str], db: Any
) -> None:
    """A completed job still counts toward its technician's day (issue 16), so on a day full by its cap of one the
    time an early completion frees is announced yet offers nothing: no offer may break the cap."""
    app, day, booked = full_day
    await app.waitlist.join(_join("WAITING", day, Urgency.HIGH))

    await _free_the_day(app, "early_completion", day, booked)
    await app.waitlist.settle()

    assert await _offer_events(db) == []


async def test_an_early_completion_on_a_day_full_by_time_offers_the_freed_time(policy_app: PolicyApp, db: Any) -> None:
    """The cap (20) does not bind: the day is full by time, a 3 h job at 07:00 then 1 h jobs each 30 min (the
    buffer) after the last, up to 19:00. Finished at 08:00, the 3 h job frees 08:00-10:00 for the entry."""
    day = _day(3)
    clock = ManualClock(day - timedelta(days=1))
    app = await policy_app(techs=1, bays=1, max_bookings_per_technician_per_day=20, clock=clock)
    long_job = Job(vehicle_id="LONG", service_type="engine_repair", urgency=Urgency.HIGH, duration=timedelta(hours=3))
    long = (await app.booking.book(BookingRequest("shop_a", "shop_a_t0", "shop_a_b0", day, long_job))).id
    for i in range(6):  # 10:30, 12:00, ..., 18:00-19:00
        await _book(app, f"SHORT{i}", day + timedelta(hours=3.5 + 1.5 * i))
    entry, _ = await app.waitlist.join(_join("WAITING", day, Urgency.HIGH))
    await app.waitlist.settle()
    assert await _offer_events(db, deadline_s=0) == []  # nothing fits the day yet

    clock.set(day)
    await app.lifecycle.check_in(long)
    await app.lifecycle.start(long)
    clock.set(day + timedelta(hours=1))
    done = await app.lifecycle.complete(long)  # two hours early
    await app.waitlist.settle()

    events = await _offer_events(db)
    assert [e["waitlist_entry_id"] for e in events] == [entry.id]
    held = await app.queries.get(events[0]["appointment_id"])
    assert held.status is AppointmentStatus.HELD and held.technician_id == "shop_a_t0"
    assert done.progress.actual_end is not None
    assert done.progress.actual_end <= held.start and held.end <= done.end  # in the time the completion freed


async def test_fifty_concurrent_cancellations_and_a_hundred_entries_offer_no_slot_twice(
    policy_app: PolicyApp, db: Any
) -> None:
    """Five technicians with two jobs a day for five days: 50 bookings, all cancelled at once, 20 entries a day."""
    app = await policy_app(techs=5, bays=5, max_bookings_per_technician_per_day=2)
    days = [_day(3 + d) for d in range(5)]
    booked = [
        await _book(app, f"B{d}{t}{h}", day + timedelta(hours=h), tech=t)
        for d, day in enumerate(days)
        for t in range(5)
        for h in (1, 5)
    ]
    urgencies = list(Urgency)
    tiers = list(CustomerTier)
    for n in range(100):
        await app.waitlist.join(_join(f"W{n:03d}", days[n % 5], urgencies[n % 4], tiers[(n // 4) % 3]))

    await asyncio.gather(*(app.booking.cancel(a) for a in booked))
    await _offer_events(db, 50, deadline_s=60)
    await app.waitlist.settle()

    live = await db.fetch("SELECT * FROM waitlist_offers WHERE state = 'offered'")
    assert len(live) == 50  # ten freed jobs a day, twenty entries a day: every freed slot is offered
    assert len({r["freed_from"] for r in live}) == len(live)  # no slot offered twice
    assert len({r["entry_id"] for r in live}) == len(live)  # no entry holding two offers
    assert await db.fetchval("SELECT count(*) FROM waitlist_offers") == 50  # and none made and withdrawn
    overlapping = await db.fetchval(
        """
        SELECT count(*) FROM appointments a JOIN appointments b ON a.id < b.id
        WHERE a.status = 'held' AND b.status = 'held' AND a.start_at < b.end_at AND b.start_at < a.end_at
          AND (a.technician_id = b.technician_id OR a.bay_id = b.bay_id)
        """
    )
    assert overlapping == 0
    # each day's ten offers went to its ten highest-priority entries
    for day in days:
        entries = await db.fetch(
            """
            SELECT e.id, EXISTS (SELECT 1 FROM waitlist_offers o WHERE o.entry_id = e.id) AS offered
            FROM waitlist_entries e WHERE e.earliest = $1
            ORDER BY e.urgency_weight DESC, e.tier_weight DESC, e.joined_at
            """,
            day,
        )
        assert [r["offered"] for r in entries] == [True] * 10 + [False] * 10


async def test_an_entry_that_left_is_passed_over(full_day: tuple[Application, datetime, str], db: Any) -> None:
    app, day, booked = full_day
    gone, _ = await app.waitlist.join(_join("GONE", day, Urgency.CRITICAL))
    stays, _ = await app.waitlist.join(_join("STAYS", day, Urgency.LOW))
    await app.waitlist.leave(gone.id)

    await app.booking.cancel(booked)

    events = await _offer_events(db)
    assert [e["waitlist_entry_id"] for e in events] == [stays.id]
