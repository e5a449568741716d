"""Contention over HTTP: many clients racing for a few slots (``bench/http.py --race``).

The slots are ones the service offers (a routine job on the demo shops, found
by slot searches a few days ahead, so the reserves are respected), chosen so
that no two of them share a technician's or a bay's time: each can be won
once. Every client then loops for ``seconds``: it picks one of the slots at
random and books it for a vehicle of its own. The first booking of a slot
wins (201); every later one must lose with a 409 carrying alternatives.
Measured: every answer's latency, the statuses, losers without alternatives.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

RACE_SHOPS = ("shop_nyc", "shop_berlin")


def _overlaps(a: dict[str, Any], b: dict[str, Any]) -> bool:
    a0, a1 = datetime.fromisoformat(a["datetime"]), datetime.fromisoformat(a["estimated_completion"])
    b0, b1 = datetime.fromisoformat(b["datetime"]), datetime.fromisoformat(b["estimated_completion"])
    return a0 < b1 and b0 < a1


async def race_slots(base: str, headers: dict[str, str], count: int) -> list[dict[str, Any]]:
    """``count`` offered slots, pairwise apart (no shared technician or bay time)."""
    import httpx

    chosen: list[dict[str, Any]] = []
    today = datetime.now(UTC).date()
    async with httpx.AsyncClient(base_url=base + "/api/v1", timeout=60, headers=headers) as client:
        for offset in range(3, 60):
            for shop in RACE_SHOPS:
                body = {
                    "vehicle_id": "RACE-SEARCH",
                    "service_type": "routine",
                    "shop_id": shop,
                    "preferred_date": (today + timedelta(days=offset)).isoformat(),
                    "top_k": 10,
                }
                response = await client.post("/slots/available", json=body)
                response.raise_for_status()
                for slot in response.json()["recommended_slots"]:
                    clash = any(
                        (c["technician"]["id"] == slot["technician"]["id"] or c["service_bay"] == slot["service_bay"])
                        and c["shop_id"] == slot["shop_id"]
                        and _overlaps(c, slot)
                        for c in chosen
                    )
                    if not clash:
                        chosen.append(slot)
                    if len(chosen) == count:
                        return chosen
    return chosen


async def race(
    base: str, headers: dict[str, str], slots: list[dict[str, Any]], clients: int, seconds: float
) -> dict[str, Any]:
    """``clients`` clients booking random ones of ``slots`` for ``seconds``; figures of every answer."""
    import httpx

    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    codes: Counter[str] = Counter()
    losers_without_alternatives = 0
    transport_errors = 0
    won: set[int] = set()
    bodies = [
        {
            "service_type": "routine",
            "datetime": s["datetime"],
            "technician_id": s["technician"]["id"],
            "service_bay": s["service_bay"],
            "shop_id": s["shop_id"],
        }
        for s in slots
    ]
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base + "/api/v1", timeout=120, limits=limits, headers=headers) as client:
        ends = time.monotonic() + seconds

        async def racer(n: int) -> None:
            nonlocal losers_without_alternatives, transport_errors
            rng = random.Random(n)
            i = 0
            while time.monotonic() < ends:
                pick = rng.randrange(len(bodies))
                i += 1
                started = time.perf_counter()
                try:
                    r = await client.post("/appointments", json={**bodies[pick], "vehicle_id": f"R{n:03d}-{i:05d}"})
                except httpx.TransportError:
                    transport_errors += 1
                    continue
                latencies.append(time.perf_counter() - started)
                statuses[r.status_code] += 1
                if r.status_code == 201:
                    won.add(pick)
                elif r.status_code == 409:
                    problem = r.json()
                    codes[problem.get("code", "?")] += 1
                    losers_without_alternatives += not problem.get("alternatives")
                else:
                    try:
                        codes[r.json().get("code", "?")] += 1
                    except ValueError:
                        codes[f"{r.status_code} (not JSON)"] += 1

        started = time.perf_counter()
        await asyncio.gather(*(racer(n) for n in range(clients)))
        elapsed = time.perf_counter() - started
    ordered = sorted(latencies)

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")

    return {
        "clients": clients,
        "slots": len(slots),
        "seconds": elapsed,
        "answers": len(latencies),
        "answers_per_s": len(latencies) / elapsed,
        "p50_s": pct(0.50),
        "p99_s": pct(0.99),
        "max_s": ordered[-1] if ordered else float("nan"),
        "statuses": dict(sorted(statuses.items())),
        "codes": dict(codes),
        "won_slots": len(won),
        "losers_without_alternatives": losers_without_alternatives,
        "timeouts_or_5xx": sum(n for s, n in statuses.items() if s == 408 or s >= 500) + transport_errors,
    }


def race_line(figures: dict[str, Any]) -> str:
    f = figures
    return (
        f"race: {f['clients']} clients for {f['slots']} slots, {f['seconds']:.0f} s: {f['answers']} answers "
        f"({f['answers_per_s']:.0f}/s), p50 {f['p50_s'] * 1000:.0f} ms, p99 {f['p99_s'] * 1000:.0f} ms, "
        f"max {f['max_s'] * 1000:.0f} ms; statuses {f['statuses']}; codes {f['codes']}; won {f['won_slots']} slots; "
        f"409 without alternatives {f['losers_without_alternatives']}; 408/5xx/broken {f['timeouts_or_5xx']}"
    )
