"""Booking over HTTP: book → read → reschedule → cancel, holds, a vehicle's list, iCalendar."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from icalendar import Calendar

from tests.api.helpers import ahead, assert_problem, book, chosen, parse_time, search, vehicle

ALLDAY = "shop_allday"
"""Open around the clock (see conftest): a slot within 24 hours exists whatever the hour of the run."""

POLL_DEADLINE_S = 90.0


async def wait_for_status(client: httpx.AsyncClient, appointment_id: str, status: str) -> dict[str, Any]:
    """Poll the appointment until it has ``status``, with a deadline."""
    deadline = time.monotonic() + POLL_DEADLINE_S
    while True:
        response = await client.get(f"/appointments/{appointment_id}")
        assert response.status_code == 200, response.text
        if response.json()["status"] == status:
            out: dict[str, Any] = response.json()
            return out
        assert time.monotonic() < deadline, f"{appointment_id} still {response.json()['status']}, not {status}"
        await asyncio.sleep(0.25)  # polling interval of a condition with a deadline


async def test_book_read_reschedule_and_cancel_early_without_fee(client: httpx.AsyncClient) -> None:
    car = vehicle()
    first = (
        await search(
            client,
            vehicle_id=car,
            service_type="engine_repair",
            urgency="MEDIUM",
            earliest=ahead(30),
            shop_id="shop_nyc",
        )
    )[0]

    booked = await book(
        client,
        first,
        vehicle_id=car,
        service_type="engine_repair",
        urgency="MEDIUM",
        customer={"name": "Ada", "email": "ada@example.com", "tier": "fleet"},
        notes="rattles",
    )

    assert booked["status"] == "scheduled"
    assert booked["datetime"] == first["datetime"]
    assert booked["technician"]["id"] == first["technician"]["id"]
    assert booked["service_bay"] == first["service_bay"]
    assert parse_time(booked["estimated_completion"]) - parse_time(booked["datetime"]) == timedelta(hours=3)
    assert booked["customer"]["tier"] == "fleet"

    read = await client.get(f"/appointments/{booked['id']}")
    assert read.status_code == 200
    assert booked["manage_url"]  # a booking answer carries the customer's link; a read does not make one
    assert read.json() == {**booked, "manage_url": None}

    later = [
        s
        for s in await search(
            client,
            vehicle_id=car,
            service_type="engine_repair",
            earliest=ahead(35),
            shop_id="shop_nyc",
            top_k=10,
        )
        if s["technician"]["id"] == booked["technician"]["id"]
    ] or await search(
        client,
        vehicle_id=car,
        service_type="engine_repair",
        earliest=ahead(35),
        shop_id="shop_nyc",
        preferred_technician_id=booked["technician"]["id"],
    )
    target = later[0]
    moved = await client.put(
        f"/appointments/{booked['id']}",
        json={
            "datetime": target["datetime"],
            "technician_id": target["technician"]["id"],
            "service_bay": target["service_bay"],
            "notes": "rattles louder",
        },
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["datetime"] == target["datetime"]
    assert moved.json()["technician"]["id"] == target["technician"]["id"]
    assert moved.json()["notes"] == "rattles louder"
    assert moved.json()["sequence"] > booked["sequence"]

    cancelled = await client.delete(f"/appointments/{booked['id']}", params={"reason": "sold the car"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancellation"]["late"] is False
    assert Decimal(cancelled.json()["cancellation"]["fee"]) == 0

    listed = await client.get(f"/appointments/vehicle/{car}")
    assert listed.status_code == 200
    assert [a["id"] for a in listed.json()["items"]] == [booked["id"]]


async def test_cancelling_less_than_24_hours_ahead_is_late_with_a_fee(client: httpx.AsyncClient) -> None:
    car = vehicle()
    asked_at = datetime.now(UTC)
    slots = await search(client, vehicle_id=car, service_type="routine", urgency="CRITICAL", shop_id=ALLDAY)
    soon = min(slots, key=lambda s: parse_time(s["datetime"]))
    assert parse_time(soon["datetime"]) < asked_at + timedelta(hours=23), soon
    booked = await book(client, soon, vehicle_id=car, service_type="routine", urgency="CRITICAL")

    response = await client.delete(f"/appointments/{booked['id']}")

    assert response.status_code == 200, response.text
    assert response.json()["cancellation"]["late"] is True
    assert Decimal(response.json()["cancellation"]["fee"]) > 0


async def test_service_picks_the_slot_when_only_a_date_is_given(client: httpx.AsyncClient) -> None:
    car = vehicle()
    response = await client.post(
        "/appointments",
        json={
            "vehicle_id": car,
            "service_type": "diagnostic",
            "preferred_date": (datetime.now(UTC) + timedelta(days=3)).date().isoformat(),
            "shop_id": "shop_berlin",
        },
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["shop_id"] == "shop_berlin"
    assert parse_time(body["datetime"]).utcoffset() in (timedelta(hours=1), timedelta(hours=2))
    assert response.headers["location"].endswith(body["id"])


async def test_hold_then_confirm_schedules_the_appointment(client: httpx.AsyncClient) -> None:
    car = vehicle()
    slot = (await search(client, vehicle_id=car, service_type="routine", earliest=ahead(45), shop_id="shop_nyc"))[0]

    held = await book(client, slot, vehicle_id=car, service_type="routine", hold=True)
    assert held["status"] == "held"
    assert parse_time(held["hold_expires_at"]) > parse_time(held["created_at"])

    confirmed = await client.post(f"/appointments/{held['id']}/confirm")

    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "scheduled"
    assert confirmed.json()["hold_expires_at"] is None


async def test_hold_expires_and_then_confirm_is_gone_and_the_slot_is_free(client: httpx.AsyncClient) -> None:
    car = vehicle()
    slot = (await search(client, vehicle_id=car, service_type="routine", earliest=ahead(46), shop_id="shop_nyc"))[0]
    held = await book(client, slot, vehicle_id=car, service_type="routine", hold=True)

    await wait_for_status(client, held["id"], "expired")
    response = await client.post(f"/appointments/{held['id']}/confirm")

    assert_problem(response, 410, "hold_expired")
    rebooked = await client.post(
        "/appointments", json={**chosen(slot), "vehicle_id": vehicle(), "service_type": "routine"}
    )
    assert rebooked.status_code == 201, rebooked.text


async def test_a_held_slot_is_refused_to_another_vehicle(client: httpx.AsyncClient) -> None:
    car = vehicle()
    slot = (await search(client, vehicle_id=car, service_type="routine", earliest=ahead(47), shop_id="shop_berlin"))[0]
    await book(client, slot, vehicle_id=car, service_type="routine", hold=True)

    response = await client.post(
        "/appointments", json={**chosen(slot), "vehicle_id": vehicle(), "service_type": "routine"}
    )

    body = assert_problem(response, 409, "slot_taken")
    assert body["alternatives"]


async def test_appointment_calendar_file_is_icalendar(client: httpx.AsyncClient) -> None:
    car = vehicle()
    slot = (await search(client, vehicle_id=car, service_type="routine", earliest=ahead(48), shop_id="shop_nyc"))[0]
    booked = await book(client, slot, vehicle_id=car, service_type="routine")

    response = await client.get(f"/appointments/{booked['id']}/calendar.ics")

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    events = [c for c in Calendar.from_ical(response.content).walk() if c.name == "VEVENT"]
    assert len(events) == 1
    assert events[0].decoded("dtstart") == parse_time(booked["datetime"])
    assert events[0].decoded("dtend") == parse_time(booked["estimated_completion"])


async def test_reading_an_appointment_shows_its_calendar_invites(
    client: httpx.AsyncClient, api_database_url: str
) -> None:
    from domain.invites import DeliveryState, InviteDelivery, Operation
    from integrations.invite import invite_for
    from store import appointment_repository, catalog_repository
    from store.database import connect
    from store.invite_repository import PostgresInviteRepository

    car = vehicle()
    slot = (await search(client, vehicle_id=car, service_type="routine", urgency="LOW", shop_id="shop_nyc"))[0]
    booked = await book(client, slot, vehicle_id=car, service_type="routine", urgency="LOW")
    assert (await client.get(f"/appointments/{booked['id']}")).json()["invites"] == []

    conn = await connect(api_database_url)
    try:  # what the bridge's dispatcher records after Google answered
        appt = await appointment_repository.get(conn, booked["id"])
        shop = await catalog_repository.get_shop(conn, "shop_nyc")
        tech = await catalog_repository.get_technician(conn, booked["technician"]["id"])
        assert appt is not None and shop is not None and tech is not None
        await PostgresInviteRepository(conn).save(
            InviteDelivery(
                appt.id,
                "google",
                DeliveryState.SENT,
                Operation.CREATE,
                0,
                invite_for(appt, shop, tech, "Routine maintenance"),
                datetime.now(UTC),
                provider_event_id="evt-1",
                attempts=1,
            )
        )
    finally:
        await conn.close()

    [invite] = (await client.get(f"/appointments/{booked['id']}")).json()["invites"]
    assert (invite["provider"], invite["state"], invite["provider_event_id"]) == ("google", "sent", "evt-1")
