"""Appointments and holds in PostgreSQL, which has the last word on overlaps.

The exclusion constraints of migration 0002 refuse overlapping live rows for a
technician (buffer included) or a bay; that refusal surfaces here as
``SlotTaken``, never as a driver exception. Writers take per-resource advisory
locks first, always technician before bay, so two conflicting inserts queue
instead of deadlocking, and the daily cap can be counted without a race.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal

import asyncpg

from domain.appointment import ACTIVE_STATUSES, Appointment, AppointmentStatus, Cancellation
from domain.errors import SlotTaken, VehicleAlreadyBooked
from domain.time_windows import Interval
from store.codecs import appointment_from_row, customer_to_json

_ACTIVE = [s.value for s in ACTIVE_STATUSES]
_TECH_LOCK, _BAY_LOCK, _VEHICLE_LOCK = 1_701, 1_702, 1_703  # advisory-lock key spaces (first int of the pair)


async def lock_resources(conn: asyncpg.Connection, tech_rid: int, bay_rid: int, vehicle_id: str | None = None) -> None:
    """Serialize writers of one technician, one bay (and one vehicle) until the transaction ends.

    Always in this order, so writers queue instead of deadlocking. The vehicle's
    lock is keyed by a hash of its id: two vehicles sharing a hash only queue
    behind each other, the check that follows the lock is exact.
    """
    await conn.execute(
        "SELECT pg_advisory_xact_lock($1, $2), pg_advisory_xact_lock($3, $4),"
        " CASE WHEN $6::text IS NULL THEN NULL ELSE pg_advisory_xact_lock($5, hashtext($6::text)) END",
        _TECH_LOCK,
        tech_rid,
        _BAY_LOCK,
        bay_rid,
        _VEHICLE_LOCK,
        vehicle_id,
    )


async def lock_many(
    conn: asyncpg.Connection, tech_rids: Sequence[int], bay_rids: Sequence[int], vehicle_id: str | None = None
) -> None:
    """``lock_resources`` for several technicians and bays: technicians, then bays, then the vehicle, each ascending.

    The same order as the pair lock (a pair is the one-element case), so writers queue instead of deadlocking.
    """
    for rid in sorted(set(tech_rids)):
        await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", _TECH_LOCK, rid)
    for rid in sorted(set(bay_rids)):
        await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", _BAY_LOCK, rid)
    if vehicle_id is not None:
        await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2::text))", _VEHICLE_LOCK, vehicle_id)


async def check_vehicle_free(
    conn: asyncpg.Connection, vehicle_id: str, interval: Interval, now: datetime, exclude: str | None = None
) -> None:
    """``VehicleAlreadyBooked`` if the vehicle has another live appointment or hold overlapping ``interval``.

    Call after ``lock_resources`` with the vehicle, in a separate statement, so it sees
    every booking of the vehicle committed before the lock was granted.
    """
    clash = await conn.fetchrow(
        _VEHICLE_CLASH + " AND ($6::uuid IS NULL OR id <> $6::uuid)",
        vehicle_id,
        interval.start,
        interval.end,
        _ACTIVE,
        now,
        exclude,
    )
    if clash is not None:
        raise _vehicle_booked(vehicle_id, clash)


_VEHICLE_CLASH = """
SELECT id, start_at, end_at FROM appointments
WHERE vehicle_id = $1 AND start_at < $3 AND end_at > $2
  AND status = ANY ($4::text[]) AND (status <> 'held' OR hold_expires_at > $5)
