"""``Idempotency-Key``: replay, a different body under the same key, a concurrent duplicate."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from tests.api.helpers import ahead, assert_problem, chosen, search, vehicle


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"test-{uuid.uuid4()}"}


async def test_same_key_and_body_replays_the_first_answer(client: httpx.AsyncClient) -> None:
    car = vehicle()
    slot = (await search(client, vehicle_id=car, service_type="routine", earliest=ahead(60), shop_id="shop_berlin"))[0]
    body = {**chosen(slot), "vehicle_id": car, "service_type": "routine"}
    headers = key()

    first = await client.post("/appointments", json=body, headers=headers)
    again = await client.post("/appointments", json=body, headers=headers)

    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    listed = await client.get(f"/appointments/vehicle/{car}")
    assert listed.json()["page"]["total"] == 1


async def test_same_key_with_a_different_body_is_refused(client: httpx.AsyncClient) -> None:
    car = vehicle()
    slot = (await search(client, vehicle_id=car, service_type="routine", earliest=ahead(61), shop_id="shop_berlin"))[0]
    body = {**chosen(slot), "vehicle_id": car, "service_type": "routine"}
    headers = key()
    first = await client.post("/appointments", json=body, headers=headers)
    assert first.status_code == 201, first.text

    other = await client.post("/appointments", json={**body, "notes": "something else"}, headers=headers)

    assert_problem(other, 422, "idempotency_key_reused")


async def test_a_replayed_refusal_stays_a_refusal(client: httpx.AsyncClient) -> None:
    response = await client.delete("/appointments/no-such-appointment", headers=(headers := key()))
    again = await client.delete("/appointments/no-such-appointment", headers=headers)

    assert_problem(response, 404)
    assert_problem(again, 404)
    assert again.json() == response.json()


async def test_concurrent_duplicates_create_one_appointment(client: httpx.AsyncClient) -> None:
    car = vehicle()
    slot = (await search(client, vehicle_id=car, service_type="routine", earliest=ahead(62), shop_id="shop_berlin"))[0]
    body = {**chosen(slot), "vehicle_id": car, "service_type": "routine"}
    headers = key()

    answers = await asyncio.gather(*(client.post("/appointments", json=body, headers=headers) for _ in range(2)))

    statuses = sorted(a.status_code for a in answers)
    assert statuses in ([201, 201], [201, 409]), [a.text for a in answers]
    created = [a for a in answers if a.status_code == 201]
    assert len({a.json()["id"] for a in created}) == 1
    if statuses == [201, 201]:
        assert any(a.headers.get("idempotent-replayed") == "true" for a in created)
    else:
        assert_problem(next(a for a in answers if a.status_code == 409), 409, "idempotency_in_flight")
    listed = await client.get(f"/appointments/vehicle/{car}")
    assert listed.json()["page"]["total"] == 1


async def test_a_key_longer_than_255_characters_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/appointments/x/confirm", headers={"Idempotency-Key": "k" * 256})

    assert_problem(response, 422)
