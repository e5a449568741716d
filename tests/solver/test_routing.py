"""The route optimizer (solver.routing) and its independent checker (solver.checker.route_violations)."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solver.checker import route_violations
from solver.routing import RoutingProblem, route_distance, solve_routes


def line(windows: list[tuple[int, int]], *, vehicles: int = 2, capacity: int = 10, service: int = 5) -> RoutingProblem:
    """Stops on a line at 10, 20, 30 ... from the depot at 0."""
    xs = [0] + [10 * (i + 1) for i in range(len(windows) - 1)]
    return RoutingProblem(
        travel=tuple(tuple(abs(a - b) for b in xs) for a in xs),
        windows=tuple(windows),
        service=(0,) + (service,) * (len(xs) - 1),
        demand=(0,) + (1,) * (len(xs) - 1),
        vehicles=vehicles,
        capacity=capacity,
    )


def test_one_vehicle_drives_out_and_back_when_the_windows_allow() -> None:
    p = line([(0, 1000), (0, 1000), (0, 1000), (0, 1000)])
    s = solve_routes(p, 0.3)
    assert s.feasible and [r for r in s.routes if r] in ([(1, 2, 3)], [(3, 2, 1)])
    assert route_distance(p, [r for r in s.routes if r]) == 60
    assert route_violations(p, s.routes) == []


def test_time_windows_force_the_order_and_a_second_vehicle() -> None:
    # Stop 3 (at 30) must be served by 35, stop 1 (at 10) not before 100: one vehicle cannot do both in order.
    p = line([(0, 200), (100, 120), (0, 1000), (0, 35)])
    s = solve_routes(p, 0.3)
    routes = [r for r in s.routes if r]
    assert s.feasible and route_violations(p, routes) == []
    assert any(r[0] == 3 for r in routes)  # the urgent far stop is served first on its route


def test_the_checker_names_each_broken_rule() -> None:
    p = line([(0, 100), (0, 100), (0, 100), (0, 35)], vehicles=1, capacity=2)
    # 1, 2, 3: three stops for a capacity of 2, and stop 3 reached at 40 when its window closed at 35
    assert route_violations(p, [(1, 2, 3)]) == ["capacity", "late"]
    assert route_violations(p, [(1, 2)]) == ["stops_not_served_exactly_once"]
    assert route_violations(p, [(3,), (1,), (2,)]) == ["too_many_vehicles"]
    short_day = line([(0, 50), (0, 100), (0, 100), (0, 100)], vehicles=1)
    assert route_violations(short_day, [(1, 2, 3)]) == ["back_after_closing"]  # back at 75


@st.composite
def instances(draw: st.DrawFn) -> RoutingProblem:
    n = draw(st.integers(2, 9))
    xy = [(0, 0)] + [(draw(st.integers(-50, 50)), draw(st.integers(-50, 50))) for _ in range(n)]
    travel = tuple(tuple(math.floor(math.dist(a, b)) for b in xy) for a in xy)
    windows = [(0, 1000)]
    for i in range(1, n + 1):
        lo = draw(st.integers(0, 600))
        windows.append((lo, lo + draw(st.integers(travel[0][i] + 20, 400))))
    return RoutingProblem(
        travel=travel,
        windows=tuple(windows),
        service=(0, *(draw(st.integers(0, 30)) for _ in range(n))),
        demand=(0, *(draw(st.integers(1, 5)) for _ in range(n))),
        vehicles=n,
        capacity=draw(st.integers(5, 20)),
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_every_solution_it_calls_feasible_passes_the_checker(problem: RoutingProblem) -> None:
    # One vehicle per stop, each window long enough to reach from the depot: always feasible.
    solution = solve_routes(problem, 0.1)
    assert solution.feasible
    assert route_violations(problem, solution.routes) == []
    assert solution.distance == route_distance(problem, [r for r in solution.routes if r])
