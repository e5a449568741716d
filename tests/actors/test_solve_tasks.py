"""The coordinator's Ray part on the session's local Ray (2 CPUs)."""

from __future__ import annotations

from typing import Any

import pytest

from actors.solve_tasks import RaySolveRunner, solve_chunk, solve_shops_async
from solver import solve_slots
from tests.solver.synthetic import synthetic_shop

pytestmark = pytest.mark.ray


def shops(n: int) -> list[Any]:
    return [synthetic_shop(seed, technicians=4, bays=3, days=3, shop_id=f"S{seed}") for seed in range(n)]


async def test_parallel_solves_match_the_sequential_ones(ray_session: Any) -> None:
    problems = shops(6)
    out = await solve_shops_async(problems, deadline_s=120, shops_per_task=2)
    assert not out.timed_out and not out.failed
    sequential = solve_chunk(problems, 0.5)
    assert [r.slots if r else None for r in out.results] == [r.slots for r in sequential]


async def test_shops_past_the_deadline_are_reported_timed_out_not_raised(ray_session: Any) -> None:
    problems = shops(4)
    out = await solve_shops_async(problems, deadline_s=0.0, shops_per_task=1)
    assert set(out.timed_out) == {p.shop_id for p in problems}
    assert all(r is None for r in out.results)


async def test_runner_returns_one_result_per_problem_in_order(ray_session: Any) -> None:
    problems = shops(3)
    results = await RaySolveRunner(deadline_s=120).solve(problems, 0.5)
    assert [r.shop_id if r else None for r in results] == [p.shop_id for p in problems]
    assert results[0] is not None and results[0].slots == solve_slots(problems[0]).slots
