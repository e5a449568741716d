"""Greedy first-fit: the earliest feasible distinct slots.

The baseline for benchmarks and the fallback when CP-SAT is not wanted. It
uses the same hard constraints (so its slots are feasible) but no objective:
earliest start first, the preferred technician first among equal starts.
"""

from __future__ import annotations

from solver.constraints import candidates
from solver.distinct import first_fit
from solver.objective import cost
from solver.problem import SlotProblem
from solver.ranking import infeasible_result, ranked_result
from solver.result import SlotResult, SolveStatus


def greedy_slots(problem: SlotProblem) -> SlotResult:
    """Up to ``problem.top_k`` distinct slots, earliest first (status ``GREEDY``)."""
    cands = candidates(problem)
    if not cands:
        return infeasible_result(problem)
    preferred = problem.preferred_technician

    def first_come(i: int) -> tuple[int, bool, int]:
        c = cands[i]
        return (c.start, problem.technicians[c.tech].id != preferred, c.tech)

    chosen = first_fit(sorted(range(len(cands)), key=first_come), cands, problem.duration, problem.top_k)
    costs = [cost(problem, c) for c in cands]
    return ranked_result(
        problem, cands, costs, chosen, SolveStatus.GREEDY, sum(costs[i] for i in chosen), None
    )
