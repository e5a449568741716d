"""Synthetic shops open around the clock, loaded through the store like any shop file.

For the multi-node tests and ``bench/churn.py``: many small shops whose every
hour is a bookable slot, so that a load generator can pick distinct slots
without searching. Service types come from the demo chain (``routine`` needs
the ``general`` skill and a ``lift``), so the demo chain is seeded first.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from store.database import connect
from store.shop_file import parse_shop_text
from store.shop_loader import load_shops, seed_demo_if_empty


def allday_chain_text(count: int, *, prefix: str = "allday", technicians: int = 2, bays: int = 2) -> str:
    """A shop file of ``count`` shops (``<prefix>_000``...), each open 00:00-24:00 UTC every day."""
    lines = ["version: 1", "shops:"]
    for n in range(count):
        shop = f"{prefix}_{n:03d}"
        lines += [
            f"  - id: {shop}",
            f"    name: Synthetic Garage {n}",
            "    timezone: UTC",
            f"    location: {{lat: {40 + n % 10 * 0.1:.2f}, lon: {-74 + n // 10 * 0.1:.2f}}}",
            '    hours: {mon-sun: "00:00-24:00"}',
            "    bays:",
            *(f"      - {{id: {shop}_b{b}, name: Bay {b + 1}, equipment: [lift]}}" for b in range(bays)),
            "    technicians:",
        ]
        for t in range(technicians):
            lines += [
                f"      - id: {shop}_t{t}",
                f"        name: Tech {n}-{t}",
                "        specialization: General Technician",
                "        rating: 4.0",
                "        years_experience: 3",
                "        skills: [general]",
                '        hours: {mon-sun: "00:00-24:00"}',
            ]
    return "\n".join(lines) + "\n"


async def seed_allday_chain(dsn: str, count: int, *, prefix: str = "allday") -> list[str]:
    """Seed the demo chain (for its service types) and ``count`` all-day shops; their ids."""
    await seed_demo_if_empty(dsn)
    conn = await connect(dsn)
    try:
        await load_shops(conn, parse_shop_text(allday_chain_text(count, prefix=prefix), source="allday_shops"))
    finally:
        await conn.close()
    return [f"{prefix}_{n:03d}" for n in range(count)]


def hourly_slots(shop_ids: list[str], days: int, *, first_day: int = 2, technicians: int = 2) -> list[dict[str, str]]:
    """Distinct chosen slots: technician ``t`` with bay ``t`` of each shop, every hour of ``days`` days (UTC)."""
    today: date = datetime.now(UTC).date()
    plan = [
        {
            "service_type": "routine",
            "datetime": (datetime.combine(today, datetime.min.time(), UTC) + timedelta(days=d, hours=h)).isoformat(),
            "technician_id": f"{shop}_t{t}",
            "service_bay": f"Bay {t + 1}",
            "shop_id": shop,
        }
        for d in range(first_day, first_day + days)
        for h in range(24)
        for shop in shop_ids
        for t in range(technicians)
    ]
    # interleave: consecutive requests go to different shops (and so to different hosts and nodes)
    return plan
