"""Alert → ``appointment.scheduled`` latency and sustained alerts/s through the event bridge.

    .venv/bin/python -m bench.events [--alerts 3000] [--rate 200] [--concurrency 16]

Sends CRITICAL ``alert.created`` events at ``--rate`` per second (0: all at
once) to a bridge running in this process, and times each from its XADD to
the arrival of its ``appointment.scheduled`` on the stream (the whole path:
consumer group read, dedupe, booking transaction with outbox rows, processed
record, ack, relay, XADD). The booker is the tests' fake AutoBooker (real
appointment and outbox rows, no slot search), so this measures the bridge,
not the solver. Uses DATABASE_URL / REDIS_URL when set, else the embedded
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
        await seed_shop(pool, techs=16, bays=16)
        settings = Settings(database_url=url, redis_url=redis_url, stream_prefix=prefix, _env_file=None)  # type: ignore[call-arg]
        options = BridgeOptions(consumer_name="bench", concurrency=args.concurrency, block_s=0.05,
                                relay_interval_s=0.05, reminders=False)
        bridge = EventBridge(settings, pool, redis, FakeAutoBooker(pool), options)
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

    async def watch() -> None:
        stream, last = f"{prefix}{EventType.APPOINTMENT_SCHEDULED}", "0-0"
        watcher = aioredis.Redis(connection_pool=redis.connection_pool)
        while len(latencies) < args.alerts:
            reply: Any = await watcher.xread({stream: last}, count=1000, block=1000)
            now = time.perf_counter()
            for _, entries in reply or []:
                for entry_id, fields in entries:
                    last = entry_id
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
        env = EventEnvelope(str(uuid.uuid4()), EventType.ALERT_CREATED, datetime.now(UTC), "bench",
                            {"alert_id": alert_id, "vehicle_id": f"V{i}", "severity": "CRITICAL",
                             "component": "engine", "shop_id": "shop_a"})
        sent_at[f"alert:{alert_id}"] = time.perf_counter()
        await redis.xadd(stream, {"event": env.to_json()})
    sent_done = time.perf_counter()
    await asyncio.wait_for(done.wait(), timeout=max(60.0, args.alerts / 20))
    await watcher
    elapsed = time.perf_counter() - start
    q = statistics.quantiles(latencies, n=100)
    offered = f"{args.rate:g}/s" if args.rate else "all at once"
    print(f"alerts: {args.alerts}  offered rate: {offered}  concurrency: {args.concurrency}")
    print(f"sent in {sent_done - start:.2f}s; all appointment.scheduled received after {elapsed:.2f}s")
    print(f"sustained: {args.alerts / elapsed:.0f} alerts/s")
    print(f"alert → appointment.scheduled latency: p50 {q[49] * 1000:.0f} ms  p99 {q[98] * 1000:.0f} ms  "
          f"max {max(latencies) * 1000:.0f} ms")


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
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main())
