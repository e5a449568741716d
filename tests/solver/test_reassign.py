"""Making room by reassignment on one shop-day (solver.reassign), checked by solver.checker.plan_violations.

Minutes of one day; technicians A (engine) and B, C (general); bays X and Y.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solver.checker import plan_violations
from solver.reassign import BookedJob, Place, ReassignProblem, solve_reassignment

DAY = (0, 600)


def day(
    jobs: tuple[BookedJob, ...],
    *,
    duration: int = 400,
    techs: tuple[str, ...] = ("A", "B"),
    cap: int = 6,
    fixed_jobs: int = 0,
    buffer: int = 0,
) -> ReassignProblem:
    return ReassignProblem(
        duration=duration,
        starts=tuple(range(0, 600 - duration + 1, 15)),
        skilled=frozenset({"A"}),
        equipped=frozenset({"X", "Y"}),
        technicians=tuple(Place(t, (DAY,), fixed_jobs=fixed_jobs if t != "A" else 0) for t in techs),
        bays=(Place("X", (DAY,)), Place("Y", (DAY,))),
        jobs=jobs,
        buffer=buffer,
        cap=cap,
    )


def job(
    id: str, lo: int, hi: int, tech: str = "A", bay: str = "X", who: tuple[str, ...] = ("A", "B", "C")
) -> BookedJob:
    return BookedJob(id, (lo, hi), tech, bay, who, ("X", "Y"))


def test_a_job_that_fits_only_after_two_booked_jobs_change_technician() -> None:
    # A (the only one with the skill) has J1 at 100-200 and J2 at 350-450: no 400-minute stretch.
    p = day((job("J1", 100, 200), job("J2", 350, 450)))
    plan = solve_reassignment(p)
    assert plan is not None and plan.start == 0 and plan.technician == "A"
    assert sorted((m.job_id, m.technician_to) for m in plan.moves) == [("J1", "B"), ("J2", "B")]
    assert all(m.bay_to == m.bay_from for m in plan.moves) or plan.bay == "Y"
    assert plan_violations(p, plan) == []


def test_booked_jobs_keep_their_times_and_a_free_slot_needs_no_move() -> None:
    p = day((job("J1", 450, 550, tech="B"),))
    plan = solve_reassignment(p)
    assert plan is not None and plan.start == 0 and plan.moves == ()


def test_fewest_moves_at_the_earliest_start() -> None:
    # J1 on A blocks the morning; moving it alone is enough, J2 on B stays.
    p = day((job("J1", 100, 200), job("J2", 300, 400, tech="B", bay="Y")), techs=("A", "B", "C"))
    plan = solve_reassignment(p)
    assert plan is not None and plan.start == 0 and [m.job_id for m in plan.moves] == ["J1"]
    assert plan_violations(p, plan) == []


def test_no_room_when_nobody_else_may_do_the_booked_job() -> None:
    p = day((job("J1", 100, 200, who=("A",)), job("J2", 350, 450, who=("A",))))
    assert solve_reassignment(p) is None


def test_the_daily_cap_of_the_receiving_technician_holds() -> None:
    p = day((job("J1", 100, 200), job("J2", 350, 450)), cap=2, fixed_jobs=1)  # B may take one more job only
    plan = solve_reassignment(p)
    assert plan is None or plan.start > 0 or plan_violations(p, plan) == []
    assert plan is None or len([m for m in plan.moves if m.technician_to == "B"]) <= 1


def test_the_buffer_holds_between_a_moved_job_and_the_receiving_technicians_jobs() -> None:
    # B has J3 at 200-300; J1 (300-400) moved to B would start right after it: not with a 30-minute buffer.
    p = day((job("J1", 300, 400), job("J3", 200, 300, tech="B", bay="Y")), duration=500, techs=("A", "B"), buffer=30)
    assert solve_reassignment(p) is None
    wider = day((job("J1", 330, 430), job("J3", 200, 300, tech="B", bay="Y")), duration=300, buffer=30)
    plan = solve_reassignment(wider)
    assert plan is not None and plan_violations(wider, plan) == []


@st.composite
def shop_days(draw: st.DrawFn) -> ReassignProblem:
    techs = [f"T{i}" for i in range(draw(st.integers(1, 4)))]
    bays = [f"B{i}" for i in range(draw(st.integers(1, 3)))]
    buffer = draw(st.sampled_from([0, 15, 30]))
    busy_t: dict[str, list[tuple[int, int]]] = {t: [] for t in techs}
    busy_b: dict[str, list[tuple[int, int]]] = {b: [] for b in bays}
    jobs = []
    for n in range(draw(st.integers(0, 8))):
        lo = 15 * draw(st.integers(0, 36))
        hi = lo + 15 * draw(st.integers(2, 8))
        t, b = draw(st.sampled_from(techs)), draw(st.sampled_from(bays))
        if hi > 600 or any(lo < e + buffer and s < hi + buffer for s, e in busy_t[t]):
            continue
        if any(lo < e and s < hi for s, e in busy_b[b]):
            continue
        busy_t[t].append((lo, hi))
        busy_b[b].append((lo, hi))
        who = tuple(sorted({t, *draw(st.lists(st.sampled_from(techs), max_size=3))}))
        where = tuple(sorted({b, *draw(st.lists(st.sampled_from(bays), max_size=2))}))
        jobs.append(BookedJob(f"J{n}", (lo, hi), t, b, who, where))
    duration = 15 * draw(st.integers(2, 20))
    return ReassignProblem(
        duration=duration,
        starts=tuple(range(0, 600 - duration + 1, 15)),
        skilled=frozenset(draw(st.lists(st.sampled_from(techs), min_size=1, max_size=len(techs)))),
        equipped=frozenset(draw(st.lists(st.sampled_from(bays), min_size=1, max_size=len(bays)))),
        technicians=tuple(Place(t, (DAY,)) for t in techs),
        bays=tuple(Place(b, (DAY,)) for b in bays),
        jobs=tuple(jobs),
        buffer=buffer,
        cap=draw(st.integers(2, 6)),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shop_days())
def test_every_plan_passes_the_independent_checker(problem: ReassignProblem) -> None:
    # A day as booked may already break the cap the draw picked: then no plan is owed, but any plan must be valid.
    plan = solve_reassignment(problem, time_limit_s=5.0)
    if plan is not None:
        assert plan_violations(problem, plan) == []
