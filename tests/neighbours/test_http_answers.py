"""Whatever the neighbours answer, ``POST /api/v1/slots/available`` answers 200 with what it knows.

The FastAPI app itself (in-process, through httpx's ASGI transport) over the
application of ``make_app``, with the Health and Inventory fakes misbehaving
in every way the issue lists. A misbehaving neighbour is named in the
``explanation`` and never turns into a 5xx.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from application.calendar_feeds import CalendarFeeds
from bench.fake_neighbours import FakeHealthService, FakeInventoryService, Misbehaviour
from config.settings import Settings
from deployments.api import create_api
from deployments.rate_limits import RateLimiter
from deployments.services import Services
from tests.neighbours.conftest import AppFactory

BODY = {"vehicle_id": "V1", "service_type": "engine_repair", "urgency": "MEDIUM", "shop_id": "shop_a"}


@pytest.fixture
async def api(
    make_app: AppFactory, health_service: FakeHealthService, inventory_service: FakeInventoryService, db: Any
) -> AsyncIterator[httpx.AsyncClient]:
    health_service.health["V1"] = {"health_score": 30, "active_fault_codes": ["P0217"], "mileage_km": 20000}
    inventory_service.stock[("shop_a", "thermostat")] = (3, 48)
    inventory_service.stock[("shop_a", "coolant")] = (3, 24)
    app = await make_app(health_url=health_service.url, inventory_url=inventory_service.url, timeout_s=1.0)
    fastapi = create_api()
    # In process on loopback, without keys: what these tests look at is the neighbours, not access.
    settings = Settings(_env_file=None, auth_disabled=True, host="127.0.0.1")  # type: ignore[call-arg]
    feeds = CalendarFeeds(app.catalog, db, settings.smtp_from)
    fastapi.state.services = Services(settings, "", app, feeds, RateLimiter.from_settings(settings))
    transport = httpx.ASGITransport(app=fastapi)
    async with httpx.AsyncClient(transport=transport, base_url="http://api/api/v1") as client:
        yield client


async def test_well_behaved_neighbours_shape_the_answer(api: httpx.AsyncClient) -> None:
    response = await api.post("/slots/available", json=BODY)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["explanation"][:2] == [
        "vehicle health score 30 raised the urgency from MEDIUM to HIGH",
        "1 active fault code (P0217) lengthened the estimated duration from 3h00 to 3h15",
    ]
    assert {s["parts_source"] for s in body["recommended_slots"]} == {"inventory"}


@pytest.mark.parametrize(
    "misbehaviour",
    [Misbehaviour.HTML, Misbehaviour.WRONG_TYPES, Misbehaviour.ERROR_BODY, Misbehaviour.SLOW, None],
    ids=["html", "wrong_types", "error_body", "slow", "refused"],
)
async def test_misbehaving_neighbours_never_make_a_5xx(
    api: httpx.AsyncClient,
    health_service: FakeHealthService,
    inventory_service: FakeInventoryService,
    misbehaviour: Misbehaviour | None,
) -> None:
    for fake in (health_service, inventory_service):
        if misbehaviour is None:
            fake.refuse()
        else:
            fake.misbehaviour = misbehaviour

    response = await api.post("/slots/available", json=BODY)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["recommended_slots"]
    assert {s["parts_source"] for s in body["recommended_slots"]} == {"local"}
    assert any(line.startswith("vehicle health not considered") for line in body["explanation"])
    assert any(line.startswith("parts were checked against the local stock table") for line in body["explanation"])


async def test_booking_with_both_neighbours_down_books_on_the_local_table(
    api: httpx.AsyncClient, health_service: FakeHealthService, inventory_service: FakeInventoryService
) -> None:
    health_service.refuse()
    inventory_service.misbehaviour = Misbehaviour.HTML

    response = await api.post("/appointments", json={**BODY, "preferred_date": None})

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["parts_available"] is True
    assert body["urgency"] == "MEDIUM"  # health unknown: the caller's urgency stands


async def test_booking_with_well_behaved_neighbours_books_the_job_health_shaped(api: httpx.AsyncClient) -> None:
    response = await api.post("/appointments", json=BODY)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["urgency"] == "HIGH"
