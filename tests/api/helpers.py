"""Small helpers for the API tests: unique vehicles, slot search, problem checks."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

_RUN = uuid.uuid4().hex[:6].upper()
_counter = itertools.count(1)

PROBLEM_FIELDS = ("type", "title", "status", "detail", "code")


def vehicle() -> str:
    """A vehicle id no other test uses (so bookings never collide by vehicle)."""
    return f"V{_RUN}{next(_counter):04d}"


def today_utc() -> date:
    return datetime.now(UTC).date()


def days_ahead(n: int) -> str:
    return (today_utc() + timedelta(days=n)).isoformat()


def ahead(days: float) -> str:
    """An instant ``days`` from now, ISO 8601 with its offset (for ``earliest``)."""
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, f"{value} has no UTC offset"
    return parsed


async def search(client: httpx.AsyncClient, **body: Any) -> list[dict[str, Any]]:
    """``POST /slots/available``; the recommended slots (at least one)."""
    response = await client.post("/slots/available", json=body)
    assert response.status_code == 200, response.text
    slots: list[dict[str, Any]] = response.json()["recommended_slots"]
    assert slots, response.text
    return slots


def chosen(slot: dict[str, Any]) -> dict[str, Any]:
    """The fields of ``POST /appointments`` that name a slot picked from a search."""
    return {
        "datetime": slot["datetime"],
        "technician_id": slot["technician"]["id"],
        "service_bay": slot["service_bay"],
        "shop_id": slot["shop_id"],
    }


async def book(client: httpx.AsyncClient, slot: dict[str, Any], **body: Any) -> dict[str, Any]:
    response = await client.post("/appointments", json={**chosen(slot), **body})
    assert response.status_code == 201, response.text
    out: dict[str, Any] = response.json()
    return out


def assert_problem(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """An RFC 9457 problem answer with the given status (and code)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    for name in PROBLEM_FIELDS:
        assert body.get(name) not in (None, ""), f"{name} missing from {body}"
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code, body
    return body
