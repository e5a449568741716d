"""An independent checker of one slot against every hard constraint.

Deliberately written without ``solver.constraints``: it reads the problem's
raw data and tests the slot directly, so a bug in candidate generation cannot
hide itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from math import floor

from solver.day_routes import DayRoutingProblem
from solver.problem import SlotProblem
from solver.reassign import ReassignPlan, ReassignProblem
from solver.routing import RoutingProblem


def _inside(spans: tuple[tuple[int, int], ...], start: int, end: int) -> bool:
    return any(lo <= start and end <= hi for lo, hi in spans)


def _day(problem: SlotProblem, minute: int) -> int:
    return max((i for i, s in enumerate(problem.day_starts) if s <= minute), default=0)


def violations(problem: SlotProblem, technician_id: str, bay_id: str | None, start: int) -> list[str]:
    """Codes of the hard constraints the slot breaks (empty when feasible)."""
    end = start + problem.duration
    found: list[str] = []
    tech = next((t for t in problem.technicians if t.id == technician_id), None)
    if tech is None:
        return ["unknown_technician"]
    if start % problem.step:
        found.append("off_grid")
    if start < problem.earliest or end > problem.horizon_end:
        found.append("outside_horizon")
    if problem.parts_ready is not None and start < problem.parts_ready:
        found.append("parts_lead_time")
    if not tech.skilled:
        found.append("missing_skill")
    if not _inside(tech.free, start, end):
        found.append("technician_not_free")
    day = _day(problem, start)
    if tech.jobs_per_day[day] >= tech.daily_cap:
        found.append("daily_cap")
    now = problem.clock
    for reserve in problem.reserves:
        # Positioned: no overlap with a held block, buffer included. Volume: the day's job minutes
        # stay within (1 - share) of its working minutes while the reserve holds that day.
        if reserve.positioned:
            hit = any(
                start < hi + problem.buffer
                and lo - problem.buffer < end
                and now < problem.day_starts[_day(problem, lo)] - reserve.release
                for lo, hi in tech.reserved
            )
        else:
            hit = (
                bool(tech.working_minutes)
                and now < problem.day_starts[day] - reserve.release
                and tech.booked_minutes[day] + problem.duration
                > floor(tech.working_minutes[day] * (1.0 - reserve.share) + 1e-9)
            )
        if hit:
            found.append(reserve.code)
            break
    if problem.needs_bay:
        bay = next((b for b in problem.bays if b.id == bay_id), None)
        if bay is None:
            found.append("no_bay")
        else:
            if not bay.equipped:
                found.append("missing_equipment")
            if not _inside(bay.free, start, end):
                found.append("bay_not_free")
    else:
        for visit in tech.visits:
            if start < visit.span[1] + visit.travel and visit.span[0] - visit.travel < end:
                found.append("travel_time")
                break
    return found


def plan_violations(problem: ReassignProblem, plan: ReassignPlan) -> list[str]:
    """Codes of the rules a reassignment plan breaks (empty when it keeps every one).

    Rebuilds the day from the plan: every booked job where the plan puts it
    (at its own time), the new job at ``plan.start``, and the fixed time, then
    checks skills, equipment, working and opening hours, the buffer between a
    technician's jobs, no bay double-booked, and the daily cap.
    """
    found: list[str] = []
    moves = {m.job_id: m for m in plan.moves}
    techs = {t.id: t for t in problem.technicians}
    bays = {b.id: b for b in problem.bays}
    new = (plan.start, plan.start + problem.duration)
    if plan.start not in problem.starts:
        found.append("new_job_start")
    if plan.technician not in problem.skilled:
        found.append("missing_skill")
    if plan.bay not in problem.equipped:
        found.append("missing_equipment")
    per_tech: dict[str, list[tuple[int, int]]] = {t: list(p.fixed) for t, p in techs.items()}
    per_bay: dict[str, list[tuple[int, int]]] = {b: list(p.fixed) for b, p in bays.items()}
    per_tech.setdefault(plan.technician, []).append(new)
    per_bay.setdefault(plan.bay, []).append(new)
    jobs_on = {t: p.fixed_jobs for t, p in techs.items()}
    jobs_on[plan.technician] = jobs_on.get(plan.technician, 0) + 1
    in_hours = [(plan.technician, techs, new), (plan.bay, bays, new)]
    for job in problem.jobs:
        move = moves.get(job.id)
        tech, bay = (move.technician_to, move.bay_to) if move else (job.technician, job.bay)
        if move and (move.technician_from, move.bay_from) != (job.technician, job.bay):
            found.append("move_from_elsewhere")
        if move and tech != job.technician and tech not in job.technicians:
            found.append("missing_skill")
        if move and bay != job.bay and bay not in job.bays:
            found.append("missing_equipment")
        per_tech.setdefault(tech, []).append(job.span)
        per_bay.setdefault(bay, []).append(job.span)
        jobs_on[tech] = jobs_on.get(tech, 0) + 1
        if move:
            in_hours += [(tech, techs, job.span), (bay, bays, job.span)]
    for place_id, places, (lo, hi) in in_hours:
        place = places.get(place_id)
        if place is None or not _inside(place.working, lo, hi):
            found.append("outside_working_hours")
    for spans in per_tech.values():
        ordered = sorted(spans)
        if any(b_lo < a_hi + problem.buffer for (_, a_hi), (b_lo, _) in pairwise(ordered)):
            found.append("technician_overlap")
    for spans in per_bay.values():
        ordered = sorted(spans)
        if any(b_lo < a_hi for (_, a_hi), (b_lo, _) in pairwise(ordered)):
            found.append("bay_overlap")
    if any(n > problem.cap for t, n in jobs_on.items() if t in techs):
        found.append("daily_cap")
    return sorted(set(found))


def route_violations(problem: RoutingProblem, routes: Sequence[Sequence[int]]) -> list[str]:
    """Codes of the rules a set of routes breaks (empty when every stop is served once, in time, within capacity).

    Replays each route from the depot's opening: travel, wait for the stop's window to open, serve,
    go on; then back to the depot before it closes. At most ``vehicles`` routes.
    """
    found: list[str] = []
    n = len(problem.travel)
    seen = [stop for route in routes for stop in route]
    if sorted(seen) != list(range(1, n)):
        found.append("stops_not_served_exactly_once")
    if sum(1 for route in routes if route) > problem.vehicles:
        found.append("too_many_vehicles")
    opens, closes = problem.windows[0]
    for route in routes:
        if sum(problem.demand[s] for s in route if 0 < s < n) > problem.capacity:
            found.append("capacity")
        clock, here = opens, 0
        for stop in route:
            if not 0 < stop < n:
                continue
            clock = max(clock + problem.travel[here][stop], problem.windows[stop][0])
            if clock > problem.windows[stop][1]:
                found.append("late")
            clock += problem.service[stop]
            here = stop
        if clock + problem.travel[here][0] > closes:
            found.append("back_after_closing")
    return sorted(set(found))


def day_route_violations(problem: DayRoutingProblem, routes: Sequence[Sequence[tuple[int, int]]]) -> list[str]:
    """Codes of the rules a plan breaks; empty when it keeps every window, every van's hours and every limit.

    Independent of the solver: replays each van's route with the travel table.
    """
    found: list[str] = []
    seen = sorted(i for route in routes for i, _ in route)
    if seen != list(range(len(problem.visits))):
        found.append("visits_not_planned_exactly_once")
    if len(routes) != len(problem.vans):
        return [*found, "wrong_number_of_routes"]
    for van_index, (van, route) in enumerate(zip(problem.vans, routes, strict=True)):
        if len(route) > van.max_visits:
            found.append("daily_cap")
        clock, here = van.opens, van.start_place
        for n, (i, start) in enumerate(route):
            visit = problem.visits[i]
            if van_index not in visit.vans:
                found.append("van_cannot_serve")
            if start < clock + problem.travel[here][visit.place] + (problem.buffer if n else 0):
                found.append("no_time_to_drive")
            if not visit.earliest <= start <= visit.latest:
                found.append("outside_arrival_window")
            clock, here = start + visit.service, visit.place
        if clock + problem.travel[here][van.end_place] > van.closes:
            found.append("back_after_hours")
    return sorted(set(found))
