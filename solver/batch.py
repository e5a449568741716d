"""Batch mode: place many pending jobs of one shop over several days at once.

For auto-booking bursts and re-optimization. A job goes to one technician
and one bay on one local day (jobs never span days: every free window is cut
at day boundaries), as CP-SAT optional intervals sharing the job's start, on
the slot grid (integer *step* variables, 15 min by default, never minutes),
with NoOverlap per technician-day (job plus trailing buffer) and per
bay-day, and the daily cap per technician-day.

What makes the gap small in a second or two:

* **Joint domains.** An alternative (job, technician, day) only keeps the
  starts where the technician is free *and* some eligible bay is free too,
  and symmetrically for (job, bay, day); alternatives left empty are
  dropped, and a job with none is unplaced before CP-SAT sees it (its
  penalty is a constant, in the objective and the bound alike). So the LP
  knows each alternative's real earliest start.
* **Day variables.** ``sum_t x[j,t,d] = z[j,d] = sum_b y[j,b,d]`` and
  ``sum_d z[j,d] = placed[j]``: technician and bay of a job agree on the day
  in the LP, not only in the search.
* **Redundant cuts** from capacity: per technician-day the cap and the free
  minutes (plus one trailing buffer per free window) bound the jobs and
  their work; per bay-day and per day the bays' free minutes bound the
  work; each job's start lies between the first and last start of the
  alternatives it takes.
* **A greedy hint**: first fit by priority (``greedy_batch``), passed with
  ``add_hint``, so the search starts from a full feasible placement.
* **Objective**: urgency-weighted delay in steps from the job's earliest
  start, plus, per unplaced job, a penalty larger than any delay it could
  have (so placing a job always pays).

Blocking: run it in a Ray task or a thread, never on an event loop.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from solver.problem import BayFree, TechnicianFree
from solver.spans import Span, clip, long_enough_spans


@dataclass(frozen=True, slots=True)
class BatchJob:
    """A pending job: duration and earliest start in minutes, who may do it, where."""

    id: str
    duration: int
    urgency_weight: int
    earliest: int
    technicians: frozenset[str] | None = None
    """Ids of technicians with the skill (None: anyone skilled)."""
    bays: frozenset[str] | None = None
    """Ids of bays with the equipment (None: any equipped)."""


@dataclass(frozen=True, slots=True)
class BatchProblem:
    """Jobs to place in the free time of one shop's technicians and bays (minutes from an origin)."""

    day_starts: tuple[int, ...]
    horizon_end: int
    technicians: tuple[TechnicianFree, ...]
    bays: tuple[BayFree, ...]
    jobs: tuple[BatchJob, ...]
    buffer: int = 30
    step: int = 15

    def day_span(self, day: int) -> Span:
        end = self.day_starts[day + 1] if day + 1 < len(self.day_starts) else self.horizon_end
        return (self.day_starts[day], end)


@dataclass(frozen=True, slots=True)
class BatchAssignment:
    job_id: str
    technician_id: str
    bay_id: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class BatchResult:
    """The placement found, its objective, CP-SAT's bound and the relative gap between them."""

    status: str
    assignments: tuple[BatchAssignment, ...]
    unassigned: tuple[str, ...]
    objective: float | None
    bound: float | None

    @property
    def gap(self) -> float | None:
        """``(objective - bound) / objective``; 0 when proven optimal."""
        if self.objective is None or self.bound is None:
            return None
        return 0.0 if self.objective <= 0 else max(0.0, (self.objective - self.bound) / self.objective)


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def _step_ranges(windows: list[Span], duration: int, step: int) -> list[tuple[int, int]]:
    """Start steps ``[first, last]`` with the whole job (``duration`` minutes) inside one window."""
    out = []
    for lo, hi in long_enough_spans(windows, duration):
        first, last = _ceil(lo, step), (hi - duration) // step
        if first <= last:
            out.append((first, last))
    return out


def _domain(ranges: list[tuple[int, int]]) -> cp_model.Domain:
    return cp_model.Domain.from_intervals([[a, b] for a, b in ranges])


@dataclass(frozen=True, slots=True)
class _Alt:
    """One way to place a job: resource index ``r`` on day ``d`` with these start steps."""

    r: int
    d: int
    domain: cp_model.Domain


@dataclass(frozen=True, slots=True)
class _JobAlts:
    job: BatchJob
    first: int
    """The earliest allowed start step (delay is counted from here)."""
    techs: tuple[_Alt, ...]
    bays: tuple[_Alt, ...]


def _tech_ok(job: BatchJob, tech: TechnicianFree) -> bool:
    return tech.skilled and (job.technicians is None or tech.id in job.technicians)


def _bay_ok(job: BatchJob, bay: BayFree) -> bool:
    return bay.equipped and (job.bays is None or bay.id in job.bays)


