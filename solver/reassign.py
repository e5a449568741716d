"""Make room on one shop-day by reassigning booked jobs: CP-SAT over who does each job and where.

Every booked job keeps its start and end, so its customer never sees the
change; only its technician and bay may change, among those that may do it
(skill, working hours, equipment, opening hours). The new job picks a start
from its candidates, a skilled technician and an equipped bay. Technicians
keep ``buffer`` minutes between jobs and at most ``cap`` jobs that day; time
that cannot move (started jobs, holds, other work) is ``fixed``.

Objective, lexicographic: the new job's start first (earlier is better), then
the number of booked jobs that change technician or bay. Plain data in, a
``ReassignPlan`` out; ``solver.checker.plan_violations`` re-checks any plan
without this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ortools.sat.python import cp_model

from solver.spans import Span

DEFAULT_TIME_LIMIT_S = 1.0


@dataclass(frozen=True, slots=True)
class Place:
    """A technician or bay on the day: when it may hold jobs, and its time that does not move."""

    id: str
    working: tuple[Span, ...]
    fixed: tuple[Span, ...] = ()
    fixed_jobs: int = 0
    """Jobs on this technician's day that do not move (they count towards the cap)."""


@dataclass(frozen=True, slots=True)
class BookedJob:
    """A booked job that has not started: it may change technician and bay, never its time."""

    id: str
    span: Span
    technician: str
    bay: str
    technicians: tuple[str, ...]
    """Who may do it (skill); working hours are checked here."""
    bays: tuple[str, ...]
    """Where it may go (equipment); opening hours are checked here."""


@dataclass(frozen=True, slots=True)
class ReassignProblem:
    """One shop-day: the new job, the booked jobs that may move, and every technician and bay."""

    duration: int
    starts: tuple[int, ...]
    """Candidate starts of the new job, in minutes, ascending."""
    skilled: frozenset[str]
    equipped: frozenset[str]
    technicians: tuple[Place, ...]
    bays: tuple[Place, ...]
    jobs: tuple[BookedJob, ...]
    buffer: int = 0
    cap: int = 6


@dataclass(frozen=True, slots=True)
class Move:
    """One booked job's new technician and bay (its time stays)."""

    job_id: str
    technician_from: str
    technician_to: str
    bay_from: str
    bay_to: str


@dataclass(frozen=True, slots=True)
class ReassignPlan:
    """Where the new job goes and which booked jobs move to make room."""

    start: int
    technician: str
    bay: str
    moves: tuple[Move, ...]
    optimal: bool


def _inside(spans: Sequence[Span], lo: int, hi: int) -> bool:
    return any(a <= lo and hi <= b for a, b in spans)


def _fits(place: Place, lo: int, hi: int, tail: int) -> bool:
    """Inside working time and clear of the fixed time (with ``tail`` after each side's end)."""
    return _inside(place.working, lo, hi) and all(hi + tail <= a or b + tail <= lo for a, b in place.fixed)


