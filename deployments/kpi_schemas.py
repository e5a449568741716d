"""Response bodies of the KPIs (``deployments.kpi_api``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import Field

from deployments.schemas import _Out
from domain.kpis import Figure, KpiReport, Target, Utilization, Wait
from domain.urgency import Urgency


class FigureOut(_Out):
    """A ratio with its parts; `value` is null when the denominator is 0."""

    value: float | None
    numerator: float
    denominator: float
    target: str | None = Field(default=None, description="The service card's target, where it sets one.")
    met: bool | None = Field(default=None, description="Whether the value meets the target (null: no value/target).")


class ResourceLoadOut(_Out):
    id: str
    name: str
    utilization: FigureOut = Field(description="Booked hours ÷ working hours.")


class UtilizationOut(_Out):
    overall: FigureOut = Field(description="All booked hours ÷ all working hours.")
    coefficient_of_variation: float | None = Field(
        description="Standard deviation ÷ mean of the resources' utilization: 0 is perfectly even."
    )
    resources: list[ResourceLoadOut]


class WaitOut(_Out):
    urgency: Urgency
    count: int
    mean_hours: float | None
    p90_hours: float | None
    target: str | None = Field(default=None, description="The card's target for the mean.")
    met: bool | None = None


class KpisOut(_Out):
    """The figures of a shop (or of the chain) over `[from, to)`, each with its parts and the card's target."""

    shop_ids: list[str]
    from_: dt.datetime = Field(serialization_alias="from")
    to: dt.datetime
    technician_utilization: UtilizationOut
    bay_utilization: UtilizationOut
    wait: list[WaitOut] = Field(description="From the request to the start of work, per urgency class.")
    no_show_rate: FigureOut = Field(description="No-shows ÷ appointments that reached an outcome.")
    late_cancellation_rate: FigureOut = Field(description="Late cancellations ÷ appointments booked.")
    late_cancellation_fees: Decimal
    booking_success_rate: FigureOut = Field(
        description="Slot searches made in the window that a booking followed within 24 h ÷ searches."
    )
    recommended_slot_uptake: FigureOut = Field(
        description="Of those bookings, the ones that took the search's first (rank-1) slot ÷ those bookings."
    )
    not_measured: list[str] = Field(description="Card metrics this service does not measure (none now).")


NOT_MEASURED: list[str] = []


def _target(target: Target | None) -> str | None:
    return None if target is None else target.text


def figure_out(f: Figure) -> FigureOut:
    return FigureOut(
        value=f.value, numerator=f.numerator, denominator=f.denominator, target=_target(f.target), met=f.met
    )


def utilization_out(u: Utilization) -> UtilizationOut:
    return UtilizationOut(
        overall=figure_out(u.overall),
        coefficient_of_variation=u.coefficient_of_variation,
        resources=[
            ResourceLoadOut(id=r.resource_id, name=r.name, utilization=figure_out(r.figure)) for r in u.resources
        ],
    )


def wait_out(w: Wait) -> WaitOut:
    return WaitOut(
        urgency=w.urgency,
        count=w.count,
        mean_hours=w.mean_hours,
        p90_hours=w.p90_hours,
        target=_target(w.target),
        met=w.met,
    )


def kpis_out(report: KpiReport) -> KpisOut:
    return KpisOut(
        shop_ids=list(report.shop_ids),
        from_=report.window.start,
        to=report.window.end,
        technician_utilization=utilization_out(report.technicians),
        bay_utilization=utilization_out(report.bays),
        wait=[wait_out(w) for w in report.waits],
        no_show_rate=figure_out(report.no_show),
        late_cancellation_rate=figure_out(report.late_cancellation),
        late_cancellation_fees=report.late_cancellation_fees,
        booking_success_rate=figure_out(report.booking_success),
        recommended_slot_uptake=figure_out(report.recommended_uptake),
        not_measured=list(NOT_MEASURED),
    )
