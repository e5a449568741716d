"""Shop policies: buffer between jobs, daily caps, holds, reserves, cancellation fees."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from domain.catalog import CATEGORY_RULES, ServiceCategory
from domain.customer import CustomerTier
from domain.errors import OutsideBookingWindow
from domain.urgency import Urgency

URGENT_WORK = frozenset({Urgency.HIGH, Urgency.CRITICAL})
"""Urgencies that may use every reserve; LOW/MEDIUM work is *routine*."""
PRIORITY_TIERS = frozenset({CustomerTier.FLEET, CustomerTier.PREMIUM})
"""The customers the service card says may be prioritized: the priority reserve is theirs."""
SHORTEST_CATALOG_JOB = min(rule.min_duration for rule in CATEGORY_RULES.values())
"""The shortest job the card's table allows (1 h: routine maintenance, emergency)."""
LONGEST_EMERGENCY_JOB = CATEGORY_RULES[ServiceCategory.EMERGENCY].max_duration
"""The longest emergency the card's table allows (2 h): the length of an urgent reserve block."""


class ReserveKind(StrEnum):
    """The protected shares of a technician's day, named as explanations name them."""

    URGENT = "urgent_reserve"
    PRIORITY = "priority_reserve"


@dataclass(frozen=True, slots=True)
class Reserve:
    """About ``share`` of the technicians' working time, kept from some jobs until ``release`` before its day.

    With a ``block`` length the reserve is *positioned*: each local day the shop
    keeps blocks of that length, spread over the day and its technicians, that
    a job kept out of the reserve may not touch. Without one it is a *volume*:
    such a job may go on a technician's local day only while that day's booked
    job minutes plus its own stay within ``(1 - share)`` of the technician's
    working minutes that day. From ``release`` before the day's local midnight
    on, the reserve is open to all (``solver.reserves``).
    """

    kind: ReserveKind
    share: float
    release: timedelta
    block: timedelta | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.share < 1.0:
            raise ValueError(f"{self.kind}: share must be in [0, 1), got {self.share}")
        if self.release < timedelta(0):
            raise ValueError(f"{self.kind}: release must not be negative")
        if self.block is not None and self.block <= timedelta(0):
            raise ValueError(f"{self.kind}: block must be positive")


