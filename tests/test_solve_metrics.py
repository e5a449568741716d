"""Each batch of slot solves is timed, and each solve counted by its status (a missed one as ``timed_out``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from actors import metrics
from actors.metrics import MeasuredSolveRunner
from solver import SlotProblem, SlotResult, SolveStatus


class _Answers:
    """A solve runner that answers what it was given (one greedy result, one shop that missed the deadline)."""

    async def solve(self, problems: Sequence[SlotProblem], time_limit_s: float) -> list[SlotResult | None]:
        return [SlotResult(SolveStatus.GREEDY, ()), None]


async def test_a_batch_is_timed_and_each_solve_counted_by_status(monkeypatch: pytest.MonkeyPatch) -> None:
    counted: list[tuple[str, dict[str, Any]]] = []
    observed: list[tuple[str, float, dict[str, Any]]] = []
    monkeypatch.setattr(metrics, "count", lambda name, value=1.0, **tags: counted.append((name, tags)))
    monkeypatch.setattr(metrics, "observe", lambda name, value, **tags: observed.append((name, value, tags)))

    results = await MeasuredSolveRunner(_Answers(), "thread").solve([], 0.5)

    assert results[1] is None and results[0] is not None
    assert counted == [
        ("scheduling_solves_total", {"status": "greedy", "runner": "thread"}),
        ("scheduling_solves_total", {"status": "timed_out", "runner": "thread"}),
    ]
    assert [(name, tags) for name, _, tags in observed] == [("scheduling_solve_seconds", {"runner": "thread"})]