def solve_reassignment(problem: ReassignProblem, time_limit_s: float = DEFAULT_TIME_LIMIT_S) -> ReassignPlan | None:
    """The best plan, or None when no reassignment makes room (or none was found in time)."""
    if not problem.starts:
        return None
    m = cp_model.CpModel()
    techs = {t.id: t for t in problem.technicians}
    bays = {b.id: b for b in problem.bays}
    on_tech: dict[str, list[cp_model.IntervalVar]] = {t: [] for t in techs}
    on_bay: dict[str, list[cp_model.IntervalVar]] = {b: [] for b in bays}
    count: dict[str, list[cp_model.IntVar]] = {t: [] for t in techs}
    d, buf = problem.duration, problem.buffer

    # The new job: one (technician, start) and one (bay, start) choice, tied by the start.
    start = m.new_int_var_from_domain(cp_model.Domain.FromValues(list(problem.starts)), "start")
    tech_choice = []
    for tid in sorted(problem.skilled & techs.keys()):
        ok = [s for s in problem.starts if _inside(techs[tid].working, s, s + d)]
        if not ok:
            continue
        p = m.new_bool_var(f"new@{tid}")
        m.add_linear_expression_in_domain(start, cp_model.Domain.FromValues(ok)).only_enforce_if(p)
        on_tech[tid].append(m.new_optional_fixed_size_interval_var(start, d + buf, p, f"new@{tid}"))
        count[tid].append(p)
        tech_choice.append((tid, p))
    bay_choice = []
    for bid in sorted(problem.equipped & bays.keys()):
        ok = [s for s in problem.starts if _inside(bays[bid].working, s, s + d)]
        if not ok:
            continue
        q = m.new_bool_var(f"new@{bid}")
        m.add_linear_expression_in_domain(start, cp_model.Domain.FromValues(ok)).only_enforce_if(q)
        on_bay[bid].append(m.new_optional_fixed_size_interval_var(start, d, q, f"new@{bid}"))
        bay_choice.append((bid, q))
    if not tech_choice or not bay_choice:
        return None
    m.add_exactly_one(p for _, p in tech_choice)
    m.add_exactly_one(q for _, q in bay_choice)

    # The booked jobs: each keeps its time and takes one allowed technician and one allowed bay.
    moved = []
    job_tech: dict[str, list[tuple[str, cp_model.IntVar]]] = {}
    job_bay: dict[str, list[tuple[str, cp_model.IntVar]]] = {}
    for job in problem.jobs:
        lo, hi = job.span
        tech_options = [t for t in job.technicians if t in techs and _fits(techs[t], lo, hi, buf)]
        bay_options = [b for b in job.bays if b in bays and _fits(bays[b], lo, hi, 0)]
        if job.technician not in tech_options:
            tech_options.append(job.technician)  # where it is now stays possible (no worse than today)
        if job.bay not in bay_options:
            bay_options.append(job.bay)
        job_tech[job.id] = [(t, m.new_bool_var(f"{job.id}@{t}")) for t in tech_options]
        job_bay[job.id] = [(b, m.new_bool_var(f"{job.id}@{b}")) for b in bay_options]
        m.add_exactly_one(x for _, x in job_tech[job.id])
        m.add_exactly_one(y for _, y in job_bay[job.id])
        for t, x in job_tech[job.id]:
            if t in on_tech:
                on_tech[t].append(m.new_optional_fixed_size_interval_var(lo, hi - lo + buf, x, f"{job.id}@{t}"))
                count[t].append(x)
        for b, y in job_bay[job.id]:
            if b in on_bay:
                on_bay[b].append(m.new_optional_fixed_size_interval_var(lo, hi - lo, y, f"{job.id}@{b}"))
        changed = m.new_bool_var(f"{job.id}.moved")
        stays = [x for t, x in job_tech[job.id] if t == job.technician] + [
            y for b, y in job_bay[job.id] if b == job.bay
        ]
        # changed >= 1 - stays_on_tech and changed >= 1 - stays_on_bay
        for keep in stays:
            m.add(changed + keep >= 1)
        moved.append(changed)

    for tid, place in techs.items():
        fixed = [
            m.new_fixed_size_interval_var(a, b - a + buf, f"{tid}.fixed{i}") for i, (a, b) in enumerate(place.fixed)
        ]
        m.add_no_overlap(on_tech[tid] + fixed)
        if count[tid]:
            m.add(sum(count[tid]) + place.fixed_jobs <= problem.cap)
    for bid, place in bays.items():
        fixed = [m.new_fixed_size_interval_var(a, b - a, f"{bid}.fixed{i}") for i, (a, b) in enumerate(place.fixed)]
        m.add_no_overlap(on_bay[bid] + fixed)

    weight = len(problem.jobs) + 1  # one minute of delay outweighs every move
    m.minimize((start - problem.starts[0]) * weight + sum(moved))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = 1
    status = solver.solve(m)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    moves = []
    for job in problem.jobs:
        tech = next(t for t, x in job_tech[job.id] if solver.boolean_value(x))
        bay = next(b for b, y in job_bay[job.id] if solver.boolean_value(y))
        if (tech, bay) != (job.technician, job.bay):
            moves.append(Move(job.id, job.technician, tech, job.bay, bay))
    return ReassignPlan(
        start=solver.value(start),
        technician=next(t for t, p in tech_choice if solver.boolean_value(p)),
        bay=next(b for b, q in bay_choice if solver.boolean_value(q)),
        moves=tuple(moves),
        optimal=status == cp_model.OPTIMAL,
    )