"""


def _vehicle_booked(vehicle_id: str, clash: asyncpg.Record) -> VehicleAlreadyBooked:
    return VehicleAlreadyBooked(
        f"vehicle {vehicle_id} already has appointment {clash['id']} from {clash['start_at'].isoformat()} "
        f"to {clash['end_at'].isoformat()}",
        vehicle_id=vehicle_id,
        appointment_id=str(clash["id"]),
    )


async def expire_all_stale_holds(conn: asyncpg.Connection, now: datetime) -> list[Appointment]:
    rows = await conn.fetch(
        """
        UPDATE appointments SET status = 'expired', updated_at = $1
        WHERE status = 'held' AND hold_expires_at <= $1 RETURNING *
        """,
        now,
    )
    return [appointment_from_row(r) for r in rows]


_INSERT_UNDER_CAP = """
WITH expired AS (
    UPDATE appointments SET status = 'expired', updated_at = $22
    WHERE status = 'held' AND hold_expires_at <= $22 AND (tech_rid = $8 OR bay_rid = $9)
    RETURNING id
), jobs AS (
    -- a finished job still was one of the day's jobs: it counts toward the cap (a no-show does not)
    SELECT count(*) AS n FROM appointments
    WHERE technician_id = $6 AND start_at >= $23 AND start_at < $24
      AND (status = ANY ($25::text[]) OR status = 'completed') AND (status <> 'held' OR hold_expires_at > $22)
), clash AS (
    SELECT id, start_at, end_at FROM appointments
    WHERE vehicle_id = $3 AND start_at < $11 AND end_at > $10
      AND status = ANY ($25::text[]) AND (status <> 'held' OR hold_expires_at > $22)
    LIMIT 1
), inserted AS (
    INSERT INTO appointments (id, shop_id, vehicle_id, service_type, urgency, technician_id, bay_id,
        tech_rid, bay_rid, start_at, end_at, blocked_until, status, hold_expires_at, customer, notes,
        parts_available, parts_ready_at, sequence, source_ref, created_at, updated_at, booked_by,
        series_id, recurrence)
    SELECT $1::uuid, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::int, $9::int,
        $10::timestamptz, $11::timestamptz, $12::timestamptz, $13::text, $14::timestamptz, $15::jsonb,
        $16::text, $17::bool, $18::timestamptz, $19::int, $20::text, $21::timestamptz, $21::timestamptz, $27::text,
        $28::uuid, $29::text
    FROM jobs
    -- reading "expired" here makes the expiry run to completion before the row is inserted
    WHERE jobs.n < $26 AND NOT EXISTS (SELECT 1 FROM clash) AND (SELECT count(*) FROM expired) >= 0
    RETURNING id
)
SELECT (SELECT n FROM jobs) AS jobs, (SELECT count(*) FROM inserted) AS inserted,
    (SELECT id FROM clash) AS id, (SELECT start_at FROM clash) AS start_at, (SELECT end_at FROM clash) AS end_at
