"""Slot search and booking with the Health and Inventory services (real local HTTP servers) beside them.

The application runs in-process (calendar hosts in this process, over the
test database); the neighbours are the fakes of ``bench/fake_neighbours.py``
reached through the real httpx clients.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from application.slot_search import SlotSearch, SlotSearchResult
from bench.fake_neighbours import FakeHealthService, FakeInventoryService, Misbehaviour
from domain.customer import Customer
from domain.parts import PartsSource
from domain.urgency import Urgency
from tests.neighbours.conftest import AppFactory

H = timedelta(hours=1)
ENGINE = SlotSearch(vehicle_id="V1", service_type="engine_repair", urgency=Urgency.MEDIUM, shop_ids=("shop_a",))
"""engine_repair: 3 h by default (range 3-5 h), needs a thermostat and coolant (10 of each in the local table)."""


def _lengths(result: SlotSearchResult) -> set[timedelta]:
    return {s.end - s.start for s in result.slots}


def _first(result: SlotSearchResult) -> datetime:
    assert result.slots, result.explanation
    return min(s.start for s in result.slots)


# -- health ----------------------------------------------------------------------------


async def test_poor_health_raises_urgency_and_lengthens_the_job_and_the_explanation_says_so(
    make_app: AppFactory, health_service: FakeHealthService
) -> None:
    codes = ["P0217", "P0128", "P0300"]
    health_service.health["V1"] = {"health_score": 20, "active_fault_codes": codes, "mileage_km": 182000}
    app = await make_app(health_url=health_service.url)

    result = await app.scheduler.find(ENGINE)

    assert result.explanation[:2] == (
        "vehicle health score 20 raised the urgency from MEDIUM to CRITICAL",
        "3 active fault codes (P0217, P0128, P0300) and a mileage of 182,000 km lengthened the estimated "
        "duration from 3h00 to 4h15",
    )
    assert _lengths(result) == {4 * H + timedelta(minutes=15)}
    assert result.search is not None and result.search.urgency is Urgency.CRITICAL

    appt = await app.scheduler.book_best(ENGINE, customer=Customer(), notes=None, hold=False)
    assert appt.urgency is Urgency.CRITICAL
    assert appt.end - appt.start == 4 * H + timedelta(minutes=15)
    assert health_service.requests_to("/vehicles/V1/health") == 2, "one read per search, and one per booking"


async def test_health_never_lowers_the_callers_urgency(make_app: AppFactory, health_service: FakeHealthService) -> None:
    health_service.health["V1"] = {"health_score": 99}
    app = await make_app(health_url=health_service.url)
    result = await app.scheduler.find(replace(ENGINE, urgency=Urgency.HIGH))
    assert result.search is not None and result.search.urgency is Urgency.HIGH
    assert _lengths(result) == {3 * H}
    assert not any("health" in line for line in result.explanation)


@pytest.mark.parametrize(
    ("misbehaviour", "says"),
    [
        (Misbehaviour.SLOW, "no answer within 1 s"),
        (Misbehaviour.HTML, "not JSON"),
        (Misbehaviour.WRONG_TYPES, "does not match the contract"),
        (Misbehaviour.ERROR_BODY, "does not match the contract"),
        (None, "connection failed"),
    ],
    ids=["slow", "html", "wrong_types", "error_body", "refused"],
)
async def test_a_health_service_that_cannot_answer_is_skipped_and_the_answer_says_so(
    make_app: AppFactory, health_service: FakeHealthService, misbehaviour: Misbehaviour | None, says: str
) -> None:
    health_service.health["V1"] = {"health_score": 5}
    if misbehaviour is None:
        health_service.refuse()
    else:
        health_service.misbehaviour = misbehaviour
    app = await make_app(health_url=health_service.url, timeout_s=1.0)

    result = await app.scheduler.find(ENGINE)

    assert result.slots, "the search answers without the Health Service"
    assert _lengths(result) == {3 * H}
    assert result.search is not None and result.search.urgency is Urgency.MEDIUM
    [note] = [line for line in result.explanation if "health" in line]
    assert note.startswith("vehicle health not considered: health service unavailable") and says in note


async def test_a_vehicle_the_health_service_does_not_know_is_searched_as_asked(
    make_app: AppFactory, health_service: FakeHealthService
) -> None:
    app = await make_app(health_url=health_service.url)
    result = await app.scheduler.find(ENGINE)
    assert _lengths(result) == {3 * H}
    assert "the Health Service knows no vehicle V1; health not considered" in result.explanation


# -- inventory -------------------------------------------------------------------------


async def test_inventory_lead_time_moves_the_first_slot_and_the_booking_orders_the_parts(
    make_app: AppFactory, inventory_service: FakeInventoryService, db: Any
) -> None:
    local = await (await make_app()).scheduler.find(ENGINE)
    assert {s.parts_source for s in local.slots} == {PartsSource.LOCAL}
    assert _first(local) < datetime.now(UTC) + 24 * H, "the local table has every part in stock"

    inventory_service.stock[("shop_a", "thermostat")] = (0, 72)
    inventory_service.stock[("shop_a", "coolant")] = (5, 0)
    app = await make_app(inventory_url=inventory_service.url)
    asked = datetime.now(UTC)
    result = await app.scheduler.find(ENGINE)

    assert _first(result) >= asked + 72 * H
    assert {(s.parts_source, s.parts_available) for s in result.slots} == {(PartsSource.INVENTORY, False)}

    appt = await app.scheduler.book_best(ENGINE, customer=Customer(), notes=None, hold=False)
    assert appt.parts_ready_at is not None and appt.start >= appt.parts_ready_at >= asked + 72 * H
    async with db.acquire() as conn:
        orders = await conn.fetch("SELECT envelope FROM outbox WHERE event_type = 'parts.order.requested'")
    assert [o["envelope"]["data"]["parts"] for o in orders] == [["thermostat"]]
    assert inventory_service.requests_to("/parts/availability") == 1, "one call, then the short cache answers"


async def test_a_hold_confirmed_on_the_inventory_s_word_orders_the_parts_it_waits_on(
    make_app: AppFactory, inventory_service: FakeInventoryService, db: Any
) -> None:
    inventory_service.stock[("shop_a", "thermostat")] = (0, 48)
    inventory_service.stock[("shop_a", "coolant")] = (0, 24)
    app = await make_app(inventory_url=inventory_service.url)
    held = await app.scheduler.book_best(ENGINE, customer=Customer(), notes=None, hold=True)
    assert not held.parts_available

    await app.booking.confirm(held.id)

    async with db.acquire() as conn:
        orders = await conn.fetch("SELECT envelope FROM outbox WHERE event_type = 'parts.order.requested'")
    assert [sorted(o["envelope"]["data"]["parts"]) for o in orders] == [["coolant", "thermostat"]]


async def test_inventory_down_falls_back_to_the_local_table_and_says_so(
    make_app: AppFactory, inventory_service: FakeInventoryService
) -> None:
    inventory_service.misbehaviour = Misbehaviour.ERROR_BODY
    app = await make_app(inventory_url=inventory_service.url)
    result = await app.scheduler.find(ENGINE)

    assert result.slots
    assert {(s.parts_source, s.parts_available) for s in result.slots} == {(PartsSource.LOCAL, True)}
    assert any(line.startswith("parts were checked against the local stock table") for line in result.explanation)

    inventory_service.refuse()
    appt = await app.scheduler.book_best(ENGINE, customer=Customer(), notes=None, hold=False)
    assert appt.parts_available


async def test_a_job_without_parts_does_not_ask_the_inventory(
    make_app: AppFactory, inventory_service: FakeInventoryService
) -> None:
    app = await make_app(inventory_url=inventory_service.url)
    result = await app.scheduler.find(SlotSearch(vehicle_id="V1", service_type="routine", shop_ids=("shop_a",)))
    assert result.slots and {s.parts_source for s in result.slots} == {None}
    assert inventory_service.received == []

