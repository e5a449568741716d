"""A PostgreSQL restart under booking load (issue 10, defect 3), through HTTP against the real stack.

Sixteen clients search and book, each in a stretch of days of its own, with an
``Idempotency-Key`` per booking, and read appointments and technicians between
bookings. ``database_proxy`` then resets every database connection of the app
and refuses new ones for three seconds, as a restart does. What must hold:

- no answer is a 500 (or any 5xx but 503); every 503 carries ``Retry-After``
  and a problem body with code ``service_unavailable``;
- a booking answered 503 and retried with the same key ends in one answer,
  and the database agrees with it: a 201 names the one appointment of its
  vehicle, anything else left none (each key books its own vehicle);
- no vehicle holds two live appointments, no technician or bay overlaps;
- afterwards the service answers normally again: ``/healthz`` is 200 and
  every client books again.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from tests.api.conftest import ApiKeys
from tests.api.helpers import ahead, chosen, vehicle
from tests.faults import TcpProxy

CLIENTS = 16
OUTAGE_S = 3.0
DEADLINE_S = 60.0
"""For each condition waited on, and for each booking's retries; generous for a loaded 2-core machine."""
BACKOFF_S = 0.25
"""A client's pause before it retries (shorter than ``Retry-After``, to keep the test quick)."""
SHOP = "shop_allday"
FIRST_DAY = 120
DAYS_PER_CLIENT = 3
"""Each client books from its own day on: 2 technicians x 6 jobs a day leave it room for 36 bookings."""
LIVE = "('held', 'scheduled', 'checked_in', 'in_progress')"
APPOINTMENTS_SCOPE = "POST /api/v1/appointments"


@dataclass(frozen=True)
class Answer:
    """One HTTP answer the load saw, kept for the checks at the end."""

    request: str
    status: int
    retry_after: str | None
    content_type: str
    body: Any


@dataclass
class Booking:
    key: str
    vehicle_id: str
    started_at: float
    statuses: list[int] = field(default_factory=list)
    final: Answer | None = None

    @property
    def appointment_id(self) -> str | None:
        return self.final.body["id"] if self.final is not None and self.final.status == 201 else None


def _retry_later(answer: Answer) -> bool:
    """The answers that tell a client to come back with the same request."""
    return answer.status == 503 or (
        answer.status == 409 and isinstance(answer.body, dict) and answer.body.get("code") == "idempotency_in_flight"
    )


