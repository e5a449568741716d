"""Request and response bodies of the replanning operations: time off and overruns (``deployments.replan_api``)."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from deployments.schemas import SupportedDatetime, _In, _Out


class TimeOffIn(_In):
    from_: SupportedDatetime = Field(alias="from", description="When the absence starts, with its UTC offset.")
    to: SupportedDatetime = Field(description="When it ends (after `from`, at most 90 days later).")
    reason: str | None = Field(default=None, max_length=200)


class TimeOffOut(_Out):
    id: str | None = Field(description="The absence's id (to withdraw it); null on a dry run.")
    technician_id: str
    from_: dt.datetime = Field(serialization_alias="from")
    to: dt.datetime
    reason: str | None = None


class Placement(_Out):
    technician_id: str
    service_bay_id: str
    datetime: dt.datetime


class ChangeOut(_Out):
    appointment_id: str
    reason: str = Field(description="The rule that forced the change (or kept it), and what was done.")
    before: Placement
    after: Placement | None = None


class TimeOffPlanOut(_Out):
    time_off: TimeOffOut
    dry_run: bool
    kept: list[ChangeOut]
    reassigned: list[ChangeOut] = Field(description="Same time and bay, another technician with the skill.")
    rescheduled: list[ChangeOut] = Field(description="Moved to their best other slot (`appointment.rescheduled`).")
    unplaced: list[ChangeOut] = Field(description="No slot within 14 days: left in place, for the shop to call.")


class TimeOffList(_Out):
    time_off: list[TimeOffOut]


class ExtendIn(_In):
    minutes: int = Field(ge=1, le=480, description="How much longer the job in progress runs.")


class ExtendOut(_Out):
    appointment_id: str
    extended: bool = Field(description="False when a collided appointment could not be moved: nothing was extended.")
    estimated_completion: dt.datetime
    reassigned: list[ChangeOut]
    rescheduled: list[ChangeOut]
    unplaced: list[ChangeOut] = Field(description="Could not move (or started): the job was not extended.")
