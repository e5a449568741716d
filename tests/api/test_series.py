"""Recurring series over HTTP: POST /appointments with ``recurrence``, GET and DELETE /series/{id}."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.api.helpers import assert_problem, vehicle

ALLDAY = "shop_allday"
KOLKATA = ZoneInfo("Asia/Kolkata")


def _start(days: int) -> datetime:
    """A random quarter hour ``days`` ahead, 05:30-22:15 local at shop_allday (a job never crosses its midnight)."""
    rng = random.Random()
    return (datetime.now(UTC) + timedelta(days=days)).replace(
        hour=rng.randint(0, 16), minute=rng.choice((0, 15, 30, 45)), second=0, microsecond=0
    )


def _body(start: datetime, **extra: Any) -> dict[str, Any]:
    # HIGH, not LOW: a routine job is kept out of the urgent reserve's blocks, and a random time may fall in one
    return {
        "datetime": start.isoformat(),
        "shop_id": ALLDAY,
        "vehicle_id": vehicle(),
        "service_type": "routine",
        "urgency": "HIGH",
        "recurrence": "FREQ=WEEKLY;COUNT=3",
        **extra,
    }


async def test_a_series_is_booked_read_and_cancelled_from_an_occurrence(client: httpx.AsyncClient) -> None:
    start = _start(12)

    made = await client.post("/appointments", json=_body(start))

    assert made.status_code == 201, made.text
    series = made.json()
    assert made.headers["Location"] == f"/api/v1/series/{series['series_id']}"
    assert series["recurrence"] == "FREQ=WEEKLY;COUNT=3"
    starts = [datetime.fromisoformat(o["appointment"]["datetime"]) for o in series["occurrences"]]
    assert starts == [start + timedelta(weeks=i) for i in range(3)]
    assert not any(o["moved"] for o in series["occurrences"])

    read = await client.get(f"/series/{series['series_id']}")
    assert read.status_code == 200, read.text
    assert [a["id"] for a in read.json()["appointments"]] == [o["appointment"]["id"] for o in series["occurrences"]]

    second = series["occurrences"][1]["appointment"]["datetime"]
    cancelled = await client.delete(f"/series/{series['series_id']}", params={"from": second})
    assert cancelled.status_code == 200, cancelled.text
    assert [a["status"] for a in cancelled.json()["appointments"]] == ["scheduled", "cancelled", "cancelled"]


async def test_a_bad_rule_is_a_422_naming_the_part(client: httpx.AsyncClient) -> None:
    for rule, part in (
        ("FREQ=SECONDLY;COUNT=3", "FREQ"),
        ("FREQ=WEEKLY;COUNT=10000", "COUNT"),
        ("FREQ=WEEKLY;UNTIL=20200101", "UNTIL"),
        ("FREQ=WEEKLY;COUNT=3;BYDAY=XX", "BYDAY"),
    ):
        refused = await client.post("/appointments", json=_body(_start(12), recurrence=rule))
        problem = assert_problem(refused, 422, "invalid_recurrence")
        assert problem["context"]["part"] == part, problem


async def test_the_rule_may_come_as_json_fields(client: httpx.AsyncClient) -> None:
    start = _start(26)
    rule = {"freq": "WEEKLY", "interval": 2, "count": 2, "byday": [start.astimezone(KOLKATA).strftime("%a")[:2]]}

    made = await client.post("/appointments", json=_body(start, recurrence=rule))

    assert made.status_code == 201, made.text
    assert made.json()["recurrence"].startswith("FREQ=WEEKLY;INTERVAL=2;COUNT=2;BYDAY=")
    starts = [datetime.fromisoformat(o["appointment"]["datetime"]) for o in made.json()["occurrences"]]
    assert starts == [start, start + timedelta(weeks=2)]
    for fields, part in (({"freq": "SECONDLY", "count": 3}, "FREQ"), ({"freq": "WEEKLY", "count": 10000}, "COUNT")):
        refused = await client.post("/appointments", json=_body(_start(12), recurrence=fields))
        assert assert_problem(refused, 422, "invalid_recurrence")["context"]["part"] == part


async def test_a_clash_in_reject_mode_is_a_409_and_books_nothing(client: httpx.AsyncClient) -> None:
    start = _start(20)
    chosen = {"technician_id": "tech_901", "service_bay": "Bay 1"}
    blocker = {
        "datetime": (start + timedelta(weeks=1)).isoformat(),
        "vehicle_id": vehicle(),
        "service_type": "routine",
        "urgency": "HIGH",
        **chosen,
    }
    assert (await client.post("/appointments", json=blocker)).status_code == 201
    body = _body(start, **chosen)

    refused = await client.post("/appointments", json=body)

    problem = assert_problem(refused, 409, "series_conflict")
    clashes = problem["context"]["clashes"]
    # the blocked week clashes (other tests of this module may have booked the same technician in another week)
    assert start + timedelta(weeks=1) in [datetime.fromisoformat(c["requested"]) for c in clashes]
    listed = await client.get(f"/appointments/vehicle/{body['vehicle_id']}")
    assert listed.json()["page"]["total"] == 0


async def test_the_series_file_has_one_event_per_occurrence(client: httpx.AsyncClient) -> None:
    import vobject

    made = await client.post("/appointments", json=_body(_start(15)))
    assert made.status_code == 201, made.text
    series = made.json()

    ics = await client.get(f"/series/{series['series_id']}/calendar.ics")

    assert ics.status_code == 200, ics.text
    assert ics.headers["content-type"].startswith("text/calendar")
    events = vobject.readOne(ics.text).vevent_list
    assert len(events) == 3
    assert {e.contents["x-scheduling-series-id"][0].value for e in events} == {series["series_id"]}
    assert len({e.uid.value for e in events}) == 3
