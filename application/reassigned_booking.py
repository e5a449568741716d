"""Apply a reassignment and book the job it makes room for, in one transaction (issue 14).

Booked appointments change technician or bay (never time) and the new
appointment is inserted together: every touched technician and bay is locked
(``store.appointment_repository.lock_many``, the pair lock's order), the
no-overlap constraints are deferred so that rows can swap, each move is
applied only if its appointment is still at the version the plan read, and
the constraints are checked before commit. Anything that changed meanwhile
(a move's appointment, a concurrent booking in the freed time, a cap) is a
``SlotTaken``/``DailyCapReached`` and nothing is written. After the commit the
calendars of every touched resource reload from the store (the database is
the last word; the actors' memory follows it).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from application import booking_events as events
from application.booking import BookingRequest, BookingService
from application.idempotent_effects import record_effect
from application.reassignment import PlannedMove
from application.transactions import in_transaction, read
from domain.appointment import Appointment, AppointmentStatus
from domain.errors import DailyCapReached, InvalidRequest, SlotTaken
from domain.events import TechnicianAssigned
from domain.parts import check_parts
from domain.time_windows import Interval, local_date, local_day_bounds, require_aware
from store import appointment_repository as appointments


async def book_reassigned(
    booking: BookingService, req: BookingRequest, moves: Sequence[PlannedMove], now: datetime | None = None
) -> Appointment:
    """Move ``moves`` and book ``req`` (scheduled, not held) in one transaction; ``SlotTaken`` if the plan is stale."""
    now = require_aware(now, "now") if now is not None else booking.clock.now()
    start = require_aware(req.start, "start")
    if start < now:
        raise InvalidRequest(f"start {start.isoformat()} is in the past", field="start")
    booking.policy.check_booking_window(start, req.job.urgency, now)
    service = await booking.catalog.service_type(req.job.service_type)
    cat = await booking.catalog.shop_catalog(req.shop_id)
    parts = check_parts(service.required_parts, cat.parts, now)
    interval = Interval(start, start + req.job.duration)
    tech = await booking.catalog.technician(req.technician_id)
    bay = await booking.catalog.bay(req.bay_id)
    names = {t.id: t.name for t in cat.technicians}
    bay_names = {b.id: b.name for b in cat.bays}
    appt = Appointment(
        id=str(uuid.uuid4()),
        shop_id=req.shop_id,
        vehicle_id=req.job.vehicle_id,
        service_type=service.code,
        urgency=req.job.urgency,
        technician_id=tech.id,
        bay_id=bay.id,
        interval=interval,
        status=AppointmentStatus.SCHEDULED,
        created_at=now,
        customer=req.customer,
        notes=req.notes,
        parts_available=True,
        source_ref=req.source_ref,
        booked_by=req.booked_by,
    )
    tz = ZoneInfo(cat.shop.timezone)
    day = local_date(start, tz)
    bounds = local_day_bounds(day, tz)
    cap = booking.policy.max_bookings_per_technician_per_day
    buffer: timedelta = booking.policy.buffer
    techs = {tech.id, *(m.technician_from for m in moves), *(m.technician_to for m in moves)}
    bays = {bay.id, *(m.bay_from for m in moves), *(m.bay_to for m in moves)}
    rids = await read(booking.pool, lambda conn: appointments.resource_rids_for_shop(conn, req.shop_id))

    async def write(conn: asyncpg.Connection) -> list[Appointment]:
        await appointments.lock_many(
            conn, [rids["technician", t] for t in techs], [rids["bay", b] for b in bays], appt.vehicle_id
        )
        await appointments.defer_overlap_checks(conn)
        moved = await _move(conn, moves, rids, buffer, now, (tech.id, bay.id))
        jobs = await appointments.insert_under_cap(
            conn,
            appt,
            tech_rid=rids["technician", tech.id],
            bay_rid=rids["bay", bay.id],
            buffer=buffer,
            day=bounds,
            cap=cap,
            now=now,
        )
        if jobs is not None:
            raise DailyCapReached(
                f"technician {tech.id} already has {cap} jobs on {day.isoformat()}", technician_id=tech.id
            )
        await _check_caps(conn, moves, rids, bounds, cap, now)
        await appointments.check_overlaps_now(conn, appt)
        await events.add(conn, events.scheduled(appt, (names[tech.id], bay_names[bay.id]), now, parts), appt.id)
        await _publish(conn, moved, names, bay_names, now)
        await record_effect(conn, appt.id)
        return moved

    try:
        await in_transaction(booking.pool, write)
    finally:
        # Whatever happened, the touched calendars read the store again (moved rows, or nothing).
        await reload(booking, req.shop_id, techs, bays, now)
    return appt


async def apply_moves(
    booking: BookingService, shop_id: str, moves: Sequence[PlannedMove], now: datetime | None = None
) -> list[Appointment]:
    """Give booked appointments another technician or bay at the same time, all or none; the moved rows.

    ``SlotTaken`` when one changed since the plan was made or the new place is taken; caps as for a booking.
    """
    now = require_aware(now, "now") if now is not None else booking.clock.now()
    cat = await booking.catalog.shop_catalog(shop_id)
    names = {t.id: t.name for t in cat.technicians}
    bay_names = {b.id: b.name for b in cat.bays}
    tz = ZoneInfo(cat.shop.timezone)
    cap = booking.policy.max_bookings_per_technician_per_day
    techs = {*(m.technician_from for m in moves), *(m.technician_to for m in moves)}
    bays = {*(m.bay_from for m in moves), *(m.bay_to for m in moves)}
    rids = await read(booking.pool, lambda conn: appointments.resource_rids_for_shop(conn, shop_id))

    async def write(conn: asyncpg.Connection) -> list[Appointment]:
        await appointments.lock_many(conn, [rids["technician", t] for t in techs], [rids["bay", b] for b in bays])
        await appointments.defer_overlap_checks(conn)
        moved = await _move(conn, moves, rids, booking.policy.buffer, now, None)
        for a in moved:
            day = local_day_bounds(local_date(a.start, tz), tz)
            await _check_caps(conn, [m for m in moves if m.appointment_id == a.id], rids, day, cap, now)
        if moved:
            await appointments.check_overlaps_now(conn, moved[0])
        await _publish(conn, moved, names, bay_names, now)
        for a in moved:
            await record_effect(conn, a.id)
        return moved

    try:
        return await in_transaction(booking.pool, write)
    finally:
        await reload(booking, shop_id, techs, bays, now)


async def _move(
    conn: asyncpg.Connection,
    moves: Sequence[PlannedMove],
    rids: dict[tuple[str, str], int],
    buffer: timedelta,
    now: datetime,
    freeing: tuple[str, str] | None,
) -> list[Appointment]:
    moved = []
    for m in moves:
        after = await appointments.reassign(
            conn,
            m.appointment_id,
            m.sequence,
            (m.technician_to, rids["technician", m.technician_to]),
            (m.bay_to, rids["bay", m.bay_to]),
            buffer,
            now,
        )
        if after is None:
            where = {"technician_id": freeing[0], "bay_id": freeing[1]} if freeing else {}
            raise SlotTaken(f"appointment {m.appointment_id}, which this plan moves, changed meanwhile", **where)
        moved.append(after)
    return moved


async def _check_caps(
    conn: asyncpg.Connection,
    moves: Sequence[PlannedMove],
    rids: dict[tuple[str, str], int],
    day: Interval,
    cap: int,
    now: datetime,
) -> None:
    """Every technician that receives a moved job stays within the daily cap on ``day``."""
    for m in moves:
        count = await appointments.expire_and_count_technician_jobs(
            conn, rids["technician", m.technician_to], rids["bay", m.bay_to], m.technician_to, day, now
        )
        if count > cap:
            raise DailyCapReached(
                f"technician {m.technician_to} would have {count} jobs that day", technician_id=m.technician_to
            )


async def _publish(
    conn: asyncpg.Connection, moved: Sequence[Appointment], names: dict[str, str], bays: dict[str, str], now: datetime
) -> None:
    for a in moved:
        await events.record(conn, a.id, [TechnicianAssigned(a, names[a.technician_id], bays[a.bay_id])], now)


async def reload(booking: BookingService, shop_id: str, techs: set[str], bays: set[str], now: datetime) -> None:
    """The touched calendars reload from the store."""
    for t in sorted(techs):
        await booking.directory.technician(shop_id, t).reload(now=now)
    for b in sorted(bays):
        await booking.directory.bay(shop_id, b).reload(now=now)
