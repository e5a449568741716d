"""Tiny hand-made problems: one day from 0 to 600 minutes, one technician and one bay unless told."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from solver.problem import BayFree, SlotProblem, TechnicianFree

ORIGIN = datetime(2026, 2, 2, tzinfo=UTC)


def tech(id: str = "T1", free: tuple[tuple[int, int], ...] = ((0, 600),), **kw: Any) -> TechnicianFree:
    kw.setdefault("jobs_per_day", (0,))
    kw.setdefault("daily_cap", 6)
    return TechnicianFree(id=id, free=free, **kw)


def bay(id: str = "B1", free: tuple[tuple[int, int], ...] = ((0, 600),), **kw: Any) -> BayFree:
    return BayFree(id=id, free=free, **kw)


def problem(
    techs: tuple[TechnicianFree, ...] | None = None, bays: tuple[BayFree, ...] | None = None, **kw: Any
) -> SlotProblem:
    kw.setdefault("duration", 60)
    kw.setdefault("earliest", 0)
    kw.setdefault("horizon_end", 600)
    kw.setdefault("day_starts", (0,))
    return SlotProblem(
        origin=ORIGIN,
        technicians=techs if techs is not None else (tech(),),
        bays=bays if bays is not None else (bay(),),
        **kw,
    )