class LoadClient:
    """Searches, books the best slot with an ``Idempotency-Key``, reads a little, and again, until stopped."""

    def __init__(self, index: int, http: httpx.AsyncClient, answers: list[Answer], stop: asyncio.Event) -> None:
        self.index = index
        self.http = http
        self.answers = answers
        self.stop = stop
        self.bookings: list[Booking] = []

    async def call(self, method: str, path: str, route: str | None = None, **kwargs: Any) -> Answer:
        response = await self.http.request(method, path, **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = response.text
        answer = Answer(
            f"{method} {route or path}",
            response.status_code,
            response.headers.get("retry-after"),
            response.headers.get("content-type", ""),
            body,
        )
        self.answers.append(answer)
        return answer

    def booked_since(self, moment: float) -> bool:
        """True once a booking this client started after ``moment`` was answered 201."""
        return any(b.started_at >= moment and b.appointment_id for b in self.bookings)

    async def run(self) -> None:
        rounds = 0
        while not self.stop.is_set():
            rounds += 1
            await self.book_once()
            await self.read_some(rounds)

    async def book_once(self) -> None:
        car = vehicle()
        query = {
            "vehicle_id": car,
            "service_type": "routine",
            "shop_id": SHOP,
            "earliest": ahead(FIRST_DAY + DAYS_PER_CLIENT * self.index),
        }
        found = await self.call("POST", "/slots/available", json=query)
        if found.status != 200 or not found.body["recommended_slots"]:
            await asyncio.sleep(BACKOFF_S)  # a client's back-off before it searches again
            return
        slot = found.body["recommended_slots"][0]
        booking = Booking(f"outage-{uuid.uuid4()}", car, time.monotonic())
        self.bookings.append(booking)
        body = {**chosen(slot), "vehicle_id": car, "service_type": "routine"}
        give_up = time.monotonic() + DEADLINE_S
        while True:
            answer = await self.call("POST", "/appointments", json=body, headers={"Idempotency-Key": booking.key})
            booking.statuses.append(answer.status)
            if not _retry_later(answer):
                booking.final = answer
                return
            if time.monotonic() > give_up:
                return  # left unresolved (``final`` is None): the test fails on it once it has checked the answers
            await asyncio.sleep(BACKOFF_S)  # a client's back-off before it retries with the same key

    async def read_some(self, rounds: int) -> None:
        last = next((b for b in reversed(self.bookings) if b.appointment_id), None)
        if last is not None:
            await self.call("GET", f"/appointments/{last.appointment_id}", "/appointments/{id}")
            await self.call("GET", f"/appointments/vehicle/{last.vehicle_id}", "/appointments/vehicle/{id}")
        if rounds % 3 == 0:
            await self.call("GET", "/technicians", params={"shop_id": SHOP})
            await self.call(
                "GET", "/technicians/tech_901/schedule", params={"from": ahead(FIRST_DAY), "to": ahead(FIRST_DAY + 2)}
            )


async def _until(condition: Callable[[], bool], what: str, tasks: list[asyncio.Task[None]]) -> None:
    """Wait for ``condition`` with a deadline; a client that failed ends the wait with its error."""
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        for task in tasks:
            if task.done():
                task.result()  # raises the client's failure
                raise AssertionError(f"a client stopped early while waiting until {what}")
        assert time.monotonic() < deadline, f"not within {DEADLINE_S:.0f} s: {what}"
        await asyncio.sleep(0.1)  # polling interval of a condition with a deadline


async def _until_healthy(api_url: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    async with httpx.AsyncClient(base_url=api_url, timeout=10) as http:
        while (status := (await http.get("/healthz")).status_code) != 200:
            assert status == 503, f"/healthz answered {status}"
            assert time.monotonic() < deadline, f"/healthz not 200 within {DEADLINE_S:.0f} s of the outage's end"
            await asyncio.sleep(0.2)  # polling interval of a condition with a deadline



async def test_a_database_restart_under_booking_load_answers_503_with_retry_after_and_books_nothing_twice(
    api_url: str, database_proxy: TcpProxy, api_db: asyncpg.Pool, api_keys: ApiKeys
) -> None:
    answers: list[Answer] = []
    stop = asyncio.Event()
    limits = httpx.Limits(max_connections=CLIENTS * 2)
    async with httpx.AsyncClient(
        base_url=api_url + "/api/v1", timeout=DEADLINE_S, limits=limits, headers=api_keys.admin_headers
    ) as http:
        clients = [LoadClient(i, http, answers, stop) for i in range(CLIENTS)]
        tasks = [asyncio.create_task(c.run()) for c in clients]
        cut_before = database_proxy.cut
        stalled: AssertionError | None = None
        try:
            await _until(lambda: all(c.booked_since(0) for c in clients), "every client booked once", tasks)

            await asyncio.wrap_future(database_proxy.outage(OUTAGE_S))

            back = time.monotonic()
            await _until_healthy(api_url)
            await _until(lambda: all(c.booked_since(back) for c in clients), "every client booked again", tasks)
        except AssertionError as exc:  # reported after the answers: a 500 says more than a stall
            stalled = exc
        finally:
            stop.set()
            ended = await asyncio.gather(*tasks, return_exceptions=True)

    bookings = [b for c in clients for b in c.bookings]
    statuses = Counter(a.status for a in answers)
    summary = f"answers by status {dict(statuses)}; {len(bookings)} bookings"
    server_errors = [a for a in answers if a.status >= 500 and a.status != 503]
    assert not server_errors, (
        f"{len(server_errors)} server errors {dict(Counter((a.request, a.status) for a in server_errors))};"
        f" the first: {server_errors[0]}; {summary}"
    )
    for answer in (a for a in answers if a.status == 503):
        assert answer.retry_after is not None and answer.retry_after.isdigit(), answer
        assert answer.content_type.startswith("application/problem+json"), answer
        assert answer.body["code"] == "service_unavailable", answer
    assert not [e for e in ended if e is not None], ended
    assert stalled is None, f"{stalled}; {summary}"
    assert database_proxy.cut > cut_before, "the outage cut no database connection"
    assert statuses[503] > 0, f"the outage was not felt: {summary}"

    unresolved = [b for b in bookings if b.final is None]
    assert not unresolved, f"retried for {DEADLINE_S:.0f} s without an answer: {unresolved}"
    for booking in bookings:
        assert booking.final is not None
        if booking.final.status != 201:
            assert 400 <= booking.final.status < 500 and booking.final.body["code"], booking
    await _check_the_database(api_db, bookings, f"{api_keys.admin_principal} {APPOINTMENTS_SCOPE}")
    retried = Counter(tuple(sorted(set(b.statuses))) for b in bookings if len(b.statuses) > 1)
    print(f"{summary}; cut {database_proxy.cut - cut_before} connections; retried bookings: {dict(retried)}")


async def _check_the_database(pool: asyncpg.Pool, bookings: list[Booking], scope: str) -> None:
    vehicles = [b.vehicle_id for b in bookings]
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT id::text, vehicle_id, status FROM appointments WHERE vehicle_id = ANY ($1::text[])", vehicles
        )
        effects = {
            r["key"]: r["effect_id"]
            for r in await conn.fetch(
                "SELECT key, effect_id FROM idempotency_keys WHERE scope = $1 AND key = ANY ($2::text[])",
                scope,
                [b.key for b in bookings],
            )
        }
        technician_overlaps = await conn.fetchval(
            f"""
            SELECT count(*) FROM appointments a JOIN appointments b
              ON a.technician_id = b.technician_id AND a.id < b.id
             AND a.start_at < b.blocked_until AND b.start_at < a.blocked_until
            WHERE a.shop_id = $1 AND a.status IN {LIVE} AND b.status IN {LIVE}
            """,
            SHOP,
        )
        bay_overlaps = await conn.fetchval(
            f"""
            SELECT count(*) FROM appointments a JOIN appointments b
              ON a.bay_id = b.bay_id AND a.id < b.id AND a.start_at < b.end_at AND b.start_at < a.end_at
            WHERE a.shop_id = $1 AND a.status IN {LIVE} AND b.status IN {LIVE}
            """,
            SHOP,
        )
    by_vehicle: dict[str, list[str]] = {}
    for row in rows:
        by_vehicle.setdefault(row["vehicle_id"], []).append(row["id"])
        assert row["status"] == "scheduled", dict(row)
    for booking in bookings:
        booked = by_vehicle.get(booking.vehicle_id, [])
        # one key, one vehicle: the key's appointments are its vehicle's, and what the client heard is what happened
        expected = [booking.appointment_id] if booking.appointment_id else []
        assert booked == expected, f"{booking.key} was answered {booking.statuses}, the database holds {booked}"
        assert effects.get(booking.key) == booking.appointment_id, (booking, effects.get(booking.key))
    assert technician_overlaps == 0
    assert bay_overlaps == 0
