"""The booking service: the application layer the HTTP API and the event bridge call.

The protocol (DESIGN.md, "How a booking flows"): validate, hold the
technician and the bay on their actors (both or neither), write the
appointment and its outbox events in ONE transaction, then confirm on the
actors. The actors are the fast path and serialize each resource's
contention; PostgreSQL's exclusion constraints have the last word. When the
database refuses, the actors reload and the caller gets ``SlotTaken``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from application import booking_events as events
from application.access import unknown_appointment
from application.booking_queries import load_appointment
from application.catalog_cache import CatalogCache
from application.clock import Clock, SystemClock
from application.freed_time import FreedTime, FreedTimeListeners
from application.idempotent_effects import record_effect
from application.key_locks import KeyedLocks
from application.mobile import MobileRules
from application.parts_inventory import PartsInventory
from application.ports import HoldToken, ResourceDirectory, ResourceKind, ResourceRef
from application.resource_pair import PairPlacement, Previous
from application.transactions import in_transaction, read
from domain.appointment import Appointment, AppointmentStatus, Cancellation, check_transition
from domain.catalog import ServiceType
from domain.customer import Customer
from domain.errors import (
    DailyCapReached,
    HoldExpired,
    InvalidRequest,
    InvalidTransition,
    NotFound,
    SlotTaken,
    VehicleAlreadyBooked,
)
from domain.events import AppointmentCancelled, AppointmentRescheduled, PublishedEvent, TechnicianAssigned
from domain.job import Job
from domain.parts import PartsAvailability, PartStock, check_parts
from domain.policy import CancellationPolicy, SchedulingPolicy
from domain.resources import Technician
from domain.shop import Shop
from domain.time_windows import Interval, local_date, local_day_bounds, require_aware
from store import appointment_repository as appointments
from store import catalog_repository as catalog
from store import customer_link_repository as customer_links
from store import visit_repository as visits

_S = AppointmentStatus

TRANSIENT_HOLD_TTL = timedelta(seconds=30)
"""How long the actors keep the hold a booking takes for its own transaction (``book`` without
``hold``, ``reschedule``). It only has to outlive hold -> commit -> confirm (milliseconds); if the
caller dies in between, nothing releases it, and until it expires the actors answer ``SlotTaken``
for time the database has free. A client's hold (``book(hold=True)``) keeps ``policy.hold_ttl``.
A transaction that outlives it is still safe: the database's constraints have the last word."""


class _Unset:
    """Marks an argument not given (``None`` is a value: it clears notes)."""


UNSET: Any = _Unset()


@dataclass(frozen=True, slots=True)
class BookingRequest:
    """A chosen slot for a job: who, where, when, for whom."""

    shop_id: str
    technician_id: str
    bay_id: str
    start: datetime
    job: Job
    customer: Customer = field(default_factory=Customer)
    notes: str | None = None
    source_ref: str | None = None
    """What created it when not a person (``alert:<id>``); a second booking with it returns the first."""
    booked_by: str | None = None
    """The API key booking it, if any (a booking key reads and changes only what it booked)."""
    series_id: str | None = None
    """The recurring series it is an occurrence of (``application.series``)."""
    recurrence: str | None = None
    past_horizon: bool = False
    """A series' later occurrence: the booking horizon binds only the series' first (the notice binds all)."""


@dataclass(frozen=True, slots=True)
class _Visit:
    """An on-site booking's technician, shop and rules (``BookingService._visit_for``)."""

    technician: Technician
    shop: Shop
    rules: MobileRules


class _DuplicateSource(Exception):
    """The source_ref is already booked (unique violation): answer with the first booking."""


