"""Losing a node under load, on a local three-node Ray cluster; prints a JSON report.

    .venv/bin/python -m tests.cluster.scenario [--out report.json] [--clients 32] [--shops 6]

Run in a process of its own (``tests/cluster/test_multi_node.py`` launches it):
it starts its own Ray cluster, which cannot share a process with the test
session's single-node Ray.

The cluster (``ray.cluster_utils.Cluster``, all on this machine):

- ``head``: GCS, the driver (this process), Serve's controller and its one HTTP proxy;
- ``node_b`` and ``node_c``: one ``replica`` resource each, so the two
  ``SchedulingAPI`` replicas land one per node.

Shop calendar hosts are placed by the directory's own strategy (spread), so
they fall on all three nodes. The event bridge is pinned (softly) to the
worker node that holds the most hosts; that node is then killed (SIGKILL, no
graceful shutdown) while ``--clients`` clients book distinct slots through
the proxy. Each client retries a request that failed with a 5xx or a broken
connection under the same ``Idempotency-Key``, as a real client would; the
report counts those failures. Afterwards it reads PostgreSQL: every
acknowledged (201) booking must be there, live, with no overlaps; the lost
hosts must answer again from the surviving nodes, and the bridge must be
alive elsewhere and have published the whole outbox.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

HEAD, NODE_B, NODE_C, WORKER = "head", "node_b", "node_c", "worker"
SYSTEM_CONFIG = {
    # Notice a killed node within about 2 s instead of Ray's default 30 s, so the test stays short.
    "health_check_initial_delay_ms": 0,
    "health_check_period_ms": 500,
    "health_check_timeout_ms": 500,
    "health_check_failure_threshold": 4,
}


@dataclass
class Report:
    """What the scenario saw; the test asserts on it."""

    nodes: dict[str, str] = field(default_factory=dict)
    """Node name → Ray node id."""
    replica_nodes: list[str] = field(default_factory=list)
    hosts_before: dict[str, str] = field(default_factory=dict)
    """Shop host → node name, before the loss."""
    hosts_after: dict[str, str] = field(default_factory=dict)
    removed: str = ""
    bridge_before: dict[str, Any] = field(default_factory=dict)
    bridge_after: dict[str, Any] = field(default_factory=dict)
    requests: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    """Final answer per request (after retries): status code → count."""
    failed_attempts: dict[str, int] = field(default_factory=dict)
    """Attempts answered with a 5xx or a transport error (each then retried): kind → count."""
    failed_in_window: int = 0
    """Of those, how many were sent while the node was being lost (from its kill until the hosts answered again)."""
    retried_in_flight: int = 0
    """409 ``idempotency_in_flight`` answers to a retry whose first try died with its replica (retried later)."""
    refusals: dict[str, int] = field(default_factory=dict)
    """Final answers other than 201, by status and problem code."""
    refused_not_cut_off: int = 0
    """Requests refused although no attempt of theirs was cut off (a first try that died between the
    calendar hold and the commit leaves its transient hold for 30 s: its retry may hear 409 slot taken)."""
    acknowledged: int = 0
    acknowledged_after_loss: int = 0
    missing_acknowledged: list[str] = field(default_factory=list)
    overlaps: dict[str, int] = field(default_factory=dict)
    unpublished_outbox: int = -1
    recovery_s: float = 0.0
    """From the kill until every lost host answered from a surviving node."""
    rebuilt_calendars: dict[str, bool] = field(default_factory=dict)
    """Per shop whose host was lost: does its restarted host see every booking PostgreSQL holds for it?"""
    timings_s: dict[str, float] = field(default_factory=dict)


async def run(opts: argparse.Namespace) -> Report:
    import ray
    from ray.cluster_utils import Cluster

    report = Report()
    started = time.monotonic()

    def lap(name: str) -> None:
        report.timings_s[name] = round(time.monotonic() - started, 1)

    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 1,
            "resources": {HEAD: 1},
            "include_dashboard": False,
            "_system_config": SYSTEM_CONFIG,
        },
    )
    # The Cluster records its address in /tmp/ray/ray_current_cluster, where any ray.init() without an address on
    # this machine (another test session, a bench) would join it: forget it at once (we connect by address).
    _forget_cluster_address(cluster.address)
    node_b = cluster.add_node(num_cpus=1, resources={NODE_B: 1, WORKER: 1, "replica": 1})
    node_c = cluster.add_node(num_cpus=1, resources={NODE_C: 1, WORKER: 1, "replica": 1})
    ray.init(
        address=cluster.address,
        namespace="multi-node",
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": os.getcwd()}},
    )
    report.nodes = {HEAD: cluster.head_node.node_id, NODE_B: node_b.node_id, NODE_C: node_c.node_id}
    name_of = {v: k for k, v in report.nodes.items()}
    lap("cluster")
    server, dsn = await _fresh_database()
    try:
        return await _scenario(opts, report, cluster, {NODE_B: node_b, NODE_C: node_c}, name_of, dsn, lap)
    finally:
        ray.shutdown()
        cluster.shutdown()
        await _drop_database(server, dsn)


async def _scenario(
    opts: argparse.Namespace,
    report: Report,
    cluster: Any,
    workers: dict[str, Any],
    name_of: dict[str, str],
    dsn: str,
    lap: Any,
) -> Report:
    import httpx
    import ray
    from ray import serve
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from actors.factory import RayDirectory
    from application.ports import ResourceKind, ResourceRef
    from bridge.actor import BridgeActor, bridge_actor_options
    from bridge.event_bridge import BridgeOptions
    from bridge.scheduler_booker import build_scheduler_booker
    from config.settings import Settings
    from deployments.app import SchedulingAPI
    from tests.cluster.allday_shops import hourly_slots, seed_allday_chain

    shops = await seed_allday_chain(dsn, opts.shops, prefix="mn")
    key = await _admin_key(dsn)
    tag = f"mn-{uuid.uuid4().hex[:6]}"
    overrides = _settings(dsn, opts.redis_url, tag)
    settings = Settings(**overrides)
    lap("database")

    port = _free_port()
    serve.start(proxy_location="HeadOnly", http_options={"host": "127.0.0.1", "port": port})
    app = SchedulingAPI.options(
        num_replicas=2,
        max_ongoing_requests=32,
        ray_actor_options={"num_cpus": 0, "resources": {"replica": 1}},
    ).bind({"settings": overrides, "start_bridge": False})
    serve.run(app, name="multi-node", route_prefix="/", blocking=False)
    base = f"http://127.0.0.1:{port}"
    await _wait_healthy(base, 180)
    report.replica_nodes = _replica_nodes(name_of)
    lap("serve")

    # The replicas warm the shops at start-up; ask where the directory put each shop's host.
    directory = RayDirectory(dsn, settings.scheduling_policy(), namespace=tag)
    refs = [ResourceRef(ResourceKind.TECHNICIAN, s, f"{s}_t0") for s in shops]
    report.hosts_before = {h: name_of[n] for h, n in (await directory.nodes(refs)).items()}
    on_workers = Counter(n for n in report.hosts_before.values() if n != HEAD)
    target = on_workers.most_common(1)[0][0] if on_workers else NODE_B

    # The bridge asks for a sliver of the ``worker`` resource (so it never lands on the head, which cannot be
    # lost) and prefers the target node; the node lost is the one it is on.
    bridge = (
        ray.remote(BridgeActor)
        .options(
            **bridge_actor_options(namespace=tag, detached=True),
            resources={WORKER: 0.01},
            scheduling_strategy=NodeAffinitySchedulingStrategy(report.nodes[target], soft=True),
        )
        .remote(build_scheduler_booker, settings, BridgeOptions(consume=False, reminder_interval_s=3600))
    )
    report.bridge_before = _bridge_placement(await bridge.ready.remote(), name_of)
    report.removed = report.bridge_before["node"]
    lap("bridge")

    plan = hourly_slots(shops, days=20)
    headers = {"Authorization": f"Bearer {key}"}
    clock = _LossClock()
    load = _Load(base, headers, plan, clock)
    loading = asyncio.create_task(load.run(opts.clients, opts.requests))
    await load.wait_for(opts.requests // 4)
    clock.lost_at = time.monotonic()
    cluster.remove_node(workers[report.removed], allow_graceful=False)
    lap("node removed")
    # The lost node's hosts come back on the surviving nodes (and reload from PostgreSQL on first use).
    report.hosts_after = await _hosts_moved_off(directory, refs, name_of, report.removed, deadline_s=60)
    clock.recovered_at = time.monotonic()
    report.recovery_s = round(clock.recovered_at - clock.lost_at, 2)
    await loading
    lap("load")
    lost_shops = [h.removeprefix("shop:") for h, n in report.hosts_before.items() if n == report.removed]
    report.rebuilt_calendars = {s: await _calendar_matches_store(directory, dsn, s) for s in lost_shops}

    report.bridge_after = _bridge_placement(await asyncio.wait_for(bridge.ready.remote(), 60), name_of)
    report.requests = len(load.final)
    report.statuses = {str(s): n for s, n in sorted(Counter(load.final.values()).items())}
    report.failed_attempts = dict(load.failures)
    report.failed_in_window = load.failed_in_window
    report.retried_in_flight = load.retried_in_flight
    report.refusals = dict(load.refusals)
    report.refused_not_cut_off = sum(1 for i, st in load.final.items() if st != 201 and i not in load.cut_off)
    report.acknowledged = len(load.acknowledged)
    report.acknowledged_after_loss = sum(1 for t in load.acknowledged.values() if t > clock.lost_at)
    report.missing_acknowledged = await _missing(dsn, list(load.acknowledged))
    report.overlaps = await _overlaps(dsn)
    report.unpublished_outbox = await _drained_outbox(dsn, deadline_s=30)
    lap("checks")
    async with httpx.AsyncClient() as client:  # the proxy still answers
        assert (await client.get(base + "/healthz")).status_code == 200
    serve.shutdown()
    return report


# -- load ---------------------------------------------------------------------------------------


class _LossClock:
    lost_at: float = float("inf")
    recovered_at: float = float("inf")


class _Load:
    """Clients booking distinct chosen slots; a 5xx or a broken connection is retried with the same key."""

    def __init__(self, base: str, headers: dict[str, str], plan: list[dict[str, str]], clock: _LossClock) -> None:
        self.base = base
        self.headers = headers
        self.plan = plan
        self.clock = clock
        self.final: dict[int, int] = {}
        self.acknowledged: dict[str, float] = {}
        self.failures: Counter[str] = Counter()
        self.failed_in_window = 0
        self.retried_in_flight = 0
        self.cut_off: set[int] = set()
        self.refusals: Counter[str] = Counter()
        self._progress = asyncio.Event()

    async def wait_for(self, answered: int) -> None:
        while len(self.final) < answered:
            self._progress.clear()
            await self._progress.wait()

    async def run(self, clients: int, total: int) -> None:
        import httpx

        queue = iter(range(min(total, len(self.plan))))
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(base_url=self.base + "/api/v1", timeout=60, limits=limits) as client:

            async def worker() -> None:
                for i in queue:
                    await self._book(client, i)

            await asyncio.gather(*(worker() for _ in range(clients)))

    async def _book(self, client: Any, i: int) -> None:
        import httpx

        body = {**self.plan[i], "vehicle_id": f"MN{i:05d}"}
        headers = {**self.headers, "Idempotency-Key": f"mn-{i}"}
        for _attempt in range(40):
            sent = time.monotonic()
            try:
                response = await client.post("/appointments", json=body, headers=headers)
            except httpx.TransportError as exc:
                self._failed(type(exc).__name__, sent, i)
                continue
            if response.status_code >= 500:
                self._failed(f"{response.status_code} {_code(response)}", sent, i)
                continue
            if response.status_code == 409 and _code(response) == "idempotency_in_flight":
                # the first try died with its replica before it committed: retry once the claim is stale
                self.retried_in_flight += 1
                await asyncio.sleep(0.5)
                continue
            self.final[i] = response.status_code
            if response.status_code != 201:
                self.refusals[f"{response.status_code} {_code(response)}"] += 1
            if response.status_code == 201:
                self.acknowledged[response.json()["id"]] = sent
            self._progress.set()
            return
        self.final[i] = -1
        self._progress.set()

    def _failed(self, kind: str, sent: float, i: int) -> None:
        self.cut_off.add(i)
        self.failures[kind] += 1
        if sent <= self.clock.recovered_at and time.monotonic() >= self.clock.lost_at:
            self.failed_in_window += 1


def _code(response: Any) -> str:
    try:
        return str(response.json().get("code", "?"))
    except ValueError:
        return "not-json"


# -- cluster facts ------------------------------------------------------------------------------


def _replica_nodes(name_of: dict[str, str]) -> list[str]:
    """The nodes whose ``replica`` resource a running replica holds (only node_b and node_c have one)."""
    from ray._private.state import available_resources_per_node  # no public per-node view without the dashboard

    free = available_resources_per_node()
    return sorted(name_of[n] for n in name_of if name_of[n] != HEAD and free.get(n, {}).get("replica", 0) < 1)


def _bridge_placement(stats: dict[str, Any], name_of: dict[str, str]) -> dict[str, Any]:
    return {"pid": stats["pid"], "running": stats.get("running"), "node": name_of.get(stats.get("node_id", ""), "")}


async def _hosts_moved_off(
    directory: Any, refs: list[Any], name_of: dict[str, str], removed: str, deadline_s: float
) -> dict[str, str]:
    """Host → node name, once no host answers from ``removed`` any more.

    A killed node's workers can answer for a moment after its raylet is gone, so ask until they stop.
    """
    deadline = time.monotonic() + deadline_s
    while True:
        hosts = {h: name_of.get(n, n) for h, n in (await directory.nodes(refs)).items()}
        if removed not in hosts.values() or time.monotonic() > deadline:
            return hosts
        await asyncio.sleep(0.1)  # polling a condition with a deadline


async def _calendar_matches_store(directory: Any, dsn: str, shop: str) -> bool:
    """Whether the host's calendar of ``<shop>_t0`` is busy wherever PostgreSQL has a live booking for it."""
    from datetime import UTC, datetime, timedelta

    from domain.time_windows import Interval
    from store.database import connect

    conn = await connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT start_at, end_at FROM appointments WHERE technician_id = $1 AND status = 'scheduled'",
            f"{shop}_t0",
        )
    finally:
        await conn.close()
    now = datetime.now(UTC)
    window = Interval(now, now + timedelta(days=30))
    busy = await directory.technician(shop, f"{shop}_t0").busy(window, now=now)
    return bool(rows) and all(any(b.start <= r["start_at"] and r["end_at"] <= b.end for b in busy) for r in rows)


