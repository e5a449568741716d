"""The lifecycle over HTTP: check in → start → complete, and what is refused (issue 16)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.api.helpers import ahead, assert_problem, book, search, vehicle

ALLDAY = "shop_allday"


async def _booked(client: httpx.AsyncClient) -> dict[str, Any]:
    car = vehicle()
    slot = (await search(client, vehicle_id=car, service_type="routine", shop_id=ALLDAY, earliest=ahead(5)))[0]
    return await book(client, slot, vehicle_id=car, service_type="routine")


async def test_check_in_start_and_complete_record_their_times(client: httpx.AsyncClient) -> None:
    appt = await _booked(client)
    path = f"/appointments/{appt['id']}"
    checked = await client.post(path + "/check-in")
    assert checked.status_code == 200, checked.text
    assert checked.json()["status"] == "checked_in" and checked.json()["progress"]["checked_in_at"]
    began = (datetime.now(UTC) - timedelta(minutes=10)).replace(microsecond=0)
    started = await client.post(path + "/start", json={"actual_start": began.isoformat()})
    assert started.status_code == 200, started.text
    assert datetime.fromisoformat(started.json()["progress"]["actual_start"]) == began

    backwards = await client.post(path + "/complete", json={"actual_end": (began - timedelta(minutes=1)).isoformat()})
    assert_problem(backwards, 422)
    future = await client.post(path + "/complete", json={"actual_end": ahead(1)})
    assert_problem(future, 422)

    done = await client.post(path + "/complete", json={"notes": "filter replaced"})
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["status"] == "completed" and body["notes"] == "filter replaced"
    assert datetime.fromisoformat(body["progress"]["actual_end"]) > began

    again = assert_problem(await client.post(path + "/check-in"), 409, "invalid_transition")
    assert "completed" in again["detail"]


async def test_steps_on_a_cancelled_appointment_are_409_naming_it(client: httpx.AsyncClient) -> None:
    appt = await _booked(client)
    path = f"/appointments/{appt['id']}"
    assert (await client.delete(path)).status_code == 200
    for step in ("check-in", "start", "complete", "no-show"):
        problem = assert_problem(await client.post(f"{path}/{step}"), 409, "invalid_transition")
        assert "cancelled" in problem["detail"], problem


async def test_a_no_show_before_the_grace_period_is_refused(client: httpx.AsyncClient) -> None:
    appt = await _booked(client)  # days ahead: far from its start plus the grace period
    problem = assert_problem(await client.post(f"/appointments/{appt['id']}/no-show"), 409, "invalid_transition")
    assert "may be recorded from" in problem["detail"]
    assert (await client.get(f"/appointments/{appt['id']}")).json()["status"] == "scheduled"


async def test_an_unknown_appointment_is_404(client: httpx.AsyncClient) -> None:
    assert_problem(await client.post("/appointments/7b0c5a3e-0000-4000-8000-000000000000/check-in"), 404)
