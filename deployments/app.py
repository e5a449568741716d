"""The Ray Serve application: one ingress deployment and its typed builder.

``serve_config.yaml`` names ``deployments.app:build_app`` by ``import_path``;
``serve run serve_config.yaml`` (or ``scheduling-service serve``) starts it.
The ingress is a single deployment on purpose: the hot path (parse → actor
calls → CP-SAT in a thread → answer) makes no extra deployment hop, and the
resource actors and solver tasks are reached through plain Ray handles.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import ray
from pydantic import BaseModel, ConfigDict, Field
from ray import serve
from ray.serve import Application

from config.settings import Settings
from deployments.api import create_api, register_services
from deployments.json_logs import install_json_logging
from deployments.ray_network import bind_replica_sockets
from deployments.services import Services, build_services

log = logging.getLogger(__name__)

api = create_api()


class AppArgs(BaseModel):
    """Arguments of ``build_app`` (``args:`` in serve_config.yaml).

    ``settings`` overrides environment settings by field name (e.g.
    ``{"buffer_time_minutes": 15}``); everything else comes from the
    environment and ``.env`` as usual.
    """

    model_config = ConfigDict(extra="forbid")

    settings: dict[str, Any] = Field(default_factory=dict)
    start_bridge: bool = True
    """Start (or join) the event bridge actor with the first replica."""


# Defaults mirror serve_config.yaml (which overrides them), so an app started with serve.run(build_app(...))
# behaves the same: Serve's own defaults (1 CPU, max_ongoing_requests=5) queue requests under load.
@serve.deployment(name="SchedulingAPI", max_ongoing_requests=256, ray_actor_options={"num_cpus": 0.5})
@serve.ingress(api)
class SchedulingAPI:
    """The HTTP ingress; each replica holds its own pool, caches and actor handles."""

    async def __init__(self, args: dict[str, Any]) -> None:  # type: ignore[misc]  # Serve awaits it
        parsed = AppArgs.model_validate(args)
        install_json_logging()
        settings = Settings(**parsed.settings)
        node_ip: str = ray.util.get_node_ip_address()  # type: ignore[no-untyped-call]
        bind_replica_sockets(node_ip)  # Serve would bind [::] and HOST
        self._services: Services = await build_services(settings, start_bridge=parsed.start_bridge)
        register_services(self._services)

    async def check_health(self) -> None:
        """Serve's health check: the replica is unhealthy if the database is unreachable."""
        async with self._services.pool.acquire() as conn:
            await asyncio.wait_for(conn.fetchval("SELECT 1"), timeout=5)

    async def __del__(self) -> None:
        await self._services.close()


def build_app(args: dict[str, Any]) -> Application:
    """The typed app builder ``serve_config.yaml`` names."""
    parsed = AppArgs.model_validate(args or {})
    return SchedulingAPI.bind(parsed.model_dump())  # type: ignore[attr-defined,no-any-return]