def _alternatives(problem: BatchProblem, job: BatchJob) -> _JobAlts:
    """Every (technician, day) and (bay, day) with a start where both a technician and a bay fit."""
    step = problem.step
    first = _ceil(job.earliest, step)
    techs: list[_Alt] = []
    bays: list[_Alt] = []
    for d in range(len(problem.day_starts)):
        lo, hi = problem.day_span(d)
        lo = max(lo, job.earliest)
        tech_doms = [
            (t, _domain(_step_ranges(clip(tech.free, lo, hi), job.duration, step)))
            for t, tech in enumerate(problem.technicians)
            if _tech_ok(job, tech) and tech.jobs_per_day[d] < tech.daily_cap
        ]
        bay_doms = [
            (b, _domain(_step_ranges(clip(bay.free, lo, hi), job.duration, step)))
            for b, bay in enumerate(problem.bays)
            if _bay_ok(job, bay)
        ]
        any_tech, any_bay = cp_model.Domain.from_values([]), cp_model.Domain.from_values([])
        for _, dom in tech_doms:
            any_tech = any_tech.union_with(dom)
        for _, dom in bay_doms:
            any_bay = any_bay.union_with(dom)
        for t, dom in tech_doms:
            joint = dom.intersection_with(any_bay)
            if not joint.is_empty():
                techs.append(_Alt(t, d, joint))
        for b, dom in bay_doms:
            joint = dom.intersection_with(any_tech)
            if not joint.is_empty():
                bays.append(_Alt(b, d, joint))
    return _JobAlts(job, first, tuple(techs), tuple(bays))


def _penalty(problem: BatchProblem, alts: _JobAlts) -> int:
    """Steps of delay an unplaced job costs: more than the latest start it could take."""
    return _ceil(problem.horizon_end, problem.step) - alts.first + 1


# -- greedy -------------------------------------------------------------------------


_ORDERS: tuple[Callable[[BatchJob], tuple[int, int, int, str]], ...] = (
    lambda j: (-j.urgency_weight, j.earliest, -j.duration, j.id),
    lambda j: (j.earliest, -j.urgency_weight, -j.duration, j.id),
    lambda j: (-j.duration, -j.urgency_weight, j.earliest, j.id),
)
"""Priority orders first fit tries (urgent first; earliest first; longest first); the best one wins."""


def greedy_batch(problem: BatchProblem) -> BatchResult:
    """First fit by priority: each job, in priority order, at its earliest free start.

    Tries the orders of ``_ORDERS`` and keeps the cheapest placement. The
    hint of ``solve_batch`` and a baseline. Status ``greedy``; no bound.
    """
    every = [_alternatives(problem, j) for j in problem.jobs]
    placements = _best_greedy(problem, every)
    step = problem.step
    assignments: list[BatchAssignment] = []
    unassigned: list[str] = []
    for alts in every:
        job = alts.job
        placed = placements.get(job.id)
        if placed is None:
            unassigned.append(job.id)
            continue
        s, t, b = placed
        assignments.append(
            BatchAssignment(job.id, problem.technicians[t].id, problem.bays[b].id, s * step, s * step + job.duration)
        )
    objective = _greedy_cost(problem, every, placements)
    return BatchResult("greedy", tuple(assignments), tuple(unassigned), float(objective), None)


def _greedy_cost(problem: BatchProblem, every: list[_JobAlts], placements: dict[str, tuple[int, int, int]]) -> int:
    total = 0
    for alts in every:
        placed = placements.get(alts.job.id)
        delay = _penalty(problem, alts) if placed is None else placed[0] - alts.first
        total += alts.job.urgency_weight * delay
    return total


def _best_greedy(problem: BatchProblem, every: list[_JobAlts]) -> dict[str, tuple[int, int, int]]:
    tries = []
    for order in _ORDERS:
        tries.append(_greedy_steps(problem, sorted(every, key=lambda a: order(a.job))))
    return min(tries, key=lambda placements: _greedy_cost(problem, every, placements))