@dataclass(frozen=True, slots=True)
class SchedulingPolicy:
    """The knobs of the service card's "Scheduling Parameters", plus the reserves."""

    buffer: timedelta = timedelta(minutes=30)
    max_bookings_per_technician_per_day: int = 6
    hold_ttl: timedelta = timedelta(minutes=15)
    slot_step: timedelta = timedelta(minutes=15)
    """Candidate start times are on this grid (shop-local wall clock)."""
    urgent_reserve: Reserve = field(
        default_factory=lambda: Reserve(ReserveKind.URGENT, 0.1, timedelta(hours=12), LONGEST_EMERGENCY_JOB)
    )
    """Blocks kept from routine (LOW/MEDIUM) work; CRITICAL/HIGH jobs may use them."""
    priority_reserve: Reserve = field(default_factory=lambda: Reserve(ReserveKind.PRIORITY, 0.1, timedelta(hours=48)))
    """Kept from routine work of regular customers; fleet/premium customers and urgent work may use it."""
    reassign_horizon_days: int = 7
    """How far ahead a HIGH job that finds no free slot may make room by reassignment (AUTO_BOOK_WITHIN_DAYS)."""
    shortest_job: timedelta = SHORTEST_CATALOG_JOB
    """A free gap shorter than this (plus the buffer) is stranded: no job can use it (fragmentation)."""
    no_show_grace: timedelta = timedelta(minutes=30)
    """A no-show may be recorded only this long after the appointment's start (NO_SHOW_GRACE_MINUTES)."""
    min_booking_notice: timedelta = timedelta(0)
    """How long ahead of its start a job may be booked at the latest (MIN_BOOKING_NOTICE_MINUTES).

    The domain's default is none; the service's settings give 120 minutes."""
    emergency_notice: timedelta = timedelta(0)
    """The notice a CRITICAL job needs instead (EMERGENCY_NOTICE_MINUTES; 30 in the settings)."""
    max_booking_horizon: timedelta | None = None
    """How far ahead a job may start at the most (MAX_BOOKING_HORIZON_DAYS; None: no limit)."""

    def __post_init__(self) -> None:
        if self.urgent_reserve.share + self.priority_reserve.share >= 1.0:
            raise ValueError("the urgent and priority reserve shares must sum to less than 1")
        if self.min_booking_notice < timedelta(0) or self.emergency_notice < timedelta(0):
            raise ValueError("booking notices must not be negative")
        if self.max_booking_horizon is not None and self.max_booking_horizon <= self.min_booking_notice:
            raise ValueError("the booking horizon must be longer than the booking notice")

    def notice_for(self, urgency: Urgency) -> timedelta:
        """The notice a job of this urgency needs: an emergency's is shorter (a car that must not wait)."""
        return self.emergency_notice if urgency is Urgency.CRITICAL else self.min_booking_notice

    def earliest_start(self, urgency: Urgency, now: datetime) -> datetime:
        """The first instant a job of this urgency booked at ``now`` may start."""
        return now + self.notice_for(urgency)

    def latest_start(self, now: datetime) -> datetime | None:
        """The last instant a job booked at ``now`` may start (None: no horizon)."""
        return None if self.max_booking_horizon is None else now + self.max_booking_horizon

    def check_booking_window(self, start: datetime, urgency: Urgency, now: datetime, *, horizon: bool = True) -> None:
        """Refuse a start inside the notice window or beyond the horizon (``OutsideBookingWindow``).

        ``horizon=False`` for a series' later occurrences: the horizon binds its first, the rest run to its end.
        """
        earliest = self.earliest_start(urgency, now)
        if start < earliest:
            minutes = int(self.notice_for(urgency).total_seconds() // 60)
            raise OutsideBookingWindow(
                f"start {start.isoformat()} is inside the {minutes}-minute booking notice: "
                f"the first bookable start is {earliest.isoformat()}",
                field="start",
                reason="notice",
                earliest_start=earliest.isoformat(),
            )
        latest = self.latest_start(now)
        if horizon and latest is not None and start > latest:
            days = self.max_booking_horizon.days if self.max_booking_horizon else 0
            raise OutsideBookingWindow(
                f"start {start.isoformat()} is beyond the {days}-day booking horizon: "
                f"the last bookable start is {latest.isoformat()}",
                field="start",
                reason="horizon",
                latest_start=latest.isoformat(),
            )

    def reserves_closed_to(self, urgency: Urgency, tier: CustomerTier) -> tuple[Reserve, ...]:
        """The reserves a job may not take (until their release).

        Urgent work (HIGH, CRITICAL) may take every reserve. Routine work
        (LOW, MEDIUM) is kept out of the urgent reserve, and, unless the
        customer is fleet or premium, out of the priority reserve as well.
        Reserves with a zero share are left out.
        """
        if urgency in URGENT_WORK:
            return ()
        closed = [self.urgent_reserve]
        if tier not in PRIORITY_TIERS:
            closed.append(self.priority_reserve)
        return tuple(r for r in closed if r.share > 0)


@dataclass(frozen=True, slots=True)
class CancellationOutcome:
    late: bool
    fee: Decimal


@dataclass(frozen=True, slots=True)
class CancellationPolicy:
    """Free cancellation more than ``free_before`` ahead; otherwise a late fee."""

    free_before: timedelta = timedelta(hours=24)
    late_fee: Decimal = Decimal("50.00")

    def assess(self, start: datetime, now: datetime) -> CancellationOutcome:
        if start - now > self.free_before:
            return CancellationOutcome(late=False, fee=Decimal("0.00"))
        return CancellationOutcome(late=True, fee=self.late_fee)