"""


async def insert_under_cap(
    conn: asyncpg.Connection,
    appt: Appointment,
    *,
    tech_rid: int,
    bay_rid: int,
    buffer: timedelta,
    day: Interval,
    cap: int,
    now: datetime,
) -> int | None:
    """Expire stale holds on both resources, count the technician's day, insert if under ``cap``: one statement.

    ``VehicleAlreadyBooked`` (nothing written) when the vehicle has a live appointment overlapping.

    Answers None when inserted, else the day's job count (the cap was reached,
    nothing written). Call after ``lock_resources`` in the same transaction, in
    a separate statement: under READ COMMITTED the count's snapshot must be
    taken after the lock is held, so that it sees every booking committed
    before. ``SlotTaken`` when the exclusion constraints refuse an overlap.
    """
    try:
        row = await conn.fetchrow(
            _INSERT_UNDER_CAP,
            *_row_values(appt, tech_rid, bay_rid, buffer),
            now,
            day.start,
            day.end,
            _ACTIVE,
            cap,
            appt.booked_by,
            appt.series_id,
            appt.recurrence,
        )
    except asyncpg.exceptions.ExclusionViolationError:
        raise _taken(appt) from None
    assert row is not None
    if row["id"] is not None:
        raise _vehicle_booked(appt.vehicle_id, row)
    return None if row["inserted"] else int(row["jobs"])


async def expire_and_count_technician_jobs(
    conn: asyncpg.Connection,
    tech_rid: int,
    bay_rid: int,
    technician_id: str,
    day: Interval,
    now: datetime,
    exclude: str | None = None,
) -> int:
    """Expire stale holds on both resources and count the technician's jobs in ``day`` (live or completed).

    The count's snapshot predates the expiry, which changes nothing: it skips
    holds past their expiry anyway. Call after ``lock_resources``.
    """
    value = await conn.fetchval(
        """
        WITH expired AS (
            UPDATE appointments SET status = 'expired', updated_at = $3
            WHERE status = 'held' AND hold_expires_at <= $3 AND (tech_rid = $1 OR bay_rid = $2)
            RETURNING id
        )
        SELECT count(*) FROM appointments
        WHERE technician_id = $4 AND start_at >= $5 AND start_at < $6
          AND (status = ANY ($7::text[]) OR status = 'completed') AND (status <> 'held' OR hold_expires_at > $3)
          AND ($8::uuid IS NULL OR id <> $8::uuid)
          AND (SELECT count(*) FROM expired) >= 0
        """,
        tech_rid,
        bay_rid,
        now,
        technician_id,
        day.start,
        day.end,
        _ACTIVE,
        exclude,
    )
    return int(value)


def _taken(appt: Appointment) -> SlotTaken:
    """The domain error for PostgreSQL's exclusion-constraint refusal (SQLSTATE 23P01)."""
    return SlotTaken(
        f"{appt.technician_id} or {appt.bay_id} is already booked at {appt.start.isoformat()}",
        technician_id=appt.technician_id,
        bay_id=appt.bay_id,
    )


def _row_values(appt: Appointment, tech_rid: int, bay_rid: int, buffer: timedelta) -> tuple[object, ...]:
    """The appointment's columns in the order of ``_INSERT_UNDER_CAP`` ($1..$21)."""
    return (
        appt.id,
        appt.shop_id,
        appt.vehicle_id,
        appt.service_type,
        appt.urgency.value,
        appt.technician_id,
        appt.bay_id,
        tech_rid,
        bay_rid,
        appt.start,
        appt.end,
        appt.end + buffer,
        appt.status.value,
        appt.hold_expires_at,
        customer_to_json(appt.customer),
        appt.notes,
        appt.parts_available,
        appt.parts_ready_at,
        appt.sequence,
        appt.source_ref,
        appt.created_at,
    )


async def get(conn: asyncpg.Connection, appointment_id: str, *, for_update: bool = False) -> Appointment | None:
    if not _is_uuid(appointment_id):
        return None
    sql = "SELECT * FROM appointments WHERE id = $1::uuid" + (" FOR UPDATE" if for_update else "")
    row = await conn.fetchrow(sql, appointment_id)
    return appointment_from_row(row) if row else None


async def list_by_series(conn: asyncpg.Connection, series_id: str) -> list[Appointment]:
    """A series' occurrences (every status), by start."""
    if not _is_uuid(series_id):
        return []
    rows = await conn.fetch("SELECT * FROM appointments WHERE series_id = $1::uuid ORDER BY start_at, id", series_id)
    return [appointment_from_row(r) for r in rows]


async def purge_released_series(conn: asyncpg.Connection, series_id: str) -> int:
    """Delete a refused series' released holds: a series refused whole leaves no row behind."""
    result = await conn.execute(
        "DELETE FROM appointments WHERE series_id = $1::uuid AND status IN ('cancelled', 'expired')"
        " AND NOT EXISTS (SELECT 1 FROM outbox WHERE outbox.aggregate_id = appointments.id::text)",
        series_id,
    )
    return int(result.split()[-1])


async def get_by_source(conn: asyncpg.Connection, source_ref: str) -> Appointment | None:
    row = await conn.fetchrow("SELECT * FROM appointments WHERE source_ref = $1", source_ref)
    return appointment_from_row(row) if row else None


