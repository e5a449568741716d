"""The hard constraints, one small piece each, and candidate generation.

Every rule narrows the *windows* in which the whole job may lie for one
technician; the bay rule then pairs each remaining start with a free,
equipped bay. Running the rules in the order of ``TECHNICIAN_RULES`` both
produces the candidates and (in ``solver.explain``) tells which rule ruled a
time out. ``solver.checker`` re-checks any slot without this code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from solver import reserves
from solver.problem import SlotProblem, TechnicianFree
from solver.spans import Span, clip, grid_starts, intersect, long_enough_spans, normalize, subtract


@dataclass(frozen=True, slots=True)
class Candidate:
    """A feasible (technician, bay, start) for the job."""

    tech: int
    """Index into ``problem.technicians``."""
    bay_id: str | None
    start: int
    day: int
    bay_stranded: int = 0
    """Bay minutes this placement strands (``solver.fragmentation``); the bay is chosen to keep it least."""


Restrict = Callable[[SlotProblem, TechnicianFree, list[Span]], list[Span]]


@dataclass(frozen=True, slots=True)
class HardRule:
    """One constraint family of the service card: a code, a message, a restriction."""

    code: str
    message: str
    restrict: Restrict


def _skill(problem: SlotProblem, tech: TechnicianFree, windows: list[Span]) -> list[Span]:
    return windows if tech.skilled else []


def _working_hours_and_buffer(problem: SlotProblem, tech: TechnicianFree, windows: list[Span]) -> list[Span]:
    # tech.free is working time minus busy time widened by the buffer.
    return intersect(windows, tech.free)


def _not_before_now(problem: SlotProblem, tech: TechnicianFree, windows: list[Span]) -> list[Span]:
    return clip(windows, problem.earliest, problem.horizon_end)


def _parts_lead_time(problem: SlotProblem, tech: TechnicianFree, windows: list[Span]) -> list[Span]:
    if problem.parts_ready is None:
        return windows
    return clip(windows, problem.parts_ready, problem.horizon_end)


def _daily_cap(problem: SlotProblem, tech: TechnicianFree, windows: list[Span]) -> list[Span]:
    full = [problem.day_span(d) for d, n in enumerate(tech.jobs_per_day) if n >= tech.daily_cap]
    return subtract(windows, full) if full else windows


def _travel_between_visits(problem: SlotProblem, tech: TechnicianFree, windows: list[Span]) -> list[Span]:
    if problem.needs_bay or not tech.visits:
        return windows
    blocked = normalize((v.span[0] - v.travel, v.span[1] + v.travel) for v in tech.visits)
    return subtract(windows, blocked)


URGENT_RESERVE = "urgent_reserve"
PRIORITY_RESERVE = "priority_reserve"
RESERVE_CODES = (URGENT_RESERVE, PRIORITY_RESERVE)
"""The reserve rules' codes (``solver.reserves``): time they keep is time the job could otherwise have."""


def _urgent_reserve(problem: SlotProblem, tech: TechnicianFree, windows: list[Span]) -> list[Span]:
    return reserves.restrict(URGENT_RESERVE, problem, tech, windows) if problem.reserves else windows


def _priority_reserve(problem: SlotProblem, tech: TechnicianFree, windows: list[Span]) -> list[Span]:
    return reserves.restrict(PRIORITY_RESERVE, problem, tech, windows) if problem.reserves else windows


TECHNICIAN_RULES: tuple[HardRule, ...] = (
    HardRule("no_skilled_technician", "no technician with the required skill", _skill),
    HardRule(
        "outside_working_hours",
        "no skilled technician works (with buffer) long enough then",
        _working_hours_and_buffer,
    ),
    HardRule("in_the_past", "the time has passed or lies beyond the horizon", _not_before_now),
    HardRule("parts_lead_time", "the parts arrive later (lead time)", _parts_lead_time),
    HardRule("daily_cap", "every skilled technician has reached the daily cap that day", _daily_cap),
    HardRule("travel_time", "no time to drive between on-site jobs", _travel_between_visits),
    HardRule(
        URGENT_RESERVE,
        "that time is kept for emergencies (urgent reserve)",
        _urgent_reserve,
    ),
    HardRule(
        PRIORITY_RESERVE,
        "the rest of that day is kept for fleet and premium customers (priority reserve)",
        _priority_reserve,
    ),
)
"""Hard constraints on the technician, in the order they are applied and explained."""

