"""The demand simulator (bench/simulate.py): its demand, and its first days on a tiny chain.

The simulated days run through the real application layer, PostgreSQL and Ray
calendar hosts; the tests assert invariants of the result (counts, working
hours, no double booking, the database agreeing with what customers were told),
never times.
"""

from __future__ import annotations

import statistics
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from application.clock import ManualClock
from bench import demand, scorecard
from bench import simulate as sim
from domain.time_windows import local_date
from domain.urgency import Urgency
from store.shop_loader import load_shops

TINY_CHAIN = Path(__file__).with_name("tiny_chain.yaml")
DAYS = [demand.START, demand.START + timedelta(days=1)]  # a Monday and a Tuesday
LIVE = "('held', 'scheduled', 'checked_in', 'in_progress')"


def test_demand_is_a_function_of_the_seed() -> None:
    data = demand.load_shop_data(str(TINY_CHAIN))
    per_day = demand.per_day_for_load(data, DAYS, 1.0)
    first = demand.generate_demand(data, DAYS, per_day, seed=7, lead_days=1)
    assert first == demand.generate_demand(data, DAYS, per_day, seed=7, lead_days=1)
    assert first != demand.generate_demand(data, DAYS, per_day, seed=8, lead_days=1)
    assert [r.arrival for r in first] == sorted(r.arrival for r in first)
    assert len({r.vehicle_id for r in first}) == len(first)


def test_demand_follows_the_cards_mix_and_the_scenarios_load() -> None:
    data = demand.load_shop_data(None)  # the demo chain
    days = demand.simulated_days(demand.START, 4)
    per_day = demand.per_day_for_load(data, days, 1.0)
    requests = demand.generate_demand(data, days, per_day, seed=1)
    measured = [r for r in requests if r.measured]
    shares = Counter(r.urgency for r in measured)
    for _, urgency, share in demand.MIX:
        assert abs(shares[urgency] / len(measured) - share) < 0.04, (urgency, shares)
    for shop_id, load in demand.requested_load(data, days, measured).items():
        assert 0.85 < load < 1.15, (shop_id, load)
    shops = {s.id: s for s in data.shops}
    types = {st.code: st for st in data.service_types}
    for r in requests:
        shop, service = shops[r.shop_id], types[r.service_type]
        assert service in demand.offered_services(data, shop)[service.category]
        low, high = service.duration_range
        assert low <= r.duration <= high
        if r.urgency is Urgency.CRITICAL:
            assert r.preferred_date is None
        else:
            assert r.preferred_date is not None and r.preferred_date >= local_date(r.arrival, shop.tz)
            assert shop.open_windows(r.preferred_date)
    assert statistics.fmean(r.second_choice for r in measured) == pytest.approx(demand.SECOND_CHOICE, abs=0.03)


@pytest.mark.ray
@pytest.mark.parametrize("policy_name", sim.POLICIES)
async def test_simulated_days_keep_the_booking_invariants(
    policy_name: str, db: Any, database_url: str, ray_session: Any
) -> None:
    data = demand.load_shop_data(str(TINY_CHAIN))
    await load_shops(db, data)
    requests = demand.generate_demand(data, DAYS, demand.per_day_for_load(data, DAYS, 1.0), seed=3, lead_days=1)
    clock = ManualClock(requests[0].arrival)
    app, directory = sim.application(policy_name, db, database_url, clock, f"test-sim-{uuid.uuid4().hex[:8]}")
    try:
        outcomes = await sim.simulate(app, clock, data, requests, policy_name)
    finally:
        await directory.shutdown()

    # every request was either booked or refused, never both
    assert len(outcomes) == len(requests) > 10
    assert all((o.appointment is None) != (o.refusal is None) for o in outcomes)
    booked = [o for o in outcomes if o.appointment is not None]
    assert booked
    figures = scorecard.figures(outcomes, data, DAYS)
    assert figures["requests"] == sum(r.measured for r in requests)
    refused = sum(int(figures[f"refused.{u.value}"] or 0) for u in Urgency)
    assert int(figures["booked"] or 0) + refused == figures["requests"]
    assert figures["outside_hours"] == 0

    # urgent work is not turned away while routine work gets in
    refused_urgencies = {o.request.urgency for o in outcomes if o.appointment is None}
    if Urgency.CRITICAL in refused_urgencies:
        assert not any(o.request.urgency is Urgency.LOW for o in booked)

    # the database holds exactly what customers were told, written at the simulated instant
    rows = {str(r["id"]): r for r in await db.fetch("SELECT * FROM appointments")}
    assert len(rows) == len(booked)
    for o in booked:
        a = o.appointment
        assert a is not None
        row = rows[a.id]
        assert (row["technician_id"], row["bay_id"], row["start_at"], row["vehicle_id"]) == (
            a.technician_id,
            a.bay_id,
            a.start,
            o.request.vehicle_id,
        )
        assert row["created_at"] == o.request.arrival
        assert row["status"] == ("cancelled" if o.cancelled_at is not None else "scheduled")
        assert a.start >= o.request.arrival

    # inside the technician's working hours, with the skill, in an equipped bay of the shop
    shops = {s.id: s for s in data.shops}
    techs = {t.id: t for t in data.technicians}
    bays = {b.id: b for b in data.bays}
    types = {st.code: st for st in data.service_types}
    for row in rows.values():
        shop, tech, bay, service = (
            shops[row["shop_id"]],
            techs[row["technician_id"]],
            bays[row["bay_id"]],
            types[row["service_type"]],
        )
        assert tech.shop_id == bay.shop_id == shop.id
        windows = tech.working_windows(shop, local_date(row["start_at"], shop.tz))
        assert any(w.start <= row["start_at"] and row["end_at"] <= w.end for w in windows), dict(row)
        assert tech.has_skill(service.required_skill)
        assert bay.has_equipment(service.required_equipment)

    # no technician (buffer included), bay or vehicle twice at once
    for column, end in (("technician_id", "blocked_until"), ("bay_id", "end_at"), ("vehicle_id", "end_at")):
        overlapping = await db.fetchval(
            f"""SELECT count(*) FROM appointments a JOIN appointments b ON a.id < b.id
                WHERE a.status IN {LIVE} AND b.status IN {LIVE} AND a.{column} = b.{column}
                  AND tstzrange(a.start_at, a.{end}) && tstzrange(b.start_at, b.{end})"""
        )
        assert overlapping == 0, column
    over_cap = await db.fetchval(
        f"""SELECT count(*) FROM (
              SELECT a.technician_id, (a.start_at AT TIME ZONE s.timezone)::date AS day
              FROM appointments a JOIN shops s ON s.id = a.shop_id
              WHERE a.status IN {LIVE} GROUP BY 1, 2 HAVING count(*) > $1) AS days""",
        sim.scheduling_policy(policy_name).max_bookings_per_technician_per_day,
    )
    assert over_cap == 0

    # first-fit offers its slots earliest first
    if policy_name == sim.FIRST_FIT:
        for o in outcomes:
            starts = [start for _, start in o.offered]
            assert starts == sorted(starts)