async def list_by_vehicle(
    conn: asyncpg.Connection,
    vehicle_id: str,
    *,
    limit: int = 50,
    offset: int = 0,
    shop_ids: Sequence[str] | None = None,
    booked_by: str | None = None,
) -> list[Appointment]:
    """A vehicle's appointments, newest first; only at ``shop_ids`` and booked by ``booked_by`` when given."""
    rows = await conn.fetch(
        "SELECT * FROM appointments WHERE vehicle_id = $1"
        + _scope(4)
        + " ORDER BY start_at DESC, id LIMIT $2 OFFSET $3",
        vehicle_id,
        limit,
        offset,
        None if shop_ids is None else list(shop_ids),
        booked_by,
    )
    return [appointment_from_row(r) for r in rows]


async def count_by_vehicle(
    conn: asyncpg.Connection,
    vehicle_id: str,
    *,
    shop_ids: Sequence[str] | None = None,
    booked_by: str | None = None,
) -> int:
    sql = "SELECT count(*) FROM appointments WHERE vehicle_id = $1" + _scope(2)
    value = await conn.fetchval(sql, vehicle_id, None if shop_ids is None else list(shop_ids), booked_by)
    return int(value)


def _scope(first: int) -> str:
    """A caller's scope over appointments: its shops (``$first``, NULL for all) and the key that booked them."""
    shops, by = f"${first}", f"${first + 1}"
    return (
        f" AND ({shops}::text[] IS NULL OR shop_id = ANY ({shops}::text[]))"
        f" AND ({by}::text IS NULL OR booked_by = {by})"
    )


async def list_live_for_technician(
    conn: asyncpg.Connection, technician_id: str, window: Interval, now: datetime
) -> list[Appointment]:
    """Live appointments and unexpired holds of a technician overlapping ``window``."""
    return await _list_live("technician_id", technician_id, window, now, conn)


async def vehicle_busy(conn: asyncpg.Connection, vehicle_id: str, window: Interval, now: datetime) -> list[Interval]:
    """When the vehicle is taken (live appointments and unexpired holds) within ``window``, in order."""
    rows = await conn.fetch(_VEHICLE_CLASH + " ORDER BY start_at", vehicle_id, window.start, window.end, _ACTIVE, now)
    return [Interval(r["start_at"], r["end_at"]) for r in rows]


async def list_live_for_bay(
    conn: asyncpg.Connection, bay_id: str, window: Interval, now: datetime
) -> list[Appointment]:
    return await _list_live("bay_id", bay_id, window, now, conn)


async def _list_live(
    column: str,
    resource_id: str,
    window: Interval,
    now: datetime,
    conn: asyncpg.Connection,
    *,
    completed: bool = False,
) -> list[Appointment]:
    rows = await conn.fetch(
        f"""
        SELECT * FROM appointments
        WHERE {column} = $1 AND start_at < $3 AND blocked_until > $2
          AND (status = ANY ($4::text[]) OR ($6::bool AND status = 'completed'))
          AND (status <> 'held' OR hold_expires_at > $5)
        ORDER BY start_at
        """,
        resource_id,
        window.start,
        window.end,
        _ACTIVE,
        now,
        completed,
    )
    return [appointment_from_row(r) for r in rows]


async def list_calendar_rows(
    conn: asyncpg.Connection, kind: Literal["technician", "bay", "shop"], key: str, window: Interval, now: datetime
) -> list[Appointment]:
    """What a calendar holds in ``window`` for a technician, a bay or a whole shop: the live appointments and
    unexpired holds, and the completed jobs, which take no time but count toward the daily cap exactly as
    ``insert_under_cap`` counts them."""
    column = {"technician": "technician_id", "bay": "bay_id", "shop": "shop_id"}[kind]
    return await _list_live(column, key, window, now, conn, completed=True)


