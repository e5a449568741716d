"""The reserves: shares of each technician's day kept for some jobs until a release horizon.

A reserve is expressed on job minutes, per technician and shop-local day: a
job kept out of reserves ``r1 .. ri`` (``SlotProblem.reserves``, outermost
first) may go on a technician's day only while

    booked minutes + the job's minutes <= floor(working minutes x (1 - held share))

where the held share sums the shares of ``r1 .. ri`` that are still held that
day. A reserve is held on a day until ``release`` minutes before the day's
local midnight (``SlotProblem.clock`` is now). Per technician, because that
protects every skill: each skilled technician keeps the share, so the shop
keeps that share of its skilled time, and the rule reads one technician's own
data (like the daily cap), which keeps it a cheap window rule here and a
one-line check in ``solver.checker``. Booked minutes count every job and
live hold that day, urgent or not (calendars do not carry a job's urgency):
the reserve is the last share of the day, which urgent work may fill but
routine work may not, until its release.
"""

from __future__ import annotations

import math

from solver.problem import ReserveRule, SlotProblem, TechnicianFree
from solver.spans import Span, subtract


def held(problem: SlotProblem, reserve: ReserveRule, day: int) -> bool:
    """Whether ``reserve`` still holds on local day ``day`` (now is before its release)."""
    return problem.clock < released_at(problem, reserve, day)


def released_at(problem: SlotProblem, reserve: ReserveRule, day: int) -> int:
    """The minute the reserve of local day ``day`` opens to every job."""
    return problem.day_starts[day] - reserve.release


def held_share(problem: SlotProblem, day: int, upto: int) -> float:
    """The share of ``day`` kept from this job by ``problem.reserves[: upto + 1]``."""
    return sum(r.share for r in problem.reserves[: upto + 1] if held(problem, r, day))


def allowed_minutes(tech: TechnicianFree, day: int, share: float) -> int:
    """The job minutes the technician's day may hold while ``share`` of it is kept."""
    return math.floor(tech.working_minutes[day] * (1.0 - share) + 1e-9)


def closed_days(problem: SlotProblem, tech: TechnicianFree, upto: int) -> list[Span]:
    """The technician's days this job may not enter by the reserves up to index ``upto``."""
    if not tech.working_minutes:
        return []
    closed = []
    for day in range(len(problem.day_starts)):
        share = held_share(problem, day, upto)
        if share > 0 and tech.booked_minutes[day] + problem.duration > allowed_minutes(tech, day, share):
            closed.append(problem.day_span(day))
    return closed


def restrict(code: str, problem: SlotProblem, tech: TechnicianFree, windows: list[Span]) -> list[Span]:
    """``windows`` minus the days the reserve named ``code`` (and those outside it) keeps from this job."""
    for index, reserve in enumerate(problem.reserves):
        if reserve.code == code:
            closed = closed_days(problem, tech, index)
            return subtract(windows, closed) if closed else windows
    return windows
