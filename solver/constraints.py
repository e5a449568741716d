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
    """Equipped bays with their free spans long enough for the job (computed once per problem)."""
    out = []
    for bay in problem.bays:
        if bay.equipped:
            spans = long_enough(clip(bay.free, problem.first_start, problem.horizon_end), problem.duration)
            if spans:
                out.append((bay.id, spans))
    return out


def bay_starts(
    problem: SlotProblem, windows: list[Span], bays: list[tuple[str, list[Span]]] | None = None
) -> dict[int, str | None]:
    """Grid starts in ``windows`` with the first equipped bay free for the whole job."""
    starts: dict[int, str | None] = {}
    duration, step = problem.duration, problem.step
    if not problem.needs_bay:
        for window in windows:
            for start in grid_starts(window, duration, step):
                starts[start] = None
        return starts
    for bay_id, free in usable_bays(problem) if bays is None else bays:
        for window in intersect(windows, free):
            if window[1] - window[0] >= duration:
                for start in grid_starts(window, duration, step):
                    starts.setdefault(start, bay_id)
    return starts


def candidates(problem: SlotProblem) -> list[Candidate]:
    """Every feasible (technician, start) with one bay each, on the slot-step grid.

    Bays do not change a slot's cost, so one free bay per start is enough:
    keeping all of them would only multiply equal-cost, conflicting choices.
    """
    horizon = (problem.earliest, problem.horizon_end)
    out: list[Candidate] = []
    bays = usable_bays(problem) if problem.needs_bay else []
    for index, tech in enumerate(problem.technicians):
        windows = technician_windows(problem, tech, horizon)
        if not windows:
            continue
        for start, bay_id in bay_starts(problem, windows, bays).items():
            out.append(Candidate(index, bay_id, start, problem.day_of(start)))
    return out