BAY_RULE = HardRule("no_equipped_bay_free", "no bay with the equipment is free then", lambda p, t, w: w)
"""The bay constraint: applied per bay in ``bay_starts`` (listed here for explanations)."""


def long_enough(windows: list[Span], duration: int) -> list[Span]:
    return long_enough_spans(windows, duration)


def technician_windows(problem: SlotProblem, tech: TechnicianFree, within: Span) -> list[Span]:
    """Windows inside ``within`` where the job may lie whole, by every technician rule."""
    windows = [within]
    for rule in TECHNICIAN_RULES:
        windows = long_enough(rule.restrict(problem, tech, windows), problem.duration)
        if not windows:
            break
    return windows


def usable_bays(problem: SlotProblem) -> list[tuple[str, list[Span]]]:
    """Equipped bays with their free spans long enough for the job (computed once per problem).

    Spans are cut to ``[earliest, horizon_end)``, the same cut ``solver.fragmentation``
    measures idle time in (technician windows already start at the parts' arrival).
    """
    out = []
    for bay in problem.bays:
        if bay.equipped:
            spans = long_enough(clip(bay.free, problem.earliest, problem.horizon_end), problem.duration)
            if spans:
                out.append((bay.id, spans))
    return out


def bay_choices(
    problem: SlotProblem, windows: list[Span], bays: list[tuple[str, list[Span]]] | None = None
) -> dict[int, tuple[str | None, int]]:
    """Grid starts in ``windows``, each with an equipped bay free for the whole job and the bay minutes it strands.

    Among the bays free at a start, the one stranding the fewest minutes is
    taken (the first such in ``problem.bays`` order).
    """
    starts: dict[int, tuple[str | None, int]] = {}
    duration, step, shortest = problem.duration, problem.step, problem.shortest_job
    if not problem.needs_bay:
        for window in windows:
            for start in grid_starts(window, duration, step):
                starts[start] = (None, 0)
        return starts
    for bay_id, free in usable_bays(problem) if bays is None else bays:
        j = 0
        for window in intersect(windows, free):
            if window[1] - window[0] < duration:
                continue
            if shortest <= 0:
                for start in grid_starts(window, duration, step):
                    starts.setdefault(start, (bay_id, 0))
                continue
            while free[j][1] < window[1]:  # the bay span holding this piece
                j += 1
            lo, hi = free[j]
            for start in grid_starts(window, duration, step):
                left, right = start - lo, hi - start - duration
                waste = (left if 0 < left < shortest else 0) + (right if 0 < right < shortest else 0)
                known = starts.get(start)
                if known is None or waste < known[1]:
                    starts[start] = (bay_id, waste)
    return starts


def bay_starts(
    problem: SlotProblem, windows: list[Span], bays: list[tuple[str, list[Span]]] | None = None
) -> dict[int, str | None]:
    """Grid starts in ``windows`` with an equipped bay free for the whole job."""
    return {start: bay_id for start, (bay_id, _) in bay_choices(problem, windows, bays).items()}


def candidates(problem: SlotProblem) -> list[Candidate]:
    """Every feasible (technician, start) with one bay each, on the slot-step grid.

    A bay changes a slot's cost only by the bay time it strands, which does
    not depend on the technician, so the least-stranding free bay per start
    is enough: keeping the others would only add costlier, conflicting choices.
    """
    horizon = (problem.earliest, problem.horizon_end)
    out: list[Candidate] = []
    bays = usable_bays(problem) if problem.needs_bay else []
    for index, tech in enumerate(problem.technicians):
        windows = technician_windows(problem, tech, horizon)
        if not windows:
            continue
        for start, (bay_id, waste) in bay_choices(problem, windows, bays).items():
            out.append(Candidate(index, bay_id, start, problem.day_of(start), waste))
    return out
