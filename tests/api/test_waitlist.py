"""The waitlist over HTTP: join (idempotent), bad input, an offer from a cancellation, accept by token alone.

Entries wait on days of their own some 300-380 days ahead at ``shop_allday``, where no other test books, so
only this test's cancellations free time inside their windows.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.api.helpers import assert_problem, vehicle

ALLDAY = "shop_allday"


def _hour() -> datetime:
    """A whole hour on a random day 300-380 days ahead, 05:30-22:30 at shop_allday (never across its midnight)."""
    day = datetime.now(UTC) + timedelta(days=random.randint(300, 380))
    return day.replace(hour=random.randint(0, 16), minute=0, second=0, microsecond=0)


def _join(start: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "vehicle_id": vehicle(),
        "service_type": "routine",
        "urgency": "HIGH",  # a routine job is kept out of the urgent reserve's blocks, where this hour may fall
        "shop_id": ALLDAY,
        "earliest": start.isoformat(),
        "latest": (start + timedelta(hours=1)).isoformat(),
        "customer": {"name": "Ada", "email": "ada@example.com", "tier": "premium"},
        **extra,
    }


async def _offer_for(api_db: Any, entry_id: str, deadline_s: float = 30.0) -> dict[str, Any]:
    """The ``appointment.waitlist.offered`` event for the entry (polled until it is in the outbox)."""
    give_up = time.monotonic() + deadline_s
    while time.monotonic() < give_up:
        envelope = await api_db.fetchval(
            "SELECT envelope FROM outbox WHERE event_type = 'appointment.waitlist.offered' "
            "AND envelope->'data'->>'waitlist_entry_id' = $1",
            entry_id,
        )
        if envelope is not None:
            data: dict[str, Any] = json.loads(envelope)["data"]
            return data
        await asyncio.sleep(0.1)  # polling a condition with a deadline
    raise AssertionError(f"no offer for waitlist entry {entry_id} within {deadline_s} s")


async def test_a_cancellation_offers_the_time_and_the_token_alone_books_it(
    client: httpx.AsyncClient, api_url: str, api_db: Any
) -> None:
    start = _hour()
    joined = await client.post("/waitlist", json=_join(start))
    assert joined.status_code == 201, joined.text
    entry = joined.json()
    assert entry["status"] == "waiting" and entry["offer"] is None
    assert joined.headers["Location"] == f"/api/v1/waitlist/{entry['id']}"
    slot = {"datetime": start.isoformat(), "technician_id": "tech_901", "service_bay": "Bay 1", "shop_id": ALLDAY}
    booked = await client.post("/appointments", json={**slot, "vehicle_id": vehicle(), "service_type": "routine"})
    assert booked.status_code == 201, booked.text

    cancelled = await client.delete(f"/appointments/{booked.json()['id']}")
    assert cancelled.status_code == 200, cancelled.text

    offer = await _offer_for(api_db, entry["id"])
    assert offer["vehicle_id"] == entry["vehicle_id"] and offer["start"] == start.isoformat()
    read = (await client.get(f"/waitlist/{entry['id']}")).json()
    assert read["offer"]["id"] == offer["offer_id"] and read["offer"]["state"] == "offered"
    async with httpx.AsyncClient(base_url=api_url + "/api/v1", timeout=60) as anonymous:  # no key at all
        accepted = await anonymous.post(f"/waitlist/offers/{offer['offer_token']}/accept")
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["appointment"]["status"] == "scheduled"
        assert accepted.json()["appointment"]["id"] == offer["appointment_id"]
        for action in ("accept", "decline"):
            again = await anonymous.post(f"/waitlist/offers/{offer['offer_token']}/{action}")
            assert_problem(again, 410, "offer_gone")
    read = (await client.get(f"/waitlist/{entry['id']}")).json()
    assert read["status"] == "booked" and read["appointment_id"] == offer["appointment_id"]


async def test_joining_twice_answers_the_same_entry_and_leaving_takes_it_off(client: httpx.AsyncClient) -> None:
    body = _join(_hour())
    first = await client.post("/waitlist", json=body)
    second = await client.post("/waitlist", json={**body, "urgency": "LOW"})

    assert first.status_code == 201 and second.status_code == 200, second.text
    assert second.json()["id"] == first.json()["id"] and second.json()["urgency"] == "HIGH"
    left = await client.delete(f"/waitlist/{first.json()['id']}")
    assert left.status_code == 200 and left.json()["status"] == "left"
    assert (await client.delete(f"/waitlist/{first.json()['id']}")).json()["status"] == "left"
    assert_problem(await client.get("/waitlist/not-an-entry"), 404, "not_found")


@pytest.mark.parametrize(
    "change",
    [
        {"shop_id": None},  # neither shop nor location
        {"location": {"lat": 19.07, "lon": 72.88}},  # both
        {"latest": "2020-01-01T00:00:00+00:00"},  # before earliest
        {"earliest": "2030-01-01T09:00:00"},  # no offset
        {"urgency": "SOMEDAY"},
        {"radius_km": 5},  # without a location
        {"colour": "red"},  # unknown field
    ],
)
async def test_bad_input_is_a_422(client: httpx.AsyncClient, change: dict[str, Any]) -> None:
    body = {k: v for k, v in {**_join(_hour()), **change}.items() if v is not None}
    assert_problem(await client.post("/waitlist", json=body), 422, "validation_error")


async def test_an_unknown_shop_or_service_is_a_422(client: httpx.AsyncClient) -> None:
    for change in ({"shop_id": "shop_nowhere"}, {"service_type": "teleport"}):
        assert_problem(await client.post("/waitlist", json={**_join(_hour()), **change}), 422, "invalid_request")
