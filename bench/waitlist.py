"""Waitlist: how long from a cancellation to the offer of its time. Prints figures; asserts nothing on time.

    .venv/bin/python bench/waitlist.py [--rounds 40] [--entries 5]

Each round frees one job's room on a day of its own (one technician and bay, one job a day), with
``--entries`` entries waiting for that day, and measures cancel → ``appointment.waitlist.offered`` in the
outbox (the matching runs in the background after the cancellation commits). In-process calendars (no Ray);
DATABASE_URL's server (else the embedded PostgreSQL under .data/bench) with a fresh database.
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

# the repository first on the path; bench/ itself off it (a sibling script may shadow a stdlib module)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.remove(str(Path(__file__).resolve().parent))

import asyncpg

from actors.calendar_host import CalendarHost
from actors.calendar_source import StoreCalendarSource
from actors.directory import LocalDirectory
from application.booking import BookingRequest
from application.waitlist import JoinRequest
from application.wiring import build_application
from domain.job import Job
from domain.policy import CancellationPolicy, Reserve, ReserveKind, SchedulingPolicy
from domain.urgency import Urgency
from store.database import create_pool, migrate, normalize_dsn
from tests.factories import seed_shop

POLICY = SchedulingPolicy(
    max_bookings_per_technician_per_day=1,
    urgent_reserve=Reserve(ReserveKind.URGENT, 0.0, timedelta(hours=12), timedelta(hours=2)),
    priority_reserve=Reserve(ReserveKind.PRIORITY, 0.0, timedelta(hours=48)),
)


async def run(url: str, rounds: int, entries: int) -> list[float]:
    pool = await create_pool(url, min_size=2, max_size=10)
    await seed_shop(pool, techs=1, bays=1)
    directory = LocalDirectory(lambda: CalendarHost(StoreCalendarSource(url, POLICY)))
    app = build_application(pool, directory, POLICY, CancellationPolicy())
    today = datetime.now(UTC).date()
    latencies = []
    try:
        for r in range(rounds):
            d = today + timedelta(days=3 + r)
            day = datetime(d.year, d.month, d.day, 7, tzinfo=UTC)
            job = Job(vehicle_id=f"B{r}", service_type="routine", urgency=Urgency.HIGH, duration=timedelta(hours=1))
            booked = await app.booking.book(
                BookingRequest("shop_a", "shop_a_t0", "shop_a_b0", day + timedelta(hours=3), job)
            )
            for e in range(entries):
                await app.waitlist.join(
                    JoinRequest(f"W{r}_{e}", "routine", Urgency.HIGH, day, day + timedelta(hours=12), "shop_a")
                )
            started = time.perf_counter()
            await app.booking.cancel(booked.id)
            while not await pool.fetchval(
                "SELECT 1 FROM outbox WHERE event_type = 'appointment.waitlist.offered' AND envelope->'data'->>"
                "'vehicle_id' LIKE $1",
                f"W{r}\\_%",
            ):
                await asyncio.sleep(0.002)
            latencies.append(time.perf_counter() - started)
            await app.waitlist.settle()
    finally:
        await directory.shutdown()
        await pool.close()
    return latencies


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--entries", type=int, default=5)
    args = parser.parse_args()
    server = os.environ.get("DATABASE_URL")
    if not server:
        from store.embedded import start_embedded_postgres

        server = start_embedded_postgres(Path(".data/bench"))
    server = normalize_dsn(server)
    name = f"bench_waitlist_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = server.rsplit("/", 1)[0] + "/" + name
    try:
        await migrate(url)
        latencies = await run(url, args.rounds, args.entries)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    ms = sorted(1000 * s for s in latencies)
    p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
    print(f"cancel -> offer in the outbox, {len(ms)} rounds, {args.entries} entries waiting each:")
    load = os.getloadavg()[0]
    print(f"  median {statistics.median(ms):.0f} ms, p95 {p95:.0f} ms, max {ms[-1]:.0f} ms; load {load:.1f}")


if __name__ == "__main__":
    asyncio.run(main())
