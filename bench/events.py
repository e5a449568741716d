"""Alert → ``appointment.scheduled`` latency and sustained alerts/s through the event bridge.

    .venv/bin/python -m bench.events [--alerts 3000] [--rate 200] [--concurrency 16]

Sends CRITICAL ``alert.created`` events at ``--rate`` per second (0: all at
once) to a bridge running in this process, and times each from its XADD to
the arrival of its ``appointment.scheduled`` on the stream (the whole path:
consumer group read, dedupe, booking transaction with outbox rows, processed
record, ack, relay, XADD). With ``--booker fake`` (default) the booker is the
tests' fake AutoBooker (real appointment and outbox rows, no slot search), so
it measures the bridge; ``--booker real`` books through the service's own
path (slot search on the demo chain's resource actors on a local Ray, CP-SAT,
the booking transaction) and counts ``appointment.not_booked`` answers too
(the demo chain fills up after a few hundred jobs a week). Uses DATABASE_URL / REDIS_URL when set, else the embedded
servers; a fresh database and a fresh stream prefix per run, removed after.
Goal (issue 6): p99 ≤ 1 s and ≥ 100 alerts/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import redis.asyncio as aioredis

from bridge.event_bridge import BridgeOptions, EventBridge
from config.settings import Settings
from domain.events import EventEnvelope, EventType
from store.database import create_pool, migrate, normalize_dsn
from tests.bridge.fake_booker import FakeAutoBooker
from tests.factories import seed_shop


async def main() -> None:
    args = _args()
    server = normalize_dsn(os.environ.get("DATABASE_URL") or _embedded_pg())
    redis_url = os.environ.get("REDIS_URL") or _embedded_redis()
    name = f"bench_events_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = server.rsplit("/", 1)[0] + "/" + name
    prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        await migrate(url)
        pool = await create_pool(url, min_size=2, max_size=args.concurrency + 8)
        settings = Settings(database_url=url, redis_url=redis_url, stream_prefix=prefix,  # type: ignore[call-arg]
                            ray_namespace=f"bench-{prefix}", _env_file=None)
        options = BridgeOptions(consumer_name="bench", concurrency=args.concurrency, block_s=0.05,
                                relay_interval_s=0.05, reminders=False)
        if args.booker == "real":
            booker = await _real_booker(settings, pool)
        else:
            await seed_shop(pool, techs=16, bays=16)
            booker = FakeAutoBooker(pool)
        bridge = EventBridge(settings, pool, redis, booker, options)
        await bridge.start()
        try:
            await _run(redis, prefix, args)
        finally:
            await bridge.stop()
            await pool.close()
    finally:
        keys = [k async for k in redis.scan_iter(match=f"{prefix}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
        admin = await asyncpg.connect(server)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _run(redis: aioredis.Redis, prefix: str, args: argparse.Namespace) -> None:
    sent_at: dict[str, float] = {}
    latencies: list[float] = []
    done = asyncio.Event()

    not_booked = 0
    reasons: dict[str, int] = {}

    async def watch() -> None:
        nonlocal not_booked
        last = {f"{prefix}{t}": "0-0" for t in (EventType.APPOINTMENT_SCHEDULED, EventType.APPOINTMENT_NOT_BOOKED)}
        watcher = aioredis.Redis(connection_pool=redis.connection_pool)
        while len(latencies) + not_booked < args.alerts:
            reply: Any = await watcher.xread(last, count=1000, block=1000)
            now = time.perf_counter()
            for stream, entries in reply or []:
                for entry_id, fields in entries:
                    last[stream] = entry_id
                    if stream.endswith(EventType.APPOINTMENT_NOT_BOOKED):
                        not_booked += 1
                        for reason in json.loads(fields["event"])["data"].get("reasons", []):
                            reasons[str(reason)[:120]] = reasons.get(str(reason)[:120], 0) + 1
                        continue
                    ref = json.loads(fields["event"])["data"]["source_ref"]
                    latencies.append(now - sent_at[ref])
        done.set()

    watcher = asyncio.create_task(watch())
    stream = f"{prefix}{EventType.ALERT_CREATED}"
    start = time.perf_counter()
    for i in range(args.alerts):
        if args.rate > 0:
            delay = start + i / args.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)  # pacing the sender, not waiting on a result
        alert_id = f"B{i}"
        if args.booker == "real":
            shop, component = REAL_SHOPS[i % len(REAL_SHOPS)], REAL_COMPONENTS[i % len(REAL_COMPONENTS)]
        else:
            shop, component = "shop_a", "engine"
        env = EventEnvelope(str(uuid.uuid4()), EventType.ALERT_CREATED, datetime.now(UTC), "bench",
                            {"alert_id": alert_id, "vehicle_id": f"V{i}", "severity": "CRITICAL",
                             "component": component, "shop_id": shop})
        sent_at[f"alert:{alert_id}"] = time.perf_counter()
        await redis.xadd(stream, {"event": env.to_json()})
    sent_done = time.perf_counter()
    await asyncio.wait_for(done.wait(), timeout=max(60.0, args.alerts / 20))
    await watcher
    elapsed = time.perf_counter() - start
    q = statistics.quantiles(latencies, n=100)
    offered = f"{args.rate:g}/s" if args.rate else "all at once"
    print(f"booker: {args.booker}  alerts: {args.alerts}  offered rate: {offered}  concurrency: {args.concurrency}")
    print(f"sent in {sent_done - start:.2f}s; all answers received after {elapsed:.2f}s "
          f"({len(latencies)} booked, {not_booked} could not be booked)")
    print(f"sustained: {args.alerts / elapsed:.0f} alerts/s")
    for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1])[:5]:
        print(f"  not booked ×{n}: {reason}")
    print(f"alert → appointment.scheduled latency: p50 {q[49] * 1000:.0f} ms  p99 {q[98] * 1000:.0f} ms  "
          f"max {max(latencies) * 1000:.0f} ms")


REAL_SHOPS = ("shop_nyc", "shop_berlin")
REAL_COMPONENTS = ("oil", "brakes", "engine", "battery", "oil_life", "brake_pads")


async def _real_booker(settings: Settings, pool: asyncpg.Pool) -> Any:
    """The service's own booking path over the demo chain, on a local Ray."""
    import ray

    from bridge.scheduler_booker import build_scheduler_booker
    from store.shop_loader import seed_demo_if_empty

    await seed_demo_if_empty(pool)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, namespace=settings.ray_namespace)
    booker = build_scheduler_booker(settings, pool)
    scheduler = booker._scheduler  # type: ignore[attr-defined]
    for shop in REAL_SHOPS:  # activate the shops' actors before timing
        await scheduler.booking.activate_shop(shop)
    return booker


def _embedded_pg() -> str:
    from store.embedded import start_embedded_postgres

    return start_embedded_postgres(Path(".data/bench"))


def _embedded_redis() -> str:
    from bridge.embedded_redis import start_embedded_redis

    return start_embedded_redis(Path(".data/bench"))


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=200.0, help="alerts per second offered; 0 = all at once")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--booker", choices=("fake", "real"), default="fake",
                        help="fake: the bridge alone; real: slot search and booking through the resource actors")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main())
