"""Thin ``alert.created`` events are completed from the Alert Service (a real local HTTP server) before deciding.

When the Alert Service cannot answer, the event is retried through the
consumer group's normal path and dead-lettered after the usual number of
deliveries: never dropped, never booked on a guess.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis.asyncio as aioredis

from bench.fake_neighbours import FakeAlertService, Misbehaviour
from bridge.event_bridge import EventBridge
from config.settings import Settings
from domain.events import EventEnvelope, EventType
from integrations.alert_service import AlertServiceClient
from integrations.neighbour_http import NeighbourConfig, NeighbourHttp
from tests.bridge.fake_booker import FakeAutoBooker
from tests.bridge.support import FAST, count, dead_letters, send, wait_for
from tests.factories import seed_shop

APPOINTMENTS = "SELECT count(*) FROM appointments"


def thin_alert(alert_id: str, **fields: Any) -> EventEnvelope:
    return EventEnvelope(
        str(uuid.uuid4()), EventType.ALERT_CREATED, datetime.now(UTC), "telematics", {"alert_id": alert_id, **fields}
    )


def details(alert_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "alert_id": alert_id,
        "vehicle_id": f"V-{alert_id}",
        "severity": "CRITICAL",
        "component": "coolant",
        "shop_id": "shop_a",
        "description": "coolant temperature above limit",
        **fields,
    }


@pytest.fixture
def alert_service() -> Iterator[FakeAlertService]:
    fake = FakeAlertService(expected_auth=("Authorization", "Bearer t0ken"))
    with fake.running():
        yield fake


@pytest.fixture
async def booker(db: Any) -> FakeAutoBooker:
    await seed_shop(db, techs=3, bays=3)
    return FakeAutoBooker(db)


async def _bridge(
    settings: Settings, db: Any, redis: aioredis.Redis, booker: FakeAutoBooker, alert_service: FakeAlertService
) -> EventBridge:
    # A circuit that never opens here: these tests watch the consumer's retries, not the breaker. The
    # timeout is generous (a loaded CI machine must not turn a good answer into a retry); "slow" is slower.
    config = NeighbourConfig(
        "alert", alert_service.url, timeout_s=2.0, auth_header="Bearer t0ken", failure_threshold=10_000
    )
    bridge = EventBridge(settings, db, redis, booker, FAST, alert_details=AlertServiceClient(NeighbourHttp(config)))
    await bridge.start()
    return bridge


@pytest.fixture
async def bridge(
    settings: Settings, db: Any, redis: aioredis.Redis, booker: FakeAutoBooker, alert_service: FakeAlertService
) -> AsyncIterator[EventBridge]:
    bridge = await _bridge(settings, db, redis, booker, alert_service)
    yield bridge
    await bridge.stop()


async def test_a_thin_alert_is_enriched_from_the_alert_service_and_booked(
    bridge: EventBridge, db: Any, redis: aioredis.Redis, stream_prefix: str, alert_service: FakeAlertService
) -> None:
    alert_service.alerts["A1"] = details("A1")
    await send(redis, stream_prefix, thin_alert("A1"))

    await wait_for(lambda: _equals(db, APPOINTMENTS, 1), what="the enriched alert's appointment")
    async with db.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM appointments")
    assert (row["vehicle_id"], row["service_type"], row["urgency"], row["source_ref"]) == (
        "V-A1",
        "engine_repair",
        "CRITICAL",
        "alert:A1",
    )
    assert alert_service.requests_to("/alerts/A1") == 1
    assert bridge.handler.stats.enriched == 1


async def test_what_the_event_says_wins_over_the_alert_service(
    bridge: EventBridge, db: Any, redis: aioredis.Redis, stream_prefix: str, alert_service: FakeAlertService
) -> None:
    alert_service.alerts["A2"] = details("A2", severity="LOW")
    await send(redis, stream_prefix, thin_alert("A2", severity="CRITICAL", vehicle_id="V-from-event"))

    await wait_for(lambda: _equals(db, APPOINTMENTS, 1), what="the appointment")
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT vehicle_id FROM appointments") == "V-from-event"


async def test_an_alert_that_carries_everything_does_not_call_the_alert_service(
    bridge: EventBridge, db: Any, redis: aioredis.Redis, stream_prefix: str, alert_service: FakeAlertService
) -> None:
    await send(redis, stream_prefix, thin_alert("A3", **{k: v for k, v in details("A3").items() if k != "alert_id"}))
    await wait_for(lambda: _equals(db, APPOINTMENTS, 1), what="the appointment")
    assert alert_service.received == []


async def test_alert_service_down_then_back_books_the_alert_exactly_once(
    settings: Settings,
    db: Any,
    redis: aioredis.Redis,
    stream_prefix: str,
    booker: FakeAutoBooker,
    alert_service: FakeAlertService,
) -> None:
    alert_service.alerts["A4"] = details("A4")
    alert_service.refuse()
    patient = settings.model_copy(update={"event_max_deliveries": 10_000})  # it must outlast the outage
    bridge = await _bridge(patient, db, redis, booker, alert_service)
    try:
        await send(redis, stream_prefix, thin_alert("A4"))
        await send(redis, stream_prefix, thin_alert("A4"))  # the same alert, announced twice
        await wait_for(lambda: _at_least(lambda: bridge.consumer.stats.failed, 4), what="failed deliveries")
        assert await count(db, APPOINTMENTS) == 0, "nothing is booked on a guess"

        alert_service.start()  # back, on the same port
        await wait_for(lambda: _equals(db, APPOINTMENTS, 1), what="the appointment once the service is back")
        await wait_for(lambda: _at_least(lambda: bridge.handler.stats.duplicates, 1), what="the second event handled")
        await wait_for(lambda: _no_pending(bridge), what="both entries acked")
        assert await count(db, APPOINTMENTS) == 1
        assert booker.calls == ["alert:A4"]
        assert await dead_letters(redis, stream_prefix) == []
    finally:
        await bridge.stop()


@pytest.mark.parametrize(
    "misbehaviour",
    [None, Misbehaviour.HTML, Misbehaviour.WRONG_TYPES, Misbehaviour.ERROR_BODY, Misbehaviour.SLOW],
    ids=["refused", "html", "wrong_types", "error_body", "slow"],
)
async def test_an_alert_service_that_cannot_answer_dead_letters_the_alert_after_the_usual_deliveries(
    bridge: EventBridge,
    db: Any,
    redis: aioredis.Redis,
    stream_prefix: str,
    booker: FakeAutoBooker,
    alert_service: FakeAlertService,
    settings: Settings,
    misbehaviour: Misbehaviour | None,
) -> None:
    alert_service.alerts["A5"] = details("A5")
    if misbehaviour is None:
        alert_service.refuse()
    else:
        alert_service.misbehaviour = misbehaviour
    await send(redis, stream_prefix, thin_alert("A5"))

    await wait_for(lambda: _dead_lettered(redis, stream_prefix), what="the dead letter")
    [letter] = await dead_letters(redis, stream_prefix)
    assert letter["kind"] == "max_deliveries"
    assert int(letter["deliveries"]) == settings.event_max_deliveries
    assert "alert service unavailable" in letter["reason"]
    assert EventEnvelope.from_json(letter["event"]).data == {"alert_id": "A5"}
    assert await count(db, APPOINTMENTS) == 0
    assert booker.calls == []


async def test_an_alert_the_alert_service_does_not_know_is_retried_then_dead_lettered(
    bridge: EventBridge, db: Any, redis: aioredis.Redis, stream_prefix: str, alert_service: FakeAlertService
) -> None:
    # The event may outrun the Alert Service's own write: a 404 is retried like any other failure.
    await send(redis, stream_prefix, thin_alert("UNKNOWN"))
    await wait_for(lambda: _dead_lettered(redis, stream_prefix), what="the dead letter")
    assert alert_service.requests_to("/alerts/UNKNOWN") >= 2
    assert await count(db, APPOINTMENTS) == 0


async def _equals(db: Any, sql: str, n: int) -> bool:
    return await count(db, sql) == n


async def _at_least(value: Any, n: int) -> bool:
    return bool(value() >= n)


async def _dead_lettered(redis: aioredis.Redis, prefix: str) -> bool:
    return len(await dead_letters(redis, prefix)) >= 1


async def _no_pending(bridge: EventBridge) -> bool:
    stream = bridge.streams.for_event(EventType.ALERT_CREATED)
    info = await bridge.redis.xpending(stream, bridge.consumer._config.group)
    return int(info["pending"]) == 0
