"""Customer links: one appointment, read / reschedule / cancel, and nothing else; refused once dead."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from application.clock import ManualClock
from application.customer_links import CustomerLinks
from domain.errors import Unauthenticated
from store.database import create_pool
from tests.api.conftest import ApiKeys
from tests.api.helpers import ahead, assert_problem, chosen, parse_time, search, vehicle

ALLDAY = "shop_allday"


async def _booked(client: httpx.AsyncClient, days: float = 6) -> dict[str, Any]:
    slot = (await search(client, vehicle_id=vehicle(), service_type="routine", shop_id=ALLDAY, earliest=ahead(days)))[0]
    response = await client.post(
        "/appointments", json={**chosen(slot), "vehicle_id": vehicle(), "service_type": "routine"}
    )
    assert response.status_code == 201, response.text
    out: dict[str, Any] = response.json()
    return out


def _token(appt: dict[str, Any]) -> str:
    return str(appt["manage_url"]).split("token=", 1)[1]


@pytest.fixture
async def booking_client(api_url: str, api_keys: ApiKeys) -> Any:
    async with httpx.AsyncClient(
        base_url=api_url + "/api/v1", timeout=60, headers=ApiKeys.headers(api_keys.booking_allday)
    ) as c:
        yield c


@pytest.fixture
async def anonymous(api_url: str) -> Any:
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as c:
        yield c


def _path(url: str) -> str:
    return "/api/v1" + url.split("/api/v1", 1)[1]


async def test_a_link_reads_moves_and_cancels_its_appointment_and_nothing_else(
    booking_client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    appt, other = await _booked(booking_client), await _booked(booking_client, days=7)
    link = _path(appt["manage_url"])
    bearer = {"Authorization": f"Bearer {_token(appt)}"}

    read = await anonymous.get(link)
    assert read.status_code == 200, read.text
    assert read.json()["id"] == appt["id"]

    later = (parse_time(appt["datetime"]) + timedelta(hours=1)).isoformat()
    moved = await anonymous.put(link, json={"datetime": later})
    assert moved.status_code == 200, moved.text
    assert parse_time(moved.json()["datetime"]) == parse_time(later)

    # the same token as a header; another appointment is as unknown as a missing one
    assert (await anonymous.get(f"/api/v1/appointments/{appt['id']}", headers=bearer)).status_code == 200
    assert_problem(await anonymous.get(f"/api/v1/appointments/{other['id']}", headers=bearer), 404, "not_found")
    # nothing but this appointment: no search, no other technician, no notes
    assert_problem(
        await anonymous.post(
            "/api/v1/slots/available", headers=bearer, json={"vehicle_id": "V1", "service_type": "routine"}
        ),
        403,
        "forbidden",
    )
    assert_problem(await anonymous.put(link, json={"datetime": later, "technician_id": "tech_902"}), 403, "forbidden")
    assert_problem(await anonymous.put(link, json={"notes": "mine now"}), 403, "forbidden")

    cancelled = await anonymous.delete(link)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"


async def test_a_link_is_refused_once_its_appointment_is_cancelled(
    booking_client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    appt = await _booked(booking_client)
    assert (await booking_client.delete(f"/appointments/{appt['id']}")).status_code == 200

    for answer in (
        await anonymous.get(_path(appt["manage_url"])),
        await anonymous.delete(_path(appt["manage_url"])),
        await anonymous.get(f"/api/v1/appointments/{appt['id']}", headers={"Authorization": f"Bearer {_token(appt)}"}),
    ):
        assert_problem(answer, 401, "unauthorized")


async def test_a_tampered_link_is_refused(booking_client: httpx.AsyncClient, anonymous: httpx.AsyncClient) -> None:
    appt = await _booked(booking_client)
    token = _token(appt)
    link_id, secret = token.split(".", 1)
    for forged in (
        f"{link_id}.{secret[:-1]}{'A' if secret[-1] != 'A' else 'B'}",  # one character of the secret
        f"{link_id[:-1]}{'0' if link_id[-1] != '0' else '1'}.{secret}",  # another link's id
        f"{link_id}.",
        "ml_.x",
        token + "x",
    ):
        answer = await anonymous.get(f"/api/v1/appointments/{appt['id']}", params={"token": forged})
        assert_problem(answer, 401, "unauthorized")
    assert (await anonymous.get(_path(appt["manage_url"]))).status_code == 200


@pytest.fixture
async def service_pool(api_database_url: str) -> Any:
    """A pool of the API database with the service's codecs (the links read appointments through it)."""
    pool = await create_pool(api_database_url, min_size=1, max_size=2)
    yield pool
    await pool.close()


async def test_a_link_dies_when_it_expires_and_when_its_appointment_ends(
    booking_client: httpx.AsyncClient, service_pool: asyncpg.Pool
) -> None:
    appt = await _booked(booking_client)
    start, end = parse_time(appt["datetime"]), parse_time(appt["estimated_completion"])
    clock = ManualClock(start - timedelta(days=2))
    links = CustomerLinks(service_pool, ttl=timedelta(days=1), clock=clock)
    token = await links.issue_for(appt["id"])

    assert (await links.authenticate(token)).appointment_id == appt["id"]
    clock.advance(timedelta(days=1, seconds=1))
    with pytest.raises(Unauthenticated):
        await links.authenticate(token)

    long_lived = CustomerLinks(service_pool, ttl=timedelta(days=30), clock=clock)
    token = await long_lived.issue_for(appt["id"])
    clock.set(end - timedelta(minutes=1))
    assert (await long_lived.authenticate(token)).appointment_id == appt["id"]
    clock.set(end)
    with pytest.raises(Unauthenticated):
        await long_lived.authenticate(token)
