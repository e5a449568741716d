"""Fragmentation and routine placement on tiny fixed instances: the terms' points and what they change.

One day from 0 to 600 minutes, 15-minute steps, a 60-minute job, a 30-minute
buffer and a shortest job of 60 minutes: technician idle time under 90
minutes (60 + buffer) and bay idle time under 60 minutes is stranded.
"""

from __future__ import annotations

from typing import Any

from solver import solve_slots
from solver.constraints import Candidate, candidates
from solver.fragmentation import anchored, stranded, technician_stranded
from solver.objective import penalties
from solver.problem import SlotProblem, Weights

from .helpers import bay, problem, tech

GAPS = {"buffer": 30, "shortest_job": 60}


def gappy(**kw: Any) -> SlotProblem:
    return problem(**{**GAPS, **kw})


def at(p: SlotProblem, start: int, tech_index: int = 0) -> Candidate:
    return next(c for c in candidates(p) if c.start == start and c.tech == tech_index)


def points(p: SlotProblem, c: Candidate, term: str) -> int:
    return dict(penalties(p, c)).get(term, 0)


def test_idle_time_too_short_for_the_shortest_job_is_stranded() -> None:
    assert stranded(0, 60, 30) == 0  # touching: nothing left over
    assert stranded(30, 60, 30) == 30
    assert stranded(89, 60, 30) == 89
    assert stranded(90, 60, 30) == 0  # a 60-minute job still fits, with its buffer
    assert stranded(45, 60) == 45 and stranded(60, 60) == 0  # a bay needs no buffer


def test_fragmentation_points_count_stranded_technician_and_bay_minutes_per_step() -> None:
    p = gappy()
    assert points(p, at(p, 0), "fragmentation") == 0
    # at 30: 30 technician minutes (< 60 + 30) and 30 bay minutes (< 60) left before it: 60 minutes, 4 steps
    assert technician_stranded(p, 0, 30) == 30 and at(p, 30).bay_stranded == 30
    assert points(p, at(p, 30), "fragmentation") == 4 * Weights().stranded_gap
    # at 45: 45 + 45 minutes, 6 steps
    assert points(p, at(p, 45), "fragmentation") == 6 * Weights().stranded_gap
    # at 90: a 60-minute job (and its buffer) still fits before it, and in the bay
    assert points(p, at(p, 90), "fragmentation") == 0


def test_fragmentation_is_off_without_a_shortest_job() -> None:
    p = problem()
    assert all(points(p, c, "fragmentation") == 0 for c in candidates(p))


def test_the_technician_whose_day_stays_whole_gets_the_job_at_the_same_time() -> None:
    # T1 could take it at 0 but would be left 40 unusable minutes; T2 would not.
    techs = (tech("T1", free=((0, 100),)), tech("T2"))
    p = gappy(techs=techs)
    assert points(p, at(p, 0, tech_index=0), "fragmentation") == 3 * Weights().stranded_gap
    result = solve_slots(p)
    assert result.best is not None and (result.best.technician_id, result.best.start) == ("T2", 0)
    assert "fragmentation" not in dict(result.best.penalties)
    plain = solve_slots(problem(techs=techs))  # without the term the first technician wins the tie
    assert plain.best is not None and plain.best.technician_id == "T1"


def test_the_bay_whose_day_stays_whole_is_chosen() -> None:
    bays = (bay("B1", free=((0, 100),)), bay("B2"))
    result = solve_slots(gappy(bays=bays))
    assert result.best is not None and (result.best.bay_id, result.best.start) == ("B2", 0)
    plain = solve_slots(problem(bays=bays))
    assert plain.best is not None and plain.best.bay_id == "B1"


def test_a_routine_job_away_from_jobs_and_day_edges_costs_points() -> None:
    # A job before 240 (with its buffer): the free time starts at 270.
    busy_morning = tech(free=((0, 180), (270, 600)))
    routine = gappy(techs=(busy_morning,), routine=True)
    assert anchored(routine, 0, 270) and points(routine, at(routine, 270), "loose_routine_placement") == 0
    assert anchored(routine, 0, 120)  # ends at 180, where the free time ends
    assert not anchored(routine, 0, 360)
    assert points(routine, at(routine, 360), "loose_routine_placement") == Weights().loose_routine
    urgent = gappy(techs=(busy_morning,), routine=False)
    assert points(urgent, at(urgent, 360), "loose_routine_placement") == 0


def test_routine_work_joins_a_started_day_urgent_work_takes_the_free_technician() -> None:
    # At 210 both can start: T1 right after the job that fills their morning, T2 in the middle of an empty day.
    techs = (tech("T1", free=((210, 600),), jobs_per_day=(1,)), tech("T2"))
    window = {"preferred_day": 0, "preferred_windows": ((210, 400),)}
    routine = solve_slots(gappy(techs=techs, routine=True, urgency_weight=1, **window))
    assert routine.best is not None and (routine.best.technician_id, routine.best.start) == ("T1", 210)
    urgent = solve_slots(gappy(techs=techs, routine=False, urgency_weight=4, **window))
    assert urgent.best is not None and (urgent.best.technician_id, urgent.best.start) == ("T2", 210)


def test_fragmentation_only_breaks_ties_for_an_emergency() -> None:
    same_time = solve_slots(gappy(techs=(tech("T1", free=((0, 100),)), tech("T2")), emergency=True))
    assert same_time.best is not None and same_time.best.technician_id == "T2"
    # T1 is a step earlier: an emergency takes it even though it strands time.
    earlier = solve_slots(gappy(techs=(tech("T1", free=((0, 100),)), tech("T2", free=((15, 600),))), emergency=True))
    assert earlier.best is not None and (earlier.best.technician_id, earlier.best.start) == ("T1", 0)
