"""The real ``AutoBooker``: alerts booked through the same scheduler the HTTP API uses."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from application.scheduler import Scheduler
from application.slot_search import SlotSearch
from bridge.composition import ray_application
from bridge.ports import AutoBooker, BookingOutcome
from config.settings import Settings
from domain.customer import Customer
from domain.errors import NoSlotAvailable
from domain.job import Job


class SchedulerBooker:
    """Books an alert's job at the best slot within ``within`` (or the next one, ``immediate``)."""

    def __init__(self, scheduler: Scheduler) -> None:
        self._scheduler = scheduler

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
        days = max(1, within.days + (1 if within.seconds else 0))
        search = SlotSearch(
            vehicle_id=job.vehicle_id,
            service_type=job.service_type,
            urgency=job.urgency,
            duration=None,
            preferred_date=job.preferred_date,
            customer_tier=job.customer_tier,
            shop_ids=(shop_hint,) if shop_hint else (),
            location=job.location,
            search_days=days,
            top_k=1 if immediate else 3,
        )
        try:
            appt = await self._scheduler.book_best(
                search, customer=customer, notes=notes, hold=False, source_ref=source_ref, now=now
            )
        except NoSlotAvailable as exc:
            return BookingOutcome.not_booked(*[str(r) for r in exc.details.get("reasons", [])] or [exc.message])
        return BookingOutcome.of(appt)


def build_scheduler_booker(settings: Settings, pool: asyncpg.Pool) -> AutoBooker:
    """The ``BookerFactory`` the bridge actor calls in its own process."""
    url = settings.database_url
    if not url:
        raise ValueError("the bridge needs settings.database_url (the composition root sets it)")
    return SchedulerBooker(ray_application(settings, pool, url).scheduler)
