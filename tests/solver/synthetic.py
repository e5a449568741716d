"""Synthetic shops at a given load, for benchmarks and property tests.

Deterministic for a seed. Every day of the horizon is a working day from
08:00 to 17:00 (shop time = UTC) so the load figure means what it says.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime

from solver.problem import BayFree, ReserveRule, SlotProblem, TechnicianFree
from solver.reserves import place_blocks
from solver.spans import Span, normalize, subtract

ORIGIN = datetime(2026, 2, 2, tzinfo=UTC)
DAY = 24 * 60
OPEN, CLOSE = 8 * 60, 17 * 60
RESERVES = (
    ReserveRule("urgent_reserve", 0.2, 24 * 60, positioned=True),
    ReserveRule("priority_reserve", 0.1, 48 * 60),
)
"""The default policy's reserves, as a regular customer's routine job is kept out of them."""


def _booked_day(rng: random.Random, day_start: int, load: float, buffer: int) -> list[Span]:
    """Random non-overlapping jobs whose time plus buffer fills at most ``load`` of one working day."""
    target = load * (CLOSE - OPEN)
    busy: list[Span] = []
    booked, tries = 0, 0
    while booked < target and tries < 60:
        tries += 1
        length = rng.choice((60, 90, 120, 180))
        start = day_start + OPEN + 15 * rng.randrange(0, (CLOSE - OPEN - length) // 15 + 1)
        span = (start, start + length)
        if booked + length + buffer > target:
            continue
        if any(s - buffer < span[1] and span[0] < e + buffer for s, e in busy):
            continue
        busy.append(span)
        booked += length + buffer
    return sorted(busy)


def synthetic_shop(
    seed: int,
    *,
    technicians: int = 12,
    bays: int = 8,
    days: int = 14,
    load: float = 0.6,
    duration: int = 120,
    buffer: int = 30,
    daily_cap: int = 6,
    skilled_share: float = 0.7,
    equipped_share: float = 0.6,
    shop_id: str = "",
    shortest_job: int = 60,
    routine: bool = False,
) -> SlotProblem:
    """A shop whose technicians and bays are booked to ``load``, with one job to place.

    The job is HIGH urgency (no reserve applies) unless ``routine``: then it
    is a regular customer's LOW job, kept out of the default reserves (held
    from day 2 on, the priority reserve from day 3 on).
    """
    rng = random.Random(seed)
    day_starts = tuple(d * DAY for d in range(days))
    working = [(d + OPEN, d + CLOSE) for d in day_starts]
    blocks = place_blocks({f"T{t:02d}": working for t in range(technicians)}, day_starts, days * DAY, 0.2, 120, 15)
    techs = []
    for t in range(technicians):
        jobs = [_booked_day(rng, d, load, buffer) for d in day_starts]
        widened = normalize((s - buffer, e + buffer) for day in jobs for s, e in day)
        techs.append(
            TechnicianFree(
                id=f"T{t:02d}",
                free=tuple(subtract(working, widened)),
                jobs_per_day=tuple(len(day) for day in jobs),
                daily_cap=daily_cap,
                rating=round(rng.uniform(3.5, 5.0), 1),
                skilled=t < max(1, round(technicians * skilled_share)),
                working_minutes=tuple(CLOSE - OPEN for _ in day_starts),
                booked_minutes=tuple(sum(e - s for s, e in day) for day in jobs),
                reserved=blocks[f"T{t:02d}"] if routine else (),
            )
        )
    bay_list = []
    for b in range(bays):
        busy = normalize(span for d in day_starts for span in _booked_day(rng, d, load, 0))
        bay_list.append(
            BayFree(
                id=f"B{b:02d}",
                free=tuple(subtract(working, busy)),
                equipped=b < max(1, round(bays * equipped_share)),
            )
        )
    preferred_day = min(3, days - 1)
    return SlotProblem(
        origin=ORIGIN,
        duration=duration,
        earliest=OPEN - 60,
        horizon_end=days * DAY,
        day_starts=day_starts,
        technicians=tuple(techs),
        bays=tuple(bay_list),
        urgency_weight=1 if routine else 4,
        tier_weight=1 if routine else 2,
        preferred_day=preferred_day,
        preferred_windows=tuple((d + 9 * 60, d + 12 * 60) for d in day_starts),
        preferred_technician="T01",
        shop_id=shop_id or f"shop-{seed}",
        routine=routine,
        reserves=RESERVES if routine else (),
        buffer=buffer,
        shortest_job=shortest_job,
    )


def with_job(problem: SlotProblem, **changes: object) -> SlotProblem:
    """A copy of ``problem`` with other job fields (e.g. ``duration=60, emergency=True``)."""
    return replace(problem, **changes)  # type: ignore[arg-type]
