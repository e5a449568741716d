"""Request ids and metrics over the running service: X-Request-ID, and a booking counter that moves."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.api.helpers import assert_problem, vehicle

BOOKINGS = re.compile(r'^ray_scheduling_bookings_total\{[^}]*channel="api"[^}]*\} ([0-9.e+]+)$', re.MULTILINE)
SCRAPE_DEADLINE_S = 90.0
"""Ray's agent exports every few seconds (10 s by default); a loaded machine may take a few rounds."""


def _metrics_url(ray_session: Any) -> str:
    node = next(n for n in ray_session.nodes() if n["Alive"])
    return f"http://{node['NodeManagerAddress']}:{node['MetricsExportPort']}/metrics"


def _bookings(url: str) -> float:
    """The api bookings counter summed over the processes that export it (0 before the first)."""
    return sum(float(v) for v in BOOKINGS.findall(httpx.get(url, timeout=10).text))


async def test_a_caller_s_request_id_comes_back_and_one_is_made_otherwise(client: httpx.AsyncClient) -> None:
    mine = await client.get("/technicians", headers={"X-Request-ID": "trace-42.a:b"})
    assert mine.status_code == 200 and mine.headers["x-request-id"] == "trace-42.a:b"
    fresh = await client.get("/technicians")
    assert re.fullmatch(r"[A-Za-z0-9._:\-]{1,128}", fresh.headers["x-request-id"])
    assert_problem(
        await client.get("/technicians", headers={"X-Request-ID": "no spaces!" * 3}), 400, "invalid_request_id"
    )


async def test_the_booking_counter_moves_after_a_booking(client: httpx.AsyncClient, ray_session: Any) -> None:
    url = _metrics_url(ray_session)
    before = _bookings(url)
    start = (datetime.now(UTC) + timedelta(days=53)).replace(hour=6, minute=15, second=0, microsecond=0)
    response = await client.post(
        "/appointments",
        json={
            "datetime": start.isoformat(),
            "shop_id": "shop_allday",
            "vehicle_id": vehicle(),
            "service_type": "routine",
            "urgency": "HIGH",  # routine work may not take the urgent reserve's blocks
        },
    )
    assert response.status_code == 201, response.text
    deadline = time.monotonic() + SCRAPE_DEADLINE_S
    while _bookings(url) < before + 1:
        if time.monotonic() > deadline:
            pytest.fail(f"ray_scheduling_bookings_total did not move past {before} within {SCRAPE_DEADLINE_S:.0f} s")
        time.sleep(1)  # polling interval of a condition with a deadline