async def list_for_shop(conn: asyncpg.Connection, shop_id: str, window: Interval, now: datetime) -> list[Appointment]:
    """Live appointments and holds of a shop overlapping ``window`` (to warm its actors at once)."""
    return await _list_live("shop_id", shop_id, window, now, conn)


async def set_status(conn: asyncpg.Connection, appointment_id: str, status: AppointmentStatus, now: datetime) -> None:
    await conn.execute(
        """
        UPDATE appointments SET status = $2, updated_at = $3,
            hold_expires_at = CASE WHEN $2 = 'held' THEN hold_expires_at ELSE NULL END
        WHERE id = $1::uuid
        """,
        appointment_id,
        status.value,
        now,
    )


async def move(
    conn: asyncpg.Connection,
    appt: Appointment,
    *,
    tech_rid: int,
    bay_rid: int,
    buffer: timedelta,
    now: datetime,
) -> None:
    """Write ``appt``'s new time/technician/bay/sequence; ``SlotTaken`` on overlap.

    Run inside a transaction (or savepoint) the caller owns: a refusal leaves
    the original row as it was.
    """
    try:
        async with conn.transaction():
            await conn.execute(
                """
                UPDATE appointments SET technician_id = $2, bay_id = $3, tech_rid = $4, bay_rid = $5,
                    start_at = $6, end_at = $7, blocked_until = $8, sequence = $9, updated_at = $10,
                    parts_ready_at = $11, parts_available = $12
                WHERE id = $1::uuid
                """,
                appt.id,
                appt.technician_id,
                appt.bay_id,
                tech_rid,
                bay_rid,
                appt.start,
                appt.end,
                appt.end + buffer,
                appt.sequence,
                now,
                appt.parts_ready_at,
                appt.parts_available,
            )
    except asyncpg.exceptions.ExclusionViolationError:
        raise _taken(appt) from None


async def update_details(conn: asyncpg.Connection, appt: Appointment, now: datetime) -> None:
    """Notes and customer, which change no time."""
    await conn.execute(
        "UPDATE appointments SET notes = $2, customer = $3, updated_at = $4 WHERE id = $1::uuid",
        appt.id,
        appt.notes,
        customer_to_json(appt.customer),
        now,
    )


async def cancel(conn: asyncpg.Connection, appointment_id: str, cancellation: Cancellation) -> None:
    await conn.execute(
        """
        UPDATE appointments SET status = 'cancelled', cancelled_at = $2, cancel_late = $3, cancel_fee = $4,
            cancel_reason = $5, hold_expires_at = NULL, updated_at = $2
        WHERE id = $1::uuid
        """,
        appointment_id,
        cancellation.at,
        cancellation.late,
        cancellation.fee,
        cancellation.reason,
    )


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


async def resource_rids_for_shop(conn: asyncpg.Connection, shop_id: str) -> dict[tuple[str, str], int]:
    """``{("technician"|"bay", id): rid}`` for a shop's resources: the twins the exclusion constraints compare."""
    rows = await conn.fetch(
        """
        SELECT 'technician' AS kind, id, rid FROM technicians WHERE shop_id = $1
        UNION ALL SELECT 'bay', id, rid FROM service_bays WHERE shop_id = $1
        """,
        shop_id,
    )
    return {(r["kind"], r["id"]): int(r["rid"]) for r in rows}


async def defer_overlap_checks(conn: asyncpg.Connection) -> None:
    """Check the no-overlap constraints at the end of the transaction (or ``check_overlaps_now``)."""
    await conn.execute("SET CONSTRAINTS appointments_technician_no_overlap, appointments_bay_no_overlap DEFERRED")


async def check_overlaps_now(conn: asyncpg.Connection, appt: Appointment) -> None:
    """Run the deferred no-overlap checks now; ``SlotTaken`` (naming ``appt``) when any row overlaps."""
    try:
        await conn.execute("SET CONSTRAINTS appointments_technician_no_overlap, appointments_bay_no_overlap IMMEDIATE")
    except asyncpg.exceptions.ExclusionViolationError:
        raise _taken(appt) from None


