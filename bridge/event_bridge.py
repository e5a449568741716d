"""The bridge's composition root: consumer, auto-booking, outbox relay and reminders, wired from Settings.

``EventBridge`` runs the three loops as asyncio tasks on the caller's event
loop; it needs a pool, a Redis client and an ``AutoBooker``.
``open_event_bridge`` also opens the pool and the Redis client from the
settings (starting the embedded PostgreSQL or Redis when no URL is set) and
closes them on ``close()``. No Ray here: ``bridge/actor.py`` wraps this.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import redis.asyncio as aioredis

from application.customer_links import CustomerLinks
from bridge.alert_handler import AlertHandler
from bridge.consumer import ConsumerConfig, StreamConsumer
from bridge.invite_handler import InviteHandler
from bridge.loops import utc_now
from bridge.offer_email_handler import OfferEmailHandler
from bridge.outbox_relay import FaultHook, OutboxRelay
from bridge.ports import AlertDetailsSource, AutoBooker
from bridge.reminders import ReminderScheduler
from bridge.streams import StreamNames
from config.settings import Settings
from domain.errors import NotFound
from domain.events import EventType
from integrations import InviteDispatcher
from integrations.confirmation_email import ManageLink
from integrations.dispatcher import INVITE_EVENT_TYPES
from integrations.from_settings import alert_service, invite_dispatcher, smtp_config
from store.invite_repository import PostgresInviteRepository

log = logging.getLogger(__name__)

BookerFactory = Callable[[Settings, asyncpg.Pool], "AutoBooker | Awaitable[AutoBooker]"]
"""Builds the AutoBooker inside the process that runs the bridge (a Ray actor, say)."""


@dataclass(frozen=True, slots=True)
class BridgeOptions:
    """The bridge's own knobs (the settings hold the service-wide ones)."""

    consumer_name: str = "event-bridge"
    """Stable across restarts, so a restarted bridge finds its own pending entries at once."""
    batch_size: int = 100
    concurrency: int = 16
    block_s: float = 1.0
    claim_idle_s: float = 30.0
    """A consumer silent this long is presumed dead and its pending entries are taken over."""
    retry_delay_s: float = 1.0
    relay_interval_s: float = 0.2
    relay_batch_size: int = 500
    reminder_interval_s: float = 30.0
    consume: bool = True
    relay: bool = True
    reminders: bool = True
    invites: bool = True
    """Send calendar invites for appointment events (when a provider is configured)."""
    stop_timeout_s: float = 10.0


class EventBridge:
    """Consumes alerts, publishes the outbox and writes reminders until stopped."""

    def __init__(
        self,
        settings: Settings,
        pool: asyncpg.Pool,
        redis: aioredis.Redis,
        booker: AutoBooker,
        options: BridgeOptions | None = None,
        *,
        clock: Callable[[], datetime] = utc_now,
        after_publish: FaultHook | None = None,
        invites: InviteDispatcher | None = None,
        alert_details: AlertDetailsSource | None = None,
    ) -> None:
        self.options = options or BridgeOptions()
        self.streams = StreamNames(settings.stream_prefix)
        self.pool = pool
        self.redis = redis
        self.relay = OutboxRelay(
            pool,
            redis,
            self.streams,
            maxlen=settings.stream_maxlen,
            batch_size=self.options.relay_batch_size,
            interval_s=self.options.relay_interval_s,
            after_publish=after_publish,
            clock=clock,
        )
        self.handler = AlertHandler(
            pool,
            booker,
            auto_book=settings.auto_book_critical_alerts,
            within_days=settings.auto_book_within_days,
            clock=clock,
            on_outbox_written=self.relay.wake.set,
            alert_details=alert_details,
        )
        self.reminders = ReminderScheduler(
            pool,
            lead=timedelta(hours=settings.send_reminder_hours_before),
            interval_s=self.options.reminder_interval_s,
            clock=clock,
            on_outbox_written=self.relay.wake.set,
        )
        self.consumer = StreamConsumer(
            redis,
            {
                self.streams.for_event(EventType.ALERT_CREATED): self.handler.handle,
                self.streams.for_event(EventType.AGENT_DECISION_MADE): self.handler.handle,
            },
            self._consumer_config(settings, settings.consumer_group),
        )
        self.invites: InviteHandler | None = None
        self.invite_consumer: StreamConsumer | None = None
        if invites is not None and invites.providers and self.options.invites:
            self.invites = InviteHandler(pool, invites)
            # A group of its own: invites never wait on, nor are acked with, the alert handling.
            self.invite_consumer = StreamConsumer(
                redis,
                {self.streams.for_event(t): self.invites.handle for t in INVITE_EVENT_TYPES},
                self._consumer_config(settings, f"{settings.consumer_group}-invites"),
            )
        self.offer_emails: StreamConsumer | None = None
        if settings.send_confirmation_email and settings.smtp_host and self.options.invites:
            mailer = OfferEmailHandler(pool, smtp_config(settings), settings.base_url)
            self.offer_emails = StreamConsumer(
                redis,
                {self.streams.for_event(EventType.APPOINTMENT_WAITLIST_OFFERED): mailer.handle},
                self._consumer_config(settings, f"{settings.consumer_group}-waitlist-offers"),
            )
        self._stop = asyncio.Event()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._closers: list[Callable[[], Awaitable[object]]] = []
        self.on_loop_failed: Callable[[str, BaseException], None] = _log_loop_failure

    def _consumer_config(self, settings: Settings, group: str) -> ConsumerConfig:
        return ConsumerConfig(
            group=group,
            consumer=self.options.consumer_name,
            dead_letter_stream=self.streams.dead_letter,
            max_deliveries=settings.event_max_deliveries,
            batch_size=self.options.batch_size,
            concurrency=self.options.concurrency,
            block=timedelta(seconds=self.options.block_s),
            claim_idle=timedelta(seconds=self.options.claim_idle_s),
            retry_delay=timedelta(seconds=self.options.retry_delay_s),
            dead_letter_maxlen=settings.stream_maxlen,
        )

    @property
    def running(self) -> bool:
        return any(not t.done() for t in self._tasks.values())

    async def start(self) -> None:
        """Start the loops (idempotent). The consumer group exists when this returns."""
        if self.running:
            return
        self._stop.clear()
        loops: dict[str, Callable[[asyncio.Event], Coroutine[Any, Any, None]]] = {}
        if self.options.consume:
            await self.consumer.ensure_groups()
            loops["consumer"] = self.consumer.run
        if self.options.relay:
            loops["relay"] = self.relay.run
        if self.options.reminders:
            loops["reminders"] = self.reminders.run
        if self.invite_consumer is not None and self.invites is not None:
            await self.invite_consumer.ensure_groups()
            loops["invites"] = self.invite_consumer.run
            loops["invite-retries"] = self.invites.run_retries
        if self.offer_emails is not None:
            await self.offer_emails.ensure_groups()
            loops["waitlist-offer-emails"] = self.offer_emails.run
        for name, loop in loops.items():
            task: asyncio.Task[None] = asyncio.create_task(loop(self._stop), name=f"bridge-{name}")
            task.add_done_callback(functools.partial(self._loop_done, name))
            self._tasks[name] = task

    async def stop(self) -> None:
        """Let each loop finish what it holds (a batch is acked or left pending), then end it."""
        self._stop.set()
        tasks = list(self._tasks.values())
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=self.options.stop_timeout_s)
            for task in late:
                task.cancel()  # safe: nothing is acked or marked before its effect commits
            await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    async def close(self) -> None:
        """Stop, then close what ``open_event_bridge`` opened."""
        await self.stop()
        for closer in reversed(self._closers):
            await closer()
        self._closers.clear()

    def stats(self) -> dict[str, Any]:
        return {
            "running": self.running,
            "loops": {name: _task_state(task) for name, task in self._tasks.items()},
            "consumer": self.consumer.stats.as_dict(),
            "alerts": self.handler.stats.as_dict(),
            "relay": self.relay.stats.as_dict(),
            "reminders": self.reminders.stats.as_dict(),
            "invites": self.invite_consumer.stats.as_dict() if self.invite_consumer else None,
        }

    def _loop_done(self, name: str, task: asyncio.Task[None]) -> None:
        if task.cancelled() or self._stop.is_set():
            return
        exc = task.exception()
        if exc is not None:
            self.on_loop_failed(name, exc)


