"""The composition root shared by the bridge actor and the ingress: the use cases over the Ray ports."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from actors.factory import RayDirectory
from actors.metrics import MeasuredSolveRunner
from actors.solve_tasks import RaySolveRunner
from application.mobile import MobileRules
from application.neighbour_ports import Neighbours
from application.slot_search import ThreadSolveRunner
from application.wiring import Application, build_application
from config.settings import Settings
from integrations.from_settings import health_service, inventory_service
from integrations.travel_times import travel_times_from


def ray_application(settings: Settings, pool: asyncpg.Pool, database_url: str) -> Application:
    """The application over ``pool``, with calendar hosts and solver tasks on the connected Ray cluster."""
    deadline = settings.solver_time_limit_seconds
    return build_application(
        pool,
        RayDirectory(
            database_url,
            settings.scheduling_policy(),
            namespace=settings.ray_namespace,
            idle_seconds=settings.actor_idle_seconds,
        ),
        settings.scheduling_policy(),
        settings.cancellation_policy(),
        multi_runner=MeasuredSolveRunner(RaySolveRunner(deadline_s=deadline), "ray_tasks"),
        single_runner=MeasuredSolveRunner(ThreadSolveRunner(), "thread"),
        solver_deadline_s=deadline,
        neighbours=neighbours(settings),
        customer_link_ttl=timedelta(days=settings.customer_link_ttl_days),
        waitlist_offer_ttl=timedelta(minutes=settings.waitlist_offer_minutes),
        mobile=MobileRules(
            travel_times_from(settings), settings.arrival_window_minutes, settings.max_service_radius_km
        ),
    )


def neighbours(settings: Settings) -> Neighbours:
    """The Health and Inventory services this process asks, where configured.

    Their HTTP clients live as long as the process (its replica or the bridge actor), as the pool does.
    """
    return Neighbours(
        health=health_service(settings),
        inventory=inventory_service(settings),
        inventory_cache_seconds=settings.inventory_cache_seconds,
    )