def _greedy_steps(problem: BatchProblem, every: list[_JobAlts]) -> dict[str, tuple[int, int, int]]:
    """Job id → (start step, technician index, bay index) for the jobs first fit placed, in the order given."""
    step = problem.step
    buffer_steps = _ceil(problem.buffer, step)
    tech_busy: dict[int, list[tuple[int, int]]] = defaultdict(list)  # step spans incl. trailing buffer
    bay_busy: dict[int, list[tuple[int, int]]] = defaultdict(list)
    tech_count: dict[tuple[int, int], int] = defaultdict(int)
    out: dict[str, tuple[int, int, int]] = {}

    def clear(busy: list[tuple[int, int]], s: int, e: int) -> bool:
        return all(e <= bs or be <= s for bs, be in busy)

    for alts in every:
        job = alts.job
        size = _ceil(job.duration, step)
        best: tuple[int, int, int] | None = None
        for ta in alts.techs:
            tech = problem.technicians[ta.r]
            if tech.jobs_per_day[ta.d] + tech_count[(ta.r, ta.d)] >= tech.daily_cap:
                continue
            bounds = ta.domain.flattened_intervals()
            for k in range(0, len(bounds), 2):
                for s in range(bounds[k], bounds[k + 1] + 1):
                    if best is not None and s >= best[0]:
                        break
                    if not clear(tech_busy[ta.r], s, s + size + buffer_steps):
                        continue
                    bay = next(
                        (
                            ba.r
                            for ba in alts.bays
                            if ba.d == ta.d and ba.domain.contains(s) and clear(bay_busy[ba.r], s, s + size)
                        ),
                        None,
                    )
                    if bay is not None:
                        best = (s, ta.r, bay)
                        break
        if best is None:
            continue
        s, t, b = best
        tech_busy[t].append((s, s + size + buffer_steps))
        bay_busy[b].append((s, s + size))
        tech_count[(t, next(a.d for a in alts.techs if a.r == t and a.domain.contains(s)))] += 1
        out[job.id] = best
    return out


# -- CP-SAT -------------------------------------------------------------------------


@dataclass
class _JobVars:
    alts: _JobAlts
    start: cp_model.IntVar
    placed: cp_model.IntVar
    techs: list[tuple[_Alt, cp_model.IntVar]] = field(default_factory=list)
    bays: list[tuple[_Alt, cp_model.IntVar]] = field(default_factory=list)
    days: dict[int, cp_model.IntVar] = field(default_factory=dict)