class BookingService:
    """The booking commands: book, hold, confirm, reschedule, cancel, and the hold sweep.

    Reads live in ``application.booking_queries``.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        directory: ResourceDirectory,
        policy: SchedulingPolicy,
        cancellation: CancellationPolicy,
        clock: Clock | None = None,
        *,
        catalog: CatalogCache | None = None,
        inventory: PartsInventory | None = None,
        mobile: MobileRules | None = None,
    ) -> None:
        self.pool = pool
        self.mobile = mobile
        self.directory = directory
        self.policy = policy
        self.cancellation = cancellation
        self.clock: Clock = clock or SystemClock()
        self.catalog = catalog or CatalogCache(pool)
        self.inventory = inventory or PartsInventory(None)
        self._changing = KeyedLocks()
        """Changes of one appointment run one at a time here, so the actors hear them in commit order."""
        self.freed = FreedTimeListeners()
        """Told of time that frees up (cancel, move, released or expired hold, no-show, early completion)."""

    def _now(self, now: datetime | None) -> datetime:
        return require_aware(now, "now") if now is not None else self.clock.now()

    # -- booking --------------------------------------------------------------------

    async def book(
        self,
        req: BookingRequest,
        *,
        hold: bool = False,
        now: datetime | None = None,
        hold_ttl: timedelta | None = None,
    ) -> Appointment:
        """Book (or, with ``hold``, hold for the TTL: ``hold_ttl``, else the policy's) a technician and bay."""
        now = self._now(now)
        start = _aware(req.start, "start")
        if req.source_ref is not None:
            existing = await self._by_source(req.source_ref)
            if existing is not None:
                return existing
        if start < now:
            raise InvalidRequest(f"start {start.isoformat()} is in the past", field="start")
        # The notice and horizon (CRITICAL work: the emergency notice) bind every booking, chosen or found.
        self.policy.check_booking_window(start, req.job.urgency, now, horizon=not req.past_horizon)
        service, parts = await self._service_and_parts(req.shop_id, req.job.service_type, now)
        interval = Interval(start, start + _duration(service, req.job))
        parts_ready_at = _check_parts_lead_time(parts, start)
        visit = await self._visit_for(req, service)
        if visit is not None:
            req = replace(req, bay_id=visit.technician.van_id)  # the van goes with its driver

        pair = self._pair(str(uuid.uuid4()), req.shop_id, req.technician_id, req.bay_id)
        expires_at = now + (hold_ttl or self.policy.hold_ttl)
        tech, bay = await pair.hold(
            interval,
            expires_at if hold else now + TRANSIENT_HOLD_TTL,
            now,
            skill=service.required_skill,
            equipment=service.required_equipment,
        )
        names = (tech.resource_name, bay.resource_name)
        appt = Appointment(
            id=pair.key,
            shop_id=req.shop_id,
            vehicle_id=req.job.vehicle_id,
            service_type=service.code,
            urgency=req.job.urgency,
            technician_id=req.technician_id,
            bay_id=req.bay_id,
            interval=interval,
            status=_S.HELD if hold else _S.SCHEDULED,
            created_at=now,
            hold_expires_at=expires_at if hold else None,
            customer=req.customer,
            notes=req.notes,
            parts_available=parts_ready_at is None,
            parts_ready_at=parts_ready_at,
            source_ref=req.source_ref,
            booked_by=req.booked_by,
            series_id=req.series_id,
            recurrence=req.recurrence,
            site=req.job.location if visit is not None else None,
            arrival_window=visit.rules.window_for(start, visit.shop) if visit is not None else None,
        )

        tz = ZoneInfo(tech.timezone)
        day = local_date(appt.start, tz)
        cap = self.policy.max_bookings_per_technician_per_day
        outbox = [] if hold else events.scheduled(appt, names, now, parts)

        async def write(conn: asyncpg.Connection) -> None:
            # Two statements, not one: the count must see every booking committed before the lock was granted.
            await appointments.lock_resources(conn, tech.rid, bay.rid, appt.vehicle_id)
            if visit is not None:
                # Travel cannot be a constraint: checked here, under the technician's lock, against the
                # day as committed (the exclusion constraints still guard plain overlaps).
                await visit.rules.check_reachable(conn, appt, visit.technician, visit.shop, now)
            try:
                jobs = await appointments.insert_under_cap(
                    conn,
                    appt,
                    tech_rid=tech.rid,
                    bay_rid=bay.rid,
                    buffer=self.policy.buffer,
                    day=local_day_bounds(day, tz),
                    cap=cap,
                    now=now,
                )
            except asyncpg.exceptions.UniqueViolationError:
                # only source_ref is unique besides the fresh id: the transaction rolls back whole
                raise _DuplicateSource from None
            if jobs is not None:
                raise _cap_reached(appt.technician_id, cap, day)
            await visits.set_site(conn, appt)
            await events.add(conn, outbox, appt.id)
            await record_effect(conn, appt.id)

        try:
            await in_transaction(self.pool, write)
        except _DuplicateSource:
            await pair.undo(now)
            first = await self._by_source(req.source_ref or "")
            if first is None:  # the first booking was cancelled and purged meanwhile: not expected
                raise SlotTaken("the booking for this source was taken concurrently") from None
            return first
        except SlotTaken:
            await pair.undo(now, reload=True)  # memory missed something the database knows
            raise
        except VehicleAlreadyBooked:
            await pair.undo(now)
            # the same source booked before: its vehicle's booking is the one to answer
            first = await self._by_source(req.source_ref) if req.source_ref is not None else None
            if first is None:
                raise
            return first
        except BaseException:
            await pair.undo(now)
            raise
        if not hold:
            await pair.settle(interval, None, now)
        return appt

    async def confirm(self, appointment_id: str, now: datetime | None = None) -> Appointment:
        """Turn a live hold into a scheduled appointment; confirming twice answers the same appointment."""
        async with self._changing.hold(appointment_id):
            return await self._confirm(appointment_id, self._now(now))

    async def _confirm(self, appointment_id: str, now: datetime) -> Appointment:
        stock = await self._inventory_stock(appointment_id)

        async def write(conn: asyncpg.Connection) -> tuple[str, Appointment]:
            appt = await self._get_for_update(conn, appointment_id)
            if appt.status is _S.EXPIRED:
                return "expired", appt
            if appt.status is not _S.HELD:
                if appt.status is _S.CANCELLED:
                    check_transition(appt.status, _S.SCHEDULED)
                return "already", appt
            if not appt.blocks(now):
                await appointments.set_status(conn, appt.id, _S.EXPIRED, now)
                return "expired", replace(appt, status=_S.EXPIRED, hold_expires_at=None)
            confirmed = appt.moved_to(_S.SCHEDULED)
            await appointments.set_status(conn, appt.id, _S.SCHEDULED, now)
            parts = await self._parts_for(conn, appt, now, stock)
            names = await self.catalog.names(confirmed.technician_id, confirmed.bay_id, conn)
            await events.record_scheduled(conn, confirmed, names, now, parts)
            await record_effect(conn, appt.id)
            return "confirmed", confirmed

        outcome, appt = await in_transaction(self.pool, write)
        pair = self._pair(appt.id, appt.shop_id, appt.technician_id, appt.bay_id)
        if outcome == "expired":
            await pair.undo(now)
            raise HoldExpired(f"the hold on appointment {appt.id} expired", appointment_id=appt.id)
        if outcome == "confirmed":
            await pair.settle(appt.interval, None, now)
        return appt

    async def release_hold(
        self, appointment_id: str, now: datetime | None = None, *, announce: bool = True
    ) -> Appointment:
        """Give a hold back before its TTL; releasing twice (or after expiry) is a no-op.

        Without ``announce`` the freed time is not announced (the waitlist passing on its own offer's hold).
        """
        async with self._changing.hold(appointment_id):
            return await self._release_hold(appointment_id, self._now(now), announce)

    async def _release_hold(self, appointment_id: str, now: datetime, announce: bool) -> Appointment:

        async def write(conn: asyncpg.Connection) -> Appointment:
            appt = await self._get_for_update(conn, appointment_id)
            if appt.status in (_S.CANCELLED, _S.EXPIRED):
                return appt
            if appt.status is not _S.HELD:
                raise InvalidTransition(
                    f"appointment {appt.id} is {appt.status.value}, not a hold", current=appt.status.value
                )
            cancellation = Cancellation(at=now, late=False, fee=self.cancellation.late_fee * 0, reason="hold released")
            await appointments.cancel(conn, appt.id, cancellation)
            await record_effect(conn, appt.id)
            return replace(appt, status=_S.CANCELLED, hold_expires_at=None, cancellation=cancellation)

        appt = await in_transaction(self.pool, write)
        await self._pair(appt.id, appt.shop_id, appt.technician_id, appt.bay_id).undo(now)
        if announce and appt.cancellation is not None and appt.cancellation.at == now:  # released by this call
            self.freed.announce(FreedTime.of(appt))
        return appt

    async def cancel(
        self, appointment_id: str, *, reason: str | None = None, now: datetime | None = None
    ) -> Appointment:
        """Cancel per the policy (free early, a recorded fee late); cancelling twice is a no-op."""
        async with self._changing.hold(appointment_id):
            return await self._cancel(appointment_id, reason, self._now(now))

    async def _cancel(self, appointment_id: str, reason: str | None, now: datetime) -> Appointment:

        async def write(conn: asyncpg.Connection) -> Appointment:
            appt = await self._get_for_update(conn, appointment_id)
            if appt.status is _S.CANCELLED:
                return appt
            check_transition(appt.status, _S.CANCELLED)
            if appt.status is _S.HELD:
                # never announced, so nothing to retract and no fee
                cancellation = Cancellation(at=now, late=False, fee=self.cancellation.late_fee * 0, reason=reason)
            else:
                verdict = self.cancellation.assess(appt.start, now)
                cancellation = Cancellation(at=now, late=verdict.late, fee=verdict.fee, reason=reason)
            await appointments.cancel(conn, appt.id, cancellation)
            await customer_links.delete_for_appointment(conn, appt.id)  # they die with it
            cancelled = replace(appt, status=_S.CANCELLED, hold_expires_at=None, cancellation=cancellation)
            if appt.status is not _S.HELD:
                names = await self.catalog.names(cancelled.technician_id, cancelled.bay_id, conn)
                await events.record(conn, cancelled.id, [AppointmentCancelled(cancelled, *names)], now)
            await record_effect(conn, appt.id)
            return cancelled

        appt = await in_transaction(self.pool, write)
        await self._pair(appt.id, appt.shop_id, appt.technician_id, appt.bay_id).undo(now)
        if appt.cancellation is not None and appt.cancellation.at == now:  # cancelled by this call
            self.freed.announce(FreedTime.of(appt))
        return appt

    async def reschedule(
        self,
        appointment_id: str,
        *,
        start: datetime,
        technician_id: str | None = None,
        bay_id: str | None = None,
        now: datetime | None = None,
    ) -> Appointment:
        """Move an appointment (or hold); a refused move leaves the original exactly as it was."""
        async with self._changing.hold(appointment_id):
            return await self._reschedule(appointment_id, _aware(start, "start"), technician_id, bay_id, self._now(now))

    async def _reschedule(
        self, appointment_id: str, start: datetime, technician_id: str | None, bay_id: str | None, now: datetime
    ) -> Appointment:
        original = await load_appointment(self.pool, appointment_id)
        if original.status not in (_S.SCHEDULED, _S.HELD) or not original.blocks(now):
            raise InvalidTransition(
                f"appointment {original.id} is {original.status.value} and cannot move", current=original.status.value
            )
        if start < now:
            raise InvalidRequest(f"start {start.isoformat()} is in the past", field="start")
        if start != original.start:
            # A new time is a new booking's time; the same time on another technician or bay (reassignment) is not.
            # A series' occurrence runs to the series' end, past the horizon (it binds the first occurrence only).
            self.policy.check_booking_window(start, original.urgency, now, horizon=original.series_id is None)
        if original.parts_ready_at is not None and start < original.parts_ready_at:
            raise InvalidRequest(
                f"parts arrive {original.parts_ready_at.isoformat()}; the job cannot start before",
                field="start",
                parts_ready_at=original.parts_ready_at.isoformat(),
            )
        moved = replace(
            original,
            technician_id=technician_id or original.technician_id,
            bay_id=bay_id or original.bay_id,
            interval=Interval(start, start + original.interval.duration),
            sequence=original.sequence + 1,
        )
        if (moved.interval, moved.technician_id, moved.bay_id) == (
            original.interval,
            original.technician_id,
            original.bay_id,
        ):
            return original
        visit = await self._moved_visit(moved, original)
        if visit is not None:
            moved = visit[0]
        service = await self._service(original.service_type)
        before = Previous(original.interval, original.hold_expires_at if original.status is _S.HELD else None)
        pair = self._pair(original.id, original.shop_id, moved.technician_id, moved.bay_id)
        pair.technician_before = before if moved.technician_id == original.technician_id else None
        pair.bay_before = before if moved.bay_id == original.bay_id else None
        # A client's hold keeps its own expiry when it moves (settle then finds memory already right);
        # an appointment's move is held only for the transaction.
        held_until = original.hold_expires_at if original.status is _S.HELD else None
        tech, bay = await pair.hold(
            moved.interval,
            held_until or now + TRANSIENT_HOLD_TTL,
            now,
            skill=service.required_skill,
            equipment=service.required_equipment,
        )

        async def write(conn: asyncpg.Connection) -> Appointment:
            current = await self._get_for_update(conn, appointment_id)
            if current.status is not original.status or current.sequence != original.sequence:
                raise InvalidTransition(
                    f"appointment {current.id} changed meanwhile; try again", current=current.status.value
                )
            await self._lock_and_check_cap(conn, moved, tech, bay, now)
            if visit is not None:  # on-site: the drives in and out, under the technician's lock (as a booking)
                await visit[1].rules.check_reachable(conn, moved, visit[1].technician, visit[1].shop, now)
            await appointments.move(conn, moved, tech_rid=tech.rid, bay_rid=bay.rid, buffer=self.policy.buffer, now=now)
            await visits.set_site(conn, moved)
            if moved.status is _S.SCHEDULED:
                names = (tech.resource_name, bay.resource_name)
                changes: list[PublishedEvent] = [
                    AppointmentRescheduled(
                        moved, *names, previous_start=original.start, previous_technician_id=original.technician_id
                    )
                ]
                if moved.technician_id != original.technician_id:
                    changes.append(TechnicianAssigned(moved, *names))
                await events.record(conn, moved.id, changes, now)
            await record_effect(conn, moved.id)
            return moved

        try:
            moved = await in_transaction(self.pool, write)
        except (SlotTaken, InvalidTransition):
            await pair.undo(now, reload=True)  # memory missed something, or the appointment changed meanwhile
            raise
        except BaseException:
            await pair.undo(now)
            raise
        held_until = moved.hold_expires_at if moved.status is _S.HELD else None
        await pair.settle(moved.interval, held_until, now)
        old = self._pair(original.id, original.shop_id, original.technician_id, original.bay_id)
        await old.undo(
            now,
            technician=original.technician_id != moved.technician_id,
            bay=original.bay_id != moved.bay_id,
        )
        self.freed.announce(FreedTime.of(original))  # where it was is free now (or partly, if it overlaps)
        return moved

    async def update_details(
        self, appointment_id: str, *, notes: str | None = UNSET, customer: Customer = UNSET
    ) -> Appointment:
        """Change what does not move time: notes and the customer's details."""
        now = self.clock.now()

        async def write(conn: asyncpg.Connection) -> Appointment:
            appt = await self._get_for_update(conn, appointment_id)
            updated = replace(
                appt,
                notes=appt.notes if notes is UNSET else notes,
                customer=appt.customer if customer is UNSET else customer,
            )
            await appointments.update_details(conn, updated, now)
            await record_effect(conn, updated.id)
            return updated

        return await in_transaction(self.pool, write)

    async def activate_shop(self, shop_id: str, now: datetime | None = None) -> int:
        """Start a shop's resource actors and load their calendars; answers how many."""
        now = self._now(now)
        cat = await self.catalog.shop_catalog(shop_id)
        refs = [ResourceRef(ResourceKind.TECHNICIAN, shop_id, t.id) for t in cat.technicians]
        refs += [ResourceRef(ResourceKind.BAY, shop_id, b.id) for b in cat.bays]
        await self.directory.activate(refs, now)
        return len(refs)

    # -- sweeping --------------------------------------------------------------------------

    async def expire_holds(self, now: datetime | None = None) -> list[Appointment]:
        """Mark holds past their TTL expired in the store and drop them from the actors."""
        now = self._now(now)

        async def write(conn: asyncpg.Connection) -> list[Appointment]:
            return await appointments.expire_all_stale_holds(conn, now)

        expired = await in_transaction(self.pool, write)
        await asyncio.gather(*(self._pair(a.id, a.shop_id, a.technician_id, a.bay_id).undo(now) for a in expired))
        self.freed.announce(*(FreedTime.of(a) for a in expired))
        return expired

    # -- for the other commands on one appointment (lifecycle) -------------------------------

    def changing(self, appointment_id: str) -> AbstractAsyncContextManager[None]:
        """The lock under which one appointment changes (so the actors hear its changes in commit order)."""
        return self._changing.hold(appointment_id)

    async def free_resources(self, appt: Appointment, now: datetime) -> None:
        """Free the appointment's time on its technician's and bay's calendars: the database no longer holds it.

        A completed job stays on its technician's calendar as one of the day's jobs (the daily cap counts it,
        as the database does); any other (a no-show) is dropped from both.
        """
        pair = self._pair(appt.id, appt.shop_id, appt.technician_id, appt.bay_id)
        if appt.status is AppointmentStatus.COMPLETED:
            await pair.finish(appt.interval, now)
        else:
            await pair.undo(now)
        self.freed.announce(FreedTime.of(appt))

    # -- helpers ------------------------------------------------------------------------------

    def _pair(self, key: str, shop_id: str, technician_id: str, bay_id: str) -> PairPlacement:
        return PairPlacement(
            key, self.directory.technician(shop_id, technician_id), self.directory.bay(shop_id, bay_id)
        )

    async def _lock_and_check_cap(
        self, conn: asyncpg.Connection, appt: Appointment, tech: HoldToken, bay: HoldToken, now: datetime
    ) -> None:
        """Serialize writers of this technician, bay and vehicle, then check the vehicle and count the day."""
        await appointments.lock_resources(conn, tech.rid, bay.rid, appt.vehicle_id)
        await appointments.check_vehicle_free(conn, appt.vehicle_id, appt.interval, now, exclude=appt.id)
        tz = ZoneInfo(tech.timezone)
        day = local_date(appt.start, tz)
        jobs = await appointments.expire_and_count_technician_jobs(
            conn, tech.rid, bay.rid, appt.technician_id, local_day_bounds(day, tz), now, exclude=appt.id
        )
        cap = self.policy.max_bookings_per_technician_per_day
        if jobs >= cap:
            raise _cap_reached(appt.technician_id, cap, day)

    async def _get_for_update(self, conn: asyncpg.Connection, appointment_id: str) -> Appointment:
        appt = await appointments.get(conn, appointment_id, for_update=True)
        if appt is None:
            raise unknown_appointment(appointment_id)
        return appt

    async def _by_source(self, source_ref: str) -> Appointment | None:
        return await read(self.pool, lambda conn: appointments.get_by_source(conn, source_ref))

    async def _moved_visit(self, moved: Appointment, original: Appointment) -> tuple[Appointment, _Visit] | None:
        """An on-site appointment moved: with its technician's van and the window of its new time (the customer
        hears of it: ``appointment.rescheduled``); None for shop work."""
        if original.site is None or self.mobile is None:
            return None
        cat = await self.catalog.shop_catalog(original.shop_id)
        tech = next((t for t in cat.technicians if t.id == moved.technician_id), None)
        if tech is None or not tech.mobile:
            raise InvalidRequest(f"{moved.technician_id} is not a mobile technician", field="technician_id")
        window = original.arrival_window
        if moved.start != original.start:
            window = self.mobile.window_for(moved.start, cat.shop)
        return replace(moved, bay_id=tech.van_id, arrival_window=window), _Visit(tech, cat.shop, self.mobile)

    async def _visit_for(self, req: BookingRequest, service: ServiceType) -> _Visit | None:
        """For on-site work: the technician, shop and rules it is booked under; None for shop work.

        422 (naming the field) for an on-site job without a location, beyond every capable base, or with
        a technician who does not do it; and for shop work given a mobile technician or a van.
        """
        try:
            cat = await self.catalog.shop_catalog(req.shop_id)
        except NotFound:
            return None  # the hold answers for an unknown shop, as it always has
        tech = next((t for t in cat.technicians if t.id == req.technician_id), None)
        if not service.on_site:
            if tech is not None and tech.mobile:
                raise InvalidRequest(
                    f"{tech.id} works on site only; {service.code} is shop work", field="technician_id"
                )
            if any(b.id == req.bay_id and b.van_of is not None for b in cat.bays):
                raise InvalidRequest(f"{req.bay_id} is a van; {service.code} is shop work", field="service_bay")
            return None
        if self.mobile is None:
            raise InvalidRequest(
                f"{service.code} is done on site, which this service is not set up for", field="service_type"
            )
        if tech is None:
            return None  # the hold answers for an unknown technician
        if not tech.can_visit(service.required_skill, service.required_equipment):
            raise InvalidRequest(
                f"{tech.id} is not a mobile technician with the skill and van for {service.code}",
                field="technician_id",
            )
        self.mobile.check_request(service, req.job.location, [tech])
        return _Visit(tech, cat.shop, self.mobile)

    async def _service(self, code: str) -> ServiceType:
        return await self.catalog.service_type(code)

    async def _service_and_parts(
        self, shop_id: str, code: str, now: datetime
    ) -> tuple[ServiceType, PartsAvailability | None]:
        service = await self.catalog.service_type(code)
        if not service.required_parts:
            return service, None
        codes = sorted({p.part_code for p in service.required_parts})
        # The same source the search asked: a slot offered on the Inventory Service's word is booked on its
        # word (a one-shop search's answer is still in its short cache). Without it (not configured, or
        # down) the local table, read fresh: stock moves with every order.
        answer = await self.inventory.stock([shop_id], codes)
        if answer.stock is not None:
            return service, check_parts(service.required_parts, answer.stock.get(shop_id, {}), now)
        stock = await read(self.pool, lambda conn: catalog.parts_stock(conn, shop_id))
        return service, check_parts(service.required_parts, stock, now)

    async def _inventory_stock(self, appointment_id: str) -> Mapping[str, PartStock] | None:
        """The Inventory Service's stock for a hold that waits on parts (None: the local table answers).

        Asked before the confirming transaction, so that no HTTP call is made while a row is locked.
        """
        if not self.inventory.configured:
            return None

        async def load(conn: asyncpg.Connection) -> tuple[Appointment | None, ServiceType | None]:
            appt = await appointments.get(conn, appointment_id)
            if appt is None or appt.parts_available:
                return None, None
            return appt, await catalog.get_service_type(conn, appt.service_type)

        appt, service = await read(self.pool, load)
        if appt is None or service is None or not service.required_parts:
            return None
        answer = await self.inventory.stock([appt.shop_id], sorted({p.part_code for p in service.required_parts}))
        return None if answer.stock is None else answer.stock.get(appt.shop_id, {})

    async def _parts_for(
        self,
        conn: asyncpg.Connection,
        appt: Appointment,
        now: datetime,
        stock: Mapping[str, PartStock] | None = None,
    ) -> PartsAvailability | None:
        if appt.parts_available:
            return None
        service = await catalog.get_service_type(conn, appt.service_type)
        if service is None or not service.required_parts:
            return None
        if stock is None:
            stock = await catalog.parts_stock(conn, appt.shop_id)
        return check_parts(service.required_parts, stock, now)


def _cap_reached(technician_id: str, cap: int, day: date) -> DailyCapReached:
    return DailyCapReached(
        f"{technician_id} already has {cap} jobs on {day.isoformat()}", resource_id=technician_id, day=day.isoformat()
    )


def _aware(value: datetime, name: str) -> datetime:
    try:
        return require_aware(value, name)
    except ValueError as exc:
        raise InvalidRequest(str(exc), field=name) from None


def _duration(service: ServiceType, job: Job) -> Any:
    try:
        return service.duration_for(job.duration)
    except ValueError as exc:
        raise InvalidRequest(str(exc), field="duration") from None


def _check_parts_lead_time(parts: PartsAvailability | None, start: datetime) -> datetime | None:
    """None when every part is in stock; else when they arrive (the job may not start before)."""
    if parts is None or parts.available:
        return None
    if parts.unknown:
        raise InvalidRequest(
            f"this shop does not stock {', '.join(parts.unknown)}", field="parts", unknown=list(parts.unknown)
        )
    if start < parts.ready_at:
        raise InvalidRequest(
            f"parts {', '.join(parts.missing)} must be ordered and arrive {parts.ready_at.isoformat()}; "
            f"the job cannot start before then",
            field="start",
            missing=list(parts.missing),
            parts_ready_at=parts.ready_at.isoformat(),
        )
    return parts.ready_at
