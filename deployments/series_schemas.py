"""Response bodies of recurring series (``deployments.series_api``); the request is ``AppointmentCreate``."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from deployments.schemas import AppointmentOut, _Out


class OccurrenceOut(_Out):
    requested: dt.datetime = Field(description="The start the rule gave this occurrence (shop-local offset).")
    moved: bool = Field(description="Placed at an alternative because its own time clashed (`alternatives` mode).")
    reason: str | None = Field(default=None, description="Why it moved, or why nothing was booked for it.")
    appointment: AppointmentOut | None = Field(description="The appointment booked for it; null: none fitted.")


class SeriesCreated(_Out):
    """``POST /appointments`` with ``recurrence``: every occurrence, in order."""

    series_id: str
    recurrence: str = Field(description="The RRULE as booked (normalized).")
    occurrences: list[OccurrenceOut]


class SeriesOut(_Out):
    """A series as it stands: its occurrences, every status, by start."""

    series_id: str
    recurrence: str | None
    appointments: list[AppointmentOut]
