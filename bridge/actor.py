"""``BridgeActor``: the event bridge in one named, restartable Ray actor.

The only module of bridge/ that calls Ray. The actor is a thin shell around
``EventBridge``: it opens its resources from the settings, builds the
booker with the given factory, and runs the loops on its own event loop.
Being named (one per name and namespace, ``get_if_exists``) gives one active
consumer per stream for the whole Ray cluster; its consumer name is stable,
so after a restart it resumes its own pending entries at once. It restarts
forever (``max_restarts=-1``) and starts its loops by itself when Ray
re-creates it, so a killed bridge resumes without anyone calling ``start``.
If a loop dies of an unexpected error, the process exits so that Ray restarts
it clean (entries in flight stay pending and are retried).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

import ray

from bridge.event_bridge import BookerFactory, BridgeOptions, EventBridge, open_event_bridge
from bridge.metrics_sampler import BridgeMetricsSampler
from config.settings import Settings, get_settings

log = logging.getLogger(__name__)

DEFAULT_NAME = "event-bridge"


class BridgeActor:
    """Runs an ``EventBridge`` inside a Ray actor; ``ray.remote`` is applied in ``bridge_actor_class``."""

    def __init__(
        self,
        booker_factory: BookerFactory,
        settings: Settings | None = None,
        options: BridgeOptions | None = None,
        *,
        autostart: bool = True,
    ) -> None:
        self._factory = booker_factory
        self._settings = settings
        self._options = options or BridgeOptions()
        self._bridge: EventBridge | None = None
        self._lock = asyncio.Lock()
        self._started_at = time.time()
        self._starting: asyncio.Task[None] | None = None
        self._metrics_stop = asyncio.Event()
        self._metrics: asyncio.Task[None] | None = None
        if autostart:
            # Ray runs an async actor's constructor on its event loop, so the
            # loops can start here: a restarted actor resumes on its own.
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
            if loop is not None:
                self._starting = loop.create_task(self._start())

    async def start(self) -> dict[str, Any]:
        """Start the loops if they are not running; returns the stats."""
        await self._start()
        return self.stats()

    async def stop(self) -> dict[str, Any]:
        """Stop gracefully and close the pool and the Redis client; returns the final stats."""
        async with self._lock:
            if self._starting is not None and not self._starting.done():
                await asyncio.gather(self._starting, return_exceptions=True)
            self._metrics_stop.set()
            if self._metrics is not None:
                await asyncio.gather(self._metrics, return_exceptions=True)
                self._metrics = None
            if self._bridge is not None:
                await self._bridge.close()
            final = self.stats()
            self._bridge = None
            return final

    async def ready(self) -> dict[str, Any]:
        """Wait until the loops run (autostart included); returns the stats."""
        if self._starting is not None:
            await self._starting
        return await self.start()

    def stats(self) -> dict[str, Any]:
        base: dict[str, Any] = {
            "pid": os.getpid(),
            "node_id": ray.get_runtime_context().get_node_id() if ray.is_initialized() else None,
            "started_at": self._started_at,
        }
        if self._bridge is None:
            return {**base, "running": False}
        return {**base, **self._bridge.stats()}

    async def _start(self) -> None:
        async with self._lock:
            if self._bridge is None:
                settings = self._settings or get_settings()
                self._bridge = await open_event_bridge(settings, self._factory, self._options)
                self._bridge.on_loop_failed = _exit_for_restart
            await self._bridge.start()
            if self._metrics is None or self._metrics.done():
                self._metrics_stop.clear()
                self._metrics = asyncio.create_task(BridgeMetricsSampler(self._bridge).run(self._metrics_stop))


def _exit_for_restart(name: str, exc: BaseException) -> None:
    log.critical("bridge loop %s died; exiting so that Ray restarts the actor", name, exc_info=exc)
    os._exit(1)


def bridge_actor_options(
    name: str = DEFAULT_NAME, *, namespace: str | None = None, detached: bool = False
) -> dict[str, Any]:
    """The actor's Ray options, in one place."""
    options: dict[str, Any] = {
        "name": name,
        "get_if_exists": True,
        "max_restarts": -1,
        "max_task_retries": -1,  # a call in flight when the actor died is retried on the new one
        "num_cpus": 0,  # I/O bound: it must not take a CPU slot from the solver tasks
        "max_concurrency": 64,
    }
    if namespace is not None:
        options["namespace"] = namespace
    if detached:
        options["lifetime"] = "detached"
    return options


def start_bridge_actor(
    booker_factory: BookerFactory,
    settings: Settings | None = None,
    options: BridgeOptions | None = None,
    *,
    name: str = DEFAULT_NAME,
    namespace: str | None = None,
    detached: bool = False,
) -> Any:
    """Create the named bridge actor, or return the one that exists; it starts its loops itself."""
    options = options or BridgeOptions(consumer_name=name)
    remote_class: Any = ray.remote(BridgeActor)
    return remote_class.options(**bridge_actor_options(name, namespace=namespace, detached=detached)).remote(
        booker_factory, settings, options
    )

