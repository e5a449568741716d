"""The circuit breaker opens after repeated failures, rests, lets one trial through, and closes on success."""

from __future__ import annotations

import pytest

from integrations.circuit_breaker import CircuitBreaker, CircuitState
from tests.neighbours.conftest import ManualClock


def _breaker(clock: ManualClock, threshold: int = 3) -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=threshold, reset_after_s=30, clock=clock)


def test_closed_breaker_lets_calls_through_until_the_threshold_of_consecutive_failures() -> None:
    clock = ManualClock()
    breaker = _breaker(clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.record_failure()
    assert breaker.state is CircuitState.CLOSED
    breaker.record_failure()
    assert breaker.state is CircuitState.OPEN
    assert not breaker.allow()


def test_a_success_resets_the_count_of_failures() -> None:
    breaker = _breaker(ManualClock())
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state is CircuitState.CLOSED


def test_open_breaker_allows_one_trial_after_resting_and_closes_when_it_succeeds() -> None:
    clock = ManualClock()
    breaker = _breaker(clock, threshold=1)
    breaker.record_failure()
    clock.advance(29.9)
    assert not breaker.allow()
    clock.advance(0.1)
    assert breaker.state is CircuitState.HALF_OPEN
    assert breaker.allow()  # the trial
    assert not breaker.allow()  # only one
    breaker.record_success()
    assert breaker.state is CircuitState.CLOSED
    assert breaker.allow()


def test_a_failed_trial_opens_the_circuit_for_another_rest() -> None:
    clock = ManualClock()
    breaker = _breaker(clock, threshold=2)
    breaker.record_failure()
    breaker.record_failure()
    clock.advance(30)
    assert breaker.allow()
    breaker.record_failure()  # one failure in half-open state is enough
    assert breaker.state is CircuitState.OPEN
    clock.advance(29)
    assert not breaker.allow()
    clock.advance(1)
    assert breaker.allow()


def test_a_trial_that_never_reports_back_does_not_wedge_the_circuit() -> None:
    clock = ManualClock()
    breaker = _breaker(clock, threshold=1)
    breaker.record_failure()
    clock.advance(30)
    assert breaker.allow()  # its caller is cancelled and records nothing
    assert not breaker.allow()
    clock.advance(30)
    assert breaker.allow()


@pytest.mark.parametrize(("threshold", "reset"), [(0, 30.0), (1, 0.0)])
def test_nonsense_settings_are_refused(threshold: int, reset: float) -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(failure_threshold=threshold, reset_after_s=reset)
