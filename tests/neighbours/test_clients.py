"""The Alert, Health and Inventory clients against real local HTTP servers that behave, and that do not.

Every misbehaviour (HTML, wrong types, a 200 with an error body, a 503,
slowness, a refused connection) ends as ``NeighbourUnavailable``; never an
httpx, JSON or pydantic error, and never a made-up answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from bench.fake_neighbours import (
    FakeAlertService,
    FakeHealthService,
    FakeInventoryService,
    FakeNeighbour,
    Misbehaviour,
)
from domain.neighbours import NeighbourNotFound, NeighbourUnavailable
from domain.parts import PartStock
from domain.vehicle_health import VehicleHealth
from integrations.alert_service import AlertServiceClient
from integrations.circuit_breaker import CircuitState
from integrations.health_service import HealthServiceClient
from integrations.inventory_service import InventoryServiceClient
from integrations.neighbour_http import NeighbourConfig, NeighbourHttp
from tests.neighbours.conftest import ManualClock

ALERT = {
    "alert_id": "A1",
    "vehicle_id": "V001",
    "severity": "CRITICAL",
    "component": "coolant",
    "description": "coolant temperature above limit",
    "location": {"lat": 40.7, "lon": -74.0},
    "firmware": "2.1",  # unknown fields are tolerated
}


@dataclass
class Case:
    """One client, its fake, and the call whose answer the test checks."""

    name: str
    fake: FakeNeighbour
    call: Callable[[Any], Awaitable[Any]]
    expected: Any
    build: Callable[[NeighbourHttp], Any]


def _alert_case() -> Case:
    fake = FakeAlertService()
    fake.alerts["A1"] = ALERT
    expected = {k: v for k, v in ALERT.items() if k != "firmware"}
    return Case("alert", fake, lambda c: c.alert_details("A1"), expected, AlertServiceClient)


def _health_case() -> Case:
    fake = FakeHealthService()
    fake.health["V001"] = {"vehicle_id": "V001", "health_score": 42, "active_fault_codes": ["P0217"], "mileage_km": 1}
    expected = VehicleHealth("V001", 42.0, ("P0217",), 1.0)
    return Case("health", fake, lambda c: c.vehicle_health("V001"), expected, HealthServiceClient)


def _inventory_case() -> Case:
    fake = FakeInventoryService()
    fake.stock[("shop_a", "thermostat")] = (0, 72)
    fake.stock[("shop_a", "coolant")] = (4, 24)
    fake.stock[("shop_b", "coolant")] = (9, 1)  # not asked about
    expected = [
        PartStock("shop_a", "coolant", "Coolant", 4, timedelta(hours=24)),
        PartStock("shop_a", "thermostat", "Thermostat", 0, timedelta(hours=72)),
    ]
    return Case(
        "inventory", fake, lambda c: c.stock(["shop_a"], ["coolant", "thermostat"]), expected, InventoryServiceClient
    )


CASES = {"alert": _alert_case, "health": _health_case, "inventory": _inventory_case}


@pytest.fixture(params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> Iterator[Case]:
    made = CASES[request.param]()
    made.fake.start()
    yield made
    made.fake.stop()


def _client(case: Case, *, timeout_s: float = 2.0, clock: ManualClock | None = None, **kw: Any) -> Any:
    config = NeighbourConfig(case.name, case.fake.url, timeout_s=timeout_s, **kw)
    return case.build(NeighbourHttp(config, clock=clock or ManualClock()))


async def test_a_well_behaved_neighbour_is_understood(case: Case) -> None:
    client = _client(case)
    assert await case.call(client) == case.expected
    await client.aclose()


async def test_the_auth_header_goes_with_every_call(case: Case) -> None:
    case.fake.expected_auth = ("X-Api-Key", "s3cret")
    client = _client(case, auth_header="X-Api-Key: s3cret")
    assert await case.call(client) == case.expected
    bare = _client(case, auth_header="Bearer s3cret")  # a bare value goes as Authorization: refused here
    with pytest.raises(NeighbourUnavailable, match="HTTP 401"):
        await case.call(bare)
    assert case.fake.received[-1].headers["authorization"] == "Bearer s3cret"
    await client.aclose()
    await bare.aclose()


async def test_a_slow_neighbour_is_given_up_after_the_timeout(case: Case) -> None:
    case.fake.misbehaviour = Misbehaviour.SLOW
    client = _client(case, timeout_s=0.2)
    with pytest.raises(NeighbourUnavailable, match=r"no answer within 0\.2 s"):
        await case.call(client)
    assert len(case.fake.received) == 1, "a timeout is not retried"
    await client.aclose()


async def test_a_refused_connection_is_retried_a_bounded_number_of_times_then_reported(case: Case) -> None:
    case.fake.refuse()
    client = _client(case, attempts=3)
    with pytest.raises(NeighbourUnavailable, match="connection failed"):
        await case.call(client)
    await client.aclose()


async def test_a_503_is_retried_and_the_second_answer_counts(case: Case) -> None:
    case.fake.fail_next = 1
    client = _client(case, attempts=2)
    assert await case.call(client) == case.expected
    assert len(case.fake.received) == 2
    await client.aclose()


async def test_a_neighbour_that_stays_503_is_reported_after_the_last_attempt(case: Case) -> None:
    case.fake.misbehaviour = Misbehaviour.UNAVAILABLE
    client = _client(case, attempts=2)
    with pytest.raises(NeighbourUnavailable, match="HTTP 503"):
        await case.call(client)
    assert len(case.fake.received) == 2
    await client.aclose()


@pytest.mark.parametrize(
    ("misbehaviour", "reason"),
    [
        (Misbehaviour.HTML, "not JSON"),
        (Misbehaviour.HTML_AS_JSON, "not valid JSON"),
        (Misbehaviour.WRONG_TYPES, "does not match the contract"),
        (Misbehaviour.ERROR_BODY, "does not match the contract"),
    ],
)
async def test_a_malformed_body_is_unusable_not_guessed_at(case: Case, misbehaviour: Misbehaviour, reason: str) -> None:
    case.fake.misbehaviour = misbehaviour
    client = _client(case)
    with pytest.raises(NeighbourUnavailable, match=reason) as raised:
        await case.call(client)
    assert not isinstance(raised.value, NeighbourNotFound)
    assert len(case.fake.received) == 1, "a malformed answer is not retried at once"
    await client.aclose()


async def test_the_circuit_opens_after_repeated_failures_then_half_opens_and_closes(case: Case) -> None:
    clock = ManualClock()
    client = _client(case, clock=clock, attempts=1, failure_threshold=2, reset_after_s=30)
    breaker = client._http.breaker
    case.fake.misbehaviour = Misbehaviour.ERROR_BODY
    for _ in range(2):
        with pytest.raises(NeighbourUnavailable):
            await case.call(client)
    assert breaker.state is CircuitState.OPEN

    case.fake.misbehaviour = Misbehaviour.NONE  # healed, but the circuit does not know yet
    with pytest.raises(NeighbourUnavailable, match="circuit open"):
        await case.call(client)
    assert len(case.fake.received) == 2, "an open circuit calls nobody"

    clock.advance(30)
    assert breaker.state is CircuitState.HALF_OPEN
    assert await case.call(client) == case.expected  # the trial
    assert breaker.state is CircuitState.CLOSED
    assert await case.call(client) == case.expected
    await client.aclose()


async def test_a_failed_trial_in_half_open_state_opens_the_circuit_again(case: Case) -> None:
    clock = ManualClock()
    client = _client(case, clock=clock, attempts=1, failure_threshold=1, reset_after_s=30)
    case.fake.misbehaviour = Misbehaviour.HTML
    with pytest.raises(NeighbourUnavailable):
        await case.call(client)
    clock.advance(30)
    with pytest.raises(NeighbourUnavailable, match="not JSON"):  # the trial reached the server, and failed
        await case.call(client)
    with pytest.raises(NeighbourUnavailable, match="circuit open"):
        await case.call(client)
    assert len(case.fake.received) == 2
    await client.aclose()


async def test_an_unknown_alert_or_vehicle_is_not_found(alert_service: FakeAlertService) -> None:
    http = NeighbourHttp(NeighbourConfig("alert", alert_service.url, failure_threshold=1), clock=ManualClock())
    client = AlertServiceClient(http)
    for _ in range(3):
        with pytest.raises(NeighbourNotFound):
            await client.alert_details("nope")
    assert http.breaker.state is CircuitState.CLOSED, "a clear 404 is an answer, not a failure"
    await client.aclose()


async def test_an_answer_about_another_alert_is_refused(alert_service: FakeAlertService) -> None:
    alert_service.alerts["A1"] = {**ALERT, "alert_id": "A2"}
    client = AlertServiceClient(NeighbourHttp(NeighbourConfig("alert", alert_service.url), clock=ManualClock()))
    with pytest.raises(NeighbourUnavailable, match="answered about 'A2'"):
        await client.alert_details("A1")
    await client.aclose()


@pytest.mark.parametrize(
    "health",
    [
        {"health_score": 140},
        {"health_score": -1},
        {"health_score": "42"},
        {"health_score": 50, "active_fault_codes": [1, 2]},
        {"health_score": 50, "mileage_km": -5},
        {"vehicle_id": "V002", "health_score": 50},
    ],
)
async def test_health_out_of_its_contract_is_unusable(health_service: FakeHealthService, health: Any) -> None:
    health_service.health["V001"] = health
    client = HealthServiceClient(NeighbourHttp(NeighbourConfig("health", health_service.url), clock=ManualClock()))
    with pytest.raises(NeighbourUnavailable):
        await client.vehicle_health("V001")
    await client.aclose()


async def test_the_inventory_is_asked_once_for_every_shop_and_part(inventory_service: FakeInventoryService) -> None:
    client = InventoryServiceClient(
        NeighbourHttp(NeighbourConfig("inventory", inventory_service.url), clock=ManualClock())
    )
    assert await client.stock(["shop_a", "shop_b"], ["coolant"]) == []
    [request] = inventory_service.received
    assert request.body == {"shop_ids": ["shop_a", "shop_b"], "part_codes": ["coolant"]}
    await client.aclose()
