"""The ingress's composition root: settings in, the application services out.

Built in each Serve replica's ``__init__`` (never at import time) and closed
with it. It also starts (or joins) the one event-bridge actor of the cluster
and runs the hold sweeper that releases expired holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import asyncpg
import ray

from actors import metrics
from application.authorized import AuthorizedUseCases
from application.booking import BookingService
from application.booking_queries import BookingQueries
from application.calendar_feeds import CalendarFeeds
from application.catalog_cache import CatalogCache
from application.page_sessions import PageSessions
from application.scheduler import Scheduler
from application.wiring import Application
from bridge.composition import ray_application
from config.settings import Settings
from deployments.authentication import check_auth_settings
from deployments.idempotency import purge_idempotency_keys
from deployments.rate_limits import RateLimiter
from deployments.runtime import prepare_database, resolve_infrastructure
from store.database import create_pool

log = logging.getLogger(__name__)


SETTLE_TIMEOUT_S = 5.0
"""How long closing waits for the waitlist matching under way."""


@dataclass
class Services:
    """What the HTTP handlers call."""

    settings: Settings
    database_url: str
    app: Application
    calendar: CalendarFeeds
    rate_limits: RateLimiter
    page_sessions: PageSessions | None = None
    """Sign-in sessions of the shop-day page (made on first use when not given)."""
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    def sessions(self) -> PageSessions:
        if self.page_sessions is None:
            self.page_sessions = PageSessions(self.app.pool, self.app.keys, self.app.booking.clock)
        return self.page_sessions

    @property
    def pool(self) -> asyncpg.Pool:
        return self.app.pool

    @property
    def catalog(self) -> CatalogCache:
        return self.app.catalog

    @property
    def booking(self) -> BookingService:
        return self.app.booking

    @property
    def queries(self) -> BookingQueries:
        return self.app.queries

    @property
    def scheduler(self) -> Scheduler:
        return self.app.scheduler

    @property
    def authorized(self) -> AuthorizedUseCases:
        return self.app.authorized

    async def close(self) -> None:
        with contextlib.suppress(TimeoutError):  # matching under way finishes, or is cut off with the pool
            await asyncio.wait_for(self.app.waitlist.settle(), SETTLE_TIMEOUT_S)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.app.pool.close()


async def build_services(settings: Settings, *, start_bridge: bool = True) -> Services:
    check_auth_settings(settings)  # AUTH_DISABLED only on loopback, with a warning at every start
    infra = await asyncio.to_thread(resolve_infrastructure, settings)
    await prepare_database(infra.database_url, settings)
    resolved = settings.model_copy(update={"database_url": infra.database_url, "redis_url": infra.redis_url})
    pool = await create_pool(
        infra.database_url, min_size=2, max_size=20, acquire_timeout=resolved.database_pool_acquire_timeout_seconds
    )
    app = ray_application(resolved, pool, infra.database_url)
    services = Services(
        resolved,
        infra.database_url,
        app,
        CalendarFeeds(app.catalog, pool, resolved.smtp_from),
        RateLimiter.from_settings(resolved),
    )
    services._tasks.append(asyncio.create_task(_sweep_holds(app, resolved.hold_sweep_seconds)))
    retention = timedelta(hours=resolved.idempotency_retention_hours)
    services._tasks.append(asyncio.create_task(_purge_idempotency_keys(pool, retention, PURGE_EVERY_S)))
    searches_kept = timedelta(days=resolved.search_retention_days)
    services._tasks.append(asyncio.create_task(_purge_searches(app.authorized, searches_kept, PURGE_EVERY_S)))
    await _warm_shops(app)
    if start_bridge:
        await asyncio.to_thread(_start_bridge, resolved)
    return services


WARM_SHOPS = 16
"""Shops whose resource actors start with the replica; the others activate on first use."""


async def _warm_shops(app: Application) -> None:
    """Start the first shops' actors now, so no client's first request pays for their activation."""
    shops = (await app.catalog.shops())[:WARM_SHOPS]
    started = await asyncio.gather(*(app.booking.activate_shop(s.id) for s in shops), return_exceptions=True)
    for shop, outcome in zip(shops, started, strict=True):
        if isinstance(outcome, BaseException):  # a shop that fails here activates lazily later
            log.warning("warming %s failed: %r", shop.id, outcome)


async def _sweep_holds(app: Application, every_s: float) -> None:
    """Release holds past their TTL, so their time shows free again without a booking attempt; lapse waitlist
    offers past theirs, so each passes to the next entry (an expired hold announces its freed time itself)."""
    while True:
        await asyncio.sleep(every_s)
        try:
            expired = await app.booking.expire_holds()
            metrics.count("scheduling_holds_expired_total", len(expired))
            if expired:
                log.info("released %d expired holds", len(expired))
            lapsed = await app.waitlist.expire_offers()
            if lapsed:
                log.info("lapsed %d waitlist offers", len(lapsed))
        except Exception:  # a sweep that fails is retried at the next tick; never kill the loop
            log.exception("hold sweep failed")


PURGE_EVERY_S = 3600.0
"""How often the ingress drops idempotency records past their retention (every replica: the DELETE is idempotent)."""


async def _purge_idempotency_keys(pool: asyncpg.Pool, retention: timedelta, every_s: float) -> None:
    """Drop idempotency records older than ``retention``, at start-up and then every ``every_s``."""
    while True:
        try:
            purged = await purge_idempotency_keys(pool, retention)
            if purged:
                log.info("purged %d idempotency records older than %s", purged, retention)
        except Exception:  # retried at the next tick; never kill the loop
            log.exception("idempotency purge failed")
        await asyncio.sleep(every_s)


async def _purge_searches(authorized: AuthorizedUseCases, retention: timedelta, every_s: float) -> None:
    """Drop recorded slot searches older than ``SEARCH_RETENTION_DAYS``, at start-up and then every ``every_s``."""
    while True:
        try:
            purged = await authorized.purge_searches(retention)
            if purged:
                log.info("purged %d slot searches older than %s", purged, retention)
        except Exception:  # retried at the next tick; never kill the loop
            log.exception("slot search purge failed")
        await asyncio.sleep(every_s)


def _start_bridge(settings: Settings) -> None:
    from bridge.actor import start_bridge_actor
    from bridge.scheduler_booker import build_scheduler_booker

    handle = start_bridge_actor(build_scheduler_booker, settings, namespace=settings.ray_namespace, detached=True)
    ray.get(handle.ready.remote(), timeout=120)
