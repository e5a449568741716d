"""The reserves: time kept for some jobs until a release horizon before its day.

Two kinds, because they protect different things:

- the **urgent reserve** is *positioned*: on each shop-local day the shop keeps
  blocks as long as its longest emergency job, about ``share`` of its
  technicians' working time, spread evenly over the day and over the
  technicians (``place_blocks``). A routine job kept out of it may not overlap
  a held block, nor come within the buffer of one, so a block stays whole for
  the emergency that arrives later. Measured with ``bench/simulate.py``, a
  share of the day's *minutes* protects volume but not time: routine work fills
  the mornings, and an emergency arriving overnight or at noon waits for the
  afternoon or the next day. Blocks spread over the day put room for urgent
  work within a few hours of any moment the shop is open.
- the **priority reserve** is a *volume*: a job kept out of it may go on a
  technician's local day only while
  ``booked minutes + the job's minutes <= floor(working minutes x (1 - share))``.
  Fleet and premium customers want room on the day they ask for, not at a given
  hour, so the share of the day is what counts.

A reserve is held on a day until ``release`` minutes before the day's local
midnight (``SlotProblem.clock`` is now); from then on every job may use it.
Booked minutes count every job and live hold that day, urgent or not
(calendars do not carry a job's urgency).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping, Sequence

from solver.problem import ReserveRule, SlotProblem, TechnicianFree
from solver.spans import Span, normalize, subtract


def held(problem: SlotProblem, reserve: ReserveRule, day: int) -> bool:
    """Whether ``reserve`` still holds on local day ``day`` (now is before its release)."""
    return problem.clock < released_at(problem, reserve, day)


def released_at(problem: SlotProblem, reserve: ReserveRule, day: int) -> int:
    """The minute the reserve of local day ``day`` opens to every job."""
    return problem.day_starts[day] - reserve.release


def allowed_minutes(tech: TechnicianFree, day: int, share: float) -> int:
    """The job minutes the technician's day may hold while ``share`` of it is kept."""
    return math.floor(tech.working_minutes[day] * (1.0 - share) + 1e-9)


def closed_days(problem: SlotProblem, tech: TechnicianFree, reserve: ReserveRule) -> list[Span]:
    """The technician's days a volume reserve keeps from this job (the job would cut into it)."""
    if not tech.working_minutes:
        return []
    return [
        problem.day_span(day)
        for day in range(len(problem.day_starts))
        if held(problem, reserve, day)
        and tech.booked_minutes[day] + problem.duration > allowed_minutes(tech, day, reserve.share)
    ]


def held_blocks(problem: SlotProblem, tech: TechnicianFree, reserve: ReserveRule) -> list[Span]:
    """The technician's urgent blocks still held, widened by the buffer (time this job may not touch)."""
    return normalize(
        (lo - problem.buffer, hi + problem.buffer)
        for lo, hi in tech.reserved
        if held(problem, reserve, problem.day_of(lo))
    )


def kept_from_job(problem: SlotProblem, tech: TechnicianFree, reserve: ReserveRule) -> list[Span]:
    """The time ``reserve`` keeps from this job on the technician's calendar (normalized)."""
    return held_blocks(problem, tech, reserve) if reserve.positioned else closed_days(problem, tech, reserve)


def touches_held_block(problem: SlotProblem, tech: TechnicianFree, start: int, reserve: ReserveRule) -> bool:
    """Whether a job at ``start`` on ``tech`` touches a held block of ``reserve`` (its buffers included)."""
    # Per candidate, thousands of times a search: overlap first, no merge (overlap needs none).
    end, pad = start + problem.duration, problem.buffer
    return any(
        lo - pad < end and start < hi + pad and held(problem, reserve, problem.day_of(lo)) for lo, hi in tech.reserved
    )


def restrict(code: str, problem: SlotProblem, tech: TechnicianFree, windows: list[Span]) -> list[Span]:
    """``windows`` minus the time the reserve named ``code`` keeps from this job."""
    for reserve in problem.reserves:
        if reserve.code == code:
            kept = kept_from_job(problem, tech, reserve)
            return subtract(windows, kept) if kept else windows
    return windows


def place_blocks(
    working: Mapping[str, Sequence[Span]],
    day_starts: Sequence[int],
    horizon_end: int,
    share: float,
    block: int,
    step: int,
) -> dict[str, tuple[Span, ...]]:
    """Where the urgent reserve lies: ``block``-minute spans per technician, over every local day.

    Per day, the shop keeps ``round(share x its technicians' working minutes / block)``
    blocks (at least one when any technician works a whole block that day, and
    ``share`` is positive). Their ideal starts are spread evenly from the
    day's first working minute to the last start that fits (on the ``step``
    grid); each goes to the technician who can work it closest to its ideal
    start, fewer blocks that day first, then by id. A function of working
    time alone, so every search of the day sees the same blocks.
    """
    out: dict[str, list[Span]] = {tid: [] for tid in working}
    if share <= 0 or block <= 0:
        return {tid: () for tid in working}
    bounds = [*day_starts, horizon_end]
    normalized = {tid: normalize(w) for tid, w in working.items()}
    for day in range(len(day_starts)):
        lo_day, hi_day = bounds[day], bounds[day + 1]
        on_day = {tid: _within(w, lo_day, hi_day) for tid, w in normalized.items()}
        spans = {tid: [s for s in w if s[1] - s[0] >= block] for tid, w in on_day.items()}
        total = sum(hi - lo for w in on_day.values() for lo, hi in w)
        if not any(spans.values()):
            continue
        count = max(1, math.floor(share * total / block + 0.5))
        first = min(s[0] for w in spans.values() for s in w)
        last = max(s[1] for w in spans.values() for s in w) - block
        taken: dict[str, list[Span]] = {tid: [] for tid in working}
        for i in range(count):
            ideal = first if count == 1 else first + (last - first) * i // (count - 1)
            best: tuple[int, int, str, Span] | None = None
            for tid in sorted(spans):
                for lo, hi in spans[tid]:
                    start = min(max(ideal, lo), hi - block) // step * step  # on the slot grid
                    if start < lo:
                        start += step
                    candidate = (start, start + block)
                    if candidate[1] > hi:
                        continue
                    if any(a < candidate[1] and candidate[0] < b for a, b in taken[tid]):
                        continue
                    key = (abs(start - ideal), len(taken[tid]), tid, candidate)
                    if best is None or key < best:
                        best = key
            if best is None:
                break
            taken[best[2]].append(best[3])
        for tid, blocks in taken.items():
            out[tid].extend(blocks)
    return {tid: tuple(sorted(blocks)) for tid, blocks in out.items()}


def _within(spans: list[Span], lo: int, hi: int) -> list[Span]:
    """``spans`` (normalized) cut to ``[lo, hi)``, found by bisection: a day's few spans of a whole horizon."""
    first = bisect_right(spans, lo, key=_span_end)
    out: list[Span] = []
    for start, end in spans[first:]:
        if start >= hi:
            break
        out.append((max(start, lo), min(end, hi)))
    return out


def _span_end(span: Span) -> int:
    return span[1]
