"""The KPI arithmetic: percentiles, spread, targets and ratios with nothing to divide by."""

from __future__ import annotations

import pytest

from domain.kpis import (
    NO_SHOW_TARGET,
    UTILIZATION_TARGET,
    Figure,
    coefficient_of_variation,
    percentile,
)


def test_p90_is_the_nearest_rank() -> None:
    assert percentile([], 0.9) is None
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([float(v) for v in range(1, 11)], 0.9) == 9.0  # 9 of 10 at or below
    assert percentile([float(v) for v in range(1, 12)], 0.9) == 10.0  # ceil(9.9) = 10th


def test_the_coefficient_of_variation_is_population_sd_over_mean() -> None:
    assert coefficient_of_variation([]) is None
    assert coefficient_of_variation([0.0, 0.0]) is None
    assert coefficient_of_variation([0.75, 0.75]) == 0
    assert coefficient_of_variation([0.5, 1.0]) == pytest.approx(0.25 / 0.75)


def test_targets_bound_from_the_right_side() -> None:
    assert [UTILIZATION_TARGET.met(v) for v in (0.69, 0.70, 0.80, 0.81)] == [False, True, True, False]
    assert [NO_SHOW_TARGET.met(v) for v in (0.049, 0.05)] == [True, False]
    assert UTILIZATION_TARGET.met(None) is None


def test_a_figure_without_a_denominator_has_no_value() -> None:
    empty = Figure(0, 0, NO_SHOW_TARGET)
    assert (empty.value, empty.met) == (None, None)
    assert Figure(1, 4).value == 0.25 and Figure(1, 4).met is None
