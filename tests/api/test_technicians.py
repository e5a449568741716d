"""Technicians: list, filter, pagination, one technician, schedule, iCalendar feed."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import httpx
from icalendar import Calendar

from tests.api.helpers import ahead, book, parse_time, search, vehicle


async def test_list_filters_by_shop_and_skill(client: httpx.AsyncClient) -> None:
    nyc = await client.get("/technicians", params={"shop_id": "shop_nyc"})
    engine = await client.get("/technicians", params={"shop_id": "shop_nyc", "skill": "engine"})

    assert nyc.status_code == 200 and engine.status_code == 200
    assert {t["shop_id"] for t in nyc.json()["items"]} == {"shop_nyc"}
    assert nyc.json()["page"]["total"] == 8  # 6 in the shop and a mobile team of 2 (issue 17)
    assert sum(t["mobile"] for t in nyc.json()["items"]) == 2  # a client can tell who books on-site work
    assert engine.json()["items"]
    assert all("engine" in t["skills"] for t in engine.json()["items"])
    assert {t["id"] for t in engine.json()["items"]} < {t["id"] for t in nyc.json()["items"]}


async def test_list_is_paginated_without_overlap(client: httpx.AsyncClient) -> None:
    first = (await client.get("/technicians", params={"limit": 3, "offset": 0})).json()
    second = (await client.get("/technicians", params={"limit": 3, "offset": 3})).json()

    assert len(first["items"]) == 3 and first["page"] == {"total": first["page"]["total"], "limit": 3, "offset": 0}
    assert not {t["id"] for t in first["items"]} & {t["id"] for t in second["items"]}
    assert first["page"]["total"] >= 6


async def test_one_technician(client: httpx.AsyncClient) -> None:
    response = await client.get("/technicians/tech_001")

    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Mike Johnson"
    assert body["specialization"] == "Engine Specialist"
    assert body["timezone"] == "America/New_York"
    assert "engine" in body["skills"]


async def test_schedule_by_dates_and_datetimes_in_the_shop_zone(client: httpx.AsyncClient) -> None:
    car = vehicle()
    slot = (
        await search(
            client,
            vehicle_id=car,
            service_type="engine_repair",
            earliest=ahead(70),
            shop_id="shop_nyc",
            preferred_technician_id="tech_001",
            top_k=10,
        )
    )[0]
    booked = await book(client, slot, vehicle_id=car, service_type="engine_repair")
    tech = booked["technician"]["id"]
    start = parse_time(booked["datetime"])
    local_day = start.astimezone(ZoneInfo("America/New_York")).date()

    by_date = await client.get(
        f"/technicians/{tech}/schedule", params={"from": local_day.isoformat(), "to": local_day.isoformat()}
    )
    by_time = await client.get(
        f"/technicians/{tech}/schedule",
        params={"from": (start - timedelta(hours=1)).isoformat(), "to": (start + timedelta(hours=4)).isoformat()},
    )

    for response in (by_date, by_time):
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) >= {"technician", "appointments", "holds", "working_hours", "free"}
        assert booked["id"] in [a["id"] for a in body["appointments"]]
        zone = ZoneInfo("America/New_York")
        for appt in body["appointments"]:
            moment = parse_time(appt["datetime"])
            assert moment.utcoffset() == moment.astimezone(zone).utcoffset()
        for span in body["working_hours"] + body["free"]:
            moment = parse_time(span["start"])
            assert moment.utcoffset() == moment.astimezone(zone).utcoffset()
    whole_day = by_date.json()
    assert whole_day["working_hours"], whole_day
    assert parse_time(whole_day["window"]["start"]).astimezone(ZoneInfo("America/New_York")).hour == 0
    assert all(
        not (parse_time(f["start"]) < parse_time(booked["estimated_completion"]) and parse_time(f["end"]) > start)
        for f in whole_day["free"]
    )


async def test_schedule_defaults_to_the_coming_week(client: httpx.AsyncClient) -> None:
    response = await client.get("/technicians/tech_101/schedule")

    assert response.status_code == 200, response.text
    window = response.json()["window"]
    assert parse_time(window["end"]) - parse_time(window["start"]) == timedelta(days=7)


async def test_technician_feed_is_icalendar(client: httpx.AsyncClient) -> None:
    car = vehicle()
    slot = (await search(client, vehicle_id=car, service_type="routine", earliest=ahead(72), shop_id="shop_berlin"))[0]
    booked = await book(client, slot, vehicle_id=car, service_type="routine")

    response = await client.get(f"/technicians/{booked['technician']['id']}/calendar.ics")

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    starts = [c.decoded("dtstart") for c in Calendar.from_ical(response.content).walk() if c.name == "VEVENT"]
    assert parse_time(booked["datetime"]) in starts
