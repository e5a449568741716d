"""Slot optimization: CP-SAT ranking over interval-arithmetic candidates, greedy beside it.

Pure: no Ray, no I/O. CP-SAT solves block the calling thread; run them in a
Ray task or a worker thread, never on an asyncio event loop.

Entry points: ``solve_slots`` (ranked top-K for one job at one shop),
``greedy_slots`` (first-fit baseline/fallback), ``violations`` (independent
checker), ``solver.reassign`` (make room on a shop-day by changing booked jobs'
technician and bay), and ``solver.build`` to map domain objects in and slots out.
"""

from solver.checker import violations
from solver.greedy import greedy_slots
from solver.problem import BayFree, SlotProblem, TechnicianFree, Visit, Weights
from solver.ranking import DEFAULT_TIME_LIMIT_S, solve_slots
from solver.result import RankedSlot, Reason, SlotResult, SolveStatus

__all__ = [
    "DEFAULT_TIME_LIMIT_S",
    "BayFree",
    "RankedSlot",
    "Reason",
    "SlotProblem",
    "SlotResult",
    "SolveStatus",
    "TechnicianFree",
    "Visit",
    "Weights",
    "greedy_slots",
    "solve_slots",
    "violations",
]
