"""Re-planning a day never breaks a promised window, a technician's hours, the cap or who may go where.

Hypothesis draws days that have a feasible plan (visits laid out along each van's day first, their arrival
windows drawn around the times they got); the optimizer's answer is replayed by the independent checker.
"""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solver.checker import day_route_violations
from solver.day_routes import DayRoutingProblem, VanDay, VisitToPlan, plan_travel, solve_day_routes, timed


@st.composite
def days(draw: st.DrawFn) -> tuple[DayRoutingProblem, list[list[tuple[int, int]]]]:
    n_places = draw(st.integers(3, 8))
    points = [(draw(st.integers(0, 40)), draw(st.integers(0, 40))) for _ in range(n_places)]
    travel = tuple(tuple(math.ceil(math.dist(a, b)) for b in points) for a in points)
    buffer = draw(st.sampled_from([0, 15]))
    vans, visits, current = [], [], []
    for _ in range(draw(st.integers(1, 3))):
        opens = draw(st.sampled_from([420, 480, 540]))
        closes = opens + draw(st.sampled_from([480, 540, 600]))
        clock, here, route = opens, 0, []
        for n in range(draw(st.integers(0, 4))):
            place = draw(st.integers(1, n_places - 1))
            service = draw(st.sampled_from([60, 90, 120]))
            start = clock + travel[here][place] + (buffer if n else 0) + draw(st.sampled_from([0, 15, 45]))
            if start + service + travel[place][0] > closes:
                break
            window_start = start - start % 120
            visits.append(VisitToPlan(place, window_start, window_start + 119, service, frozenset()))
            route.append((len(visits) - 1, start))
            clock, here = start + service, place
        vans.append(VanDay(0, 0, opens, closes, max(len(route), draw(st.integers(2, 6)))))
        current.append(route)
    # who may go where: the van that has the visit now, and others drawn
    may = [{v for v, route in enumerate(current) if any(i == j for j, _ in route)} for i in range(len(visits))]
    for i in range(len(visits)):
        may[i] |= set(draw(st.sets(st.integers(0, len(vans) - 1))))
    visits = [VisitToPlan(x.place, x.earliest, x.latest, x.service, frozenset(may[i])) for i, x in enumerate(visits)]
    return DayRoutingProblem(travel, tuple(vans), tuple(visits), buffer), current


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(days())
def test_a_replanned_day_keeps_every_window_hours_cap_and_van(day: tuple[DayRoutingProblem, list]) -> None:
    problem, current = day
    assert day_route_violations(problem, current) == []  # the drawn day is a feasible plan to start from
    plan = solve_day_routes(problem, seconds=0.2)
    if plan.feasible:
        assert day_route_violations(problem, plan.routes) == []
        assert plan.travel == plan_travel(problem, plan.routes)
    # the optimizer's own replay of the current order is feasible too: the application compares against it
    for v, route in enumerate(current):
        assert [i for i, _ in timed(problem, v, [i for i, _ in route])] == [i for i, _ in route]


def test_travel_is_respected_at_both_ends_of_the_day_on_a_tiny_instance() -> None:
    # base 0; one visit 60 minutes away, window 08:00-10:00, the van's day 08:00-17:00
    travel = ((0, 60), (60, 0))
    problem = DayRoutingProblem(
        travel, (VanDay(0, 0, 480, 1020, 4),), (VisitToPlan(1, 480, 599, 60, frozenset({0})),), 0
    )
    plan = solve_day_routes(problem, seconds=0.1)
    assert plan.feasible and plan.routes == (((0, 540),),)  # leaves at 08:00, arrives 09:00
    late = DayRoutingProblem(travel, (VanDay(0, 0, 480, 1020, 4),), (VisitToPlan(1, 900, 919, 60, frozenset({0})),), 0)
    assert day_route_violations(late, [[(0, 910)]]) == ["back_after_hours"]  # 16:10 + 1 h + 1 h home > 17:00
    assert day_route_violations(problem, [[(0, 500)]]) == ["no_time_to_drive"]  # 08:20: not there yet
