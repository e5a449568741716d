"""The service card's success metrics as pure arithmetic over appointments and working time (issue 16).

Every figure is a ratio kept with its numerator and denominator, so a reader
can check it and a bench can add figures up across runs; each carries the
card's target where the card sets one. ``kpi_report`` is the one entry point:
``application.kpis`` feeds it from the database, a bench may feed it from a
simulation.

Definitions (all over appointments whose booked start lies in the window):

- **utilization** of a technician or bay: hours booked on it (scheduled,
  checked in, in progress or completed; the booked time, clipped to the
  window) ÷ its working hours in the window (its hours within the shop's,
  minus holidays and time off; a bay: the shop's open hours). The overall
  figure is total ÷ total; the coefficient of variation (population standard
  deviation ÷ mean) over resources that had working hours says how evenly
  the work is spread.
- **wait** per urgency: from the request (``created_at``) to the start of
  work (the recorded actual start, else the booked start), for appointments
  not cancelled, expired or only held. Mean and 90th percentile (nearest
  rank); the card's targets apply to the mean.
- **no-show rate**: no-shows ÷ appointments that reached an outcome
  (checked in, in progress, completed or no-show).
- **late-cancellation rate**: late cancellations ÷ appointments booked
  (everything but holds and expired holds), and the fees they carry.
- **booking success rate**: recorded slot searches (made in the window) that
  a booking followed within 24 h ÷ searches. A booking follows a search when
  it names it (the client echoed the search's id) or, failing that, it is the
  same caller's booking of the same vehicle and service type within 24 h; an
  unconfirmed or lapsed hold is no booking.
- **recommended-slot uptake**: of those bookings, the ones that took the
  search's rank-1 slot (same start, technician and bay) ÷ bookings that
  followed a search.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from domain.appointment import Appointment, AppointmentStatus
from domain.time_windows import Interval
from domain.urgency import Urgency

_S = AppointmentStatus
HOUR = timedelta(hours=1)

WORKING_STATUSES = frozenset({_S.SCHEDULED, _S.CHECKED_IN, _S.IN_PROGRESS, _S.COMPLETED})
"""Statuses whose booked time counts as work on the technician and bay."""
OUTCOME_STATUSES = frozenset({_S.CHECKED_IN, _S.IN_PROGRESS, _S.COMPLETED, _S.NO_SHOW})
"""Statuses that say whether the vehicle came."""
UNBOOKED_STATUSES = frozenset({_S.HELD, _S.EXPIRED})


@dataclass(frozen=True, slots=True)
class Target:
    """A target of the service card: a bound below, above, or both, on a figure's value."""

    text: str
    at_least: float | None = None
    below: float | None = None
    at_most: float | None = None

    def met(self, value: float | None) -> bool | None:
        """Whether ``value`` meets it (None when there is no value)."""
        if value is None:
            return None
        if self.at_least is not None and value < self.at_least:
            return False
        if self.below is not None and value >= self.below:
            return False
        return not (self.at_most is not None and value > self.at_most)


UTILIZATION_TARGET = Target("70–80%", at_least=0.70, at_most=0.80)
NO_SHOW_TARGET = Target("< 5%", below=0.05)
ROUTINE_WAIT_TARGET = Target("< 3 days (72 h)", below=72.0)
CRITICAL_WAIT_TARGET = Target("< 24 h", below=24.0)
WAIT_TARGETS: dict[Urgency, Target] = {
    Urgency.LOW: ROUTINE_WAIT_TARGET,
    Urgency.MEDIUM: ROUTINE_WAIT_TARGET,
    Urgency.CRITICAL: CRITICAL_WAIT_TARGET,
}
"""The card sets no wait target for HIGH."""
BOOKING_SUCCESS_TARGET = Target("≥ 95%", at_least=0.95)
RECOMMENDED_UPTAKE_TARGET = Target("≥ 90%", at_least=0.90)


@dataclass(frozen=True, slots=True)
class Figure:
    """A ratio with its parts, and the card's target beside it (None: the card sets none)."""

    numerator: float
    denominator: float
    target: Target | None = None

    @property
    def value(self) -> float | None:
        """numerator ÷ denominator; None when there is nothing to divide by."""
        return None if self.denominator == 0 else self.numerator / self.denominator

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.target.met(self.value)


@dataclass(frozen=True, slots=True)
class ResourceLoad:
    """One technician's or bay's booked and working hours in the window."""

    resource_id: str
    name: str
    figure: Figure


@dataclass(frozen=True, slots=True)
class Utilization:
    """Utilization of one kind of resource: overall, how evenly spread, and per resource."""

    overall: Figure
    coefficient_of_variation: float | None
    resources: tuple[ResourceLoad, ...]


@dataclass(frozen=True, slots=True)
class Wait:
    """Hours from request to start of work for one urgency class."""

    urgency: Urgency
    count: int
    mean_hours: float | None
    p90_hours: float | None
    target: Target | None

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.target.met(self.mean_hours)


@dataclass(frozen=True, slots=True)
class SearchOutcome:
    """A slot search and what followed it: a booking within 24 h, and whether it took the rank-1 slot."""

    booked: bool
    took_first: bool = False


