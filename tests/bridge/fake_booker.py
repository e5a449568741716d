"""A fake of the bridge's AutoBooker port that writes real rows.

It places each job right after the last live appointment of one of the
shop's technician/bay pairs (chosen by the source_ref), in one transaction
with its ``appointment.scheduled`` and ``technician.assigned`` outbox rows,
and it honours the port's contract: the same source_ref books once.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from bridge.ports import BookingOutcome
from domain.appointment import Appointment, AppointmentStatus
from domain.customer import Customer
from domain.events import AppointmentScheduled, EventEnvelope, TechnicianAssigned
from domain.job import Job
from domain.time_windows import Interval
from store import appointment_repository as appointments
from store import catalog_repository as catalog
from store import outbox_repository as outbox
from tests.factories import NO_CAP, resource_rids


@dataclass
class FakeAutoBooker:
    pool: asyncpg.Pool
    default_shop: str = "shop_a"
    calls: list[str] = field(default_factory=list)
    fail_for: set[str] = field(default_factory=set)
    """source_refs for which the booker raises (a transient failure that never heals)."""
    _service_types: set[str] = field(default_factory=set)
    _resources: dict[str, tuple[list[Any], list[Any]]] = field(default_factory=dict)

    async def book_for_alert(
        self,
        job: Job,
        *,
        shop_hint: str | None,
        within: timedelta,
        immediate: bool,
        source_ref: str,
        now: datetime,
        customer: Customer,
        notes: str | None,
    ) -> BookingOutcome:
        self.calls.append(source_ref)
        if source_ref in self.fail_for:
            raise RuntimeError(f"booking service unavailable for {source_ref}")
        shop_id = shop_hint or self.default_shop
        async with self.pool.acquire() as conn:
            existing = await appointments.get_by_source(conn, source_ref)
            if existing is not None:
                return BookingOutcome.of(existing)
            if job.service_type not in self._service_types:
                if await catalog.get_service_type(conn, job.service_type) is None:
                    return BookingOutcome.not_booked(f"no shop offers service type {job.service_type!r}")
                self._service_types.add(job.service_type)
            if shop_id not in self._resources:
                self._resources[shop_id] = (await catalog.list_technicians(conn, shop_id=shop_id),
                                            await catalog.list_bays(conn, shop_id))
            techs, bays = self._resources[shop_id]
            if not techs or not bays:
                return BookingOutcome.not_booked(f"shop {shop_id!r} has no technician or bay")
            i = zlib.crc32(source_ref.encode()) % min(len(techs), len(bays))
            tech, bay = techs[i], bays[i]
            try:
                appt = await self._book(conn, job, tech.id, bay.id, shop_id, source_ref, now, customer, notes)
            except asyncpg.UniqueViolationError:
                appt = await appointments.get_by_source(conn, source_ref)  # a concurrent twin won
                assert appt is not None
        return BookingOutcome.of(appt)

    async def _book(self, conn: Any, job: Job, tech_id: str, bay_id: str, shop_id: str, source_ref: str,
                    now: datetime, customer: Customer, notes: str | None) -> Appointment:
        async with conn.transaction():
            tech_rid, bay_rid = await resource_rids(conn, shop_id, tech_id, bay_id)
            await appointments.lock_resources(conn, tech_rid, bay_rid, job.vehicle_id)
            last = await conn.fetchval(
                "SELECT max(blocked_until) FROM appointments WHERE (technician_id = $1 OR bay_id = $2) "
                "AND status IN ('held', 'scheduled')", tech_id, bay_id)
            start = max(now.replace(microsecond=0) + timedelta(hours=1), last or now)
            appt = Appointment(
                id=_uuid(), shop_id=shop_id, vehicle_id=job.vehicle_id, service_type=job.service_type,
                urgency=job.urgency, technician_id=tech_id, bay_id=bay_id,
                interval=Interval(start, start + job.duration), status=AppointmentStatus.SCHEDULED,
                created_at=now, customer=customer, notes=notes, source_ref=source_ref,
            )
            await appointments.insert_under_cap(conn, appt, tech_rid=tech_rid, bay_rid=bay_rid, buffer=timedelta(0),
                                                day=appt.interval, cap=NO_CAP, now=now)
            # the real events (names stand in as ids): consumers of the fake see the wire format they will get
            for event in (AppointmentScheduled(appt, tech_id, bay_id), TechnicianAssigned(appt, tech_id, bay_id)):
                await outbox.add(conn, EventEnvelope.of(event, now), appt.id)
        return appt


def fake_booker_factory(settings: Any, pool: asyncpg.Pool) -> FakeAutoBooker:
    """The BookerFactory the actor tests hand to the BridgeActor (importable in Ray workers)."""
    return FakeAutoBooker(pool)


def _uuid() -> str:
    import uuid

    return str(uuid.uuid4())
