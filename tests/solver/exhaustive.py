"""Exhaustive top-K search: the reference optimum for small instances (tests, benchmarks).

It enumerates every grid start for every technician and bay, keeps those the
independent checker accepts, and tries every set of up to K distinct ones.
Exponential: only for instances with a few dozen candidates.
"""

from __future__ import annotations

from itertools import combinations

from solver.checker import violations
from solver.constraints import Candidate
from solver.distinct import conflict
from solver.fragmentation import bay_stranded
from solver.objective import cost
from solver.problem import SlotProblem


def all_feasible(problem: SlotProblem) -> list[Candidate]:
    """Every (technician, start) the checker accepts, with the acceptable bay that strands the least bay time."""
    out: list[Candidate] = []
    first = -(-problem.earliest // problem.step) * problem.step
    bays: list[str | None] = [b.id for b in problem.bays] if problem.needs_bay else [None]
    for index, tech in enumerate(problem.technicians):
        for start in range(first, problem.horizon_end - problem.duration + 1, problem.step):
            fits = [
                Candidate(index, bay_id, start, problem.day_of(start), bay_stranded(problem, bay_id, start))
                for bay_id in bays
                if not violations(problem, tech.id, bay_id, start)
            ]
            if fits:
                out.append(min(fits, key=lambda c: c.bay_stranded))
    return out


def best_top_k_cost(problem: SlotProblem) -> tuple[int, int]:
    """``(number of slots, total cost)`` of the best distinct top-K set.

    Most slots first, then holding the single cheapest slot, then least total cost.
    """
    cands = all_feasible(problem)
    costs = [cost(problem, c) for c in cands]
    if not cands:
        return 0, 0
    # Like the solver: the single best slot (ties broken by start, technician).
    cheapest = min(range(len(cands)), key=lambda i: (costs[i], cands[i].start, cands[i].tech))
    for size in range(min(problem.top_k, len(cands)), 0, -1):
        best: tuple[bool, int] | None = None  # (lacks the cheapest slot, total cost)
        for combo in combinations(range(len(cands)), size):
            if any(conflict(cands[a], cands[b], problem.duration) for a, b in combinations(combo, 2)):
                continue
            key = (cheapest not in combo, sum(costs[i] for i in combo))
            best = key if best is None else min(best, key)
        if best is not None:
            return size, best[1]
    return 0, 0
