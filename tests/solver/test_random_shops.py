"""Random shops (hypothesis): every returned slot passes the independent checker,
CP-SAT is never worse than greedy, and equals exhaustive enumeration (with the
fragmentation terms on, and for routine jobs the reserves)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solver import SlotResult, SolveStatus, greedy_slots, solve_slots, violations
from solver.constraints import candidates
from solver.objective import cost
from tests.solver.exhaustive import best_top_k_cost
from tests.solver.synthetic import synthetic_shop, with_job

shops = st.builds(
    lambda seed, techs, bays, days, load, duration, emergency, parts, routine: with_job(
        synthetic_shop(seed, technicians=techs, bays=bays, days=days, load=load, duration=duration, routine=routine),
        emergency=emergency,
        parts_ready=parts,
    ),
    seed=st.integers(0, 10_000),
    techs=st.integers(1, 4),
    bays=st.integers(1, 3),
    days=st.integers(1, 3),
    load=st.sampled_from([0.3, 0.6, 0.8]),
    duration=st.sampled_from([60, 90, 120, 180]),
    emergency=st.booleans(),
    parts=st.one_of(st.none(), st.integers(0, 4000)),
    routine=st.booleans(),
)

settings.register_profile("solver", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("solver")


@given(shops)
def test_every_recommended_slot_passes_the_independent_checker(problem) -> None:  # type: ignore[no-untyped-def]
    for result in (solve_slots(problem), greedy_slots(problem)):
        for slot in result.slots:
            assert violations(problem, slot.technician_id, slot.bay_id, slot.start) == []
            assert slot.end - slot.start == problem.duration
            assert 0.0 <= slot.confidence <= 1.0


def rank_key(result: SlotResult, cheapest: int) -> tuple[int, bool, int]:
    """The ranking objective, larger is better: most slots, holding the best slot, least total cost."""
    holds_best = bool(result.slots) and min(s.cost for s in result.slots) == cheapest
    return (len(result.slots), holds_best, -(result.objective or 0))


@given(shops)
def test_cp_sat_objective_is_at_least_greedys(problem) -> None:  # type: ignore[no-untyped-def]
    best, greedy = solve_slots(problem), greedy_slots(problem)
    cheapest = min((cost(problem, c) for c in candidates(problem)), default=0)
    assert rank_key(best, cheapest) >= rank_key(greedy, cheapest)


@given(shops)
def test_cp_sat_equals_exhaustive_enumeration(problem) -> None:  # type: ignore[no-untyped-def]
    result = solve_slots(problem)
    size, total = best_top_k_cost(problem)
    assert len(result.slots) == size
    if size:
        assert result.status is SolveStatus.OPTIMAL
        assert result.objective == total
    else:
        assert result.status is SolveStatus.INFEASIBLE and result.reasons
