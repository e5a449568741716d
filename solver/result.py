"""The solver's output: ranked slots, how sure we are, and why not better."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SolveStatus(StrEnum):
    """How the ranking was obtained."""

    OPTIMAL = "optimal"
    """CP-SAT proved the top-K optimal."""
    FEASIBLE = "feasible"
    """CP-SAT hit its time limit with a solution; ``bound`` says how far it may be."""
    GREEDY = "greedy"
    """CP-SAT found nothing in time (or was not asked): greedy first-fit answer."""
    INFEASIBLE = "infeasible"
    """No slot satisfies the hard constraints; see ``reasons``."""


@dataclass(frozen=True, slots=True)
class Reason:
    """Why time was ruled out: a stable ``code`` and a human message.

    A reserve's reason also names the earliest start it withheld and the
    minute that reserve opens to every job (minutes from the problem's origin).
    """

    code: str
    message: str
    withheld_start: int | None = None
    released_at: int | None = None


@dataclass(frozen=True, slots=True)
class RankedSlot:
    """One recommended slot, in minutes from the problem's origin.

    ``cost`` is the objective (lower is better); ``penalties`` lists the terms
    that cost it points. ``confidence`` is in [0, 1]: see ``solver.confidence``.
    """

    technician_id: str
    bay_id: str | None
    start: int
    end: int
    cost: int
    confidence: float
    penalties: tuple[tuple[str, int], ...]
    waits_for_parts: bool = False


@dataclass(frozen=True, slots=True)
class SlotResult:
    """The ranked slots (best first) for one problem, never an exception.

    ``reasons`` explain why the preferred time was ruled out (or, when
    ``slots`` is empty, why nothing fits); ``suggested_start`` is set when the
    parts arrive after the horizon: the first minute worth asking about again.
    """

    status: SolveStatus
    slots: tuple[RankedSlot, ...]
    objective: int | None = None
    bound: float | None = None
    reasons: tuple[Reason, ...] = ()
    suggested_start: int | None = None
    shop_id: str = ""

    @property
    def best(self) -> RankedSlot | None:
        return self.slots[0] if self.slots else None
