"""The application stack, wired once: booking, catalog, slot search and scheduler.

The HTTP ingress and the event bridge each build one in their own process
(``build_application``) over their own pool; the resource actors they reach
are the same named Ray actors, so both see one calendar per resource.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from actors.booking import BookingService
from actors.catalog_cache import CatalogCache, ShopCatalog
from actors.directory import ResourceDirectory
from actors.factory import ray_directory
from actors.scheduler import Scheduler
from actors.slot_search import ResourceAvailability, ShopAvailability, SlotFinder
from actors.solve_tasks import RaySolveRunner
from config.settings import Settings
from domain.time_windows import Interval


class ActorAvailability:
    """Free time and jobs per day of a shop's resources, read from their actors (memory)."""

    def __init__(self, booking: BookingService) -> None:
        self._booking = booking

    async def shop_availability(self, catalog: ShopCatalog, window: Interval, now: datetime) -> ShopAvailability:
        resources = ([t.id for t in catalog.technicians], [b.id for b in catalog.bays])
        busy = await self._booking.resource_busy(catalog.shop.id, window, now, resources=resources)
        return ShopAvailability(
            technicians={k: ResourceAvailability(v.free, v.jobs_per_day) for k, v in busy.technicians.items()},
            bays={k: ResourceAvailability(v.free, v.jobs_per_day) for k, v in busy.bays.items()},
        )

    async def vehicle_busy(self, vehicle_id: str, window: Interval, now: datetime) -> list[Interval]:
        return await self._booking.vehicle_busy(vehicle_id, window, now)


@dataclass(frozen=True, slots=True)
class Application:
    pool: asyncpg.Pool
    catalog: CatalogCache
    booking: BookingService
    finder: SlotFinder
    scheduler: Scheduler
    directory: ResourceDirectory


def build_application(
    settings: Settings, pool: asyncpg.Pool, database_url: str, *, directory: ResourceDirectory | None = None
) -> Application:
    """Everything above the store, over ``pool``; resource actors in ``settings.ray_namespace``."""
    policy = settings.scheduling_policy()
    directory = directory or ray_directory(settings, dsn=database_url, namespace=settings.ray_namespace)
    catalog = CatalogCache(pool)  # one per process, shared by booking and slot search
    booking = BookingService(pool, directory, policy, settings.cancellation_policy(), catalog=catalog)
    deadline = settings.solver_time_limit_seconds
    finder = SlotFinder(
        catalog,
        ActorAvailability(booking),
        policy,
        multi_runner=RaySolveRunner(deadline_s=deadline),
        time_limit_s=min(0.5, deadline),
    )
    return Application(pool, catalog, booking, finder, Scheduler(finder, booking, catalog), directory)
