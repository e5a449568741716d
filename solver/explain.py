"""Explanations: which hard constraint ruled the preferred time out.

The technician rules are replayed, in order, on the preferred time only; the
rule at which the *furthest-getting* technician stopped is the answer (if a
skilled technician works then but is at the daily cap, the cap is to blame,
not the skill of the others).

A reserve is a rule of another kind: it keeps time the job could otherwise
have. ``withheld_by_reserve`` finds the earliest start a reserve alone kept
from the job, so an answer can say why that time was not offered and when it
opens.
"""

from __future__ import annotations

from solver import reserves
from solver.constraints import BAY_RULE, RESERVE_CODES, TECHNICIAN_RULES, bay_starts, long_enough, usable_bays
from solver.problem import SlotProblem
from solver.result import Reason
from solver.spans import Span, subtract


def preferred_time(problem: SlotProblem) -> Span | None:
    """The span the customer asked for: the preferred window on the preferred date, or that whole day.

    None when the request named no date.
    """
    day = problem.preferred_day
    if day is None or not 0 <= day < len(problem.day_starts):
        return None
    lo, hi = problem.day_span(day)
    for start, end in problem.preferred_windows:
        if lo <= start < hi:
            return (start, end)
    return (lo, hi)


def explain(problem: SlotProblem, within: Span) -> tuple[Reason, ...]:
    """Why no slot fits inside ``within``; empty when one does."""
    furthest = 0
    survivors: list[Span] = []
    for tech in problem.technicians:
        windows = [within]
        reached = 0
        for rule in TECHNICIAN_RULES:
            windows = long_enough(rule.restrict(problem, tech, windows), problem.duration)
            if not windows:
                break
            reached += 1
        furthest = max(furthest, reached)
        if reached == len(TECHNICIAN_RULES):
            survivors.extend(windows)
    if not problem.technicians:
        return (Reason("no_skilled_technician", "the shop has no technicians"),)
    if furthest < len(TECHNICIAN_RULES):
        rule = TECHNICIAN_RULES[furthest]
        return (Reason(rule.code, rule.message),)
    if bay_starts(problem, survivors):
        return ()
    if problem.needs_bay and not any(b.equipped for b in problem.bays):
        return (Reason(BAY_RULE.code, "the shop has no bay with the required equipment"),)
    return (Reason(BAY_RULE.code, BAY_RULE.message),)


def explain_preferred(problem: SlotProblem) -> tuple[Reason, ...]:
    """Reasons the preferred date/window cannot be had (empty when it can, or none was asked)."""
    wanted = preferred_time(problem)
    return explain(problem, wanted) if wanted is not None else ()


def withheld_by_reserve(problem: SlotProblem, within: Span) -> Reason | None:
    """The earliest start in ``within`` that a reserve alone kept from this job, as a reason; None if none.

    Every other rule (and a free equipped bay) allows that start. The reason
    names the reserve, the start, and when the day's reserves that kept it
    have all opened to every job.
    """
    lo, hi = within
    if not problem.reserves or lo >= hi:
        return None
    bays = usable_bays(problem) if problem.needs_bay else []
    span = (lo, min(problem.horizon_end, hi - 1 + problem.duration))
    found: tuple[int, str] | None = None
    for tech in problem.technicians:
        windows = [span]
        for rule in TECHNICIAN_RULES:
            kept = long_enough(rule.restrict(problem, tech, windows), problem.duration)
            if rule.code in RESERVE_CODES and kept != windows:
                removed = long_enough(subtract(windows, kept), problem.duration)
                starts = [s for s in bay_starts(problem, removed, bays) if lo <= s < hi]
                if starts and (found is None or min(starts) < found[0]):
                    found = (min(starts), rule.code)
            windows = kept
            if not windows:
                break
    if found is None:
        return None
    start, code = found
    day = problem.day_of(start)
    opens = reserves.released_at(problem, next(r for r in problem.reserves if r.code == code), day)
    message = next(rule.message for rule in TECHNICIAN_RULES if rule.code == code)
    return Reason(code, message, withheld_start=start, released_at=opens)
