"""Each hard constraint family on tiny fixed instances: one feasible, one ruled out."""

from __future__ import annotations

from solver import SolveStatus, solve_slots, violations
from solver.problem import Visit

from .helpers import bay, problem, tech


def codes(result: object) -> list[str]:
    return [r.code for r in result.reasons]  # type: ignore[attr-defined]


def test_a_free_skilled_technician_and_equipped_bay_give_a_slot_at_the_start() -> None:
    result = solve_slots(problem())
    assert result.status is SolveStatus.OPTIMAL
    assert result.best is not None and result.best.start == 0
    assert result.best.technician_id == "T1" and result.best.bay_id == "B1"


def test_technician_without_the_skill_is_never_chosen() -> None:
    result = solve_slots(problem(techs=(tech("T1", skilled=False),)))
    assert result.status is SolveStatus.INFEASIBLE and codes(result) == ["no_skilled_technician"]
    ok = solve_slots(problem(techs=(tech("T1", skilled=False), tech("T2"))))
    assert {s.technician_id for s in ok.slots} == {"T2"}


def test_job_must_fit_inside_the_technicians_free_time() -> None:
    result = solve_slots(problem(techs=(tech(free=((0, 45), (90, 140))),)))
    assert result.status is SolveStatus.INFEASIBLE and codes(result) == ["outside_working_hours"]
    ok = solve_slots(problem(techs=(tech(free=((0, 45), (90, 150))),)))
    assert [s.start for s in ok.slots] == [90]


def test_bay_must_be_equipped_and_free() -> None:
    unequipped = solve_slots(problem(bays=(bay(equipped=False),)))
    assert unequipped.status is SolveStatus.INFEASIBLE and codes(unequipped) == ["no_equipped_bay_free"]
    busy = solve_slots(problem(bays=(bay(free=((0, 30),)),)))
    assert busy.status is SolveStatus.INFEASIBLE and codes(busy) == ["no_equipped_bay_free"]
    ok = solve_slots(problem(bays=(bay("B1", equipped=False), bay("B2", free=((300, 600),)))))
    assert ok.best is not None and ok.best.bay_id == "B2" and ok.best.start == 300


def test_missing_parts_move_the_start_past_their_lead_time() -> None:
    result = solve_slots(problem(parts_ready=200))
    assert result.best is not None and result.best.start == 210  # next grid step and result.best.waits_for_parts


def test_parts_arriving_after_the_horizon_suggest_a_later_date() -> None:
    result = solve_slots(problem(parts_ready=5000))
    assert result.status is SolveStatus.INFEASIBLE
    assert codes(result) == ["parts_lead_time"] and result.suggested_start == 5000


def test_technician_at_the_daily_cap_gets_no_more_jobs_that_day() -> None:
    capped = tech(jobs_per_day=(6,), daily_cap=6)
    result = solve_slots(problem(techs=(capped,)))
    assert result.status is SolveStatus.INFEASIBLE and codes(result) == ["daily_cap"]
    ok = solve_slots(problem(techs=(tech(jobs_per_day=(5,), daily_cap=6),)))
    assert ok.slots


def test_on_site_job_leaves_travel_time_around_other_visits() -> None:
    visiting = tech(visits=(Visit((0, 120), travel=45),))
    result = solve_slots(problem(techs=(visiting,), needs_bay=False, top_k=1))
    assert result.best is not None and result.best.start == 165 and result.best.bay_id is None
    assert violations(result_problem := problem(techs=(visiting,), needs_bay=False), "T1", None, 150) == [
        "travel_time"
    ]
    assert not violations(result_problem, "T1", None, 165)


def test_emergency_takes_the_next_feasible_slot_over_preferences() -> None:
    prefs = {"preferred_day": 0, "preferred_windows": ((390, 510),), "preferred_technician": "T2"}
    techs = (tech("T1"), tech("T2", free=((300, 600),)))
    normal = solve_slots(problem(techs=techs, **prefs))
    urgent = solve_slots(problem(techs=techs, emergency=True, **prefs))
    assert normal.best is not None and normal.best.start == 390 and normal.best.technician_id == "T2"
    assert urgent.best is not None and urgent.best.start == 0 and urgent.best.technician_id == "T1"


def test_preferred_time_ruled_out_is_explained() -> None:
    capped_then = tech(free=((0, 600),), jobs_per_day=(6, 0), daily_cap=6)
    result = solve_slots(
        problem(
            techs=(capped_then,),
            day_starts=(0, 300),
            horizon_end=600,
            preferred_day=0,
            preferred_windows=((60, 200), (360, 500)),
        )
    )
    assert result.best is not None and result.best.start >= 300
    assert codes(result) == ["daily_cap"]


def test_top_k_slots_are_distinct_and_confidence_is_relative_to_the_best() -> None:
    result = solve_slots(problem(techs=(tech("T1"), tech("T2"))))
    starts = [s.start for s in result.slots]
    assert len(starts) == 3 and len(set(starts)) == 3
    assert result.slots[0].confidence == 1.0
    assert all(0 <= s.confidence <= 1 for s in result.slots)
    assert [s.cost for s in result.slots] == sorted(s.cost for s in result.slots)
