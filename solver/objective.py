"""The objective: soft terms, one small piece each, summed into a cost.

Lower cost is better. Each term returns integer points for one candidate
(terms are evaluated in plain Python once per candidate, before CP-SAT runs,
because for a fixed candidate every term is a constant). A slot's
``penalties`` are the terms that cost it points, which is how a losing slot
says why it lost.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass

from solver import reserves
from solver.constraints import Candidate
from solver.fragmentation import anchored, technician_stranded
from solver.problem import SlotProblem, Visit

MINUTES_PER_DAY = 24 * 60
EMERGENCY_STEP_POINTS = 1000
"""An emergency's cost per slot step of delay: larger than every tie-breaker summed."""

TermFn = Callable[[SlotProblem, Candidate], int]


@dataclass(frozen=True, slots=True)
class SoftTerm:
    """One objective term of the service card: a name and its points for a candidate."""

    name: str
    points: TermFn


def _urgency_delay(p: SlotProblem, c: Candidate) -> int:
    # Urgency-weighted earliness: every step past the wanted time costs more for urgent jobs.
    late = c.start - p.wanted_start
    return p.weights.urgency_delay * p.urgency_weight * -(-late // p.step) if late > 0 else 0


def _preferred_date(p: SlotProblem, c: Candidate) -> int:
    if p.preferred_day is None:
        return 0
    return p.weights.preferred_date * p.tier_weight * abs(c.day - p.preferred_day)


def _preferred_window(p: SlotProblem, c: Candidate) -> int:
    if not p.preferred_windows:
        return 0
    day_lo, day_hi = p.day_span(c.day)
    end = c.start + p.duration
    outside = None
    for lo, hi in p.preferred_windows:
        if day_lo <= lo < day_hi:
            outside = max(lo - c.start, 0) + max(end - hi, 0)
            break
    if outside is None:  # no window on that day (should not happen when built per day)
        return 0
    return p.weights.preferred_window * p.tier_weight * (-(-outside // p.step))


def _preferred_technician(p: SlotProblem, c: Candidate) -> int:
    if p.preferred_technician is None or p.technicians[c.tech].id == p.preferred_technician:
        return 0
    return p.weights.preferred_technician * p.tier_weight


def _waiting(p: SlotProblem, c: Candidate) -> int:
    return p.weights.waiting * p.tier_weight * ((c.start - p.earliest) // MINUTES_PER_DAY)


def _workload_balance(p: SlotProblem, c: Candidate) -> int:
    return p.weights.workload_balance * p.technicians[c.tech].jobs_per_day[c.day]


def _rating(p: SlotProblem, c: Candidate) -> int:
    return round(p.weights.rating * max(0.0, 5.0 - p.technicians[c.tech].rating))


def _fragmentation(p: SlotProblem, c: Candidate) -> int:
    # Idle time left too short for any job, on the technician's and the bay's day.
    lost = technician_stranded(p, c.tech, c.start) + c.bay_stranded
    return p.weights.stranded_gap * -(-lost // p.step) if lost > 0 else 0


def _loose_routine(p: SlotProblem, c: Candidate) -> int:
    # Routine work packs against existing jobs and day edges, keeping long free stretches whole.
    return p.weights.loose_routine if p.routine and not anchored(p, c.tech, c.start) else 0


def _reserve_use(p: SlotProblem, c: Candidate) -> int:
    # Urgent work may borrow the urgent reserve, but a block it takes is gone for the emergency after it.
    tech = p.technicians[c.tech]
    return p.weights.reserve_use if any(reserves.touches_held_block(p, tech, c.start, r) for r in p.borrows) else 0


def _extra_travel(p: SlotProblem, c: Candidate) -> int:
    # On-site work: the drives the job adds to its technician's route (to it and on from it, less the
    # drive it replaces), between the visits (or base edges) just before and just after it.
    # Visits come in time order (``solver.build``), so the neighbours are found by bisection: this term
    # runs once per candidate, thousands of times per search.
    visits = p.technicians[c.tech].visits
    if p.needs_bay or not visits:
        return 0
    i = bisect_right(visits, c.start, key=_visit_end) - 1
    j = bisect_left(visits, c.start + p.duration, key=_visit_start)
    if i < 0 or j >= len(visits):
        return 0
    before, after = visits[i], visits[j]
    added = before.travel + after.travel - before.onward
    return p.weights.extra_travel * max(0, added)


def _visit_end(v: Visit) -> int:
    return v.span[1]


def _visit_start(v: Visit) -> int:
    return v.span[0]


def _emergency_delay(p: SlotProblem, c: Candidate) -> int:
    # Emergencies take the immediate next feasible slot: delay dominates every other term.
    return EMERGENCY_STEP_POINTS * ((c.start - p.first_start) // p.step)


STANDARD_TERMS: tuple[SoftTerm, ...] = (
    SoftTerm("urgency_delay", _urgency_delay),
    SoftTerm("preferred_date", _preferred_date),
    SoftTerm("preferred_window", _preferred_window),
    SoftTerm("preferred_technician", _preferred_technician),
    SoftTerm("waiting_time", _waiting),
    SoftTerm("workload_balance", _workload_balance),
    SoftTerm("technician_rating", _rating),
    SoftTerm("fragmentation", _fragmentation),
    SoftTerm("loose_routine_placement", _loose_routine),
    SoftTerm("urgent_reserve_use", _reserve_use),
    SoftTerm("extra_travel", _extra_travel),
)
"""Soft terms of an ordinary job, as listed on the service card, then those that keep capacity usable."""

EMERGENCY_TERMS: tuple[SoftTerm, ...] = (
    SoftTerm("emergency_delay", _emergency_delay),
    SoftTerm("workload_balance", _workload_balance),
    SoftTerm("technician_rating", _rating),
    SoftTerm("fragmentation", _fragmentation),
)
"""Soft terms of an emergency: earliest first, preferences ignored (fragmentation only breaks ties:
it is far below one step of delay)."""


def terms_for(problem: SlotProblem) -> tuple[SoftTerm, ...]:
    return EMERGENCY_TERMS if problem.emergency else STANDARD_TERMS


def penalties(problem: SlotProblem, candidate: Candidate) -> tuple[tuple[str, int], ...]:
    """The nonzero terms of one candidate, by name."""
    out = []
    for term in terms_for(problem):
        points = term.points(problem, candidate)
        if points:
            out.append((term.name, points))
    return tuple(out)


def cost(problem: SlotProblem, candidate: Candidate) -> int:
    """The candidate's objective value (sum of its terms)."""
    return sum(term.points(problem, candidate) for term in terms_for(problem))
