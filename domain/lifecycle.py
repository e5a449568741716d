"""The steps after booking: check in, start, complete, no-show (pure rules over ``Appointment``).

Each step checks the lifecycle (``check_transition``: an illegal step names the
current status) and the times it is given, and answers the appointment as it
is after the step. Nothing here writes or knows the clock: ``now`` is passed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from domain.appointment import Appointment, AppointmentStatus
from domain.errors import InvalidRequest, InvalidTransition
from domain.time_windows import require_aware

_S = AppointmentStatus


def checked_in(appt: Appointment, now: datetime) -> Appointment:
    """The vehicle has arrived (from ``scheduled``)."""
    moved = appt.moved_to(_S.CHECKED_IN)
    return replace(moved, progress=replace(appt.progress, checked_in_at=now))


def started(appt: Appointment, now: datetime, actual_start: datetime | None = None) -> Appointment:
    """Work has begun (from ``checked_in``), at ``actual_start`` (default: now)."""
    moved = appt.moved_to(_S.IN_PROGRESS)
    begun = _not_future(actual_start, now, "actual_start") or now
    return replace(moved, progress=replace(appt.progress, started_at=now, actual_start=begun))


def completed(
    appt: Appointment,
    now: datetime,
    *,
    actual_start: datetime | None = None,
    actual_end: datetime | None = None,
    notes: str | None = None,
) -> Appointment:
    """The job is done (from ``in_progress``); times default to when it was started and to now.

    ``notes`` are appended to the appointment's notes (the booking's notes stay: they are the customer's).
    """
    moved = appt.moved_to(_S.COMPLETED)
    begun = _not_future(actual_start, now, "actual_start") or appt.progress.actual_start or appt.progress.started_at
    ended = _not_future(actual_end, now, "actual_end") or now
    if begun is not None and ended <= begun:
        raise InvalidRequest(
            f"actual_end {ended.isoformat()} is not after actual_start {begun.isoformat()}", field="actual_end"
        )
    joined = notes if not appt.notes else (appt.notes if not notes else f"{appt.notes}\n{notes}")
    progress = replace(appt.progress, completed_at=now, actual_start=begun, actual_end=ended)
    return replace(moved, notes=joined, progress=progress)


def no_show(appt: Appointment, now: datetime, grace: timedelta) -> Appointment:
    """The vehicle did not come (from ``scheduled``), recorded no sooner than ``grace`` past the start."""
    moved = appt.moved_to(_S.NO_SHOW)
    allowed_from = appt.start + grace
    if now < allowed_from:
        raise InvalidTransition(
            f"a no-show may be recorded from {allowed_from.isoformat()} "
            f"({int(grace.total_seconds() // 60)} minutes past the start); the appointment is {appt.status.value}",
            current=appt.status.value,
            target=_S.NO_SHOW.value,
            allowed_from=allowed_from.isoformat(),
        )
    return replace(moved, progress=replace(appt.progress, no_show_at=now))


def _not_future(value: datetime | None, now: datetime, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        value = require_aware(value, name)
    except ValueError as exc:
        raise InvalidRequest(str(exc), field=name) from None
    if value > now:
        raise InvalidRequest(f"{name} {value.isoformat()} is in the future", field=name)
    return value
