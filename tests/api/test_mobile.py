"""Mobile service over HTTP: the catalog, an on-site search and booking, 422s naming the field, a route."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.api.conftest import ApiKeys
from tests.api.helpers import assert_problem, chosen, search, vehicle

NEAR_BERLIN = {"lat": 52.52, "lon": 13.40}  # Alexanderplatz, ~2 km from the demo shop's yard


def client(api_url: str, api_keys: ApiKeys) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=api_url + "/api/v1", timeout=60, headers=api_keys.admin_headers)


def on_site(**extra: Any) -> dict[str, Any]:
    # HIGH: a random day's slot may fall in the urgent reserve's blocks, which routine work may not take
    earliest = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    return {"service_type": "mobile_tire_change", "shop_id": "shop_berlin", "urgency": "HIGH",
            "earliest": earliest, **extra}  # fmt: skip


async def test_the_catalog_lists_on_site_services_with_their_needs(api_url: str, api_keys: ApiKeys) -> None:
    async with client(api_url, api_keys) as c:
        response = await c.get("/service-types")
    assert response.status_code == 200, response.text
    items = {t["code"]: t for t in response.json()["items"]}
    assert items["mobile_tire_change"]["on_site"] is True
    assert items["mobile_tire_change"]["required_equipment"] == ["tire_kit"]
    assert items["engine_repair"]["on_site"] is False and items["engine_repair"]["min_hours"] == 3


async def test_an_on_site_job_is_searched_booked_and_routed(api_url: str, api_keys: ApiKeys) -> None:
    async with client(api_url, api_keys) as c:
        car = vehicle()
        [slot, *_] = await search(c, vehicle_id=car, location=NEAR_BERLIN, **on_site())
        assert slot["technician"]["id"] in {"tech_107", "tech_108"} and slot["service_bay"].startswith("Van of")
        window = slot["arrival_window"]
        assert window["start"] <= slot["datetime"] < window["end"]
        body = {**chosen(slot), "vehicle_id": car, "service_type": "mobile_tire_change", "urgency": "HIGH",
                "location": NEAR_BERLIN}  # fmt: skip
        booked = await c.post("/appointments", json=body)
        assert booked.status_code == 201, booked.text
        appt = booked.json()
        assert appt["location"] == NEAR_BERLIN and appt["arrival_window"] == window
        day = slot["datetime"][:10]
        route = await c.get(f"/technicians/{slot['technician']['id']}/route", params={"date": day})
        assert route.status_code == 200, route.text
        stops = route.json()["stops"]
        assert appt["id"] in [s["appointment_id"] for s in stops]
        assert route.json()["travel_minutes"] >= 2 * min(s["drive_minutes"] for s in stops)
        plan = await c.post("/shops/shop_berlin/routes/optimize", params={"date": day})
        assert plan.status_code == 200, plan.text
        assert plan.json()["travel_minutes_after"] <= plan.json()["travel_minutes_before"]


@pytest.mark.parametrize(
    ("location", "field"),
    [(None, "location"), ({"lat": 48.14, "lon": 11.58}, "location"), ({"lat": 95, "lon": 13.4}, "location.lat")],
    ids=["missing", "beyond_the_radius", "off_the_planet"],
)
async def test_bad_on_site_locations_are_422_naming_the_field(
    api_url: str, api_keys: ApiKeys, location: dict[str, float] | None, field: str
) -> None:
    extra = {} if location is None else {"location": location}
    async with client(api_url, api_keys) as c:
        response = await c.post("/slots/available", json={"vehicle_id": vehicle(), **on_site(**extra)})
    problem = assert_problem(response, 422)
    fields = [e["field"] for e in problem.get("errors", [])] + [problem.get("context", {}).get("field")]
    assert field in fields, problem
