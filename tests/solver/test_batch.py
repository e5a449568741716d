"""Batch mode: a small instance is solved to optimality and every placement passes the independent checker."""

from __future__ import annotations

import pytest

from solver.batch import BatchJob, BatchProblem, greedy_batch, solve_batch
from solver.checker import batch_violations
from tests.solver.helpers import bay, tech
from tests.solver.synthetic import synthetic_batch

DAY = 24 * 60


def two_day_shop() -> BatchProblem:
    """Two days 08:00-17:00, two technicians (one has a job 10:00-12:00 on day 0), two bays."""
    days = ((8 * 60, 17 * 60), (DAY + 8 * 60, DAY + 17 * 60))
    t1 = tech("T1", free=((480, 570), (750, 1020), days[1]), jobs_per_day=(1, 0), daily_cap=2)
    t2 = tech("T2", free=days, jobs_per_day=(0, 0), daily_cap=2)
    b1, b2 = bay("B1", free=days), bay("B2", free=((480, 720), days[1]))
    jobs = (
        BatchJob("urgent", 120, 8, 480),
        BatchJob("long", 180, 2, 480, technicians=frozenset({"T1"})),
        BatchJob("b2-only", 60, 4, 480, bays=frozenset({"B2"})),
        BatchJob("late", 90, 1, DAY + 480),
        BatchJob("any", 60, 1, 480),
    )
    return BatchProblem(day_starts=(0, DAY), horizon_end=2 * DAY, technicians=(t1, t2), bays=(b1, b2), jobs=jobs)


def test_small_batch_is_optimal_and_every_assignment_passes_the_checker() -> None:
    problem = two_day_shop()
    result = solve_batch(problem, time_limit_s=10.0)
    assert result.status == "optimal"
    assert result.gap == 0.0
    assert not result.unassigned
    assert batch_violations(problem, result.assignments) == []
    greedy = greedy_batch(problem)
    assert batch_violations(problem, greedy.assignments) == []
    assert result.objective is not None and greedy.objective is not None
    assert result.objective <= greedy.objective


def test_the_checker_catches_two_jobs_of_one_technician_closer_than_the_buffer() -> None:
    problem = two_day_shop()
    result = solve_batch(problem, time_limit_s=10.0)
    first = result.assignments[0]
    clash = type(first)("any", first.technician_id, "B1" if first.bay_id == "B2" else "B2", first.end, first.end + 60)
    found = batch_violations(problem, [first, clash])
    assert any("technician_overlap" in f for f in found)


@pytest.mark.parametrize("seed", [0, 1])
def test_synthetic_batches_pass_the_checker(seed: int) -> None:
    for load in (0.4, 0.6):
        problem = synthetic_batch(seed, jobs=15, days=3, load=load)
        result = solve_batch(problem, time_limit_s=1.0)
        assert result.status in ("optimal", "feasible")
        assert batch_violations(problem, result.assignments) == []
        assert len(result.assignments) + len(result.unassigned) == len(problem.jobs)
        greedy = greedy_batch(problem)
        assert batch_violations(problem, greedy.assignments) == []
        assert result.objective is not None and greedy.objective is not None
        assert result.objective <= greedy.objective
