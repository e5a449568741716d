"""What a placement leaves around it: idle time on each side, and whether it is stranded.

A placement lies inside one free span of its technician (and of its bay).
The idle time on each side is what stays free between the job and the span's
edges (an existing job with its buffer, a day edge, or now). Idle time is
*stranded* when no job can use it any more: for a technician, when it is
shorter than ``shortest_job`` plus the buffer a job there would need next to
ours; for a bay (no buffer), shorter than ``shortest_job``. No idle time
(the job touches the edge) strands nothing.

``shortest_job`` is one value per problem: ``SchedulingPolicy.shortest_job``,
by default the shortest job of the card's table (1 h). It is not derived per
resource from the catalog's service types (a technician who only does 3 h
engine work could call a 2 h gap stranded too); the solver takes the value as
plain data, so a per-shop figure can replace it without touching this code.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

from solver.problem import SlotProblem
from solver.spans import Span

_FAR = 1 << 62


def idle_around(spans: Sequence[Span], start: int, end: int, lo: int, hi: int) -> tuple[int, int] | None:
    """Idle minutes left and right of ``[start, end)`` in the span of ``spans`` that holds it.

    The span is cut to ``[lo, hi)`` first (time before now is gone). None when
    no span holds the job (a hand-made candidate outside the free time).
    """
    i = bisect_right(spans, (start, _FAR)) - 1
    if i < 0 or spans[i][1] < end:
        return None
    span_lo, span_hi = spans[i]
    return start - max(span_lo, lo), min(span_hi, hi) - end


def stranded(idle: int, shortest_job: int, buffer: int = 0) -> int:
    """``idle`` when no job of ``shortest_job`` minutes (and its ``buffer``) fits in it any more, else 0."""
    return idle if 0 < idle < shortest_job + buffer else 0


def technician_idle(problem: SlotProblem, tech: int, start: int) -> tuple[int, int] | None:
    """Idle minutes a job at ``start`` leaves on each side in technician ``tech``'s free span."""
    free = problem.technicians[tech].free
    return idle_around(free, start, start + problem.duration, problem.earliest, problem.horizon_end)


def technician_stranded(problem: SlotProblem, tech: int, start: int) -> int:
    """Technician minutes a job at ``start`` strands (both sides)."""
    idle = technician_idle(problem, tech, start)
    if idle is None or problem.shortest_job <= 0:
        return 0
    return stranded(idle[0], problem.shortest_job, problem.buffer) + stranded(
        idle[1], problem.shortest_job, problem.buffer
    )


def bay_stranded(problem: SlotProblem, bay_id: str | None, start: int) -> int:
    """Bay minutes a job at ``start`` strands in bay ``bay_id`` (both sides; 0 for on-site work)."""
    if bay_id is None or problem.shortest_job <= 0:
        return 0
    bay = next((b for b in problem.bays if b.id == bay_id), None)
    if bay is None:
        return 0
    idle = idle_around(bay.free, start, start + problem.duration, problem.earliest, problem.horizon_end)
    if idle is None:
        return 0
    return stranded(idle[0], problem.shortest_job) + stranded(idle[1], problem.shortest_job)


def anchored(problem: SlotProblem, tech: int, start: int) -> bool:
    """Whether a job at ``start`` touches an existing job, a day edge or now (less than a step of idle time)."""
    idle = technician_idle(problem, tech, start)
    return idle is None or min(idle) < problem.step
