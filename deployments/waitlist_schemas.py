"""Bodies of the waitlist (``deployments.waitlist_api``)."""

from __future__ import annotations

import datetime as dt

from pydantic import Field, field_validator, model_validator

from deployments.schemas import (
    AppointmentOut,
    CustomerIn,
    Id,
    Location,
    SupportedDatetime,
    TimeWindow,
    _In,
    _Out,
    _parse_urgency,
)
from domain.urgency import Urgency


class WaitlistJoin(_In):
    """``POST /waitlist``: a job waiting for freed time at a shop (or near a location) inside a window."""

    vehicle_id: Id
    service_type: Id
    urgency: Urgency = Urgency.MEDIUM
    shop_id: Id | None = Field(default=None, description="The shop; or give `location` (and `radius_km`).")
    location: Location | None = None
    radius_km: float | None = Field(default=None, gt=0, le=500, description="Around `location`; default 50.")
    earliest: SupportedDatetime = Field(description="The job may start at this instant or later.")
    latest: SupportedDatetime = Field(description="The job must be finished by this instant.")
    preferred_time_window: TimeWindow | None = Field(
        default=None, description="Shop-local wall-clock times the job should lie between."
    )
    customer: CustomerIn | None = None

    _urgency = field_validator("urgency", mode="before")(_parse_urgency)

    @model_validator(mode="after")
    def _where_and_when(self) -> WaitlistJoin:
        if (self.shop_id is None) == (self.location is None):
            raise ValueError("give shop_id or location (not both)")
        if self.radius_km is not None and self.location is None:
            raise ValueError("radius_km needs a location {lat, lon}")
        if self.latest <= self.earliest:
            raise ValueError("latest must be after earliest")
        return self


class OfferOut(_Out):
    """An entry's live offer: the held slot and until when (the token went to the customer, never here)."""

    id: str
    state: str
    expires_at: dt.datetime
    appointment_id: str


class WaitlistEntryOut(_Out):
    id: str
    status: str = Field(description="`waiting` (also while an offer is live), `booked` or `left`.")
    vehicle_id: str
    service_type: str
    urgency: Urgency
    shop_id: str | None
    location: Location | None
    radius_km: float | None
    earliest: dt.datetime
    latest: dt.datetime
    preferred_time_window: TimeWindow | None
    joined_at: dt.datetime
    appointment_id: str | None = Field(description="What the accepted offer booked.")
    offer: OfferOut | None = Field(description="The live offer, if there is one.")


class OfferAnswer(_Out):
    """``POST /waitlist/offers/{token}/decline``: the offer as it stands."""

    offer_id: str
    state: str


class AcceptedOffer(_Out):
    """``POST /waitlist/offers/{token}/accept``: the booked appointment."""

    appointment: AppointmentOut
