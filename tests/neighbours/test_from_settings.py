"""Each neighbour is on when its URL is set, with its own timeout and auth header; nothing is contacted."""

from __future__ import annotations

import os

import pytest

from bench.fake_neighbours import FakeHealthService
from bridge.composition import neighbours
from config.settings import Settings
from integrations.from_settings import alert_service, health_service, inventory_service


@pytest.fixture(autouse=True)
def _no_neighbour_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what a test passes counts, not the environment of the machine running it."""
    for name in list(os.environ):
        if name.upper().startswith(("ALERT_SERVICE_", "HEALTH_SERVICE_", "INVENTORY_SERVICE_", "NEIGHBOUR_")):
            monkeypatch.delenv(name)


def _settings(**kw: object) -> Settings:
    return Settings(_env_file=None, **kw)  # type: ignore[call-arg, arg-type]


def test_without_urls_no_neighbour_is_called() -> None:
    settings = _settings()
    assert (alert_service(settings), health_service(settings), inventory_service(settings)) == (None, None, None)
    wired = neighbours(settings)
    assert (wired.health, wired.inventory) == (None, None)


def test_each_neighbour_is_on_with_its_own_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALERT_SERVICE_URL", "http://alerts.internal:8080/")
    monkeypatch.setenv("ALERT_SERVICE_TIMEOUT_SECONDS", "3.5")
    monkeypatch.setenv("ALERT_SERVICE_AUTH_HEADER", "X-Api-Key: k1")
    monkeypatch.setenv("INVENTORY_SERVICE_URL", "http://inventory.internal")
    monkeypatch.setenv("NEIGHBOUR_CIRCUIT_FAILURES", "7")
    monkeypatch.setenv("INVENTORY_CACHE_SECONDS", "5")
    settings = _settings()

    alert = alert_service(settings)
    assert alert is not None
    config = alert._http.config
    assert (config.service, config.base_url, config.timeout_s) == ("alert", "http://alerts.internal:8080/", 3.5)
    assert config.headers()["X-Api-Key"] == "k1"
    assert config.failure_threshold == 7
    assert health_service(settings) is None
    wired = neighbours(settings)
    assert wired.inventory is not None and wired.inventory_cache_seconds == 5


async def test_the_configured_health_client_reaches_the_health_service() -> None:
    with FakeHealthService(expected_auth=("Authorization", "Bearer h")).running() as fake:
        assert isinstance(fake, FakeHealthService)
        fake.health["V1"] = {"health_score": 70}
        client = health_service(_settings(health_service_url=fake.url, health_service_auth_header="Bearer h"))
        assert client is not None
        assert (await client.vehicle_health("V1")).health_score == 70
        await client.aclose()
