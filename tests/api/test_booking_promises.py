"""The booking promises under hostile traffic and faults, through HTTP against the real stack.

- One vehicle is never booked twice for overlapping time, whatever the technician.
- One client's bad request never fails another's.
- A committed booking is answered as a success, and its ``Idempotency-Key``
  answers that booking from then on, even when storing the answer failed.
- A key left in flight by a process that died is taken over after the timeout.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from deployments.idempotency import purge_idempotency_keys, request_fingerprint
from deployments.services import _purge_idempotency_keys
from tests.api.conftest import ApiKeys
from tests.api.helpers import ahead, assert_problem, chosen, search, vehicle

LIVE = "('held', 'scheduled', 'checked_in', 'in_progress')"



async def _overlapping_vehicle_pairs(pool: asyncpg.Pool, vehicles: list[str]) -> int:
    async with pool.acquire() as conn:
        return int(
            await conn.fetchval(
                f"""
            SELECT count(*) FROM appointments a JOIN appointments b
              ON a.vehicle_id = b.vehicle_id AND a.id < b.id
             AND a.start_at < b.end_at AND b.start_at < a.end_at
            WHERE a.vehicle_id = ANY ($1::text[]) AND a.status IN {LIVE} AND b.status IN {LIVE}
            """,
                vehicles,
            )
        )


async def test_one_vehicle_at_one_start_on_several_technicians_books_once(
    client: httpx.AsyncClient, api_db: asyncpg.Pool
) -> None:
    car = vehicle()
    slot = (await search(client, vehicle_id=car, service_type="routine", earliest=ahead(80.3), shop_id="shop_allday"))[
        0
    ]
    pairs = [("tech_901", "Bay 1"), ("tech_902", "Bay 2")]
    bodies = [
        {
            "vehicle_id": car,
            "service_type": "routine",
            "datetime": slot["datetime"],
            "technician_id": t,
            "service_bay": b,
            "shop_id": "shop_allday",
        }
        for t, b in pairs
    ]

    answers = await asyncio.gather(*(client.post("/appointments", json=body) for body in bodies))

    assert Counter(a.status_code for a in answers) == {201: 1, 409: 1}, [a.text for a in answers]
    assert_problem(next(a for a in answers if a.status_code == 409), 409, "vehicle_already_booked")
    assert await _overlapping_vehicle_pairs(api_db, [car]) == 0


async def test_concurrent_best_slot_bookings_of_one_vehicle_never_overlap(
    client: httpx.AsyncClient, api_db: asyncpg.Pool
) -> None:
    car = vehicle()
    body = {
        "vehicle_id": car,
        "service_type": "routine",
        "urgency": "MEDIUM",
        "shop_id": "shop_allday",
        "preferred_date": (datetime.now(UTC) + timedelta(days=81)).date().isoformat(),
    }

    answers = await asyncio.gather(*(client.post("/appointments", json=body) for _ in range(6)))

    assert all(a.status_code in (201, 409) for a in answers), [
        a.json()["detail"] for a in answers if a.status_code != 201
    ]
    assert await _overlapping_vehicle_pairs(api_db, [car]) == 0
    # and the search no longer offers the vehicle's booked time
    booked = [a.json() for a in answers if a.status_code == 201]
    assert booked
    offered = await client.post("/slots/available", json={**body, "top_k": 10})
    assert offered.status_code == 200, offered.text
    for slot in offered.json()["recommended_slots"]:
        for appt in booked:
            assert not (
                slot["datetime"] < appt["estimated_completion"] and appt["datetime"] < slot["estimated_completion"]
            ), (slot, appt)


async def test_bad_requests_among_honest_ones_fail_alone(client: httpx.AsyncClient, api_db: asyncpg.Pool) -> None:
    slots = await search(
        client, vehicle_id=vehicle(), service_type="routine", earliest=ahead(71), shop_id="shop_berlin", top_k=10
    )
    honest = [{**chosen(s), "vehicle_id": vehicle(), "service_type": "routine"} for s in slots]
    poison = [{**honest[0], "vehicle_id": vehicle(), "datetime": "9999-12-31T10:00:00+00:00"} for _ in range(10)]
    keys = [f"promise-{uuid.uuid4()}" for _ in honest]

    async def post(body: dict[str, Any], key: str | None = None) -> httpx.Response:
        return await client.post("/appointments", json=body, headers={"Idempotency-Key": key} if key else {})

    answers = await asyncio.gather(*(post(b, k) for b, k in zip(honest, keys, strict=True)), *(post(b) for b in poison))

    assert all(a.status_code < 500 for a in answers), [a.text for a in answers if a.status_code >= 500]
    assert all(a.status_code == 422 for a in answers[len(honest) :]), [a.text for a in answers[len(honest) :]]
    assert all(a.status_code in (201, 409) for a in answers[: len(honest)])
    # a retry of every honest booking answers the same appointment (or the same refusal)
    again = await asyncio.gather(*(post(b, k) for b, k in zip(honest, keys, strict=True)))
    for first, second in zip(answers[: len(honest)], again, strict=True):
        assert second.status_code == first.status_code
        assert second.json() == first.json()
    assert await _overlapping_vehicle_pairs(api_db, [b["vehicle_id"] for b in honest]) == 0


@pytest.fixture
async def failing_answer_store(api_db: asyncpg.Pool) -> AsyncIterator[str]:
    """Storing the answer of any key starting with the yielded prefix fails (after the booking committed)."""
    prefix = f"fault-{uuid.uuid4().hex[:8]}-"
    async with api_db.acquire() as conn:
        await conn.execute(f"""
            CREATE OR REPLACE FUNCTION test_refuse_answer() RETURNS trigger AS $$
            BEGIN
                IF NEW.state = 'done' AND NEW.key LIKE '{prefix}%' THEN
                    RAISE EXCEPTION 'injected fault: the answer cannot be stored';
                END IF;
                RETURN NEW;
            END $$ LANGUAGE plpgsql;
            DROP TRIGGER IF EXISTS test_refuse_answer ON idempotency_keys;
            CREATE TRIGGER test_refuse_answer BEFORE UPDATE ON idempotency_keys
                FOR EACH ROW EXECUTE FUNCTION test_refuse_answer();
        """)
    yield prefix
    async with api_db.acquire() as conn:
        await conn.execute("DROP TRIGGER IF EXISTS test_refuse_answer ON idempotency_keys")


async def test_a_key_whose_booking_committed_always_answers_that_booking(
    client: httpx.AsyncClient, api_db: asyncpg.Pool, failing_answer_store: str
) -> None:
    car = vehicle()
    slot = (await search(client, vehicle_id=car, service_type="routine", earliest=ahead(72), shop_id="shop_nyc"))[0]
    body = {**chosen(slot), "vehicle_id": car, "service_type": "routine"}
    headers = {"Idempotency-Key": failing_answer_store + "1"}

    first = await client.post("/appointments", json=body, headers=headers)
    retries = [await client.post("/appointments", json=body, headers=headers) for _ in range(3)]

    assert first.status_code == 201, first.text
    for retry in retries:
        assert retry.status_code == 201, retry.text
        assert retry.json()["id"] == first.json()["id"]
        assert retry.headers["idempotent-replayed"] == "true"
    async with api_db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM appointments WHERE vehicle_id = $1", car) == 1


async def _claim_row(
    pool: asyncpg.Pool,
    principal: str,
    key: str,
    body: dict[str, Any],
    claimed_at: datetime,
    effect_id: str | None = None,
) -> None:
    path = "/api/v1/appointments"
    fingerprint = request_fingerprint("POST", path, json.dumps(body).encode())
    async with pool.acquire() as conn:
        await conn.execute(
            """
            INSERT INTO idempotency_keys (scope, key, request_hash, state, created_at, claimed_at, claim_token,
                                          effect_id)
            VALUES ($1, $2, $3, 'in_flight', $4, $4, $5, $6)
            """,
            f"{principal} POST {path}",
            key,
            fingerprint,
            claimed_at,
            uuid.uuid4(),
            effect_id,
        )


async def test_a_key_left_in_flight_by_a_dead_process_is_taken_over_after_the_timeout(
    client: httpx.AsyncClient, api_db: asyncpg.Pool, api_keys: ApiKeys
) -> None:
    car = vehicle()
    slot = (await search(client, vehicle_id=car, service_type="routine", earliest=ahead(73), shop_id="shop_nyc"))[0]
    body = {**chosen(slot), "vehicle_id": car, "service_type": "routine"}
    stale, fresh = f"stale-{uuid.uuid4()}", f"fresh-{uuid.uuid4()}"
    now = datetime.now(UTC)
    await _claim_row(api_db, api_keys.admin_principal, stale, body, now - timedelta(hours=2))
    await _claim_row(api_db, api_keys.admin_principal, fresh, body, now)

    taken_over = await client.post(
        "/appointments",
        content=json.dumps(body),
        headers={"Idempotency-Key": stale, "Content-Type": "application/json"},
    )
    still_running = await client.post(
        "/appointments",
        content=json.dumps(body),
        headers={"Idempotency-Key": fresh, "Content-Type": "application/json"},
    )

    assert taken_over.status_code == 201, taken_over.text
    assert_problem(still_running, 409, "idempotency_in_flight")


async def test_a_stale_key_whose_effect_committed_answers_the_effect_instead_of_running_again(
    client: httpx.AsyncClient, api_db: asyncpg.Pool, api_keys: ApiKeys
) -> None:
    car = vehicle()
    slot = (await search(client, vehicle_id=car, service_type="routine", earliest=ahead(74), shop_id="shop_nyc"))[0]
    body = {**chosen(slot), "vehicle_id": car, "service_type": "routine"}
    booked = await client.post("/appointments", json=body)
    assert booked.status_code == 201, booked.text
    key = f"died-after-commit-{uuid.uuid4()}"
    stale = datetime.now(UTC) - timedelta(hours=2)
    await _claim_row(api_db, api_keys.admin_principal, key, body, stale, effect_id=booked.json()["id"])

    answer = await client.post(
        "/appointments", content=json.dumps(body), headers={"Idempotency-Key": key, "Content-Type": "application/json"}
    )

    assert answer.status_code == 201, answer.text
    assert answer.json()["id"] == booked.json()["id"]
    async with api_db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM appointments WHERE vehicle_id = $1", car) == 1


async def test_idempotency_records_are_purged_on_a_schedule(api_db: asyncpg.Pool) -> None:
    old, recent = f"old-{uuid.uuid4()}", f"recent-{uuid.uuid4()}"
    now = datetime.now(UTC)
    async with api_db.acquire() as conn:
        for key, created in ((old, now - timedelta(hours=30)), (recent, now - timedelta(hours=1))):
            await conn.execute(
                "INSERT INTO idempotency_keys (scope, key, request_hash, state, created_at, claimed_at)"
                " VALUES ('POST /x', $1, 'h', 'done', $2, $2)",
                key,
                created,
            )

    async def present() -> set[str]:
        async with api_db.acquire() as conn:
            rows = await conn.fetch("SELECT key FROM idempotency_keys WHERE key = ANY ($1::text[])", [old, recent])
        return {r["key"] for r in rows}

    loop = asyncio.create_task(_purge_idempotency_keys(api_db, timedelta(hours=24), every_s=0.05))
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while old in await present():
            assert asyncio.get_running_loop().time() < deadline, "the purge never ran"
            await asyncio.sleep(0.05)
    finally:
        loop.cancel()
    assert await present() == {recent}
    assert await purge_idempotency_keys(api_db, timedelta(hours=24)) == 0
