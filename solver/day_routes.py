"""One shop-day of mobile routes re-planned inside promised arrival windows (issue 17, item 4).

Unlike ``solver.routing`` (identical vehicles from one depot, as in the
Solomon benchmark), a shop's vans differ: each starts where its technician
is (the base, or the site of the job they are on) at their own time, must be
back at the base by the end of their hours, may take at most a number of
visits (the daily cap), and may serve only the visits their skills and van
equipment allow. The same library (PyVRP) solves it: a vehicle type per van
with its own start and end depot and time window, and a routing profile per
van in which the visits it may not serve are out of reach (their edges take
longer than any day).

Plain data in, plain data out, in integer minutes. ``solver.checker.day_route_violations``
re-checks any plan without this module's solver.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

UNREACHABLE = 10**7
"""The duration of an edge into a visit a van may not serve: longer than any day, so no route takes it."""


@dataclass(frozen=True, slots=True)
class VanDay:
    """A van's day: it leaves ``start_place`` no earlier than ``opens`` and is at ``end_place`` by ``closes``."""

    start_place: int
    end_place: int
    opens: int
    closes: int
    max_visits: int


@dataclass(frozen=True, slots=True)
class VisitToPlan:
    """A visit: where, when its service may start (the promised window), how long it keeps the van, who may go."""

    place: int
    earliest: int
    latest: int
    service: int
    vans: frozenset[int]


@dataclass(frozen=True, slots=True)
class DayRoutingProblem:
    """``travel[a][b]``: minutes from place ``a`` to place ``b``; ``buffer``: minutes a technician keeps
    between two visits on top of the drive (``BUFFER_TIME_MINUTES``; not before the drive home)."""

    travel: tuple[tuple[int, ...], ...]
    vans: tuple[VanDay, ...]
    visits: tuple[VisitToPlan, ...]
    buffer: int = 0


@dataclass(frozen=True, slots=True)
class DayPlan:
    """Each van's visits in order, with their planned start minutes; the travel of the whole day."""

    routes: tuple[tuple[tuple[int, int], ...], ...]
    travel: int
    feasible: bool


def timed(problem: DayRoutingProblem, van: int, order: Sequence[int]) -> tuple[tuple[int, int], ...]:
    """``order``'s visits with the earliest start each can have (wait for the window to open, never earlier)."""
    v = problem.vans[van]
    clock, here, out = v.opens, v.start_place, []
    for n, i in enumerate(order):
        visit = problem.visits[i]
        gap = problem.travel[here][visit.place] + (problem.buffer if n else 0)
        clock = max(clock + gap, visit.earliest)
        out.append((i, clock))
        clock += visit.service
        here = visit.place
    return tuple(out)


def plan_travel(problem: DayRoutingProblem, routes: Sequence[Sequence[tuple[int, int]]]) -> int:
    """Total minutes driven by ``routes`` (from each van's start, back to its base)."""
    total = 0
    for van, route in zip(problem.vans, routes, strict=True):
        places = [van.start_place, *(problem.visits[i].place for i, _ in route), van.end_place]
        total += sum(problem.travel[a][b] for a, b in pairwise(places))
    return total


def solve_day_routes(problem: DayRoutingProblem, seconds: float, seed: int = 1) -> DayPlan:
    """The least-travel plan found in ``seconds``; ``feasible`` False when none keeps every rule."""
    if not problem.visits:
        return DayPlan(tuple(() for _ in problem.vans), 0, True)
    from pyvrp import Model
    from pyvrp.stop import MaxRuntime

    m = Model()
    n_places = len(problem.travel)
    places = [m.add_location(x=float(i), y=0.0) for i in range(n_places)]
    depots = {}
    for p in sorted({v.start_place for v in problem.vans} | {v.end_place for v in problem.vans}):
        depots[p] = m.add_depot(places[p])
    # A visit is its own location (two visits may share a place): locations after the places.
    visit_locations = [m.add_location(x=float(n_places + i), y=0.0) for i in range(len(problem.visits))]
    for loc, visit in zip(visit_locations, problem.visits, strict=True):
        m.add_client(loc, delivery=[1], service_duration=visit.service, tw_early=visit.earliest, tw_late=visit.latest)
    profiles = [m.add_profile() for _ in problem.vans]
    for van, profile in zip(problem.vans, profiles, strict=True):
        m.add_vehicle_type(
            num_available=1,
            capacity=[van.max_visits],
            start_depot=depots[van.start_place],
            end_depot=depots[van.end_place],
            tw_early=van.opens,
            tw_late=van.closes,
            profile=profile,
        )
    where = [*range(n_places), *(v.place for v in problem.visits)]
    everything = [*places, *visit_locations]
    for van_index, profile in enumerate(profiles):
        for a, frm in enumerate(everything):
            for b, to in enumerate(everything):
                if a == b:
                    continue
                minutes = problem.travel[where[a]][where[b]]
                barred = b >= n_places and van_index not in problem.visits[b - n_places].vans
                # between two visits the technician also keeps the buffer (time, not distance)
                gap = minutes + (problem.buffer if a >= n_places and b >= n_places else 0)
                m.add_edge(frm, to, distance=minutes, duration=UNREACHABLE if barred else gap, profile=profile)
    with warnings.catch_warnings():
        # PyVRP warns when its penalties max out on an instance with no feasible plan; ``feasible`` says so.
        warnings.simplefilter("ignore")
        result = m.solve(stop=MaxRuntime(seconds), seed=seed, display=False, collect_stats=False)
    # One vehicle per type (van); a client activity's idx counts the visits from 0.
    orders: list[list[int]] = [[] for _ in problem.vans]
    for route in result.best.routes():
        orders[route.vehicle_type()] = [int(a.idx) for a in route if a.is_client()]
    routes = tuple(timed(problem, van, order) for van, order in enumerate(orders))
    feasible = bool(result.is_feasible())
    return DayPlan(routes, plan_travel(problem, routes), feasible)
