"""The application stack, wired once per process over the ports the entry point chooses.

The HTTP ingress and the event bridge each build one (their composition roots
pass the Ray implementations of the calendar port and of the solve runner);
tests pass in-process ones. Nothing here knows Ray.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from application.api_keys import ApiKeys
from application.authorized import AuthorizedUseCases
from application.booking import BookingService
from application.booking_queries import BookingQueries
from application.calendar_feed_tokens import CalendarFeedTokens
from application.catalog_cache import CatalogCache
from application.clock import Clock
from application.customer_links import CustomerLinks
from application.kpis import KpiService
from application.lifecycle import LifecycleService
from application.mobile import MobileRules, OnSiteSearch
from application.neighbour_ports import Neighbours
from application.overrun import OverrunService
from application.parts_inventory import PartsInventory
from application.ports import ResourceDirectory
from application.reassignment import RoomMaker
from application.routes import RoutePlanner
from application.scheduler import Scheduler
from application.series import SeriesBooker
from application.slot_search import CalendarAvailability, SlotFinder, SolveRunner
from application.time_off import TimeOffService
from application.vehicle_context import VehicleContext
from application.waitlist import WaitlistService
from domain.policy import CancellationPolicy, SchedulingPolicy
from integrations.travel_times import StraightLineTravel
from solver import Weights

SINGLE_SHOP_TIME_LIMIT_S = 0.5
"""A one-shop search's CP-SAT limit (in a thread); a chain-wide search has the overall deadline."""


@dataclass(frozen=True, slots=True)
class Application:
    """The use cases of one process, sharing its pool, catalog cache and calendar port."""

    pool: asyncpg.Pool
    catalog: CatalogCache
    booking: BookingService
    queries: BookingQueries
    finder: SlotFinder
    scheduler: Scheduler
    directory: ResourceDirectory
    authorized: AuthorizedUseCases
    """The use cases as a caller may run them (the HTTP API's way in)."""
    keys: ApiKeys
    links: CustomerLinks
    lifecycle: LifecycleService
    """Check in, start, complete, no-show (unchecked: the service's own; callers go through ``authorized``)."""
    kpis: KpiService
    series: SeriesBooker
    """Recurring series (book, read, cancel), for the bridge and tools; the API goes through ``authorized``."""
    waitlist: WaitlistService
    """The waitlist, listening for freed time (unchecked: the API goes through ``authorized``)."""
    routes: RoutePlanner
    """Mobile technicians' routes: read one, re-plan a shop-day (the API goes through ``authorized``)."""


def build_application(
    pool: asyncpg.Pool,
    directory: ResourceDirectory,
    policy: SchedulingPolicy,
    cancellation: CancellationPolicy,
    *,
    multi_runner: SolveRunner | None = None,
    single_runner: SolveRunner | None = None,
    solver_deadline_s: float = 2.0,
    clock: Clock | None = None,
    neighbours: Neighbours | None = None,
    customer_link_ttl: timedelta = timedelta(days=90),
    weights: Weights | None = None,
    waitlist_offer_ttl: timedelta = timedelta(minutes=15),
    mobile: MobileRules | None = None,
) -> Application:
    """Everything above the store over ``pool``, reaching calendars through ``directory``.

    ``clock`` is where the commands and queries read now when a caller gives none (the wall clock by
    default; a ``ManualClock`` in a simulation or a replay). ``neighbours`` are the Health and Inventory
    services, where configured. ``weights`` replace the objective's defaults (``bench/sweep.py`` tunes them).
    ``mobile`` holds the travel times and promises of on-site work (straight-line travel and the defaults
    when not given).
    """
    mobile = mobile or MobileRules(StraightLineTravel())
    neighbours = neighbours or Neighbours()
    catalog = CatalogCache(pool)  # one per process, shared by booking, queries and slot search
    inventory = PartsInventory(neighbours.inventory, ttl_seconds=neighbours.inventory_cache_seconds)
    booking = BookingService(
        pool, directory, policy, cancellation, clock, catalog=catalog, inventory=inventory, mobile=mobile
    )
    queries = BookingQueries(pool, directory, catalog, clock)
    finder = SlotFinder(
        catalog,
        CalendarAvailability(queries),
        policy,
        multi_runner=multi_runner,
        single_runner=single_runner,
        time_limit_s=min(SINGLE_SHOP_TIME_LIMIT_S, solver_deadline_s),
        vehicle_context=VehicleContext(neighbours.health),
        inventory=inventory,
        weights=weights,
        mobile=OnSiteSearch(pool, mobile),
    )
    room = RoomMaker(pool, catalog, CalendarAvailability(queries), policy)
    scheduler = Scheduler(finder, booking, catalog, room)
    time_off = TimeOffService(booking, queries, finder, catalog)
    overrun = OverrunService(booking, queries, finder, catalog, time_off)
    lifecycle = LifecycleService(booking)
    kpis = KpiService(pool, catalog)
    series = SeriesBooker(finder, booking, catalog)
    waitlist = WaitlistService(booking, finder, catalog, offer_ttl=waitlist_offer_ttl)
    routes = RoutePlanner(booking, mobile)
    authorized = AuthorizedUseCases(
        scheduler,
        booking,
        queries,
        catalog,
        CalendarFeedTokens(pool),
        time_off,
        overrun,
        lifecycle,
        kpis,
        series=series,
        waitlist=waitlist,
        routes=routes,
    )
    return Application(
        pool,
        catalog,
        booking,
        queries,
        finder,
        scheduler,
        directory,
        authorized,
        ApiKeys(pool, clock),
        CustomerLinks(pool, customer_link_ttl, clock),
        lifecycle,
        kpis,
        series,
        waitlist,
        routes,
    )