async def reassign(
    conn: asyncpg.Connection,
    appointment_id: str,
    sequence: int,
    technician: tuple[str, int],
    bay: tuple[str, int],
    buffer: timedelta,
    now: datetime,
) -> Appointment | None:
    """Give a scheduled appointment at ``sequence`` another technician and bay (its time kept); None if it changed.

    The row's version is bumped; call with the overlap checks deferred when moves may swap.
    """
    row = await conn.fetchrow(
        """
        UPDATE appointments SET technician_id = $3, tech_rid = $4, bay_id = $5, bay_rid = $6,
            blocked_until = end_at + $7::interval, sequence = sequence + 1, updated_at = $8
        WHERE id = $1::uuid AND sequence = $2 AND status = 'scheduled'
        RETURNING *
        """,
        appointment_id,
        sequence,
        technician[0],
        technician[1],
        bay[0],
        bay[1],
        buffer,
        now,
    )
    return None if row is None else appointment_from_row(row)


async def extend(
    conn: asyncpg.Connection, appointment_id: str, end: datetime, buffer: timedelta, now: datetime
) -> None:
    """Move an in-progress job's end (and the buffer after it); ``SlotTaken`` when that overlaps another row."""
    try:
        async with conn.transaction():
            await conn.execute(
                """
                UPDATE appointments SET end_at = $2::timestamptz, blocked_until = $2::timestamptz + $3::interval,
                    sequence = sequence + 1,
                    updated_at = $4
                WHERE id = $1::uuid AND status = 'in_progress'
                """,
                appointment_id,
                end,
                buffer,
                now,
            )
    except asyncpg.exceptions.ExclusionViolationError:
        raise SlotTaken(f"the time after appointment {appointment_id} was taken meanwhile") from None


async def record_progress(conn: asyncpg.Connection, appt: Appointment, now: datetime) -> None:
    """Write a lifecycle step: the new status, when each step happened, the actual times and the notes."""
    p = appt.progress
    await conn.execute(
        """
        UPDATE appointments SET status = $2, checked_in_at = $3, started_at = $4, completed_at = $5,
            no_show_at = $6, actual_start = $7, actual_end = $8, notes = $9, hold_expires_at = NULL,
            updated_at = $10
        WHERE id = $1::uuid
        """,
        appt.id,
        appt.status.value,
        p.checked_in_at,
        p.started_at,
        p.completed_at,
        p.no_show_at,
        p.actual_start,
        p.actual_end,
        appt.notes,
        now,
    )


async def list_starting_in(conn: asyncpg.Connection, shop_ids: Sequence[str], window: Interval) -> list[Appointment]:
    """Every appointment (any status) of ``shop_ids`` whose booked start lies in ``window`` (the KPIs' population)."""
    rows = await conn.fetch(
        "SELECT * FROM appointments WHERE shop_id = ANY ($1::text[]) AND start_at >= $2 AND start_at < $3"
        " ORDER BY start_at, id",
        list(shop_ids),
        window.start,
        window.end,
    )
    return [appointment_from_row(r) for r in rows]


async def list_for_shop_day(
    conn: asyncpg.Connection, shop_id: str, window: Interval
) -> list[tuple[Appointment, datetime]]:
    """The shop's appointments and holds touching ``window``, each with the end of its buffer (the shop-day page).

    Cancelled appointments and lapsed holds are left out: they no longer occupy anyone.
    """
    rows = await conn.fetch(
        """
        SELECT * FROM appointments
        WHERE shop_id = $1 AND start_at < $3 AND blocked_until > $2
          AND status NOT IN ('cancelled', 'expired')
        ORDER BY start_at, id
        """,
        shop_id,
        window.start,
        window.end,
    )
    return [(appointment_from_row(r), r["blocked_until"]) for r in rows]
