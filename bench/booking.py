"""Booking throughput, hold latency, shop activation and actor memory. Prints figures; asserts nothing on time.

    .venv/bin/python bench/booking.py [--bookings 2400] [--concurrency 64] [--rounds 3] [--quick]

``--rounds`` repeats the actor-path and direct-insert runs interleaved (a fresh
shop each round) and prints their medians; ``--quick`` skips the per-resource
placement, hold latency and activation figures. The load average is printed
with each round: the machine is shared, so compare medians taken together.

Uses DATABASE_URL's server (else the embedded PostgreSQL under .data/bench)
with a fresh database, and a local Ray with 2 CPUs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# the repository first on the path; bench/ itself off it (a sibling script may shadow a stdlib module)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.remove(str(Path(__file__).resolve().parent))

import asyncpg
import ray

from actors.directory import Placement
from actors.factory import RayDirectory
from application.booking import BookingService
from domain.policy import CancellationPolicy, SchedulingPolicy
from domain.time_windows import Interval
from store import appointment_repository as appointments
from store.database import create_pool, migrate, normalize_dsn
from tests.actors.conftest import request
from tests.factories import NO_CAP, appointment, seed_shop

START = datetime(2030, 3, 1, tzinfo=UTC)
NOW = START - timedelta(days=1)
POLICY = SchedulingPolicy()


def slots(pairs: int, count: int, shop: str) -> list[tuple[str, str, datetime]]:
    """``count`` non-overlapping (technician, bay, start) triples, 6 a day per pair (the cap)."""
    out = []
    for n in range(count):
        pair, k = n % pairs, n // pairs
        day, j = divmod(k, 6)
        out.append((f"{shop}_t{pair}", f"{shop}_b{pair}", START + timedelta(days=day, hours=7, minutes=90 * j)))
    return out


async def run_concurrently(jobs: list[Any], concurrency: int) -> tuple[float, list[Any]]:
    sem = asyncio.Semaphore(concurrency)

    async def one(job: Any) -> Any:
        async with sem:
            return await job()

    t0 = time.perf_counter()
    results = await asyncio.gather(*(one(j) for j in jobs), return_exceptions=True)
    return time.perf_counter() - t0, list(results)


async def overlaps(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval(
        """SELECT count(*) FROM appointments a JOIN appointments b ON a.id < b.id
           WHERE a.status IN ('held','scheduled') AND b.status IN ('held','scheduled')
             AND ((a.technician_id = b.technician_id
                   AND tstzrange(a.start_at, a.blocked_until) && tstzrange(b.start_at, b.blocked_until))
               OR (a.bay_id = b.bay_id AND tstzrange(a.start_at, a.end_at) && tstzrange(b.start_at, b.end_at)))"""))


def pss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


async def bench_throughput(
    url: str, pool: asyncpg.Pool, n: int, concurrency: int, placement: Placement, round_no: int = 0
) -> float:
    shop = f"tp_{placement.value}_{round_no}"
    await seed_shop(pool, shop_id=shop, techs=20, bays=20)
    directory = RayDirectory(url, POLICY, namespace=f"bench-{uuid.uuid4().hex[:6]}", placement=placement)
    service = BookingService(pool, directory, POLICY, CancellationPolicy())
    await service.activate_shop(shop, NOW)
    jobs = [lambda t=t, b=b, s=s: service.book(request(t, b, s, shop_id=shop), now=NOW)
            for t, b, s in slots(20, n, shop)]
    elapsed, results = await run_concurrently(jobs, concurrency)
    errors = [r for r in results if isinstance(r, BaseException)]
    rate = (n - len(errors)) / elapsed
    print(f"actor path [{placement.value}]: {n} bookings in {elapsed:.2f} s = {rate:.0f} bookings/s, "
          f"errors {len(errors)} {set(type(e).__name__ for e in errors)}, double bookings {await overlaps(pool)}")

    # a second round racing for already-taken slots: every one refused, none double-booked
    elapsed2, results2 = await run_concurrently(jobs[: n // 4], concurrency)
    refused = sum(1 for r in results2 if isinstance(r, BaseException))
    print(f"  re-race of {n // 4} taken slots: {refused} refused in {elapsed2:.2f} s, "
          f"double bookings {await overlaps(pool)}")
    await directory.shutdown()
    return rate


async def bench_direct(pool: asyncpg.Pool, n: int, concurrency: int, round_no: int = 0) -> float:
    shop = f"direct_{round_no}"
    await seed_shop(pool, shop_id=shop, techs=20, bays=20)
    async with pool.acquire() as conn:
        rids = await appointments.resource_rids_for_shop(conn, shop)

    async def insert(t: str, b: str, s: datetime) -> None:
        appt = appointment(t, b, s, 1.0, shop_id=shop, vehicle_id=f"V-{uuid.uuid4().hex[:12]}")
        tech_rid, bay_rid = rids[("technician", t)], rids[("bay", b)]
        async with pool.acquire() as conn, conn.transaction():
            await appointments.lock_resources(conn, tech_rid, bay_rid, appt.vehicle_id)
            await appointments.insert_under_cap(conn, appt, tech_rid=tech_rid, bay_rid=bay_rid, buffer=POLICY.buffer,
                                                day=appt.interval, cap=NO_CAP, now=NOW)

    jobs = [lambda t=t, b=b, s=s: insert(t, b, s) for t, b, s in slots(20, n, shop)]
    elapsed, results = await run_concurrently(jobs, concurrency)
    errors = [r for r in results if isinstance(r, BaseException)]
    rate = (n - len(errors)) / elapsed
    print(f"direct DB inserts (the booking's lock + insert_under_cap): {rate:.0f} inserts/s, errors {len(errors)}")
    return rate


async def bench_hold_latency(url: str, pool: asyncpg.Pool, samples: int) -> None:
    shop = "lat"
    await seed_shop(pool, shop_id=shop, techs=1, bays=1)
    directory = RayDirectory(url, POLICY, namespace=f"bench-{uuid.uuid4().hex[:6]}")
    tech = directory.technician(shop, f"{shop}_t0")
    times = []
    for i in range(samples):
        iv = Interval(START + timedelta(hours=8), START + timedelta(hours=9))
        t0 = time.perf_counter()
        await tech.hold(f"k{i}", iv, NOW + timedelta(minutes=15), now=NOW)
        times.append(time.perf_counter() - t0)
        await tech.release(f"k{i}", now=NOW)
    times.sort()
    p50, p99 = times[len(times) // 2], times[int(len(times) * 0.99)]
    print(f"hold latency (one caller, {samples} holds): p50 {p50 * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms")
    await directory.shutdown()


async def bench_activation(url: str, pool: asyncpg.Pool, placement: Placement) -> None:
    shop = f"act_{placement.value}"
    await seed_shop(pool, shop_id=shop, techs=10, bays=10)
    directory = RayDirectory(url, POLICY, namespace=f"bench-{uuid.uuid4().hex[:6]}", placement=placement)
    service = BookingService(pool, directory, POLICY, CancellationPolicy())
    t0 = time.perf_counter()
    count = await service.activate_shop(shop, NOW)
    elapsed = time.perf_counter() - t0
    pids = await directory.pids()
    pss = [pss_mib(p) for p in pids.values()]
    print(f"activate a {count}-resource shop [{placement.value}]: {elapsed:.2f} s; {len(pids)} actor processes, "
          f"PSS per process median {statistics.median(pss):.1f} MiB, total {sum(pss):.1f} MiB "
          f"= {sum(pss) / count:.1f} MiB per live resource actor")
    await directory.shutdown()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bookings", type=int, default=2400)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--skip-per-resource", action="store_true")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved actor/direct runs; medians printed")
    parser.add_argument("--quick", action="store_true", help="throughput only (no per-resource, latency, activation)")
    args = parser.parse_args()

    server = os.environ.get("DATABASE_URL")
    if not server:
        from store.embedded import start_embedded_postgres

        server = start_embedded_postgres(Path(".data/bench"))
    server = normalize_dsn(server)
    name = f"bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    from urllib.parse import urlsplit, urlunsplit

    url = urlunsplit(urlsplit(server)._replace(path="/" + name))
    await migrate(url)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, namespace="bench",
             runtime_env={"env_vars": {"PYTHONPATH": os.getcwd()}})
    pool = await create_pool(url, min_size=4, max_size=32)
    try:
        print(f"machine: {os.cpu_count()} cores; bookings {args.bookings}, concurrency {args.concurrency}")
        actor_rates, direct_rates = [], []
        for r in range(args.rounds):
            print(f"round {r + 1}/{args.rounds}, load average {load_average()}")
            actor_rates.append(
                await bench_throughput(url, pool, args.bookings, args.concurrency, Placement.PER_SHOP, r)
            )
            direct_rates.append(await bench_direct(pool, args.bookings, args.concurrency, r))
            print(f"  actor path / direct DB = {actor_rates[-1] / direct_rates[-1]:.2f}")
        actor_rate, direct_rate = statistics.median(actor_rates), statistics.median(direct_rates)
        print(f"median of {args.rounds}: actor path {actor_rate:.0f} bookings/s, direct {direct_rate:.0f} inserts/s, "
              f"ratio {actor_rate / direct_rate:.2f}; load average {load_average()}")
        if args.quick:
            return
        if not args.skip_per_resource:
            await bench_throughput(url, pool, args.bookings // 2, args.concurrency, Placement.PER_RESOURCE)
        await bench_hold_latency(url, pool, 1000)
        await bench_activation(url, pool, Placement.PER_SHOP)
        await bench_activation(url, pool, Placement.PER_RESOURCE)
    finally:
        await pool.close()
        ray.shutdown()
        admin = await asyncpg.connect(server)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
