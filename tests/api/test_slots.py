"""The service card's two example requests, answered in the card's shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.api.helpers import assert_problem, days_ahead, parse_time

ENGINE_EXAMPLE = {
    "vehicle_id": "V001",
    "service_type": "engine_repair",
    "urgency": "HIGH",
    "preferred_date": "2026-02-01",
    "estimated_duration_hours": 3,
}
ROUTINE_EXAMPLE = {"vehicle_id": "V001", "service_type": "routine", "urgency": "LOW"}


def assert_card_shape(body: dict[str, Any], duration: timedelta | None = None) -> None:
    slots = body["recommended_slots"]
    assert slots, body
    for slot in slots:
        start = parse_time(slot["datetime"])
        end = parse_time(slot["estimated_completion"])
        if duration is not None:
            assert end - start == duration, slot
        assert end > start
        assert set(slot["technician"]) >= {"id", "name", "specialization", "rating"}
        assert isinstance(slot["technician"]["rating"], float | int)
        assert isinstance(slot["service_bay"], str) and slot["service_bay"]
        assert isinstance(slot["parts_available"], bool)
        assert slot["parts_source"] in ("inventory", "local", None)
        assert 0.0 <= slot["confidence_score"] <= 1.0


async def engine_skilled(client: httpx.AsyncClient) -> set[str]:
    response = await client.get("/technicians", params={"skill": "engine", "limit": 200})
    assert response.status_code == 200, response.text
    return {t["id"] for t in response.json()["items"]}


async def test_card_engine_example_answers_engine_technicians_with_three_hour_slots(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/slots/available", json=ENGINE_EXAMPLE)

    assert response.status_code == 200, response.text
    body = response.json()
    assert_card_shape(body, timedelta(hours=3))
    skilled = await engine_skilled(client)
    assert all(slot["technician"]["id"] in skilled for slot in body["recommended_slots"])


async def test_card_engine_example_with_a_future_preferred_date_is_answered_near_that_date(
    client: httpx.AsyncClient,
) -> None:
    body = {**ENGINE_EXAMPLE, "preferred_date": days_ahead(7), "shop_id": "shop_nyc"}

    response = await client.post("/slots/available", json=body)

    assert response.status_code == 200, response.text
    assert_card_shape(response.json(), timedelta(hours=3))
    for slot in response.json()["recommended_slots"]:
        assert slot["shop_id"] == "shop_nyc"
        assert parse_time(slot["datetime"]).utcoffset() in (timedelta(hours=-5), timedelta(hours=-4))
        assert slot["technician"]["id"] in await engine_skilled(client)


async def test_card_routine_example_is_answered_in_the_card_shape(client: httpx.AsyncClient) -> None:
    response = await client.post("/slots/available", json=ROUTINE_EXAMPLE)

    assert response.status_code == 200, response.text
    assert_card_shape(response.json(), timedelta(hours=1))


async def test_get_form_takes_the_same_fields_as_query_parameters(client: httpx.AsyncClient) -> None:
    params = {**ENGINE_EXAMPLE, "preferred_date": days_ahead(7), "shop_id": "shop_nyc"}

    got = await client.get("/slots/available", params=params)
    posted = await client.post("/slots/available", json=params)

    assert got.status_code == 200, got.text
    assert_card_shape(got.json(), timedelta(hours=3))
    assert [s["datetime"] for s in got.json()["recommended_slots"]] == [
        s["datetime"] for s in posted.json()["recommended_slots"]
    ]


async def test_get_form_takes_a_location_and_a_time_window_as_flat_parameters(client: httpx.AsyncClient) -> None:
    near_times_square = {"lat": 40.758, "lon": -73.9855, "radius_km": 50}
    week_ahead = {**ROUTINE_EXAMPLE, "preferred_date": days_ahead(7), "top_k": 5}
    params = {**week_ahead, **near_times_square, "start": "08:00", "end": "12:00"}

    got = await client.get("/slots/available", params=params)
    posted = await client.post(
        "/slots/available",
        json={
            **week_ahead,
            "location": {"lat": 40.758, "lon": -73.9855},
            "radius_km": 50,
            "preferred_time_window": {"start": "08:00", "end": "12:00"},
        },
    )

    assert got.status_code == 200, got.text
    body = got.json()
    assert body["shops_searched"] == ["shop_nyc"]  # Berlin is not within 50 km
    assert_card_shape(body, timedelta(hours=1))
    assert [s["datetime"] for s in body["recommended_slots"]] == [
        s["datetime"] for s in posted.json()["recommended_slots"]
    ]


async def test_get_form_refuses_half_a_location_or_window_naming_the_field(client: httpx.AsyncClient) -> None:
    cases = {
        "lon": {"lat": 40.7},
        "radius_km": {"radius_km": 10},
        "end": {"start": "12:00", "end": "08:00"},
    }
    for field, params in cases.items():
        response = await client.get("/slots/available", params={**ROUTINE_EXAMPLE, **params})

        problem = assert_problem(response, 422, "validation_error")
        assert field in {e["field"] for e in problem["errors"]}, problem


async def test_a_time_window_with_an_offset_is_422_not_500(client: httpx.AsyncClient) -> None:
    # A preferred window is wall-clock time at the shop; an offset (on one end or both) means nothing there.
    for start, end in [("08:00", "12:00Z"), ("08:00+02:00", "12:00"), ("08:00:00Z", "12:00:00Z")]:
        posted = await client.post(
            "/slots/available", json={**ROUTINE_EXAMPLE, "preferred_time_window": {"start": start, "end": end}}
        )
        got = await client.get("/slots/available", params={**ROUTINE_EXAMPLE, "start": start, "end": end})

        assert assert_problem(posted, 422, "validation_error")["errors"][0]["field"].startswith("preferred_time_window")
        assert assert_problem(got, 422, "validation_error")["errors"][0]["field"] in ("start", "end")


async def test_top_k_bounds_the_number_of_slots(client: httpx.AsyncClient) -> None:
    response = await client.post("/slots/available", json={**ROUTINE_EXAMPLE, "top_k": 5, "shop_id": "shop_nyc"})

    assert response.status_code == 200, response.text
    assert 1 <= len(response.json()["recommended_slots"]) <= 5


async def test_part_out_of_stock_pushes_slots_past_its_lead_time(client: httpx.AsyncClient) -> None:
    asked_at = datetime.now(UTC)
    response = await client.post(
        "/slots/available",
        json={"vehicle_id": "V001", "service_type": "timing_belt_replacement", "shop_id": "shop_nyc"},
    )

    assert response.status_code == 200, response.text
    slots = response.json()["recommended_slots"]
    assert slots
    for slot in slots:  # the timing belt is out of stock with a 3-day lead time
        assert slot["parts_available"] is False
        assert slot["parts_source"] == "local"  # no INVENTORY_SERVICE_URL here: the local table answered
        assert parse_time(slot["datetime"]) >= asked_at + timedelta(days=3)


async def test_earliest_opens_the_search_window(client: httpx.AsyncClient) -> None:
    earliest = datetime.now(UTC) + timedelta(days=20)

    response = await client.post(
        "/slots/available", json={**ROUTINE_EXAMPLE, "shop_id": "shop_berlin", "earliest": earliest.isoformat()}
    )

    assert response.status_code == 200, response.text
    slots = response.json()["recommended_slots"]
    assert slots
    assert all(parse_time(s["datetime"]) >= earliest for s in slots)
