"""An independent checker of one slot against every hard constraint.

Deliberately written without ``solver.constraints``: it reads the problem's
raw data and tests the slot directly, so a bug in candidate generation cannot
hide itself.
"""

from __future__ import annotations

from solver.problem import SlotProblem


def _inside(spans: tuple[tuple[int, int], ...], start: int, end: int) -> bool:
    return any(lo <= start and end <= hi for lo, hi in spans)


def violations(problem: SlotProblem, technician_id: str, bay_id: str | None, start: int) -> list[str]:
    """Codes of the hard constraints the slot breaks (empty when feasible)."""
    end = start + problem.duration
    found: list[str] = []
    tech = next((t for t in problem.technicians if t.id == technician_id), None)
    if tech is None:
        return ["unknown_technician"]
    if start % problem.step:
        found.append("off_grid")
    if start < problem.earliest or end > problem.horizon_end:
        found.append("outside_horizon")
    if problem.parts_ready is not None and start < problem.parts_ready:
        found.append("parts_lead_time")
    if not tech.skilled:
        found.append("missing_skill")
    if not _inside(tech.free, start, end):
        found.append("technician_not_free")
    day = max(i for i, s in enumerate(problem.day_starts) if s <= start) if start >= problem.day_starts[0] else 0
    if tech.jobs_per_day[day] >= tech.daily_cap:
        found.append("daily_cap")
    if problem.needs_bay:
        bay = next((b for b in problem.bays if b.id == bay_id), None)
        if bay is None:
            found.append("no_bay")
        else:
            if not bay.equipped:
                found.append("missing_equipment")
            if not _inside(bay.free, start, end):
                found.append("bay_not_free")
    else:
        for visit in tech.visits:
            if start < visit.span[1] + visit.travel and visit.span[0] - visit.travel < end:
                found.append("travel_time")
                break
    return found
