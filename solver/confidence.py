"""``confidence_score``: how good a slot is relative to the best, and how sure we are.

``confidence = quality × certainty``, both in [0, 1]:

* ``quality = (1 + best) / (1 + cost)`` where ``best`` is the lowest cost of
  any feasible slot. The best possible slot scores 1; a slot that costs twice
  as much scores about 0.5.
* ``certainty`` is 1 when CP-SAT proved the ranking optimal; for a ranking cut
  short by the time limit it is ``0.9 × (1 + bound) / (1 + objective)`` (the
  proven gap shrinks it); for the greedy fallback it is 0.5, since nothing
  was proven about it.
"""

from __future__ import annotations

from solver.result import SolveStatus

GREEDY_CERTAINTY = 0.5
TIMEOUT_CERTAINTY = 0.9


def certainty(status: SolveStatus, objective: int | None, bound: float | None) -> float:
    if status is SolveStatus.OPTIMAL:
        return 1.0
    if status is SolveStatus.FEASIBLE and objective is not None and bound is not None:
        return TIMEOUT_CERTAINTY * min(1.0, (1.0 + max(bound, 0.0)) / (1.0 + max(objective, 0)))
    return GREEDY_CERTAINTY


def confidence(cost: int, best_cost: int, certainty_factor: float) -> float:
    quality = (1.0 + max(best_cost, 0)) / (1.0 + max(cost, 0))
    return round(min(1.0, quality) * certainty_factor, 4)
