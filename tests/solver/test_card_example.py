"""The service card's optimization example, built from domain objects through solver.build."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.catalog import ServiceCategory, ServiceType
from domain.customer import CustomerTier
from domain.job import Job
from domain.parts import PartsAvailability
from domain.policy import SchedulingPolicy
from domain.resources import ServiceBay, Technician
from domain.shop import Shop, WeeklyHours
from domain.time_windows import Interval
from domain.urgency import Urgency
from solver import SolveStatus, solve_slots
from solver.build import build_slot_problem, to_slots

TZ = ZoneInfo("America/Chicago")
EVERY_DAY = WeeklyHours({d: ((time(8), time(18)),) for d in range(1, 8)})
SHOP = Shop(id="SC-1", name="Downtown", timezone="America/Chicago", hours=EVERY_DAY)
ENGINE_REPAIR = ServiceType(
    code="engine_repair",
    name="Engine repair",
    category=ServiceCategory.COMPONENT_REPAIR,
    default_duration=timedelta(hours=3),
    required_skill="engine",
    required_equipment=frozenset({"engine_hoist"}),
)


def technician(id: str, name: str, skills: set[str], rating: float) -> Technician:
    return Technician(
        id=id,
        shop_id=SHOP.id,
        name=name,
        specialization=next(iter(skills)),
        rating=rating,
        years_experience=8,
        skills=frozenset(skills),
        hours=EVERY_DAY,
    )


def test_engine_repair_high_three_hours_feb_1_goes_to_mike_in_an_engine_bay_at_nine() -> None:
    now = datetime(2026, 1, 28, 10, 0, tzinfo=TZ)
    window = Interval(now, now + timedelta(days=14))
    mike = technician("T-MIKE", "Mike Johnson", {"engine", "transmission"}, 4.8)
    sarah = technician("T-SARAH", "Sarah Lee", {"brakes"}, 4.9)
    engine_bay = ServiceBay(id="BAY-2", shop_id=SHOP.id, name="Engine bay", equipment=frozenset({"engine_hoist"}))
    lift_bay = ServiceBay(id="BAY-1", shop_id=SHOP.id, name="Lift", equipment=frozenset({"lift"}))
    job = Job(
        vehicle_id="V001",
        service_type="engine_repair",
        urgency=Urgency.HIGH,
        duration=timedelta(hours=3),
        preferred_date=date(2026, 2, 1),
        preferred_window=(time(9), time(12)),
        customer_tier=CustomerTier.REGULAR,
    )
    problem = build_slot_problem(
        SHOP,
        [(t, t.working_time(SHOP, window), {}) for t in (mike, sarah)],
        [(b, b.open_time(SHOP, window)) for b in (lift_bay, engine_bay)],
        ENGINE_REPAIR,
        job,
        PartsAvailability(available=True, ready_at=now),
        SchedulingPolicy(),
        now,
    )
    result = solve_slots(problem)
    assert result.status is SolveStatus.OPTIMAL
    slots = to_slots(problem, result)
    best = slots[0]
    assert best.technician_id == "T-MIKE" and best.bay_id == "BAY-2"
    assert best.start == datetime(2026, 2, 1, 9, 0, tzinfo=TZ)
    assert best.end == datetime(2026, 2, 1, 12, 0, tzinfo=TZ)
    assert best.parts_available and best.confidence == 1.0
    assert all(s.technician_id == "T-MIKE" and s.bay_id == "BAY-2" for s in slots)
    assert len({s.start for s in slots}) == len(slots) == 3
