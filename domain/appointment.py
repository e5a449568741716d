"""An appointment and its lifecycle."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from domain.customer import Customer
from domain.errors import InvalidTransition
from domain.shop import GeoPoint
from domain.time_windows import Interval
from domain.urgency import Urgency


class AppointmentStatus(StrEnum):
    HELD = "held"
    SCHEDULED = "scheduled"
    CHECKED_IN = "checked_in"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    EXPIRED = "expired"

    @property
    def blocks_time(self) -> bool:
        """Whether an appointment in this status occupies its technician and bay."""
        return self in ACTIVE_STATUSES


ACTIVE_STATUSES = frozenset(
    {
        AppointmentStatus.HELD,
        AppointmentStatus.SCHEDULED,
        AppointmentStatus.CHECKED_IN,
        AppointmentStatus.IN_PROGRESS,
    }
)

_S = AppointmentStatus
TRANSITIONS: dict[AppointmentStatus, frozenset[AppointmentStatus]] = {
    _S.HELD: frozenset({_S.SCHEDULED, _S.EXPIRED, _S.CANCELLED}),
    _S.SCHEDULED: frozenset({_S.CHECKED_IN, _S.CANCELLED, _S.NO_SHOW}),
    _S.CHECKED_IN: frozenset({_S.IN_PROGRESS, _S.CANCELLED}),
    _S.IN_PROGRESS: frozenset({_S.COMPLETED}),
    _S.COMPLETED: frozenset(),
    _S.CANCELLED: frozenset(),
    _S.NO_SHOW: frozenset(),
    _S.EXPIRED: frozenset(),
}


def check_transition(current: AppointmentStatus, target: AppointmentStatus) -> None:
    """Raise InvalidTransition unless ``current`` → ``target`` is a lifecycle step."""
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(
            f"an appointment that is {current.value} cannot become {target.value}",
            current=current.value,
            target=target.value,
        )


@dataclass(frozen=True, slots=True)
class Cancellation:
    at: datetime
    late: bool
    fee: Decimal
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Progress:
    """What happened after booking: when each lifecycle step was taken, and the job's actual times."""

    checked_in_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    no_show_at: datetime | None = None
    actual_start: datetime | None = None
    actual_end: datetime | None = None


@dataclass(frozen=True, slots=True)
class Appointment:
    """A job placed on one technician and one bay for ``interval``.

    ``sequence`` grows with every reschedule (iCalendar's SEQUENCE).
    """

    id: str
    shop_id: str
    vehicle_id: str
    service_type: str
    urgency: Urgency
    technician_id: str
    bay_id: str
    interval: Interval
    status: AppointmentStatus
    created_at: datetime
    hold_expires_at: datetime | None = None
    customer: Customer = field(default_factory=Customer)
    notes: str | None = None
    parts_available: bool = True
    parts_ready_at: datetime | None = None
    sequence: int = 0
    cancellation: Cancellation | None = None
    source_ref: str | None = None
    """What created it when not a person: e.g. ``alert:<alert_id>``."""
    booked_by: str | None = None
    """The id of the API key that booked it (None: booked by the service itself, e.g. an alert)."""
    progress: Progress = field(default_factory=Progress)
    series_id: str | None = None
    """The recurring series this is an occurrence of (``application.series``); None for a single booking."""
    recurrence: str | None = None
    """The series' RRULE as booked (only with ``series_id``)."""
    site: GeoPoint | None = None
    """Where an on-site job is done (issue 17); None for work in a bay."""
    arrival_window: Interval | None = None
    """When the customer was told the technician arrives (on-site work); route changes stay inside it."""

    @property
    def start(self) -> datetime:
        return self.interval.start

    @property
    def end(self) -> datetime:
        return self.interval.end

    def blocks(self, now: datetime) -> bool:
        """Whether it occupies its resources at ``now`` (an expired hold does not)."""
        if self.status is AppointmentStatus.HELD:
            return self.hold_expires_at is not None and self.hold_expires_at > now
        return self.status.blocks_time

    def moved_to(self, status: AppointmentStatus) -> Appointment:
        check_transition(self.status, status)
        return replace(
            self, status=status, hold_expires_at=None if status is not _S.HELD else self.hold_expires_at
        )
