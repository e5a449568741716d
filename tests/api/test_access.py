"""Who may do what, over every operation of the OpenAPI document.

For each operation: no key is a 401; a valid key of another shop is a 404
with the very body an unknown id gets (or, for lists and searches, sees
nothing of the shop); a role that may not do it is a 403; a key of the shop
succeeds. ``OPERATIONS`` must name every operation the document lists.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from deployments.api import create_api
from store.database import normalize_dsn
from tests.api.conftest import ApiKeys
from tests.api.helpers import ahead, assert_problem, chosen, search, vehicle

ALLDAY = "shop_allday"
TECH = "tech_901"


@dataclass
class World:
    """What the matrix addresses: appointments at shop_allday booked by ``booking_allday``."""

    base: str
    keys: ApiKeys
    appointment: dict[str, Any]
    manage_token: str
    database_url: str = ""

    def client(self, key: str | None) -> httpx.AsyncClient:
        headers = ApiKeys.headers(key) if key else {}
        return httpx.AsyncClient(base_url=self.base + "/api/v1", timeout=60, headers=headers)

    async def book(self, key: str, *, hold: bool = False) -> dict[str, Any]:
        async with self.client(key) as c:
            slot = (await search(c, vehicle_id=vehicle(), service_type="routine", shop_id=ALLDAY, earliest=ahead(3)))[0]
            body = {**chosen(slot), "vehicle_id": vehicle(), "service_type": "routine", "hold": hold}
            response = await c.post("/appointments", json=body)
            assert response.status_code == 201, response.text
            out: dict[str, Any] = response.json()
            return out

    async def join_waitlist(self, key: str) -> str:
        async with self.client(key) as c:
            response = await c.post("/waitlist", json=_waitlist_body())
            assert response.status_code == 201, response.text
            return str(response.json()["id"])

    async def book_series(self, key: str) -> str:
        async with self.client(key) as c:
            response = await c.post("/appointments", json=_series_body())
            assert response.status_code == 201, response.text
            return str(response.json()["series_id"])


@pytest.fixture(scope="module")
async def world(api_url: str, api_keys: ApiKeys, api_database_url: str) -> World:
    probe = World(api_url, api_keys, {}, "")
    appt = await probe.book(api_keys.booking_allday)
    token = appt["manage_url"].split("token=", 1)[1]
    return World(api_url, api_keys, appt, token, api_database_url)


_PAST = itertools.count()


async def _past_appointment(world: World) -> str:
    """A copy of the world's appointment that started hours ago (the API books no past times; a no-show needs one).

    Written straight into the database, a few minutes apart each, so that they never overlap one another.
    """
    from store.database import normalize_dsn

    new_id, k = str(uuid.uuid4()), next(_PAST)
    start = datetime.now(UTC) - timedelta(hours=3, minutes=2 * k)
    conn = await asyncpg.connect(normalize_dsn(world.database_url))
    try:
        await conn.execute(
            """
            INSERT INTO appointments (id, shop_id, vehicle_id, service_type, urgency, technician_id, bay_id,
                tech_rid, bay_rid, start_at, end_at, blocked_until, status, customer, created_at, updated_at,
                booked_by)
            SELECT $1::uuid, shop_id, $2, service_type, urgency, technician_id, bay_id, tech_rid, bay_rid,
                $3, $4, $4, 'scheduled', customer, $6, $6, booked_by
            FROM appointments WHERE id = $5::uuid
            """,
            new_id,
            vehicle(),
            start,
            start + timedelta(minutes=1),
            world.appointment["id"],
            start - timedelta(days=1),
        )
    finally:
        await conn.close()
    return new_id


Send = Callable[[httpx.AsyncClient, str], Awaitable[httpx.Response]]
"""Sends the operation for an id (an appointment's, a technician's or a vehicle's) on a client."""


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    send: Send
    target: str
    """What the id is: ``appointment``, ``hold`` (a fresh hold), ``fresh`` (a fresh appointment), ``in_progress``
    (a fresh appointment the shop has started), ``technician``, ``vehicle``, ``shop``, ``past`` (a fresh
    appointment that started hours ago), ``series`` (a fresh recurring series), ``waitlist`` (a fresh waitlist
    entry), or ``none`` (a search or a booking at the shop)."""
    refused_role: str | None
    """A credential whose role may not do it (403), if some role may not."""


def _slot_body(car: str) -> dict[str, Any]:
    return {"vehicle_id": car, "service_type": "routine", "shop_id": ALLDAY, "earliest": ahead(4)}


async def _book_chosen(c: httpx.AsyncClient, _: str) -> httpx.Response:
    """Books tech_901 / Bay 1 of shop_allday (names that another shop's key must not be able to tell apart)."""
    start = (datetime.now(UTC) + timedelta(days=47)).replace(hour=3, minute=45, second=0, microsecond=0)
    slot = {"datetime": start.isoformat(), "technician_id": TECH, "service_bay": "Bay 1", "shop_id": ALLDAY}
    return await c.post("/appointments", json={**slot, "vehicle_id": vehicle(), "service_type": "routine"})


def _series_body() -> dict[str, Any]:
    """Two weekly occurrences at a random quarter hour 10-40 days ahead (the service picks technician and bay).

    UTC 00:00-16:45 is 05:30-22:15 at shop_allday (Kolkata): a job there never crosses local midnight.
    """
    rng = random.Random()
    # the hour is drawn, not added to now's: from a late-evening now, adding hours would cross Kolkata's midnight
    start = (datetime.now(UTC) + timedelta(days=rng.randint(10, 40))).replace(
        hour=rng.randint(0, 16), minute=rng.choice((0, 15, 30, 45)), second=0, microsecond=0
    )
    return {
        "datetime": start.isoformat(),
        "shop_id": ALLDAY,
        "vehicle_id": vehicle(),
        "service_type": "routine",
        "urgency": "HIGH",  # a routine job may not take the urgent reserve's blocks, where a random time may fall
        "recurrence": "FREQ=WEEKLY;COUNT=2",
        # the matrix is about access: an occurrence that meets another test's booking moves instead of a 409
        "conflicts": "alternatives",
    }


def _waitlist_body() -> dict[str, Any]:
    """An hour's window some 390 days ahead, where no test books: nothing freed there, so nothing is offered."""
    start = (datetime.now(UTC) + timedelta(days=390)).replace(hour=random.randint(0, 16), minute=0, second=0)
    return {
        "vehicle_id": vehicle(),
        "service_type": "routine",
        "urgency": "HIGH",
        "shop_id": ALLDAY,
        "earliest": start.replace(microsecond=0).isoformat(),
        "latest": (start + timedelta(hours=1)).replace(microsecond=0).isoformat(),
    }


def _time_off_body() -> dict[str, Any]:
    """Time off far ahead (nothing booked then), so the matrix's own-shop calls replan nothing."""
    start = (datetime.now(UTC) + timedelta(days=300)).replace(hour=0, minute=0, second=0, microsecond=0)
    return {"from": start.isoformat(), "to": (start + timedelta(days=1)).isoformat(), "reason": "matrix"}


async def _withdraw_time_off(c: httpx.AsyncClient, tech: str) -> httpx.Response:
    """Records time off, then withdraws it (a caller that may not record it gets the answer for a made-up id)."""
    made = await c.post(f"/technicians/{tech}/time-off", json=_time_off_body())
    absence = made.json()["time_off"]["id"] if made.status_code == 201 else "7b0c5a3e-0000-4000-8000-000000000000"
    return await c.delete(f"/technicians/{tech}/time-off/{absence}")


async def _start(c: httpx.AsyncClient, appointment_id: str) -> httpx.Response:
    """Checks in, then starts (a caller that may not check in gets the same answer from both)."""
    await c.post(f"/appointments/{appointment_id}/check-in")
    return await c.post(f"/appointments/{appointment_id}/start", json={})


async def _complete(c: httpx.AsyncClient, appointment_id: str) -> httpx.Response:
    await _start(c, appointment_id)
    return await c.post(f"/appointments/{appointment_id}/complete", json={"notes": "matrix"})


def _kpi_window() -> dict[str, str]:
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return {"from": (start - timedelta(days=7)).isoformat(), "to": (start + timedelta(days=7)).isoformat()}


P = "/api/v1"
OPERATIONS = [
    Operation(
        "post",
        P + "/slots/available",
        lambda c, _: c.post("/slots/available", json=_slot_body(vehicle())),
        "none",
        "link",
    ),
    Operation(
        "get",
        P + "/slots/available",
        lambda c, _: c.get("/slots/available", params=_slot_body(vehicle())),
        "none",
        "link",
    ),
    Operation("post", P + "/appointments", _book_chosen, "none", "link"),
    Operation(
        "post",
        P + "/appointments/{appointment_id}/confirm",
        lambda c, i: c.post(f"/appointments/{i}/confirm"),
        "hold",
        "link",
    ),
    Operation(
        "get",
        P + "/appointments/vehicle/{vehicle_id}",
        lambda c, v: c.get(f"/appointments/vehicle/{v}"),
        "vehicle",
        "link",
    ),
    Operation(
        "get", P + "/appointments/{appointment_id}", lambda c, i: c.get(f"/appointments/{i}"), "appointment", None
    ),
    Operation(
        "put",
        P + "/appointments/{appointment_id}",
        lambda c, i: c.put(f"/appointments/{i}", json={"notes": "gate code 1234"}),
        "appointment",
        "link",  # a customer link moves the time only; notes are the shop's
    ),
    Operation(
        "delete", P + "/appointments/{appointment_id}", lambda c, i: c.delete(f"/appointments/{i}"), "fresh", None
    ),
    Operation(
        "post",
        P + "/appointments/{appointment_id}/extend",
        lambda c, i: c.post(f"/appointments/{i}/extend", json={"minutes": 15}),
        "in_progress",
        "booking_allday",
    ),
    Operation(
        "get",
        P + "/appointments/{appointment_id}/calendar.ics",
        lambda c, i: c.get(f"/appointments/{i}/calendar.ics"),
        "appointment",
        None,
    ),
    Operation(
        "get", P + "/technicians", lambda c, _: c.get("/technicians", params={"shop_id": ALLDAY}), "none", "link"
    ),
    Operation("get", P + "/technicians/{technician_id}", lambda c, t: c.get(f"/technicians/{t}"), "technician", "link"),
    Operation(
        "get",
        P + "/technicians/{technician_id}/schedule",
        lambda c, t: c.get(f"/technicians/{t}/schedule"),
        "technician",
        "booking_allday",
    ),
    Operation(
        "post",
        P + "/technicians/{technician_id}/time-off",
        lambda c, t: c.post(f"/technicians/{t}/time-off", params={"dry_run": "true"}, json=_time_off_body()),
        "technician",
        "booking_allday",
    ),
    Operation(
        "get",
        P + "/technicians/{technician_id}/time-off",
        lambda c, t: c.get(f"/technicians/{t}/time-off"),
        "technician",
        "booking_allday",
    ),
    Operation(
        "delete",
        P + "/technicians/{technician_id}/time-off/{time_off_id}",
        _withdraw_time_off,
        "technician",
        "booking_allday",
    ),
    Operation(
        "post",
        P + "/appointments/{appointment_id}/check-in",
        lambda c, i: c.post(f"/appointments/{i}/check-in"),
        "fresh",
        "booking_allday",
    ),
    Operation("post", P + "/appointments/{appointment_id}/start", _start, "fresh", "booking_allday"),
    Operation("post", P + "/appointments/{appointment_id}/complete", _complete, "fresh", "booking_allday"),
    Operation(
        "post",
        P + "/appointments/{appointment_id}/no-show",
        lambda c, i: c.post(f"/appointments/{i}/no-show"),
        "past",
        "booking_allday",
    ),
    Operation(
        "get",
        P + "/shops/{shop_id}/kpis",
        lambda c, s: c.get(f"/shops/{s}/kpis", params=_kpi_window()),
        "shop",
        "booking_allday",
    ),
    Operation("get", P + "/kpis", lambda c, _: c.get("/kpis", params=_kpi_window()), "none", "booking_allday"),
    Operation(
        "get",
        P + "/technicians/{technician_id}/calendar.ics",
        lambda c, t: c.get(f"/technicians/{t}/calendar.ics"),
        "technician",
        "booking_allday",
    ),
]
OPERATIONS += [
    Operation("get", P + "/series/{series_id}", lambda c, s: c.get(f"/series/{s}"), "series", None),
    Operation("delete", P + "/series/{series_id}", lambda c, s: c.delete(f"/series/{s}"), "series", None),
    Operation(
        "get", P + "/series/{series_id}/calendar.ics", lambda c, s: c.get(f"/series/{s}/calendar.ics"), "series", None
    ),
]
OPERATIONS += [
    Operation("post", P + "/waitlist", lambda c, _: c.post("/waitlist", json=_waitlist_body()), "none", "link"),
    Operation("get", P + "/waitlist/{entry_id}", lambda c, w: c.get(f"/waitlist/{w}"), "waitlist", "link"),
    Operation("delete", P + "/waitlist/{entry_id}", lambda c, w: c.delete(f"/waitlist/{w}"), "waitlist", "link"),
]
_ROUTE_DAY = {"date": (datetime.now(UTC) + timedelta(days=200)).date().isoformat()}
OPERATIONS += [  # mobile service (issue 17)
    Operation("get", P + "/service-types", lambda c, _: c.get("/service-types"), "none", "link"),
    Operation(
        "get",
        P + "/technicians/{technician_id}/route",
        lambda c, t: c.get(f"/technicians/{t}/route", params=_ROUTE_DAY),
        "technician",
        "booking_allday",
    ),
    Operation(
        "post",
        P + "/shops/{shop_id}/routes/optimize",
        lambda c, s: c.post(f"/shops/{s}/routes/optimize", params=_ROUTE_DAY),
        "shop",
        "booking_allday",
    ),
]
IDS = [f"{o.method.upper()} {o.path}" for o in OPERATIONS]
TOKEN_OPERATIONS = [P + "/waitlist/offers/{token}/accept", P + "/waitlist/offers/{token}/decline"]
"""Operations whose path holds their credential (a waitlist offer's token): no key, and a key adds nothing."""


def test_the_matrix_names_every_operation_of_the_document() -> None:
    doc = create_api().openapi()
    documented = {
        f"{method.upper()} {path}" for path, item in doc["paths"].items() if path.startswith(P) for method in item
    }
    assert documented == set(IDS) | {f"POST {path}" for path in TOKEN_OPERATIONS}


@pytest.mark.parametrize("path", TOKEN_OPERATIONS)
async def test_an_offer_token_is_its_own_credential_and_an_unknown_one_opens_nothing(world: World, path: str) -> None:
    for key in (None, world.keys.admin):
        async with world.client(key) as c:
            for token in ("wo_0123456789abcdef.not-the-secret", "garbage", "x" * 150):
                response = await c.post(path.removeprefix(P).replace("{token}", token))
                assert_problem(response, 404, "not_found")


async def _target(world: World, op: Operation) -> str:
    if op.target == "hold":
        return str((await world.book(world.keys.booking_allday, hold=True))["id"])
    if op.target == "fresh":
        return str((await world.book(world.keys.booking_allday))["id"])
    if op.target == "in_progress":  # a fresh appointment the shop has started (straight in the database)
        appt_id = str((await world.book(world.keys.booking_allday))["id"])
        conn = await asyncpg.connect(normalize_dsn(world.database_url))
        try:
            await conn.execute("UPDATE appointments SET status = 'in_progress' WHERE id = $1::uuid", appt_id)
        finally:
            await conn.close()
        return appt_id
    if op.target == "past":
        return await _past_appointment(world)
    if op.target == "series":
        return await world.book_series(world.keys.booking_allday)
    if op.target == "waitlist":
        return await world.join_waitlist(world.keys.booking_allday)
    if op.target == "technician":
        return TECH
    if op.target == "shop":
        return ALLDAY
    if op.target == "vehicle":
        return str(world.appointment["vehicle_id"])
    return str(world.appointment["id"])


@pytest.mark.parametrize("op", OPERATIONS, ids=IDS)
async def test_without_a_key_every_operation_is_401(world: World, op: Operation) -> None:
    async with world.client(None) as c:
        response = await op.send(c, await _target(world, op))
    assert_problem(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("op", OPERATIONS, ids=IDS)
async def test_an_expired_or_revoked_key_is_401(world: World, op: Operation) -> None:
    target = await _target(world, op)
    for key in (world.keys.expired_admin, world.keys.revoked_admin, world.keys.admin + "x", "sk_0000.nothing"):
        async with world.client(key) as c:
            assert_problem(await op.send(c, target), 401, "unauthorized")


def _unknown(op: Operation) -> str:
    return "tech_nobody_knows" if op.target == "technician" else str(uuid.uuid4())


def _same_problem(other: httpx.Response, unknown: httpx.Response, other_id: str, unknown_id: str) -> None:
    """Byte for byte the same answer, once the id each names is swapped."""
    assert other.status_code == unknown.status_code
    assert other.headers["content-type"] == unknown.headers["content-type"]
    assert other.content == unknown.content.replace(unknown_id.encode(), other_id.encode())


@pytest.mark.parametrize("op", OPERATIONS, ids=IDS)
async def test_a_key_of_another_shop_sees_nothing_there(world: World, op: Operation) -> None:
    target = await _target(world, op)
    async with world.client(world.keys.staff_nyc) as c:
        other = await op.send(c, target)
        if op.target in (
            "appointment",
            "hold",
            "fresh",
            "in_progress",
            "past",
            "technician",
            "shop",
            "series",
            "waitlist",
        ):
            unknown_id = _unknown(op)
            unknown = await op.send(c, unknown_id)
            assert_problem(other, 404, "not_found")
            _same_problem(other, unknown, target, unknown_id)
        elif op.path == P + "/service-types":  # the catalog is the chain's, the same for every key
            assert other.status_code == 200, other.text
        elif op.path == P + "/kpis":  # the chain as the key sees it: its own shops only
            assert other.status_code == 200, other.text
            assert ALLDAY not in other.json()["shop_ids"]
        elif op.target == "vehicle" or op.path.endswith("/technicians"):
            assert other.status_code == 200, other.text
            assert other.json()["items"] == [] and other.json()["page"]["total"] == 0
        else:  # a search or a booking naming shop_allday: refused as a shop or technician that does not exist
            problem = assert_problem(other, 422)
            assert "unknown shop shop_allday" in problem["detail"] or f"no technician '{TECH}'" in problem["detail"]


REFUSED = [pytest.param(o, id=i) for o, i in zip(OPERATIONS, IDS, strict=True) if o.refused_role]


@pytest.mark.parametrize("op", REFUSED)
async def test_a_role_that_may_not_do_it_is_403(world: World, op: Operation) -> None:
    target = await _target(world, op)
    if op.refused_role == "link":
        headers = {"Authorization": f"Bearer {world.manage_token}"}
    else:
        headers = ApiKeys.headers(getattr(world.keys, str(op.refused_role)))
    async with httpx.AsyncClient(base_url=world.base + "/api/v1", timeout=60, headers=headers) as c:
        assert_problem(await op.send(c, target), 403, "forbidden")


@pytest.mark.parametrize("op", OPERATIONS, ids=IDS)
async def test_a_key_of_the_shop_may(world: World, op: Operation) -> None:
    async with world.client(world.keys.staff_allday) as c:
        response = await op.send(c, await _target(world, op))
    assert 200 <= response.status_code < 300, response.text
    if op.target == "vehicle":
        assert [a["id"] for a in response.json()["items"]] == [world.appointment["id"]]


LIFECYCLE = ("check-in", "start", "complete", "no-show")


async def test_a_customer_link_may_not_run_the_lifecycle(world: World) -> None:
    headers = {"Authorization": f"Bearer {world.manage_token}"}
    async with httpx.AsyncClient(base_url=world.base + "/api/v1", timeout=60, headers=headers) as c:
        for step in LIFECYCLE:
            assert_problem(await c.post(f"/appointments/{world.appointment['id']}/{step}"), 403, "forbidden")


async def test_a_booking_key_sees_only_what_it_booked(world: World) -> None:
    appt_id, car = world.appointment["id"], world.appointment["vehicle_id"]
    async with world.client(world.keys.booking_allday_other) as c:
        assert_problem(await c.get(f"/appointments/{appt_id}"), 404, "not_found")
        assert_problem(await c.delete(f"/appointments/{appt_id}"), 404, "not_found")
        assert (await c.get(f"/appointments/vehicle/{car}")).json()["items"] == []
    async with world.client(world.keys.booking_allday) as c:
        mine = await c.get(f"/appointments/vehicle/{car}")
        assert [a["id"] for a in mine.json()["items"]] == [appt_id]
        assert (await c.get(f"/appointments/{appt_id}")).status_code == 200


async def test_x_api_key_is_accepted_too(world: World) -> None:
    async with httpx.AsyncClient(
        base_url=world.base + "/api/v1", timeout=60, headers={"X-API-Key": world.keys.staff_allday}
    ) as c:
        assert (await c.get(f"/appointments/{world.appointment['id']}")).status_code == 200


async def test_health_and_the_document_are_public(api_url: str) -> None:
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as c:
        assert (await c.get("/healthz")).status_code == 200
        assert (await c.get("/openapi.json")).status_code == 200


async def test_calendar_files_open_with_their_secret_url_and_nothing_else(world: World) -> None:
    appt_id = world.appointment["id"]
    async with world.client(world.keys.staff_allday) as c:
        appointment_url = (await c.get(f"/appointments/{appt_id}")).json()["calendar_url"]
        feed_url = (await c.get(f"/technicians/{TECH}/schedule")).json()["calendar_url"]
    async with httpx.AsyncClient(timeout=60) as anonymous:
        for url in (appointment_url, feed_url):
            path_and_query = url.split("/api/v1", 1)[1]
            opened = await anonymous.get(world.base + "/api/v1" + path_and_query)
            assert opened.status_code == 200, opened.text
            assert opened.headers["content-type"].startswith("text/calendar")
            tampered = path_and_query[:-1] + ("0" if path_and_query[-1] != "0" else "1")
            assert_problem(await anonymous.get(world.base + "/api/v1" + tampered), 401, "unauthorized")
        # one feed's token opens no other feed
        other = feed_url.split("/api/v1", 1)[1].replace(TECH, "tech_902")
        assert_problem(await anonymous.get(world.base + "/api/v1" + other), 401, "unauthorized")


async def test_idempotency_keys_belong_to_the_caller(world: World) -> None:
    """The same Idempotency-Key from two keys: two bookings, neither replays the other's answer."""
    key = f"shared-{uuid.uuid4()}"
    answers = []
    for credential in (world.keys.booking_allday, world.keys.staff_allday):
        async with world.client(credential) as c:
            slot = (await search(c, vehicle_id=vehicle(), service_type="routine", shop_id=ALLDAY, earliest=ahead(5)))[0]
            body = {**chosen(slot), "vehicle_id": vehicle(), "service_type": "routine"}
            answers.append(await c.post("/appointments", json=body, headers={"Idempotency-Key": key}))
            replay = await c.post("/appointments", json=body, headers={"Idempotency-Key": key})
            assert replay.headers.get("Idempotent-Replayed") == "true"
            assert replay.json()["id"] == answers[-1].json()["id"]
            assert replay.json() == answers[-1].json()
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json()["id"] != answers[1].json()["id"]
    assert "Idempotent-Replayed" not in answers[1].headers
