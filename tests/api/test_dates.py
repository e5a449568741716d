"""Dates at the ends of the calendar: outside the supported range a 422 naming the field, never a 500.

The service supports dates in years 1970..2199 (``domain.time_windows``).
Every operation that takes a date or a datetime, in a body or a query, is
sent dates outside it (years 1 and 9999 among them, which used to overflow
into 500s); dates at the range's edges, with the longest search, still answer.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.helpers import assert_problem, book, search, vehicle

OUT_OF_RANGE_DATETIMES = [
    "9999-12-31T10:00:00+00:00",
    "9999-12-31T23:00:00-12:00",  # beyond year 9999 in UTC
    "0001-01-01T00:00:00+05:00",  # before year 1 in UTC
    "0001-01-01T00:00:00Z",
    "1969-12-31T23:59:00Z",
    "2200-01-01T00:00:00Z",
]
OUT_OF_RANGE_DATES = ["9999-12-31", "0001-01-01", "1969-12-31", "2200-01-01"]
SEARCH = {"vehicle_id": "V001", "service_type": "routine", "shop_id": "shop_allday"}


def assert_refused_naming(response: httpx.Response, field: str) -> None:
    """A 422 problem that names ``field`` (in ``errors`` for body/query validation, else in ``context``)."""
    problem = assert_problem(response, 422)
    named = {e["field"] for e in problem.get("errors") or []} | {problem.get("context", {}).get("field")}
    assert field in named, problem
    assert "1970-01-01" in problem["detail"], problem


@pytest.fixture(scope="module")
async def appointment(api_url: str, admin_headers: dict[str, str]) -> dict[str, Any]:
    """A booked appointment at the all-day shop, to reschedule."""
    async with httpx.AsyncClient(base_url=api_url + "/api/v1", timeout=60, headers=admin_headers) as c:
        return await book(c, (await search(c, **SEARCH))[0], vehicle_id=vehicle(), service_type="routine")


@pytest.mark.parametrize("value", OUT_OF_RANGE_DATETIMES)
async def test_booking_datetime_out_of_range_is_422(client: httpx.AsyncClient, value: str) -> None:
    chosen = {"datetime": value, "technician_id": "tech_901", "service_bay": "Bay 1"}
    body = {"vehicle_id": vehicle(), "service_type": "routine", "shop_id": "shop_allday"}

    assert_refused_naming(await client.post("/appointments", json={**body, **chosen}), "datetime")
    assert_refused_naming(await client.post("/appointments", json={**body, "datetime": value}), "datetime")


@pytest.mark.parametrize("value", OUT_OF_RANGE_DATES)
async def test_booking_preferred_date_out_of_range_is_422(client: httpx.AsyncClient, value: str) -> None:
    body = {"vehicle_id": vehicle(), "service_type": "routine", "shop_id": "shop_allday", "preferred_date": value}

    assert_refused_naming(await client.post("/appointments", json=body), "preferred_date")


@pytest.mark.parametrize("value", OUT_OF_RANGE_DATETIMES)
async def test_reschedule_datetime_out_of_range_is_422_and_leaves_the_appointment(
    client: httpx.AsyncClient, appointment: dict[str, Any], value: str
) -> None:
    path = f"/appointments/{appointment['id']}"

    assert_refused_naming(await client.put(path, json={"datetime": value}), "datetime")
    after = await client.get(path)
    assert after.json()["datetime"] == appointment["datetime"]


@pytest.mark.parametrize("value", OUT_OF_RANGE_DATETIMES)
async def test_search_earliest_out_of_range_is_422_as_body_and_as_query(client: httpx.AsyncClient, value: str) -> None:
    assert_refused_naming(await client.post("/slots/available", json={**SEARCH, "earliest": value}), "earliest")
    assert_refused_naming(await client.get("/slots/available", params={**SEARCH, "earliest": value}), "earliest")


@pytest.mark.parametrize("value", OUT_OF_RANGE_DATES)
async def test_search_preferred_date_out_of_range_is_422_as_body_and_as_query(
    client: httpx.AsyncClient, value: str
) -> None:
    body = {**SEARCH, "preferred_date": value}

    assert_refused_naming(await client.post("/slots/available", json=body), "preferred_date")
    assert_refused_naming(await client.get("/slots/available", params=body), "preferred_date")


@pytest.mark.parametrize("value", OUT_OF_RANGE_DATES + OUT_OF_RANGE_DATETIMES)
@pytest.mark.parametrize("technician", ["tech_001", "tech_101"])  # New York (west of UTC), Berlin (east of it)
async def test_schedule_from_or_to_out_of_range_is_422(client: httpx.AsyncClient, technician: str, value: str) -> None:
    path = f"/technicians/{technician}/schedule"

    assert_refused_naming(await client.get(path, params={"from": value}), "from")
    assert_refused_naming(await client.get(path, params={"to": value}), "to")
    assert_refused_naming(await client.get(path, params={"from": "2031-01-01", "to": value}), "to")


async def test_the_edges_of_the_range_are_answered(client: httpx.AsyncClient) -> None:
    # The longest search from the last supported day, and a preferred date far ahead, compute without overflow.
    last_day = {**SEARCH, "earliest": "2199-12-31T00:00:00+00:00", "search_days": 60, "preferred_date": "2199-12-31"}
    far_preference = {**SEARCH, "preferred_date": "2199-12-31", "search_days": 60}

    for response in (
        await client.post("/slots/available", json=last_day),
        await client.get("/slots/available", params=last_day),
        await client.post("/slots/available", json=far_preference),
        await client.get("/technicians/tech_101/schedule", params={"from": "1970-01-01", "to": "1970-02-01"}),
        await client.get("/technicians/tech_001/schedule", params={"from": "2199-12-01", "to": "2199-12-31"}),
    ):
        assert response.status_code == 200, response.text
