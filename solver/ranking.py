"""Top-K slot ranking with CP-SAT over precomputed candidates.

The formulation is what makes it fast: hard constraints are applied by
interval arithmetic in ``solver.constraints`` (so CP-SAT never sees time
variables), every soft term is a constant per candidate, and only the
``prune_size`` cheapest candidates (a proof in ``solver.distinct`` shows an
optimal top-K lies among them) become booleans. CP-SAT then picks the K
pairwise-distinct candidates of least total cost that include the single
cheapest one when that leaves K distinct slots (so the first
recommendation is the best slot).

CP-SAT blocks its thread for the whole solve: call ``solve_slots`` from a Ray
task or a worker thread, never on an asyncio event loop.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from ortools.sat.python import cp_model

from solver.confidence import certainty, confidence
from solver.constraints import Candidate, candidates
from solver.distinct import first_fit, max_conflict_degree, prune_size
from solver.explain import explain, explain_preferred, withheld_by_reserve
from solver.objective import cost, penalties
from solver.problem import SlotProblem
from solver.result import RankedSlot, Reason, SlotResult, SolveStatus

DEFAULT_TIME_LIMIT_S = 0.5


def solve_slots(problem: SlotProblem, *, time_limit_s: float = DEFAULT_TIME_LIMIT_S) -> SlotResult:
    """The best ``problem.top_k`` distinct slots, ranked; never raises for an unplaceable job.

    Infeasible → empty ``slots`` with ``reasons``; time limit → the best
    found with lower confidence, or the greedy answer if CP-SAT found none.
    """
    cands = candidates(problem)
    if not cands:
        return infeasible_result(problem)
    costs = [cost(problem, c) for c in cands]
    order = sorted(range(len(cands)), key=lambda i: (costs[i], cands[i].start, cands[i].tech))
    keep = prune_size(problem.top_k, max_conflict_degree(cands, problem.duration, problem.step))
    pool = order[:keep]
    greedy = first_fit(pool, cands, problem.duration, problem.top_k)
    if _provably_optimal(greedy, pool, cands, costs, problem.top_k):
        total = sum(costs[i] for i in greedy)
        return ranked_result(problem, cands, costs, greedy, SolveStatus.OPTIMAL, total, float(total))
    chosen, status, objective, bound = _choose(problem, cands, costs, pool, time_limit_s)
    if not chosen:  # CP-SAT found nothing in time: fall back to first fit by cost
        chosen = first_fit(pool, cands, problem.duration, problem.top_k)
        status, objective, bound = SolveStatus.GREEDY, sum(costs[i] for i in chosen), None
    return ranked_result(problem, cands, costs, chosen, status, objective, bound)


def _provably_optimal(
    greedy: Sequence[int], pool: Sequence[int], cands: Sequence[Candidate], costs: Sequence[int], top_k: int
) -> bool:
    """Whether the first-fit set is optimal by a bound, so CP-SAT need not be asked.

    Distinct slots start at distinct times, so no K-set costs less than the
    K cheapest per-start minimums. A first-fit set of K slots that holds the
    cheapest slot and meets that bound wins on every level of the objective.
    """
    if len(greedy) != top_k or pool[0] not in greedy:
        return False
    cheapest_per_start: dict[int, int] = {}
    for i, c in enumerate(cands):
        if costs[i] < cheapest_per_start.get(c.start, costs[i] + 1):
            cheapest_per_start[c.start] = costs[i]
    bound = sum(sorted(cheapest_per_start.values())[:top_k])
    return sum(costs[i] for i in greedy) == bound


def _choose(
    problem: SlotProblem,
    cands: Sequence[Candidate],
    costs: Sequence[int],
    pool: Sequence[int],
    time_limit_s: float,
) -> tuple[list[int], SolveStatus, int | None, float | None]:
    model = cp_model.CpModel()
    picks = {i: model.new_bool_var(f"x{i}") for i in pool}
    by_start: dict[int, list[int]] = defaultdict(list)
    by_tech: dict[int, list[int]] = defaultdict(list)
    for i in pool:
        by_start[cands[i].start].append(i)
        by_tech[cands[i].tech].append(i)
    for group in by_start.values():  # distinct start times
        if len(group) > 1:
            model.add_at_most_one(picks[i] for i in group)
    for group in by_tech.values():  # one technician's recommendations must not overlap
        group.sort(key=lambda i: cands[i].start)
        for a, first in enumerate(group):
            clique = [i for i in group[a:] if cands[i].start - cands[first].start < problem.duration]
            if len(clique) > 1:
                model.add_at_most_one(picks[i] for i in clique)
    model.add(sum(picks.values()) <= problem.top_k)
    # Lexicographic objective in one sum: first as many distinct slots as exist
    # (up to K), then the single cheapest slot among them (so the first
    # recommendation is the best slot whenever it can be), then least total cost.
    spread = problem.top_k * (max(costs[i] for i in pool) + 1)
    best_bonus = spread + 1
    per_slot = best_bonus + spread + 1
    model.minimize(sum((costs[i] - per_slot) * var for i, var in picks.items()) - best_bonus * picks[pool[0]])
    for i in first_fit(pool, cands, problem.duration, problem.top_k):
        model.add_hint(picks[i], 1)

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = 1  # latency over throughput: many solves run side by side
    # The model is a few dozen booleans and at-most-ones; presolve costs more
    # (~1 ms) than it saves and the search still proves optimality.
    solver.parameters.cp_model_presolve = False
    code = solver.solve(model)
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return [], SolveStatus.GREEDY, None, None
    chosen = [i for i, var in picks.items() if solver.boolean_value(var)]
    objective = sum(costs[i] for i in chosen)
    bound = solver.best_objective_bound + per_slot * len(chosen) + (best_bonus if pool[0] in chosen else 0)
    status = SolveStatus.OPTIMAL if code == cp_model.OPTIMAL else SolveStatus.FEASIBLE
    return chosen, status, objective, bound


def ranked_result(
    problem: SlotProblem,
    cands: Sequence[Candidate],
    costs: Sequence[int],
    chosen: Sequence[int],
    status: SolveStatus,
    objective: int | None,
    bound: float | None,
) -> SlotResult:
    """Turn chosen candidate indices into a ranked ``SlotResult`` with confidences and reasons."""
    best = min(costs)
    sure = certainty(status, objective, bound)
    ranked = sorted(chosen, key=lambda i: (costs[i], cands[i].start, cands[i].tech))
    waits = problem.parts_ready is not None
    slots = tuple(
        RankedSlot(
            technician_id=problem.technicians[cands[i].tech].id,
            bay_id=cands[i].bay_id,
            start=cands[i].start,
            end=cands[i].start + problem.duration,
            cost=costs[i],
            confidence=confidence(costs[i], best, sure),
            penalties=penalties(problem, cands[i]),
            waits_for_parts=waits,
        )
        for i in ranked
    )
    reasons: tuple[Reason, ...] = ()
    if slots and any(name in ("preferred_date", "preferred_window") for name, _ in slots[0].penalties):
        reasons = explain_preferred(problem)
    if problem.reserves:
        # Time the customer wanted, before every offered slot, that a reserve kept back.
        before = min((s.start for s in slots), default=problem.horizon_end)
        reasons = with_reason(reasons, withheld_by_reserve(problem, (problem.wanted_start, before)))
    return SlotResult(
        status=status,
        slots=slots,
        objective=objective,
        bound=bound,
        reasons=reasons,
        shop_id=problem.shop_id,
    )


def infeasible_result(problem: SlotProblem) -> SlotResult:
    """No slot at all: say why, and suggest when to ask again if parts are the cause."""
    reasons = explain(problem, (problem.earliest, problem.horizon_end))
    if problem.reserves:
        reasons = with_reason(reasons, withheld_by_reserve(problem, (problem.first_start, problem.horizon_end)))
    suggested = None
    if problem.parts_ready is not None and problem.parts_ready + problem.duration > problem.horizon_end:
        suggested = problem.parts_ready
        reasons = (
            Reason("parts_lead_time", "the parts arrive after the search horizon; ask again from then"),
        )
    return SlotResult(
        status=SolveStatus.INFEASIBLE,
        slots=(),
        reasons=reasons,
        suggested_start=suggested,
        shop_id=problem.shop_id,
    )


def with_reason(reasons: tuple[Reason, ...], reason: Reason | None) -> tuple[Reason, ...]:
    """``reasons`` with ``reason`` in place of any of the same code (it says more: the start, the release)."""
    if reason is None:
        return reasons
    return (*(r for r in reasons if r.code != reason.code), reason)