# -- database -----------------------------------------------------------------------------------


def _settings(dsn: str, redis_url: str, tag: str) -> dict[str, Any]:
    return {
        "database_url": dsn,
        "redis_url": redis_url,
        "seed_demo_data": False,
        "ray_namespace": tag,
        "stream_prefix": f"{tag}:",
        "buffer_time_minutes": 0,
        "max_bookings_per_technician_per_day": 24,
        "urgent_reserve_share": 0,
        "priority_reserve_share": 0,
        "min_booking_notice_minutes": 0,
        # a request cut off with its replica leaves its Idempotency-Key claimed; its retry takes over after this
        "idempotency_in_flight_timeout_seconds": 2,
        "rate_limit_search_per_second": 1_000_000,
        "rate_limit_search_burst": 1_000_000,
        "rate_limit_write_per_second": 1_000_000,
        "rate_limit_write_burst": 1_000_000,
    }


async def _fresh_database() -> tuple[str, str]:
    import asyncpg

    from store.database import migrate, normalize_dsn
    from tests.conftest import _server_url, _with_database

    server = normalize_dsn(_server_url())
    name = f"sched_mn_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    dsn = _with_database(server, name)
    await migrate(dsn)
    return server, dsn


async def _drop_database(server: str, dsn: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(server)
    await admin.execute(f'DROP DATABASE IF EXISTS "{dsn.rsplit("/", 1)[1]}" WITH (FORCE)')
    await admin.close()


async def _admin_key(dsn: str) -> str:
    from application.access import Role
    from application.api_keys import ApiKeys
    from store.database import create_pool

    pool = await create_pool(dsn, min_size=1, max_size=1)
    try:
        return (await ApiKeys(pool).create(Role.ADMIN, name="multi-node scenario")).secret
    finally:
        await pool.close()


async def _missing(dsn: str, ids: list[str]) -> list[str]:
    from store.database import connect

    conn = await connect(dsn)
    try:
        found = await conn.fetch(
            "SELECT id::text FROM appointments WHERE id::text = ANY($1::text[]) AND status = 'scheduled'", ids
        )
    finally:
        await conn.close()
    return sorted(set(ids) - {r["id"] for r in found})


async def _overlaps(dsn: str) -> dict[str, int]:
    from bench.http import double_bookings

    return await double_bookings(dsn)


async def _drained_outbox(dsn: str, deadline_s: float) -> int:
    """Unpublished outbox rows once the bridge has had ``deadline_s`` to publish them."""
    from store.database import connect

    conn = await connect(dsn)
    try:
        deadline = time.monotonic() + deadline_s
        while True:
            left = int(await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"))
            if left == 0 or time.monotonic() > deadline:
                return left
            await asyncio.sleep(0.5)  # polling a condition with a deadline
    finally:
        await conn.close()


def _forget_cluster_address(address: str) -> None:
    from ray._private.utils import get_ray_address_file, read_ray_address  # no public API for this file

    if read_ray_address() == address:
        os.remove(get_ray_address_file(None))


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _wait_healthy(base: str, deadline_s: float) -> None:
    import httpx

    deadline = time.monotonic() + deadline_s
    async with httpx.AsyncClient(base_url=base, timeout=5) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)  # polling a condition with a deadline
    raise TimeoutError(f"{base} not healthy within {deadline_s} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", help="write the JSON report here (else stdout only)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--shops", type=int, default=6)
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    opts = parser.parse_args()
    report = asyncio.run(run(opts))
    text = json.dumps(asdict(report), indent=2)
    print(text)
    if opts.out:
        with open(opts.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    sys.exit(main())
