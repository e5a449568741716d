"""Explanations: which hard constraint ruled the preferred time out.

The technician rules are replayed, in order, on the preferred time only; the
rule at which the *furthest-getting* technician stopped is the answer (if a
skilled technician works then but is at the daily cap, the cap is to blame,
not the skill of the others).
"""

from __future__ import annotations

from solver.constraints import BAY_RULE, TECHNICIAN_RULES, bay_starts, long_enough
from solver.problem import SlotProblem
from solver.result import Reason
from solver.spans import Span


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