class _BatchModel:
    """The CP-SAT model of one ``BatchProblem`` (built in ``__init__``)."""

    def __init__(self, problem: BatchProblem) -> None:
        self.problem = problem
        self.model = cp_model.CpModel()
        self.jobs: list[_JobVars] = []
        self.constant = 0
        """Penalty of the jobs with no alternative at all (not in the model)."""
        self.tech_intervals: dict[tuple[int, int], list[cp_model.IntervalVar]] = defaultdict(list)
        self.bay_intervals: dict[tuple[int, int], list[cp_model.IntervalVar]] = defaultdict(list)
        self.tech_day: dict[tuple[int, int], list[tuple[int, cp_model.IntVar]]] = defaultdict(list)
        self.bay_day: dict[tuple[int, int], list[tuple[int, cp_model.IntVar]]] = defaultdict(list)
        self.day_work: dict[int, list[tuple[int, cp_model.IntVar]]] = defaultdict(list)
        self.objective: list[cp_model.LinearExprT] = []
        self.unplaceable: list[str] = []
        for job in problem.jobs:
            alts = _alternatives(problem, job)
            if not alts.techs or not alts.bays:
                self.unplaceable.append(job.id)
                self.constant += job.urgency_weight * _penalty(problem, alts)
                continue
            self._add_job(alts)
        self._add_resources()
        self.model.minimize(sum(self.objective) + self.constant)

    def _add_job(self, alts: _JobAlts) -> None:
        p, m, step, job = self.problem, self.model, self.problem.step, alts.job
        size = _ceil(job.duration, step)
        buffer_steps = _ceil(p.buffer, step)
        every = cp_model.Domain.from_values([alts.first])
        for a in (*alts.techs, *alts.bays):
            every = every.union_with(a.domain)
        jv = _JobVars(alts, m.new_int_var_from_domain(every, f"s_{job.id}"), m.new_bool_var(f"a_{job.id}"))
        for d in sorted({a.d for a in alts.techs} & {a.d for a in alts.bays}):
            jv.days[d] = m.new_bool_var(f"z_{job.id}_{d}")
        for a in alts.techs:
            if a.d not in jv.days:
                continue
            x = m.new_bool_var(f"x_{job.id}_{a.r}_{a.d}")
            m.add_linear_expression_in_domain(jv.start, a.domain).only_enforce_if(x)
            # The trailing buffer keeps two new jobs of one technician apart.
            self.tech_intervals[(a.r, a.d)].append(
                m.new_optional_fixed_size_interval_var(jv.start, size + buffer_steps, x, f"t_{job.id}_{a.r}")
            )
            self.tech_day[(a.r, a.d)].append((size + buffer_steps, x))
            self.day_work[a.d].append((size, x))
            jv.techs.append((a, x))
        for a in alts.bays:
            if a.d not in jv.days:
                continue
            y = m.new_bool_var(f"y_{job.id}_{a.r}_{a.d}")
            m.add_linear_expression_in_domain(jv.start, a.domain).only_enforce_if(y)
            self.bay_intervals[(a.r, a.d)].append(
                m.new_optional_fixed_size_interval_var(jv.start, size, y, f"b_{job.id}_{a.r}")
            )
            self.bay_day[(a.r, a.d)].append((size, y))
            jv.bays.append((a, y))
        for d, z in jv.days.items():
            m.add(sum(x for a, x in jv.techs if a.d == d) == z)
            m.add(sum(y for a, y in jv.bays if a.d == d) == z)
        m.add(sum(jv.days.values()) == jv.placed)
        m.add(jv.start == alts.first).only_enforce_if(~jv.placed)
        # Redundant: the start lies between the first and last start of the alternatives taken.
        for chosen in (jv.techs, jv.bays):
            m.add(jv.start >= alts.first + sum((a.domain.min() - alts.first) * v for a, v in chosen))
            m.add(jv.start <= alts.first + sum((a.domain.max() - alts.first) * v for a, v in chosen))
        self.objective.append(job.urgency_weight * (jv.start - alts.first))
        self.objective.append(job.urgency_weight * _penalty(p, alts) * (1 - jv.placed))
        self.jobs.append(jv)

    def _add_resources(self) -> None:
        p, m, step = self.problem, self.model, self.problem.step
        buffer_steps = _ceil(p.buffer, step)
        for intervals in (*self.tech_intervals.values(), *self.bay_intervals.values()):
            if len(intervals) > 1:
                m.add_no_overlap(intervals)
        for (t, d), load in self.tech_day.items():
            tech = p.technicians[t]
            m.add(sum(x for _, x in load) <= tech.daily_cap - tech.jobs_per_day[d])
            windows = [(_ceil(s, step), e // step) for s, e in clip(tech.free, *p.day_span(d))]
            room = sum(max(0, e - s) + buffer_steps for s, e in windows)  # the last buffer may overhang
            m.add(sum(size * x for size, x in load) <= room)
        for (b, d), load in self.bay_day.items():
            room = sum(max(0, e // step - _ceil(s, step)) for s, e in clip(p.bays[b].free, *p.day_span(d)))
            m.add(sum(size * y for size, y in load) <= room)
        for d, load in self.day_work.items():
            room = sum(
                max(0, e // step - _ceil(s, step))
                for b in p.bays
                if b.equipped
                for s, e in clip(b.free, *p.day_span(d))
            )
            m.add(sum(size * x for size, x in load) <= room)

    def hint(self, placements: dict[str, tuple[int, int, int]]) -> None:
        """Hint a placement (job id → start step, technician, bay), e.g. greedy's."""
        m = self.model
        for jv in self.jobs:
            placed = placements.get(jv.alts.job.id)
            m.add_hint(jv.placed, placed is not None)
            s = placed[0] if placed else jv.alts.first
            m.add_hint(jv.start, s)
            day = None
            for a, x in jv.techs:
                on = placed is not None and a.r == placed[1] and a.domain.contains(s)
                day = a.d if on else day
                m.add_hint(x, on)
            for a, y in jv.bays:
                m.add_hint(y, placed is not None and a.r == placed[2] and a.d == day)
            for d, z in jv.days.items():
                m.add_hint(z, d == day)


def solve_batch(problem: BatchProblem, *, time_limit_s: float = 2.0, workers: int = 1) -> BatchResult:
    """Place as many jobs as possible, urgent ones earliest; a hard instance returns what was found."""
    built = _BatchModel(problem)
    built.hint(_best_greedy(problem, [jv.alts for jv in built.jobs]))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = workers
    # The fuller LP relaxation (level 2) tightens the bound; probing (in presolve
    # and at load) took 0.7-1.8 s of a 2 s budget on 40 jobs x 5 days and is off.
    solver.parameters.linearization_level = 2
    solver.parameters.cp_model_probing_level = 0
    code = solver.solve(built.model)
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return BatchResult(solver.status_name(code).lower(), (), tuple(j.id for j in problem.jobs), None, None)
    assignments: list[BatchAssignment] = []
    unassigned: list[str] = list(built.unplaceable)
    for jv in built.jobs:
        job = jv.alts.job
        if not solver.boolean_value(jv.placed):
            unassigned.append(job.id)
            continue
        start = solver.value(jv.start) * problem.step
        t = next(a.r for a, x in jv.techs if solver.boolean_value(x))
        b = next(a.r for a, y in jv.bays if solver.boolean_value(y))
        assignments.append(
            BatchAssignment(job.id, problem.technicians[t].id, problem.bays[b].id, start, start + job.duration)
        )
    return BatchResult(
        status=solver.status_name(code).lower(),
        assignments=tuple(assignments),
        unassigned=tuple(unassigned),
        objective=solver.objective_value,
        bound=solver.best_objective_bound,
    )
