"""Critical alerts become exactly one appointment each; bad entries go to the dead-letter stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from bridge.event_bridge import EventBridge
from config.settings import Settings
from domain.events import EventEnvelope, EventType
from tests.bridge.fake_booker import FakeAutoBooker
from tests.bridge.support import (
    FAST,
    alert_envelope,
    count,
    dead_letters,
    events_on,
    pending_count,
    send,
    send_raw,
    wait_for,
)
from tests.factories import seed_shop

APPOINTMENTS = "SELECT count(*) FROM appointments"


@pytest.fixture
async def booker(db: Any) -> FakeAutoBooker:
    await seed_shop(db, techs=3, bays=3)
    return FakeAutoBooker(db)


@pytest.fixture
async def bridge(
    settings: Settings, db: Any, redis: aioredis.Redis, booker: FakeAutoBooker
) -> AsyncIterator[EventBridge]:
    bridge = EventBridge(settings, db, redis, booker, FAST)
    await bridge.start()
    yield bridge
    await bridge.stop()
    assert bridge.stats()["loops"] == {}, "stop() ends every loop"


async def _processed(db: Any, n: int) -> bool:
    return await count(db, "SELECT count(*) FROM processed_events") >= n


async def test_critical_alert_books_an_appointment_and_publishes_scheduled_and_assigned(
    bridge: EventBridge, db: Any, redis: aioredis.Redis, stream_prefix: str
) -> None:
    await send(redis, stream_prefix, alert_envelope("A1"))

    scheduled = f"{stream_prefix}{EventType.APPOINTMENT_SCHEDULED}"
    assigned = f"{stream_prefix}{EventType.TECHNICIAN_ASSIGNED}"
    await wait_for(lambda: _has(redis, scheduled, 1), what="appointment.scheduled")
    await wait_for(lambda: _has(redis, assigned, 1), what="technician.assigned")

    async with db.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM appointments")
    assert row["source_ref"] == "alert:A1"
    assert row["service_type"] == "engine_repair"
    assert row["urgency"] == "CRITICAL"
    assert row["vehicle_id"] == "V-A1"
    [event] = await events_on(redis, scheduled)
    assert event.data["appointment_id"] == str(row["id"])
    assert await pending_count(redis, f"{stream_prefix}alert.created", "scheduling-tests") == 0


async def test_same_alert_three_times_books_one_appointment(
    bridge: EventBridge, db: Any, redis: aioredis.Redis, stream_prefix: str, booker: FakeAutoBooker
) -> None:
    first = alert_envelope("DUP")
    await send(redis, stream_prefix, first)
    await send(redis, stream_prefix, first)  # the same event delivered again
    await send(redis, stream_prefix, alert_envelope("DUP"))  # the same alert under a new event id
    await send(redis, stream_prefix, alert_envelope("OTHER"))

    stream = f"{stream_prefix}alert.created"
    await wait_for(lambda: _all_acked(redis, stream), what="four alerts acked")
    assert await count(db, APPOINTMENTS) == 2
    assert await count(db, "SELECT count(*) FROM appointments WHERE source_ref = 'alert:DUP'") == 1
    await wait_for(lambda: _has(redis, f"{stream_prefix}appointment.scheduled", 2), what="two scheduled events")
    assert len(await events_on(redis, f"{stream_prefix}appointment.scheduled")) == 2
    assert bridge.handler.stats.duplicates == 2


async def test_malformed_messages_go_to_dead_letter_and_the_next_alert_is_still_booked(
    bridge: EventBridge, db: Any, redis: aioredis.Redis, stream_prefix: str
) -> None:
    stream = f"{stream_prefix}alert.created"
    await send_raw(redis, stream, {"event": "{not json"})
    await send_raw(redis, stream, {"payload": "no event field"})
    await send(redis, stream_prefix, alert_envelope("NOVEHICLE", vehicle_id=""))  # envelope fine, data not
    await send(redis, stream_prefix, alert_envelope("GOOD"))

    await wait_for(lambda: _has(redis, f"{stream_prefix}dead-letter", 3), what="three dead letters")
    await wait_for(lambda: _processed(db, 1), what="the valid alert")
    letters = await dead_letters(redis, stream_prefix)
    assert [x["kind"] for x in letters] == ["malformed"] * 3
    assert "not JSON" in letters[0]["reason"]
    assert "vehicle_id" in letters[2]["reason"]
    assert letters[0]["event"] == "{not json" and letters[0]["stream"] == stream
    assert await count(db, "SELECT count(*) FROM appointments WHERE source_ref = 'alert:GOOD'") == 1
    await wait_for(lambda: _all_acked(redis, stream), what="every entry acked")


async def test_high_alert_is_recorded_but_not_booked(
    bridge: EventBridge, db: Any, redis: aioredis.Redis, stream_prefix: str
) -> None:
    await send(redis, stream_prefix, alert_envelope("H1", severity="high"))
    await wait_for(lambda: _processed(db, 1), what="the HIGH alert handled")
    async with db.acquire() as conn:
        row = await conn.fetchrow("SELECT outcome, reason FROM processed_events WHERE dedupe_key = 'alert:H1'")
    assert row["outcome"] == "ignored" and "HIGH" in row["reason"]
    assert await count(db, APPOINTMENTS) == 0


async def test_alert_that_cannot_be_booked_publishes_not_booked_once(
    bridge: EventBridge, db: Any, redis: aioredis.Redis, stream_prefix: str
) -> None:
    # brakes → brake_repair, which the seeded shop does not offer
    twice = alert_envelope("NB", component="brakes")
    await send(redis, stream_prefix, twice)
    await send(redis, stream_prefix, twice)
    stream = f"{stream_prefix}appointment.not_booked"
    await wait_for(lambda: _has(redis, stream, 1), what="appointment.not_booked")
    await wait_for(lambda: _all_acked(redis, f"{stream_prefix}alert.created"), what="both deliveries acked")
    await bridge.relay.relay_once()
    [event] = await events_on(redis, stream)
    assert event.data["alert_id"] == "NB" and event.data["service_type"] == "brake_repair"
    assert "brake_repair" in event.data["reasons"][0]
    assert await count(db, APPOINTMENTS) == 0


async def test_agent_decision_for_an_alert_shares_the_alerts_booking(
    bridge: EventBridge, db: Any, redis: aioredis.Redis, stream_prefix: str
) -> None:
    await send(redis, stream_prefix, alert_envelope("AG1"))
    decision = EventEnvelope.new(
        EventType.AGENT_DECISION_MADE,
        {"decision_id": "D1", "alert_id": "AG1", "vehicle_id": "V-AG1", "urgency": "CRITICAL",
         "recommended_service": "engine_repair", "unknown_field": {"x": 1}},
        alert_envelope("x").occurred_at,
    )
    await send(redis, stream_prefix, decision)
    await wait_for(lambda: _all_acked(redis, f"{stream_prefix}agent.decision.made"), what="decision handled")
    await wait_for(lambda: _all_acked(redis, f"{stream_prefix}alert.created"), what="alert handled")
    assert await count(db, APPOINTMENTS) == 1


async def test_alert_that_keeps_failing_is_dead_lettered_after_max_deliveries_and_others_proceed(
    bridge: EventBridge, db: Any, redis: aioredis.Redis, stream_prefix: str, booker: FakeAutoBooker
) -> None:
    booker.fail_for.add("alert:BAD")
    await send(redis, stream_prefix, alert_envelope("BAD"))
    await send(redis, stream_prefix, alert_envelope("FINE"))

    await wait_for(lambda: _has(redis, f"{stream_prefix}dead-letter", 1), what="the failing alert dead-lettered")
    [letter] = await dead_letters(redis, stream_prefix)
    assert letter["kind"] == "max_deliveries"
    assert "booking service unavailable" in letter["reason"]
    assert booker.calls.count("alert:BAD") == 3  # EVENT_MAX_DELIVERIES in the test settings
    assert await count(db, "SELECT count(*) FROM appointments WHERE source_ref = 'alert:FINE'") == 1
    await wait_for(lambda: _all_acked(redis, f"{stream_prefix}alert.created"), what="nothing left pending")


async def test_entries_of_a_dead_consumer_are_reclaimed_and_finished(
    settings: Settings, db: Any, redis: aioredis.Redis, stream_prefix: str, booker: FakeAutoBooker
) -> None:
    stream = f"{stream_prefix}alert.created"
    await redis.xgroup_create(stream, "scheduling-tests", id="0", mkstream=True)
    await send(redis, stream_prefix, alert_envelope("ORPHAN"))
    # another bridge took it and died before acking
    taken = await redis.xreadgroup("scheduling-tests", "crashed-bridge", {stream: ">"}, count=10)
    assert len(taken[0][1]) == 1

    bridge = EventBridge(settings, db, redis, booker, FAST)
    await bridge.start()
    try:
        await wait_for(lambda: _all_acked(redis, stream), what="the orphan finished")
    finally:
        await bridge.stop()
    assert await count(db, "SELECT count(*) FROM appointments WHERE source_ref = 'alert:ORPHAN'") == 1
    assert bridge.consumer.stats.reclaimed == 1


async def _has(redis: aioredis.Redis, stream: str, n: int) -> bool:
    return int(await redis.xlen(stream)) >= n


async def _all_acked(redis: aioredis.Redis, stream: str) -> bool:
    """Every entry of the stream was delivered to the group and none is pending."""
    last = await redis.xrevrange(stream, count=1)
    groups = await redis.xinfo_groups(stream)
    group = next(g for g in groups if g["name"] == "scheduling-tests")
    return bool(last) and group["last-delivered-id"] == last[0][0] and int(group["pending"]) == 0