def booking_success(searches: Sequence[SearchOutcome]) -> Figure:
    """Searches a booking followed ÷ searches."""
    return Figure(sum(1 for s in searches if s.booked), len(searches), BOOKING_SUCCESS_TARGET)


def recommended_uptake(searches: Sequence[SearchOutcome]) -> Figure:
    """Bookings that took the search's rank-1 slot ÷ bookings that followed a search."""
    booked = [s for s in searches if s.booked]
    return Figure(sum(1 for s in booked if s.took_first), len(booked), RECOMMENDED_UPTAKE_TARGET)


@dataclass(frozen=True, slots=True)
class KpiReport:
    """The figures of one window over one or more shops."""

    window: Interval
    shop_ids: tuple[str, ...]
    technicians: Utilization
    bays: Utilization
    waits: tuple[Wait, ...]
    no_show: Figure
    late_cancellation: Figure
    late_cancellation_fees: Decimal
    booking_success: Figure = Figure(0, 0, BOOKING_SUCCESS_TARGET)
    recommended_uptake: Figure = Figure(0, 0, RECOMMENDED_UPTAKE_TARGET)


@dataclass(frozen=True, slots=True)
class Resource:
    """What utilization needs of a technician or bay: its id, name and working time in the window."""

    resource_id: str
    name: str
    working: Sequence[Interval]


def hours(intervals: Iterable[Interval]) -> float:
    return sum((iv.duration for iv in intervals), timedelta()) / HOUR


def coefficient_of_variation(values: Sequence[float]) -> float | None:
    """Population standard deviation ÷ mean; None for no values or a zero mean."""
    if not values:
        return None
    mean = sum(values) / len(values)
    if mean == 0:
        return None
    return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values)) / mean


def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank ``q``-th percentile (0 < q ≤ 1): the smallest value with at least q of them at or below."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def utilization(
    resources: Sequence[Resource], booked: Mapping[str, Sequence[Interval]], window: Interval
) -> Utilization:
    """Each resource's booked hours (clipped to ``window``) ÷ its working hours, overall, and their spread."""
    loads = []
    for r in resources:
        clipped = [c for iv in booked.get(r.resource_id, ()) if (c := iv.intersection(window)) is not None]
        loads.append(ResourceLoad(r.resource_id, r.name, Figure(hours(clipped), hours(r.working), UTILIZATION_TARGET)))
    overall = Figure(
        sum(load.figure.numerator for load in loads), sum(load.figure.denominator for load in loads), UTILIZATION_TARGET
    )
    spread = [v for load in loads if (v := load.figure.value) is not None]
    return Utilization(overall, coefficient_of_variation(spread), tuple(loads))


def wait_hours(appt: Appointment) -> float:
    """Hours from the request to the start of work (the actual start once recorded)."""
    began = appt.progress.actual_start or appt.start
    return (began - appt.created_at) / HOUR


def waits(appointments: Iterable[Appointment]) -> tuple[Wait, ...]:
    """Mean and p90 wait per urgency class, most urgent first (every class, even one without appointments)."""
    by_class: dict[Urgency, list[float]] = {u: [] for u in Urgency}
    for appt in appointments:
        if appt.status not in UNBOOKED_STATUSES and appt.status is not _S.CANCELLED:
            by_class[appt.urgency].append(wait_hours(appt))
    order = (Urgency.CRITICAL, Urgency.HIGH, Urgency.MEDIUM, Urgency.LOW)
    return tuple(
        Wait(
            u,
            len(by_class[u]),
            sum(by_class[u]) / len(by_class[u]) if by_class[u] else None,
            percentile(by_class[u], 0.9),
            WAIT_TARGETS.get(u),
        )
        for u in order
    )


def kpi_report(
    window: Interval,
    shop_ids: Sequence[str],
    appointments: Sequence[Appointment],
    technicians: Sequence[Resource],
    bays: Sequence[Resource],
    searches: Sequence[SearchOutcome] = (),
) -> KpiReport:
    """Every figure for ``appointments`` (those whose booked start lies in ``window``), the shops' resources,
    and the ``searches`` made in the window."""
    working = [a for a in appointments if a.status in WORKING_STATUSES]
    by_tech: dict[str, list[Interval]] = {}
    by_bay: dict[str, list[Interval]] = {}
    for a in working:
        by_tech.setdefault(a.technician_id, []).append(a.interval)
        by_bay.setdefault(a.bay_id, []).append(a.interval)
    outcomes = [a for a in appointments if a.status in OUTCOME_STATUSES]
    booked = [a for a in appointments if a.status not in UNBOOKED_STATUSES]
    late = [a for a in booked if a.cancellation is not None and a.cancellation.late]
    return KpiReport(
        window=window,
        shop_ids=tuple(shop_ids),
        technicians=utilization(technicians, by_tech, window),
        bays=utilization(bays, by_bay, window),
        waits=waits(appointments),
        no_show=Figure(sum(1 for a in outcomes if a.status is _S.NO_SHOW), len(outcomes), NO_SHOW_TARGET),
        late_cancellation=Figure(len(late), len(booked)),
        late_cancellation_fees=sum((a.cancellation.fee for a in late if a.cancellation), Decimal("0.00")),
        booking_success=booking_success(searches),
        recommended_uptake=recommended_uptake(searches),
    )
