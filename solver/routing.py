"""Vehicle routing with time windows: the optimizer behind mobile-service routes (issue 17).

A plain problem in, plain routes out: one depot (index 0, its window is the
day), stops with a demand, a time window and a service time, identical
vehicles with a capacity, and an integer travel matrix that is both time and
distance (the caller scales it). ``solve_routes`` minimizes total travel with
PyVRP's iterated local search (chosen by measurement on the public Solomon
instances, ``bench/routing.py``: see the README); ``solver.checker.route_violations``
re-checks any answer without this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

Window = tuple[int, int]


@dataclass(frozen=True, slots=True)
class RoutingProblem:
    """Index 0 is the depot; ``travel[i][j]`` is the time (and distance) from ``i`` to ``j``."""

    travel: tuple[tuple[int, ...], ...]
    windows: tuple[Window, ...]
    """When service may start at each stop (the depot's: leave no earlier, return no later)."""
    service: tuple[int, ...]
    demand: tuple[int, ...]
    vehicles: int
    capacity: int

    def __post_init__(self) -> None:
        n = len(self.travel)
        if not (len(self.windows) == len(self.service) == len(self.demand) == n) or any(
            len(r) != n for r in self.travel
        ):
            raise ValueError("travel, windows, service and demand must all cover the depot and every stop")
        if self.vehicles < 1:
            raise ValueError("at least one vehicle")


@dataclass(frozen=True, slots=True)
class RoutingSolution:
    """Each route's stops in order (depot excluded) and the total travel."""

    routes: tuple[tuple[int, ...], ...]
    distance: int
    feasible: bool


def solve_routes(problem: RoutingProblem, seconds: float, seed: int = 1) -> RoutingSolution:
    """The shortest set of routes found in ``seconds`` (every stop visited once when feasible)."""
    from pyvrp import Model
    from pyvrp.stop import MaxRuntime

    m = Model()
    # PyVRP keys edges by location; coordinates are only for its own geometry heuristics, so the
    # matrix decides and each location gets a dummy position.
    locations = [m.add_location(x=float(i), y=0.0) for i in range(len(problem.travel))]
    early, late = problem.windows[0]
    depot = m.add_depot(locations[0], tw_early=early, tw_late=late)
    m.add_vehicle_type(
        num_available=problem.vehicles,
        capacity=problem.capacity,
        start_depot=depot,
        end_depot=depot,
        tw_early=early,
        tw_late=late,
    )
    for i in range(1, len(problem.travel)):
        lo, hi = problem.windows[i]
        m.add_client(
            locations[i], delivery=problem.demand[i], service_duration=problem.service[i], tw_early=lo, tw_late=hi
        )
    for i, row in enumerate(problem.travel):
        for j, t in enumerate(row):
            if i != j:
                m.add_edge(locations[i], locations[j], distance=t, duration=t)
    result = m.solve(stop=MaxRuntime(seconds), seed=seed, display=False, collect_stats=False)
    # a client activity's idx counts clients from 0; stops count from 1 (0 is the depot)
    routes = tuple(tuple(int(a.idx) + 1 for a in route if a.is_client()) for route in result.best.routes())
    return RoutingSolution(routes=routes, distance=int(result.best.distance()), feasible=bool(result.is_feasible()))


def route_distance(problem: RoutingProblem, routes: Sequence[Sequence[int]]) -> int:
    """Total travel of ``routes``, each from the depot and back."""
    total = 0
    for route in routes:
        stops = [0, *route, 0]
        total += sum(problem.travel[a][b] for a, b in pairwise(stops))
    return total