async def open_event_bridge(
    settings: Settings, booker_factory: BookerFactory, options: BridgeOptions | None = None
) -> EventBridge:
    """Open the pool and Redis client from ``settings``, build the booker, and wire a bridge."""
    pool = await _open_pool(settings)
    try:
        redis = aioredis.Redis.from_url(await _redis_url(settings), decode_responses=True)
        built = booker_factory(settings, pool)
        booker = await built if isinstance(built, Awaitable) else built
    except BaseException:
        await pool.close()
        raise
    dispatcher = None
    if calendar_targets_configured(settings):
        dispatcher = invite_dispatcher(
            settings, PostgresInviteRepository(pool), manage_link=manage_link_maker(settings, pool)
        )
    details = alert_service(settings)
    bridge = EventBridge(settings, pool, redis, booker, options, invites=dispatcher, alert_details=details)
    bridge._closers += [pool.close, redis.aclose]
    if details is not None:
        bridge._closers.append(details.aclose)
    return bridge


def manage_link_maker(settings: Settings, pool: asyncpg.Pool) -> ManageLink:
    """Makes the customer link a confirmation email carries (``manage_url``, as in the booking answer)."""
    links = CustomerLinks(pool, timedelta(days=settings.customer_link_ttl_days))

    async def manage_url(appointment_id: str) -> str | None:
        try:
            token = await links.issue_for(appointment_id)
        except NotFound:
            return None
        return f"{settings.base_url}/api/v1/appointments/{appointment_id}?token={token}"

    return manage_url


async def _open_pool(settings: Settings) -> asyncpg.Pool:
    from store.database import create_pool
    from store.embedded import database_url_or_embedded

    url = await asyncio.to_thread(database_url_or_embedded, settings.database_url, settings.data_dir)
    return await create_pool(
        url, min_size=1, max_size=20, acquire_timeout=settings.database_pool_acquire_timeout_seconds
    )


async def _redis_url(settings: Settings) -> str:
    from bridge.embedded_redis import redis_url_or_embedded

    return await asyncio.to_thread(redis_url_or_embedded, settings.redis_url, settings.data_dir)


def calendar_targets_configured(settings: Settings) -> bool:
    """Whether any invite provider has its configuration (checked without building clients)."""
    graph = (
        settings.microsoft_graph_tenant_id,
        settings.microsoft_graph_client_id,
        settings.microsoft_graph_client_secret,
    )
    return bool(
        settings.google_calendar_credentials_file
        or settings.google_calendar_credentials_json
        or all(graph)
        or (settings.send_confirmation_email and settings.smtp_host)
    )


def _task_state(task: asyncio.Task[None]) -> str:
    if not task.done():
        return "running"
    if task.cancelled():
        return "cancelled"
    exc = task.exception()
    return f"failed: {exc!r}" if exc else "stopped"


def _log_loop_failure(name: str, exc: BaseException) -> None:
    log.error("bridge loop %s died", name, exc_info=exc)
