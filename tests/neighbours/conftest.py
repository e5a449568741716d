"""Fixtures of the neighbour tests: the three fake services on ephemeral loopback ports, and their clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.fake_neighbours import FakeAlertService, FakeHealthService, FakeInventoryService


@pytest.fixture
def alert_service() -> Iterator[FakeAlertService]:
    with FakeAlertService().running() as fake:
        assert isinstance(fake, FakeAlertService)
        yield fake


@pytest.fixture
def health_service() -> Iterator[FakeHealthService]:
    with FakeHealthService().running() as fake:
        assert isinstance(fake, FakeHealthService)
        yield fake


@pytest.fixture
def inventory_service() -> Iterator[FakeInventoryService]:
    with FakeInventoryService().running() as fake:
        assert isinstance(fake, FakeInventoryService)
        yield fake


class ManualClock:
    """A monotonic clock the test moves by hand (the circuit breaker's)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
