"""The KPIs over HTTP: the shape, and what is refused (issue 16). The figures are tested in tests/application."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.api.helpers import assert_problem, book, vehicle

NOW = datetime.now(UTC).replace(microsecond=0)


def _window(days: float = 7, start: datetime = NOW) -> dict[str, str]:
    return {"from": start.isoformat(), "to": (start + timedelta(days=days)).isoformat()}


async def test_a_shop_s_figures_carry_their_parts_and_targets(client: httpx.AsyncClient) -> None:
    response = await client.get("/shops/shop_allday/kpis", params=_window(start=NOW - timedelta(days=7), days=30))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["shop_ids"] == ["shop_allday"]
    overall = body["technician_utilization"]["overall"]
    assert set(overall) == {"value", "numerator", "denominator", "target", "met"}
    assert overall["target"] == "70–80%" and overall["denominator"] > 0
    assert [w["urgency"] for w in body["wait"]] == ["CRITICAL", "HIGH", "MEDIUM", "LOW"]
    assert body["no_show_rate"]["target"] == "< 5%"
    assert body["not_measured"] == []
    assert body["booking_success_rate"]["target"] == "≥ 95%"
    assert body["recommended_slot_uptake"]["target"] == "≥ 90%"


async def test_the_chain_covers_every_shop(client: httpx.AsyncClient) -> None:
    response = await client.get("/kpis", params=_window())
    assert response.status_code == 200, response.text
    assert "shop_allday" in response.json()["shop_ids"] and len(response.json()["shop_ids"]) > 1


async def test_a_bad_window_is_422(client: httpx.AsyncClient) -> None:
    backwards = {"from": NOW.isoformat(), "to": (NOW - timedelta(days=1)).isoformat()}
    assert_problem(await client.get("/shops/shop_allday/kpis", params=backwards), 422)
    assert_problem(await client.get("/kpis", params=_window(days=400)), 422)
    naive = {"from": "2030-01-01T00:00:00", "to": "2030-01-02T00:00:00"}
    assert_problem(await client.get("/kpis", params=naive), 422)
    assert_problem(await client.get("/kpis", params={"from": NOW.isoformat()}), 422)


async def test_an_unknown_shop_is_404(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/shops/shop_nowhere/kpis", params=_window()), 404, "not_found")


async def test_a_search_and_the_booking_of_its_first_slot_count_toward_success_and_uptake(
    client: httpx.AsyncClient,
) -> None:
    window = _window(start=datetime.now(UTC) - timedelta(minutes=5), days=1)

    async def figures() -> tuple[float, float, float, float]:
        body = (await client.get("/shops/shop_allday/kpis", params=window)).json()
        success, uptake = body["booking_success_rate"], body["recommended_slot_uptake"]
        return success["numerator"], success["denominator"], uptake["numerator"], uptake["denominator"]

    before = await figures()
    car = vehicle()
    found = await client.post(
        "/slots/available",
        json={
            "vehicle_id": car,
            "service_type": "routine",
            "shop_id": "shop_allday",
            "urgency": "HIGH",
            "earliest": (datetime.now(UTC) + timedelta(days=61)).isoformat(),
        },
    )
    assert found.status_code == 200, found.text
    search_id, first = found.json()["search_id"], found.json()["recommended_slots"][0]
    assert search_id
    await book(client, first, vehicle_id=car, service_type="routine", urgency="HIGH", search_id=search_id)
    after = await figures()
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1, 1]
