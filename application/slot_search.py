"""The slot coordinator: free time from the resource actors, CP-SAT per shop, one merged ranking.

For a request that may go to several shops (a list, a radius around the
vehicle, or the whole chain) each shop's problem is built from its actors'
calendars and solved separately (in parallel through the injected
``SolveRunner``: Ray tasks for many shops, a worker thread for one), then the
rankings are merged by objective. A CP-SAT solve never runs on the event loop.

Before that, where the neighbours are configured, the vehicle's health may
raise the urgency and lengthen the job (``VehicleContext``), and the job's
parts are checked with the Inventory Service for all the shops in one call
(``PartsInventory``; else, or when it is down, against the local table). Both
say what they did in the answer's ``explanation``; each slot names its
``parts_source``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from application.booking_queries import BookingQueries, ShopBusy
from application.catalog_cache import CatalogCache, ShopCatalog
from application.mobile import OnSiteSearch
from application.parts_inventory import InventoryAnswer, PartsInventory
from application.vehicle_context import VehicleContext
from domain.catalog import ServiceType
from domain.customer import CustomerTier
from domain.errors import InvalidRequest, NoSlotAvailable, NotFound, OutsideBookingWindow
from domain.job import Job, Slot
from domain.parts import PartsSource, check_parts
from domain.policy import SchedulingPolicy
from domain.resources import van_id_of
from domain.shop import GeoPoint, Shop
from domain.time_windows import Interval, local_date, local_day_bounds, subtract
from domain.urgency import Urgency
from solver import Reason, SlotProblem, SlotResult, Weights, solve_slots
from solver.build import build_slot_problem, instant_of, suggested_date, to_slots

NEAREST_SHOPS_WITHOUT_RADIUS = 3


class AvailabilitySource(Protocol):
    """Where free time comes from: the technician and bay actors (memory, not the database)."""

    async def shop_availability(self, catalog: ShopCatalog, window: Interval, now: datetime) -> ShopBusy: ...

    async def vehicle_busy(self, vehicle_id: str, window: Interval, now: datetime) -> list[Interval]:
        """When the vehicle is already booked (any shop): a car is in one place at a time."""
        ...


class CalendarAvailability:
    """Availability read through the calendar port (the resources' memory) and a vehicle's time from the store."""

    def __init__(self, queries: BookingQueries) -> None:
        self._queries = queries

    async def shop_availability(self, catalog: ShopCatalog, window: Interval, now: datetime) -> ShopBusy:
        resources = ([t.id for t in catalog.technicians], [b.id for b in catalog.bays])
        return await self._queries.resource_busy(catalog.shop.id, window, now, resources=resources)

    async def vehicle_busy(self, vehicle_id: str, window: Interval, now: datetime) -> list[Interval]:
        return await self._queries.vehicle_busy(vehicle_id, window, now)


class SolveRunner(Protocol):
    """Runs CP-SAT solves off the event loop; ``None`` for a problem that missed the deadline."""

    async def solve(self, problems: Sequence[SlotProblem], time_limit_s: float) -> list[SlotResult | None]: ...


class ThreadSolveRunner:
    """Solves in worker threads: right for one shop, where a Ray task costs more than it saves."""

    async def solve(self, problems: Sequence[SlotProblem], time_limit_s: float) -> list[SlotResult | None]:
        results = await asyncio.gather(
            *(asyncio.to_thread(solve_slots, p, time_limit_s=time_limit_s) for p in problems)
        )
        return list(results)


@dataclass(frozen=True, slots=True)
class SlotSearch:
    """A request for slots: the job, and where and how far ahead to look."""

    vehicle_id: str
    service_type: str
    urgency: Urgency = Urgency.MEDIUM
    duration: timedelta | None = None
    preferred_date: date | None = None
    preferred_window: tuple[time, time] | None = None
    preferred_technician_id: str | None = None
    customer_tier: CustomerTier = CustomerTier.REGULAR
    shop_ids: tuple[str, ...] = ()
    location: GeoPoint | None = None
    radius_km: float | None = None
    earliest: datetime | None = None
    search_days: int = 14
    top_k: int = 3
    exact_start: datetime | None = None
    """Only slots starting at this instant (a client that named a time but no technician)."""
    exclude_technicians: tuple[str, ...] = ()
    """Technicians not to offer (one whose absence is being planned for: ``application.time_off``)."""
    health_considered: bool = False
    """The vehicle's health has been applied to urgency and duration (``VehicleContext``): not again."""
    within_shops: frozenset[str] | None = None
    """The caller's shops (None: the whole chain); a shop outside them is as unknown as one that does not exist."""
    past_horizon: bool = False
    """A recurring series' later occurrence: the booking horizon binds only its first (``application.series``)."""

    def job(self, duration: timedelta) -> Job:
        """The job this search is for, with its resolved duration."""
        return Job(
            vehicle_id=self.vehicle_id,
            service_type=self.service_type,
            urgency=self.urgency,
            duration=duration,
            preferred_date=self.preferred_date,
            preferred_window=self.preferred_window,
            preferred_technician_id=self.preferred_technician_id,
            customer_tier=self.customer_tier,
            location=self.location,
            earliest=self.exact_start or self.earliest,
        )


@dataclass(frozen=True, slots=True)
class SlotSearchResult:
    slots: tuple[Slot, ...]
    explanation: tuple[str, ...] = ()
    suggested_date: date | None = None
    shops_searched: tuple[str, ...] = ()
    search: SlotSearch | None = None
    """The search as answered: with the urgency and duration the vehicle's health gave it."""
    search_id: str | None = None
    """The recorded search's id (``application.search_log``), which a booking may echo; None: not recorded."""


class SlotFinder:
    """Finds the best few slots for a job across one or many shops."""

    def __init__(
        self,
        catalog: CatalogCache,
        availability: AvailabilitySource,
        policy: SchedulingPolicy,
        *,
        single_runner: SolveRunner | None = None,
        multi_runner: SolveRunner | None = None,
        time_limit_s: float = 0.5,
        weights: Weights | None = None,
        vehicle_context: VehicleContext | None = None,
        inventory: PartsInventory | None = None,
        mobile: OnSiteSearch | None = None,
    ) -> None:
        self._catalog = catalog
        self._weights = weights
        self._availability = availability
        self._policy = policy
        self._single = single_runner or ThreadSolveRunner()
        self._multi = multi_runner or self._single
        self._time_limit_s = time_limit_s
        self._context = vehicle_context or VehicleContext(None)
        self._inventory = inventory or PartsInventory(None)
        self._mobile = mobile

    async def in_context(self, search: SlotSearch) -> tuple[SlotSearch, tuple[str, ...]]:
        """The search with the vehicle's health applied (once), and the notes that say what changed."""
        service, duration = await self._catalog.service_and_duration(search.service_type, search.duration)
        return await self._context.adjust(search, service, duration)

    async def vehicle_busy(self, search: SlotSearch, now: datetime) -> list[Interval]:
        """When the search's vehicle is already booked, over every window the search may look at."""
        return await self._availability.vehicle_busy(search.vehicle_id, _vehicle_window(search, now), now)

    async def find(self, search: SlotSearch, now: datetime | None = None) -> SlotSearchResult:
        now = (now or datetime.now(UTC)).astimezone(UTC)
        search, notes = await self.in_context(search)
        service, duration = await self._catalog.service_and_duration(search.service_type, search.duration)
        shops = await self._shops_for(search)
        await self._check_on_site(service, search, shops)
        job = search.job(duration)
        # The vehicle is in one place at a time, whichever shop: its booked time is read once for all of them.
        vehicle_busy = await self._availability.vehicle_busy(job.vehicle_id, _vehicle_window(search, now), now)
        inventory = await self._inventory_for(service, shops)
        problems: list[SlotProblem] = []
        explanation: list[str] = list(notes)
        notice = self.notice_note(search, now)
        if notice:
            explanation.append(notice)
        if inventory.note:
            explanation.append(inventory.note)
        searched: list[str] = []
        sources: dict[str, PartsSource] = {}
        for shop in shops:
            cat = await self._catalog.shop_catalog(shop.id)
            if service.required_parts:
                if inventory.stock is not None:
                    cat = replace(cat, parts=dict(inventory.stock.get(shop.id, {})))
                sources[shop.id] = PartsSource.LOCAL if inventory.stock is None else PartsSource.INVENTORY
            try:
                problem = await self._problem(cat, job, search, now, vehicle_busy)
            except NoSlotAvailable as exc:
                explanation.append(f"{shop.id}: {exc.message}")
                continue
            problems.append(problem)
            searched.append(shop.id)
        runner = self._single if len(problems) <= 1 else self._multi
        results = await runner.solve(problems, self._time_limit_s) if problems else []
        result = self._merge(problems, results, shops, search, explanation, tuple(searched))
        slots = tuple(replace(s, parts_source=sources.get(s.shop_id)) for s in result.slots)
        if service.on_site and self._mobile is not None:
            by_id = {s.id: s for s in shops}
            # The van is the on-site job's "bay" (held with its driver); the customer is promised a window.
            slots = tuple(
                replace(
                    s,
                    bay_id=van_id_of(s.technician_id),
                    arrival_window=self._mobile.rules.window_for(s.start, by_id[s.shop_id]),
                )
                for s in slots
            )
        return replace(result, slots=slots, search=search)

    async def _inventory_for(self, service: ServiceType, shops: Sequence[Shop]) -> InventoryAnswer:
        """One call for every shop of the search; None stock (the local table answers) without a service."""
        codes = sorted({p.part_code for p in service.required_parts})
        return await self._inventory.stock([s.id for s in shops], codes)

    async def _problem(
        self, cat: ShopCatalog, job: Job, search: SlotSearch, now: datetime, vehicle_busy: Sequence[Interval]
    ) -> SlotProblem:
        service = await self._catalog.service_type(job.service_type)
        tz = cat.shop.tz
        # The booking notice opens the window (a shop needs time to get ready); ``earliest`` may open it later.
        notice_ends = self._policy.earliest_start(search.urgency, now)
        opens = max(notice_ends, search.earliest) if search.earliest is not None else notice_ends
        latest = None if search.past_horizon else self._policy.latest_start(now)
        if search.exact_start is not None:
            self._check_exact_start(search.exact_start, search, now)
        if latest is not None and opens > latest:
            raise NoSlotAvailable(
                f"the requested time is beyond the booking horizon ({latest.astimezone(tz).date().isoformat()})",
                reasons=[{"code": "beyond_horizon"}],
            )
        first = local_date(opens, tz)
        days = search.search_days
        if search.exact_start is not None:
            # Look at the requested day only (and never before it).
            first = max(local_date(now, tz), local_date(search.exact_start, tz))
            days = 1
        window = Interval(
            max(opens if search.exact_start is None else now, local_day_bounds(first, tz).start),
            local_day_bounds(first + timedelta(days=days - 1), tz).end,
        )
        if window.empty:
            raise NoSlotAvailable("the requested time is in the past", reasons=[{"code": "in_the_past"}])
        # Calendars are read from the first day's local midnight: the reserves weigh whole days
        # (time before ``opens`` is cut by the solver's own not-before-now rule).
        whole_days = Interval(local_day_bounds(first, tz).start, window.end)
        availability = await self._availability.shop_availability(cat, whole_days, now)
        parts = check_parts(service.required_parts, cat.parts, now)
        on_site = service.on_site
        # Mobile technicians (and their vans) do on-site work only; shop technicians and bays, shop work only.
        technicians = [
            (t, _without(free.free, vehicle_busy), free.jobs_per_day)
            for t in cat.technicians
            if t.mobile == on_site and (not on_site or t.base is not None)
            and (free := availability.technicians.get(t.id)) is not None
            and t.id not in search.exclude_technicians
        ]
        bays = (
            []
            if on_site
            else [(b, availability.bays[b.id].free) for b in cat.bays if b.van_of is None and b.id in availability.bays]
        )
        technician_days = {
            t.id: (view.working, tuple(e.interval for e in view.entries))
            for t in cat.technicians
            if (view := availability.technicians.get(t.id)) is not None
        }
        start_from = opens if search.exact_start is None else max(notice_ends, search.exact_start)
        visits = None
        if on_site:
            if self._mobile is None or job.location is None:
                raise NoSlotAvailable("on-site work is not configured", reasons=[{"code": "no_mobile_service"}])
            visits = await self._mobile.visits(
                cat.shop,
                [t for t, _, _ in technicians],
                {t.id: view.working for t in cat.technicians if (view := availability.technicians.get(t.id))},
                job.location,
                whole_days,
                now,
            )
        problem = build_slot_problem(
            cat.shop,
            technicians,
            bays,
            service,
            replace(job, earliest=start_from),
            parts,
            self._policy,
            start_from,
            horizon_days=days,
            top_k=search.top_k if search.exact_start is None else max(search.top_k, 10),
            technician_days=technician_days,
            current_time=now,
            weights=self._weights,
            on_site=on_site,
            visits=visits,
        )
        if search.exact_start is not None:
            offset = int((search.exact_start - problem.origin).total_seconds() // 60)
            problem = replace(problem, earliest=offset, horizon_end=offset + problem.duration)
        if latest is not None:
            # The horizon bounds the start; the job may run past it.
            last = int((latest - problem.origin).total_seconds() // 60) + problem.duration
            problem = replace(problem, horizon_end=min(problem.horizon_end, last))
        return problem

    def _check_exact_start(self, start: datetime, search: SlotSearch, now: datetime) -> None:
        """An exact time inside the notice or beyond the horizon: no slot, and the reason says which."""
        try:
            self._policy.check_booking_window(start, search.urgency, now, horizon=not search.past_horizon)
        except OutsideBookingWindow as exc:
            reason = exc.details.get("reason", "outside_window")
            raise NoSlotAvailable(exc.message, reasons=[{"code": reason}]) from None

    def notice_note(self, search: SlotSearch, now: datetime) -> str | None:
        """Why the search starts later than asked, when the booking notice moved it; None when it did not."""
        notice = self._policy.notice_for(search.urgency)
        if not notice or search.exact_start is not None:
            return None
        notice_ends = now + notice
        asked = search.earliest if search.earliest is not None else now
        if asked >= notice_ends:
            return None
        minutes = int(notice.total_seconds() // 60)
        kind = "an emergency booking" if search.urgency is Urgency.CRITICAL else "a booking"
        return (
            f"{kind} needs {minutes} minutes' notice: slots start from "
            f"{notice_ends.isoformat(timespec='minutes')}, not earlier"
        )

    async def _check_on_site(self, service: ServiceType, search: SlotSearch, shops: Sequence[Shop]) -> None:
        """An on-site request needs a location near a capable base of one of its shops (422 naming it)."""
        if not service.on_site:
            return
        technicians = [t for shop in shops for t in (await self._catalog.shop_catalog(shop.id)).technicians]
        rules = self._mobile.rules if self._mobile is not None else None
        if rules is None:
            raise InvalidRequest(
                f"{service.code} is done on site, which this service is not set up for", field="service_type"
            )
        rules.check_request(service, search.location, technicians)

    async def _shops_for(self, search: SlotSearch) -> list[Shop]:
        shops = await self._catalog.shops()
        if search.within_shops is not None:
            shops = [s for s in shops if s.id in search.within_shops]
        if search.shop_ids:
            by_id = {s.id: s for s in shops}
            missing = [s for s in search.shop_ids if s not in by_id]
            if missing:
                raise InvalidRequest(f"unknown shop {', '.join(missing)}", field="shop_id")
            return [by_id[s] for s in search.shop_ids]
        if search.location is not None:
            located = sorted(
                (s for s in shops if s.location is not None),
                key=lambda s: s.location.distance_km(search.location) if s.location and search.location else 0.0,
            )
            if search.radius_km is not None:
                located = [
                    s for s in located if s.location and s.location.distance_km(search.location) <= search.radius_km
                ]
                if not located:
                    raise NoSlotAvailable(
                        f"no shop within {search.radius_km:g} km of the vehicle",
                        reasons=[{"code": "no_shop_in_radius"}],
                    )
                return located
            return located[:NEAREST_SHOPS_WITHOUT_RADIUS]
        if not shops:
            raise NotFound("no shops are configured; load a shop file first")
        return shops

    def _merge(
        self,
        problems: Sequence[SlotProblem],
        results: Sequence[SlotResult | None],
        shops: Sequence[Shop],
        search: SlotSearch,
        explanation: list[str],
        searched: tuple[str, ...],
    ) -> SlotSearchResult:
        multi = len(shops) > 1
        ranked: list[Slot] = []
        suggestion: date | None = None
        by_shop = {s.id: s for s in shops}
        for problem, result in zip(problems, results, strict=True):
            prefix = f"{problem.shop_id}: " if multi else ""
            if result is None:
                explanation.append(f"{prefix}the solve did not finish in time; this shop was skipped")
                continue
            explanation.extend(prefix + _reason_text(problem, r, by_shop[problem.shop_id]) for r in result.reasons)
            slots = to_slots(problem, result)
            if search.exact_start is not None:
                slots = [s for s in slots if s.start == search.exact_start]
            ranked.extend(slots)
            suggested = suggested_date(problem, result, by_shop[problem.shop_id])
            if suggested is not None and (suggestion is None or suggested < suggestion):
                suggestion = suggested
        ranked.sort(key=lambda s: (-s.score, s.start, s.shop_id, s.technician_id))
        top = _rescale_confidence(ranked[: search.top_k])
        return SlotSearchResult(tuple(top), tuple(dict.fromkeys(explanation)), suggestion, searched)


def _reason_text(problem: SlotProblem, reason: Reason, shop: Shop) -> str:
    """A reason as the customer reads it; a reserve's names the time it kept back and when that opens."""
    if reason.withheld_start is None:
        return reason.message
    text = f"{_local(problem, reason.withheld_start, shop)} was not offered: {reason.message}"
    if reason.released_at is not None:
        text += f"; it opens to every job at {_local(problem, reason.released_at, shop)}"
    return text


def _local(problem: SlotProblem, minute: int, shop: Shop) -> str:
    return instant_of(problem, minute).astimezone(shop.tz).isoformat(timespec="minutes")


def _vehicle_window(search: SlotSearch, now: datetime) -> Interval:
    """A window that covers every shop's search window, whatever its time zone (a day of margin each side)."""
    opens = max(now, search.earliest or now, search.exact_start or now)
    return Interval(now, opens + timedelta(days=search.search_days + 2))


def _without(free: Sequence[Interval], taken: Sequence[Interval]) -> Sequence[Interval]:
    """Free time minus the vehicle's other bookings: a job fits only where the car is free too."""
    return subtract(free, taken) if taken else free


def _rescale_confidence(slots: list[Slot]) -> list[Slot]:
    """Confidence relative to the best slot of the merged ranking, never rising down the list."""
    if not slots:
        return slots
    best_cost = max(0.0, -slots[0].score)
    out: list[Slot] = []
    ceiling = 1.0
    for slot in slots:
        quality = (1.0 + best_cost) / (1.0 + max(0.0, -slot.score))
        value = ceiling = min(slot.confidence, quality, ceiling)
        out.append(replace(slot, confidence=round(value, 4)))
    return out
