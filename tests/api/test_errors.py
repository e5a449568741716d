"""Bad input gets a clear RFC 9457 problem, never a 500."""

from __future__ import annotations

import httpx

from tests.api.helpers import assert_problem, vehicle


async def test_unknown_appointment_is_404(client: httpx.AsyncClient) -> None:
    for method, path in [
        ("GET", "/appointments/nope"),
        ("PUT", "/appointments/nope"),
        ("DELETE", "/appointments/nope"),
        ("POST", "/appointments/nope/confirm"),
        ("GET", "/appointments/nope/calendar.ics"),
    ]:
        body = {"notes": "x"} if method == "PUT" else None
        response = await client.request(method, path, json=body)
        assert_problem(response, 404)


async def test_unknown_technician_is_404(client: httpx.AsyncClient) -> None:
    for path in ["/technicians/nope", "/technicians/nope/schedule", "/technicians/nope/calendar.ics"]:
        assert_problem(await client.get(path), 404)


async def test_unknown_route_is_a_problem_too(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/no/such/route"), 404)


async def test_datetime_without_offset_is_422_saying_an_offset_is_needed(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/appointments",
        json={
            "vehicle_id": vehicle(),
            "service_type": "routine",
            "datetime": "2031-02-03T09:00:00",
            "technician_id": "tech_001",
            "service_bay": "Bay 1",
        },
    )

    problem = assert_problem(response, 422, "validation_error")
    assert "offset" in problem["detail"]
    assert any(e["field"] == "datetime" for e in problem["errors"])


async def test_schedule_window_without_offset_is_422(client: httpx.AsyncClient) -> None:
    response = await client.get("/technicians/tech_001/schedule", params={"from": "2031-02-03T09:00:00"})

    problem = assert_problem(response, 422)
    assert "offset" in problem["detail"]


async def test_unknown_service_type_is_422(client: httpx.AsyncClient) -> None:
    search = await client.post("/slots/available", json={"vehicle_id": "V001", "service_type": "teleportation"})
    booking = await client.post("/appointments", json={"vehicle_id": vehicle(), "service_type": "teleportation"})

    assert "teleportation" in assert_problem(search, 422)["detail"]
    assert_problem(booking, 422)


async def test_bad_json_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/slots/available", content=b'{"vehicle_id": "V001",', headers={"content-type": "application/json"}
    )

    assert_problem(response, 422, "validation_error")


async def test_unknown_field_and_bad_enum_are_422_naming_the_field(client: httpx.AsyncClient) -> None:
    extra = await client.post("/slots/available", json={"vehicle_id": "V001", "service_type": "routine", "colour": 1})
    urgency = await client.post(
        "/slots/available", json={"vehicle_id": "V001", "service_type": "routine", "urgency": "WHENEVER"}
    )

    assert any(e["field"] == "colour" for e in assert_problem(extra, 422)["errors"])
    assert any(e["field"] == "urgency" for e in assert_problem(urgency, 422)["errors"])


async def test_chosen_slot_outside_working_hours_is_a_4xx(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/appointments",
        json={
            "vehicle_id": vehicle(),
            "service_type": "routine",
            "datetime": "2031-02-02T03:00:00-05:00",
            "technician_id": "tech_001",
            "service_bay": "Bay 1",
        },
    )

    assert 400 <= response.status_code < 500, response.text
    assert_problem(response, response.status_code)


async def test_wrong_method_is_405_problem(client: httpx.AsyncClient) -> None:
    assert_problem(await client.patch("/appointments/x"), 405)


async def test_unsupported_methods_are_405_with_allow_listing_every_method_of_the_path(
    client: httpx.AsyncClient,
) -> None:
    allowed = {
        "/slots/available": "GET, POST",
        "/appointments": "POST",
        "/appointments/x": "DELETE, GET, PUT",
        "/appointments/x/confirm": "POST",
        "/technicians/tech_001/schedule": "GET",
    }
    for path, methods in allowed.items():
        for method in ("TRACE", "OPTIONS", "PATCH"):
            response = await client.request(method, path)

            assert_problem(response, 405)
            assert response.headers.get("allow") == methods, (method, path, response.headers)


async def test_nul_characters_are_refused_not_a_500(client: httpx.AsyncClient) -> None:
    listing = await client.get("/technicians", params={"skill": "eng\x00ine"})
    lookup = await client.get("/appointments/abc%00def")
    search = await client.post("/slots/available", json={"vehicle_id": "V001", "service_type": "rou\x00tine"})

    for response in (listing, lookup, search):
        assert 400 <= response.status_code < 500, response.text
        assert_problem(response, response.status_code)
