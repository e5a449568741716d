"""Many clients, one slot: exactly one wins, every loser hears 409 with alternatives."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx

from tests.api.helpers import ahead, assert_problem, chosen, search, vehicle

CLIENTS = 64


async def test_64_concurrent_posts_for_one_slot_book_it_once(api_url: str, admin_headers: dict[str, str]) -> None:
    limits = httpx.Limits(max_connections=CLIENTS)
    async with httpx.AsyncClient(
        base_url=api_url + "/api/v1", timeout=120, limits=limits, headers=admin_headers
    ) as client:
        slot = (
            await search(
                client, vehicle_id=vehicle(), service_type="diagnostic", earliest=ahead(55), shop_id="shop_nyc"
            )
        )[0]
        body = {**chosen(slot), "service_type": "diagnostic"}

        responses = await asyncio.gather(
            *(client.post("/appointments", json={**body, "vehicle_id": vehicle()}) for _ in range(CLIENTS))
        )

        statuses = Counter(r.status_code for r in responses)
        assert statuses == {201: 1, 409: CLIENTS - 1}, statuses
        for response in responses:
            if response.status_code == 409:
                problem = assert_problem(response, 409, "slot_taken")
                assert problem["alternatives"], problem
                assert all(
                    a["datetime"] != slot["datetime"] or a["technician"]["id"] != slot["technician"]["id"]
                    for a in problem["alternatives"]
                )
        winner = next(r.json() for r in responses if r.status_code == 201)
        schedule = await client.get(
            f"/technicians/{slot['technician']['id']}/schedule",
            params={"from": slot["datetime"], "to": slot["estimated_completion"]},
        )
        assert schedule.status_code == 200, schedule.text
        assert [a["id"] for a in schedule.json()["appointments"]] == [winner["id"]]
