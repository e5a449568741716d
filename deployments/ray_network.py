"""Where Ray and Serve listen: on a single node, every socket but the API port binds loopback.

Ray 2.60 listens on the node's IP, and on Linux it takes the machine's address
for the node IP even when told ``127.0.0.1`` (``resolve_ip_for_localhost``),
unless clusters are off (``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``): then GCS,
raylet, workers, the dashboard and runtime-env agents all bind 127.0.0.1. Two
Serve sockets ignore the node IP: a replica's inter-deployment gRPC server
binds ``[::]`` and its direct-ingress HTTP server binds the API's ``HOST``.
``bind_replica_sockets`` points both at the node's IP as Ray knows it, in the
replica's own process, before Serve opens them.

Across nodes, set ``NODE_IP_ADDRESS`` on each node (and start Ray there with
``--node-ip-address``): the node's sockets then bind that address instead.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from config.settings import Settings

SINGLE_NODE_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
"""Makes Ray take the loopback address as the node IP (one node; ``ray start`` cannot join it)."""


def ray_environment(settings: Settings) -> dict[str, str]:
    """Environment for the process that starts the local Ray node (``serve run``)."""
    return {} if settings.node_ip_address else dict(SINGLE_NODE_ENV)


def start_local_ray(settings: Settings) -> None:
    """Start the local Ray node ``serve run`` will use: no dashboard unless asked for, on the node address.

    Nothing happens when ``RAY_ADDRESS`` names a cluster to join (``serve run`` connects to it).
    """
    import ray

    address = os.environ.get("RAY_ADDRESS")
    if address and address != "local":
        return
    options: dict[str, Any] = {"namespace": "serve", "include_dashboard": settings.ray_dashboard}
    if settings.node_ip_address:
        options["_node_ip_address"] = settings.node_ip_address
    if settings.metrics_export_port is not None:
        options["_metrics_export_port"] = settings.metrics_export_port  # Prometheus scrapes it (actors/metrics.py)
    ray.init(**options)


def bind_replica_sockets(host: str) -> None:
    """Open this Serve replica's inter-deployment gRPC and direct-ingress HTTP servers on ``host``.

    Applied in the replica's process before Serve starts them (after the deployment's constructor);
    applying it twice wraps nothing twice.
    """
    replica: Any = importlib.import_module("ray.serve._private.replica")  # Serve's internals: no typed API
    if getattr(replica, "_scheduling_bound_to", None) == host:
        return
    original_grpc = getattr(replica, "_scheduling_original_grpc", replica.add_port_to_grpc_server)
    original_http = getattr(replica, "_scheduling_original_http", replica.start_asgi_http_server)

    def add_port_to_grpc_server(server: Any, address: str) -> Any:
        if address.startswith("[::]:"):
            address = f"{_bracketed(host)}:{address.rsplit(':', 1)[1]}"
        return original_grpc(server, address)

    async def start_asgi_http_server(app: Any, http_options: Any, **kwargs: Any) -> Any:
        return await original_http(app, http_options.model_copy(update={"host": host}), **kwargs)

    replica._scheduling_original_grpc = original_grpc
    replica._scheduling_original_http = original_http
    replica.add_port_to_grpc_server = add_port_to_grpc_server
    replica.start_asgi_http_server = start_asgi_http_server
    replica._scheduling_bound_to = host


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host
