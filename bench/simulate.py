"""A seeded demand simulation through the real booking path: the service's ranking against first-fit.

    .venv/bin/python bench/simulate.py [--quick] [--weeks 4] [--scenarios normal,peak,overload]
        [--policy service|first-fit|both] [--per-day N] [--shops FILE] [--seed 1] [--lead-days 7]

What runs: the real application layer (``application.wiring.build_application``:
``Scheduler.find`` and ``Scheduler.book_chosen``, ``BookingService.cancel`` and
``expire_holds``), real PostgreSQL (a fresh database per scenario and policy, on
DATABASE_URL's server, else the embedded one under .data/bench) and real Ray
calendar hosts (``actors.factory.RayDirectory``, a fresh namespace per run), all
called in process, not over HTTP, on a local Ray with 2 CPUs. Time is simulated:
the services get a ``ManualClock`` and every call is given ``now=`` the simulated
instant, so a request that arrives on day d is searched and booked at that moment,
holds expire and past bookings stop counting as the simulation moves on.

Demand (``bench.demand``): Poisson arrivals per shop with the service card's mix
(routine 1-2 h LOW 50%, diagnostic 2-3 h MEDIUM 25%, component repair 3-5 h HIGH
18%, emergency 1-2 h CRITICAL 7%), customer tiers, preferred dates and windows,
10% later cancellations and a 5% no-show rate (counted only: there is no no-show
command yet, so a no-show's hours still count as booked). A scenario sets the
requested job hours as a share of the technicians' hours: ``normal`` 75%, ``peak``
100%, ``overload`` 120% (``--per-day`` is derived from it and printed; giving
``--per-day`` runs that rate instead). A customer takes the first offered slot 90%
of the time, else the second (``book_chosen``; on a conflict the first alternative
offered, then one new search).

Policies: ``service`` is the service as configured by default (CP-SAT ranking,
reserves, fragmentation terms). ``first-fit`` is what Cal.com and
Easy!Appointments do: the earliest feasible slot at or after the time the customer
wants (their preferred date at their window's opening; arrival for CRITICAL),
within the same horizon, over the same calendars and hard rules (hours, buffer,
daily cap, skills, equipment, parts): ``solver.greedy_slots`` in place of CP-SAT,
the offers sorted by start (not by cost), and no reserves (they are the
service's policy, not a calendar's). Same seed, demand and clock.

Printed (``bench.scorecard``) per scenario: each policy's figures side by side
with service / first-fit, the database's own checks (no double booking, rows
agree with what customers were told) and the issue's targets, met or missed.
Figures, not assertions; times are those of a shared 2-core machine.
``--quick`` is 1 week of the normal scenario (about a minute); the default is
4 weeks of all three scenarios.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import os
import sys
import time as wall
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if __name__ == "__main__":  # as a script: the repository first, bench/ off the path (bench/http.py, bench/solver.py)
    sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

import asyncpg  # noqa: E402

from application.clock import ManualClock  # noqa: E402
from application.scheduler import Scheduler  # noqa: E402
from application.slot_search import CalendarAvailability, SlotFinder, SlotSearch, SlotSearchResult  # noqa: E402
from application.wiring import SINGLE_SHOP_TIME_LIMIT_S, Application, build_application  # noqa: E402
from bench.demand import (  # noqa: E402
    CANCEL_RATE,
    LEAD_DAYS,
    MIX,
    NO_SHOW_RATE,
    SCENARIOS,
    START,
    Request,
    describe_demand,
    generate_demand,
    load_shop_data,
    mean_job_hours,
    offered_services,
    open_days,
    per_day_for_load,
    simulated_days,
    technician_hours,
)
from bench.scorecard import (  # noqa: E402
    FIRST_FIT,
    NO_REASSIGNMENT,
    SERVICE,
    database_checks,
    figures,
    print_table,
    print_targets,
)
from domain.appointment import Appointment  # noqa: E402
from domain.customer import Customer  # noqa: E402
from domain.errors import DailyCapReached, DomainError, SlotTaken, VehicleAlreadyBooked  # noqa: E402
from domain.job import Slot  # noqa: E402
from domain.policy import CancellationPolicy, SchedulingPolicy  # noqa: E402
from domain.shop import Shop  # noqa: E402
from domain.time_windows import local_date, local_day_bounds, local_instant  # noqa: E402
from solver import SlotProblem, SlotResult, Weights, greedy_slots  # noqa: E402
from store.shop_file import ShopData  # noqa: E402

POLICIES = (SERVICE, FIRST_FIT)
SEARCH_DAYS = 14
"""The search horizon in days (the API's default); first-fit's ends on the same day."""


def scheduling_policy(name: str, base: SchedulingPolicy | None = None) -> SchedulingPolicy:
    """``base`` (the service's default policy); first-fit keeps its hard rules and drops the reserves."""
    policy = base or SchedulingPolicy()
    if name == FIRST_FIT:
        return replace(
            policy,
            urgent_reserve=replace(policy.urgent_reserve, share=0.0),
            priority_reserve=replace(policy.priority_reserve, share=0.0),
        )
    return policy


class GreedyRunner:
    """A ``SolveRunner`` that answers with ``solver.greedy_slots``: the earliest feasible distinct slots."""

    async def solve(self, problems: Sequence[SlotProblem], time_limit_s: float) -> list[SlotResult | None]:
        return list(await asyncio.gather(*(asyncio.to_thread(greedy_slots, p) for p in problems)))


class EarliestFirstFinder(SlotFinder):
    """The slot search over the same calendars with greedy first-fit, offers sorted by start (not by cost)."""

    async def find(self, search: SlotSearch, now: datetime | None = None) -> SlotSearchResult:
        result = await super().find(search, now)
        return replace(result, slots=tuple(sorted(result.slots, key=lambda s: (s.start, s.technician_id))))


def application(
    policy_name: str,
    pool: asyncpg.Pool,
    url: str,
    clock: ManualClock,
    namespace: str,
    base: SchedulingPolicy | None = None,
    weights: Weights | None = None,
) -> tuple[Application, Any]:
    """The application stack of one run over Ray calendar hosts in ``namespace``; also the directory (to shut down)."""
    from actors.factory import RayDirectory
    from actors.solve_tasks import RaySolveRunner

    policy = scheduling_policy(policy_name, base)
    directory = RayDirectory(url, policy, namespace=namespace)
    app = build_application(
        pool, directory, policy, CancellationPolicy(), multi_runner=RaySolveRunner(), clock=clock, weights=weights
    )
    if policy_name == FIRST_FIT:
        finder = EarliestFirstFinder(
            app.catalog,
            CalendarAvailability(app.queries),
            policy,
            single_runner=GreedyRunner(),
            time_limit_s=SINGLE_SHOP_TIME_LIMIT_S,
        )
        app = replace(app, finder=finder, scheduler=Scheduler(finder, app.booking, app.catalog))
    if policy_name == NO_REASSIGNMENT:
        app = replace(app, scheduler=Scheduler(app.finder, app.booking, app.catalog))
    return app, directory


def wanted_instant(request: Request, shop: Shop) -> datetime:
    """When the customer wants to come: their preferred date (at their window's opening), never before arrival."""
    if request.preferred_date is None:
        return request.arrival
    if request.preferred_window is not None:
        wanted = local_instant(request.preferred_date, request.preferred_window[0], shop.tz)
    else:
        wanted = local_day_bounds(request.preferred_date, shop.tz).start
    return max(request.arrival, wanted)


def slot_search(request: Request, shop: Shop, policy_name: str) -> SlotSearch:
    """The search a customer's request makes; first-fit starts at the wanted time, within the same horizon."""
    earliest, days = None, SEARCH_DAYS
    if policy_name == FIRST_FIT:
        wanted = wanted_instant(request, shop)
        if wanted > request.arrival:
            earliest = wanted
            days -= (local_date(wanted, shop.tz) - local_date(request.arrival, shop.tz)).days
    return SlotSearch(
        vehicle_id=request.vehicle_id,
        service_type=request.service_type,
        urgency=request.urgency,
        duration=request.duration,
        preferred_date=request.preferred_date,
        preferred_window=request.preferred_window,
        customer_tier=request.tier,
        shop_ids=(request.shop_id,),
        earliest=earliest,
        search_days=max(1, days),
    )


# -- the simulation -------------------------------------------------------------------------------

BOOKING_ATTEMPTS = 3
"""Slots tried per search (the chosen one, then the alternatives a conflict answers with)."""
SEARCHES = 2


@dataclass(slots=True)
class Outcome:
    """What happened to one request."""

    request: Request
    appointment: Appointment | None = None
    offered: tuple[tuple[str, datetime], ...] = ()
    """The slots the first search recommended, best first (technician, start)."""
    confidence: tuple[float, ...] = ()
    """Their ``confidence_score``s."""
    refusal: str | None = None
    conflicts: int = 0
    error: bool = False
    """Refused by an error, not by a full calendar (an unexpected ``DomainError``)."""
    cancelled_at: datetime | None = None
    search_ms: list[float] = field(default_factory=list)
    book_ms: list[float] = field(default_factory=list)

    @property
    def took_first_slot(self) -> bool:
        a = self.appointment
        return a is not None and bool(self.offered) and (a.technician_id, a.start) == self.offered[0]

    @property
    def took_recommended_slot(self) -> bool:
        a = self.appointment
        return a is not None and (a.technician_id, a.start) in self.offered


def _key(slot: Slot) -> tuple[str, datetime]:
    return slot.technician_id, slot.start


async def serve(app: Application, outcome: Outcome, shop: Shop, policy_name: str, now: datetime) -> None:
    """The customer searches, takes the first (or second) slot, and on a conflict the next one offered."""
    try:
        await _search_and_book(app, outcome, shop, policy_name, now)
    except DomainError as exc:  # anything else the service answers is a failed request, counted as an error
        outcome.appointment, outcome.error = None, True
        outcome.refusal = f"{type(exc).__name__}: {exc.message}"


async def _search_and_book(app: Application, outcome: Outcome, shop: Shop, policy_name: str, now: datetime) -> None:
    req = outcome.request
    search = slot_search(req, shop, policy_name)
    customer = Customer(name=f"customer {req.n}", tier=req.tier)
    for _ in range(SEARCHES):
        t0 = wall.perf_counter()
        result = await app.scheduler.find(search, now)
        outcome.search_ms.append((wall.perf_counter() - t0) * 1e3)
        if not result.slots:
            outcome.refusal = "; ".join(result.explanation) or "no slot fits"
            return
        if not outcome.offered:
            outcome.offered = tuple(_key(slot) for slot in result.slots)
            outcome.confidence = tuple(slot.confidence for slot in result.slots)
        pick = result.slots[1] if req.second_choice and len(result.slots) > 1 else result.slots[0]
        for _ in range(BOOKING_ATTEMPTS):
            t0 = wall.perf_counter()
            try:
                outcome.appointment = await app.scheduler.book_chosen(
                    search,
                    technician_id=pick.technician_id,
                    bay=pick.bay_id,
                    start=pick.start,
                    customer=customer,
                    notes=None,
                    hold=False,
                    shop_id=req.shop_id,
                    now=now,
                )
                return
            except SlotTaken as exc:
                outcome.conflicts += 1
                alternatives = exc.details.get("alternatives") or []
                if not alternatives:
                    break
                pick = alternatives[0]
            except (DailyCapReached, VehicleAlreadyBooked):
                outcome.conflicts += 1
                break
            finally:
                outcome.book_ms.append((wall.perf_counter() - t0) * 1e3)
    outcome.refusal = "every slot offered was taken meanwhile"


async def simulate(
    app: Application, clock: ManualClock, data: ShopData, requests: Sequence[Request], policy_name: str
) -> list[Outcome]:
    """Replay ``requests`` in simulated time: arrivals, later cancellations, and a daily sweep of stale holds."""
    shops = {s.id: s for s in data.shops}
    outcomes = [Outcome(r) for r in requests]
    if not requests:
        return outcomes
    first = requests[0].arrival
    clock.set(first)
    for shop in data.shops:
        await app.booking.activate_shop(shop.id, first)
    queue: list[tuple[datetime, int, int, str]] = [(r.arrival, 1, i, "arrive") for i, r in enumerate(requests)]
    day = datetime.combine(first.date() + timedelta(days=1), time(0), UTC)
    while day <= requests[-1].arrival:
        queue.append((day, 0, -1, "sweep"))
        day += timedelta(days=1)
    heapq.heapify(queue)
    while queue:
        at, _, i, kind = heapq.heappop(queue)
        clock.set(at)
        if kind == "sweep":
            await app.booking.expire_holds(at)
        elif kind == "arrive":
            outcome = outcomes[i]
            await serve(app, outcome, shops[outcome.request.shop_id], policy_name, at)
            appt = outcome.appointment
            if appt is not None and outcome.request.cancels:
                heapq.heappush(queue, (at + (appt.start - at) * outcome.request.cancel_at, 2, i, "cancel"))
        else:
            outcome = outcomes[i]
            assert outcome.appointment is not None
            await app.booking.cancel(outcome.appointment.id, reason="customer cancelled (simulated)", now=at)
            outcome.cancelled_at = at
    return outcomes


# -- running --------------------------------------------------------------------------------------


async def fresh_database(server: str, data: ShopData) -> str:
    """A new, migrated database on ``server`` holding ``data``; its URL."""
    from urllib.parse import urlsplit, urlunsplit

    from store.database import connect, migrate
    from store.shop_loader import load_shops

    name = f"sim_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = urlunsplit(urlsplit(server)._replace(path="/" + name))
    await migrate(url)
    conn = await connect(url)
    try:
        await load_shops(conn, data)
    finally:
        await conn.close()
    return url


async def drop_database(server: str, url: str) -> None:
    from urllib.parse import urlsplit

    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{urlsplit(url).path.lstrip("/")}" WITH (FORCE)')
    finally:
        await admin.close()


async def run_policy(
    server: str,
    data: ShopData,
    days: Sequence[date],
    requests: Sequence[Request],
    policy_name: str,
    base: SchedulingPolicy | None = None,
    weights: Weights | None = None,
) -> tuple[dict[str, float | None], dict[str, int], float]:
    """One policy on one scenario, on a fresh database and a fresh Ray namespace: figures, checks, seconds."""
    from store.database import create_pool

    url = await fresh_database(server, data)
    pool = await create_pool(url, min_size=2, max_size=16)
    clock = ManualClock(requests[0].arrival if requests else datetime.combine(days[0], time(0), UTC))
    app, directory = application(policy_name, pool, url, clock, f"sim-{uuid.uuid4().hex[:8]}", base, weights)
    try:
        t0 = wall.perf_counter()
        outcomes = await simulate(app, clock, data, requests, policy_name)
        elapsed = wall.perf_counter() - t0
        f = figures(outcomes, data, days)
        return f, await database_checks(pool), elapsed
    finally:
        await directory.shutdown()
        await pool.close()
        await drop_database(server, url)


def start_runtime() -> str:
    """A local Ray (2 CPUs, no dashboard) and the PostgreSQL server to make databases on: its URL."""
    import ray

    from store.database import normalize_dsn

    server = os.environ.get("DATABASE_URL")
    if not server:
        from store.embedded import start_embedded_postgres

        server = start_embedded_postgres(ROOT / ".data" / "bench")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        namespace="bench-simulate",
        runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}},
    )
    return normalize_dsn(server)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shops", help="a shop file (YAML/JSON); default: the demo chain")
    parser.add_argument("--weeks", type=float, default=None, help="simulated weeks (default 4; 1 with --quick)")
    parser.add_argument(
        "--per-day",
        type=float,
        default=None,
        help="arrivals per shop per working day (default: derived from each scenario's load)",
    )
    parser.add_argument(
        "--scenarios",
        default=None,
        help="comma-separated of normal, peak, overload (default all three; normal with --quick)",
    )
    parser.add_argument(
        "--policy",
        choices=(SERVICE, FIRST_FIT, NO_REASSIGNMENT, "both", "all"),
        default="both",
        help=f"both: {SERVICE} and {FIRST_FIT}; all: also {NO_REASSIGNMENT} (the service without book by reassignment)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", type=date.fromisoformat, default=START, help=f"first simulated day ({START})")
    parser.add_argument("--cancel-rate", type=float, default=CANCEL_RATE)
    parser.add_argument("--no-show-rate", type=float, default=NO_SHOW_RATE)
    parser.add_argument(
        "--lead-days",
        type=int,
        default=LEAD_DAYS,
        help=f"days of arrivals before and after the measured weeks, not measured ({LEAD_DAYS})",
    )
    parser.add_argument("--quick", action="store_true", help="1 week, the normal scenario")
    args = parser.parse_args()
    weeks = args.weeks if args.weeks is not None else (1 if args.quick else 4)
    scenarios = (args.scenarios or ("normal" if args.quick else ",".join(SCENARIOS))).split(",")
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {', '.join(unknown)}; expected {', '.join(SCENARIOS)}")
    if args.per_day is not None:
        scenarios = [f"per-day {args.per_day:g}"]
    policies = {"both": POLICIES, "all": (*POLICIES, NO_REASSIGNMENT)}.get(args.policy, (args.policy,))

    import ray

    server = start_runtime()
    data = load_shop_data(args.shops)
    days = simulated_days(args.start, weeks)
    started = wall.perf_counter()
    try:
        print(
            f"machine: {os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
            f"{len(data.shops)} shops ({', '.join(s.id for s in data.shops)}), {weeks:g} weeks measured from "
            f"{days[0]} ({len(days)} days; arrivals also {args.lead_days} days before and after), seed {args.seed}, "
            f"policies {', '.join(policies)}"
        )
        for shop in data.shops:
            offer = offered_services(data, shop)
            print(
                f"  {shop.id}: {sum(technician_hours(data, shop, days).values()):.0f} technician hours over "
                f"{len(open_days(shop, days))} open days; mix mean job {mean_job_hours(offer):.2f} h; service "
                "types " + "; ".join(f"{c.value}: {', '.join(st.code for st in offer.get(c, []))}" for c, _, _ in MIX)
            )
        for scenario in scenarios:
            if scenario in SCENARIOS:
                per_day = per_day_for_load(data, days, SCENARIOS[scenario])
                chosen = f"{SCENARIOS[scenario]:.0%} of technician hours requested -> --per-day "
            else:
                per_day = {s.id: float(args.per_day) for s in data.shops}
                chosen = "--per-day "
            requests = generate_demand(
                data,
                days,
                per_day,
                args.seed,
                lead_days=args.lead_days,
                cancel_rate=args.cancel_rate,
                no_show_rate=args.no_show_rate,
            )
            print(f"\n== scenario {scenario}: {chosen}{', '.join(f'{s} {v:.1f}' for s, v in per_day.items())}")
            print(f"   {describe_demand(data, days, requests)}")
            results: dict[str, dict[str, float | None]] = {}
            for policy_name in policies:
                f, checks, seconds = await run_policy(server, data, days, requests, policy_name)
                results[policy_name] = f
                booked_live = int(f["all.live"] or 0)
                print(
                    f"   {policy_name}: {seconds:.0f} s simulated run; database: double bookings technician "
                    f"{checks['overlaps.technician']} / bay {checks['overlaps.bay']} / vehicle "
                    f"{checks['overlaps.vehicle']}; live rows {checks['live_rows']} "
                    f"({'agree' if checks['live_rows'] == booked_live else f'expected {booked_live}'}), "
                    f"cancelled {checks['cancelled_rows']} (of every request, lead-in and lead-out too)"
                )
            print()
            print_table(data, results)
            print()
            print_targets(scenario, results)
        print(
            f"\nwall time {wall.perf_counter() - started:.0f} s; load average "
            f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
    finally:
        ray.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
