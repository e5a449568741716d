"""Where a search and a booking spend their time in the front end. Prints figures; asserts nothing.

    .venv/bin/python bench/request_path.py [--searches 200] [--days 20] [--clients 32]

The FastAPI routes (``deployments.api.create_api``) with the services the
replica builds (``deployments.services.build_services``), called in process
through ``httpx.ASGITransport``: no HTTP server and no proxy, so what is
measured is the handlers, the database and the Ray calls. A fresh database
(demo chain) on DATABASE_URL's server, one local Ray with 2 CPUs.

Printed, for the card's engine-repair search (sequential) and for bookings of
distinct chosen slots (``--clients`` at once, as ``bench/http.py`` books them):

- requests per second and this process's CPU per request (``time.process_time``:
  the front end's own cost, which bounds one replica's throughput at about
  1000 / (CPU ms) requests per second on one core);
- PostgreSQL round trips per request (every statement asyncpg sends, counted by
  a query logger on each pooled connection) and Ray calls per request;
- the time spent in each step of a booking (hold, the booking transaction,
  settle, the search link, the customer link, authentication), p50/p90, which
  under load is mostly waiting for this process's event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# bench/http.py would shadow the standard library's http package (httpx imports it): drop this folder from the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

STEPS: dict[str, list[float]] = defaultdict(list)
COUNTS: Counter[str] = Counter()


def timed(owner: Any, name: str, label: str) -> None:
    """Wrap ``owner.name`` (a coroutine function) so each call's duration lands in ``STEPS[label]``."""
    original: Callable[..., Awaitable[Any]] = getattr(owner, name)

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await original(*args, **kwargs)
        finally:
            STEPS[label].append((time.perf_counter() - started) * 1000)

    setattr(owner, name, wrapper)


def count_statements() -> None:
    """Count every statement the service's pools send (a query logger on each new pooled connection)."""
    import store.database as database

    original = database._init_connection

    async def counting_init(conn: Any) -> None:
        await original(conn)
        conn.add_query_logger(lambda record: COUNTS.update(["statements"]))

    database._init_connection = counting_init  # type: ignore[assignment]  # create_pool reads it per call


def count_ray_calls() -> None:
    import actors.factory as factory

    original = factory.RayDirectory._send

    async def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        COUNTS.update(["ray_calls"])
        return await original(self, *args, **kwargs)

    factory.RayDirectory._send = counting  # type: ignore[method-assign]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(opts: argparse.Namespace) -> None:
    import httpx

    import application.api_keys as api_keys
    import application.booking as booking
    import application.customer_links as customer_links
    import application.resource_pair as resource_pair
    import application.search_log as search_log
    from bench.http import CARD_ENGINE, HEADERS, app_args, booking_plan_with, drop_database, fresh_database
    from config.settings import Settings
    from deployments.api import create_api
    from deployments.services import build_services

    count_statements()
    count_ray_calls()
    timed(resource_pair.PairPlacement, "hold", "hold")
    timed(resource_pair.PairPlacement, "settle", "settle")
    timed(booking, "in_transaction", "booking transaction")
    timed(api_keys.ApiKeys, "authenticate", "authentication")
    timed(search_log.SearchLog, "link", "search link")
    timed(customer_links.CustomerLinks, "issue", "customer link")

    server = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    url = await fresh_database(server)
    args = app_args(url, os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"), "bench-request-path")
    services = await build_services(Settings(**args["settings"]), start_bridge=False)
    app = create_api()
    app.state.services = services
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench/api/v1", headers=HEADERS, timeout=120
        ) as client:
            body = {**CARD_ENGINE, "preferred_date": (datetime.now(UTC).date() + timedelta(days=7)).isoformat()}
            for _ in range(20):  # warm-up: catalog cache, hosts, CP-SAT
                (await client.post("/slots/available", json=body)).raise_for_status()
            COUNTS.clear()
            latencies: list[float] = []
            cpu = time.process_time()
            for _ in range(opts.searches):
                started = time.perf_counter()
                (await client.post("/slots/available", json=body)).raise_for_status()
                latencies.append((time.perf_counter() - started) * 1000)
            cpu = time.process_time() - cpu
            print(
                f"search (card engine example, one at a time, {opts.searches}): p50 {pct(latencies, 0.5):.1f} ms, "
                f"p99 {pct(latencies, 0.99):.1f} ms; front-end CPU {cpu / opts.searches * 1000:.1f} ms/request; "
                f"{COUNTS['statements'] / opts.searches:.1f} statements, "
                f"{COUNTS['ray_calls'] / opts.searches:.1f} Ray calls per request",
                flush=True,
            )

            plan = await booking_plan_with(client, opts.days)
            STEPS.clear()
            COUNTS.clear()
            statuses: Counter[int] = Counter()
            queue = iter(enumerate(plan))
            latencies = []

            async def worker() -> None:
                for i, slot in queue:
                    started = time.perf_counter()
                    response = await client.post("/appointments", json={**slot, "vehicle_id": f"RP{i:05d}"})
                    latencies.append((time.perf_counter() - started) * 1000)
                    statuses[response.status_code] += 1

            cpu = time.process_time()
            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(opts.clients)))
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu
            n = len(plan)
            print(
                f"bookings ({n} distinct slots, {opts.clients} clients): {statuses[201] / elapsed:.0f}/s, "
                f"statuses {dict(statuses)}, p50 {statistics.median(latencies):.0f} ms; "
                f"front-end CPU {cpu / n * 1000:.1f} ms/request; {COUNTS['statements'] / n:.1f} statements, "
                f"{COUNTS['ray_calls'] / n:.2f} Ray calls per request (commands of concurrent bookings share calls)",
                flush=True,
            )
            for label, values in STEPS.items():
                print(f"  {label:20s} p50 {pct(values, 0.5):6.1f} ms  p90 {pct(values, 0.9):6.1f} ms")
    finally:
        await services.close()
        await drop_database(server, url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--days", type=int, default=20, help="days of distinct slots to book")
    parser.add_argument("--clients", type=int, default=32)
    opts = parser.parse_args()
    from bench.local_ray import start_local_ray

    start_local_ray("bench-request-path")
    try:
        asyncio.run(run(opts))
    finally:
        import ray

        ray.shutdown()
    print(f"(load average {' '.join(f'{x:.2f}' for x in os.getloadavg())})")


if __name__ == "__main__":
    main()
