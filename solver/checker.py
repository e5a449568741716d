"""An independent checker of one slot against every hard constraint.

Deliberately written without ``solver.constraints``: it reads the problem's
raw data and tests the slot directly, so a bug in candidate generation cannot
hide itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from math import floor

from solver.batch import BatchAssignment, BatchProblem
from solver.problem import SlotProblem
from solver.reassign import ReassignPlan, ReassignProblem


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


def batch_violations(problem: BatchProblem, assignments: Sequence[BatchAssignment]) -> list[str]:
    """``job_id: code`` for every hard constraint a batch placement breaks (empty when feasible).

    Checks each assignment against the raw data (eligible technician and bay,
    on the grid, not before the job's earliest start, inside one free window
    of the technician and of the bay), and the placement as a whole: no two
    new jobs of one technician closer than the buffer, none overlapping in a
    bay, each technician's daily cap, each job at most once.
    """
    jobs = {j.id: j for j in problem.jobs}
    techs = {t.id: t for t in problem.technicians}
    bays = {b.id: b for b in problem.bays}
    found: list[str] = []
    per_tech: dict[str, list[tuple[int, int, str]]] = {}
    per_bay: dict[str, list[tuple[int, int, str]]] = {}
    seen: set[str] = set()
    for a in assignments:
        job, tech, bay = jobs.get(a.job_id), techs.get(a.technician_id), bays.get(a.bay_id)
        if job is None or tech is None or bay is None:
            found.append(f"{a.job_id}: unknown_job_technician_or_bay")
            continue
        if a.job_id in seen:
            found.append(f"{a.job_id}: placed_twice")
        seen.add(a.job_id)
        if a.end - a.start != job.duration:
            found.append(f"{a.job_id}: wrong_duration")
        if a.start % problem.step:
            found.append(f"{a.job_id}: off_grid")
        if a.start < job.earliest or a.end > problem.horizon_end:
            found.append(f"{a.job_id}: outside_horizon")
        if not tech.skilled or (job.technicians is not None and tech.id not in job.technicians):
            found.append(f"{a.job_id}: missing_skill")
        if not bay.equipped or (job.bays is not None and bay.id not in job.bays):
            found.append(f"{a.job_id}: missing_equipment")
        if not _inside(tech.free, a.start, a.end):
            found.append(f"{a.job_id}: technician_not_free")
        if not _inside(bay.free, a.start, a.end):
            found.append(f"{a.job_id}: bay_not_free")
        per_tech.setdefault(tech.id, []).append((a.start, a.end, a.job_id))
        per_bay.setdefault(bay.id, []).append((a.start, a.end, a.job_id))
    for tech_id, spans in per_tech.items():
        spans.sort()
        for (_, end, _), (start, _, job_id) in pairwise(spans):
            if start < end + problem.buffer:
                found.append(f"{job_id}: technician_overlap")
        tech = techs[tech_id]
        for day, count in enumerate(tech.jobs_per_day):
            lo = problem.day_starts[day]
            hi = problem.day_starts[day + 1] if day + 1 < len(problem.day_starts) else problem.horizon_end
            new = sum(1 for start, _, _ in spans if lo <= start < hi)
            if new and count + new > tech.daily_cap:
                found.append(f"{tech_id}: daily_cap on day {day}")
    for spans in per_bay.values():
        spans.sort()
        for (_, end, _), (start, _, job_id) in pairwise(spans):
            if start < end:
                found.append(f"{job_id}: bay_overlap")
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
