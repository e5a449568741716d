"""The one explicit crossing between API schemas and domain/application objects."""

from __future__ import annotations

from datetime import datetime, timedelta

from application.catalog_cache import CatalogCache
from application.slot_search import SlotSearch, SlotSearchResult
from deployments import schemas
from domain.appointment import Appointment
from domain.customer import Customer
from domain.invites import InviteDelivery
from domain.job import Slot
from domain.resources import Technician
from domain.shop import GeoPoint, Shop
from domain.time_windows import Interval
from store.codecs import hours_to_json


def search_from_query(q: schemas.SlotQuery) -> SlotSearch:
    shop_ids = list(q.shop_ids or [])
    if q.shop_id:
        shop_ids.insert(0, q.shop_id)
    return SlotSearch(
        vehicle_id=q.vehicle_id,
        service_type=q.service_type,
        urgency=q.urgency,
        duration=timedelta(hours=q.estimated_duration_hours) if q.estimated_duration_hours else None,
        preferred_date=q.preferred_date,
        preferred_window=(q.preferred_time_window.start, q.preferred_time_window.end)
        if q.preferred_time_window
        else None,
        preferred_technician_id=q.preferred_technician_id,
        customer_tier=q.customer_tier,
        shop_ids=tuple(dict.fromkeys(shop_ids)),
        location=GeoPoint(q.location.lat, q.location.lon) if q.location else None,
        radius_km=q.radius_km,
        earliest=q.earliest,
        search_days=q.search_days,
        top_k=q.top_k,
    )


def customer_from(c: schemas.CustomerIn | None) -> Customer:
    if c is None:
        return Customer()
    return Customer(name=c.name, email=str(c.email) if c.email else None, phone=c.phone, tier=c.tier)


def local(instant: datetime, shop: Shop) -> datetime:
    return instant.astimezone(shop.tz)


def technician_ref(tech: Technician) -> schemas.TechnicianRef:
    return schemas.TechnicianRef(id=tech.id, name=tech.name, specialization=tech.specialization, rating=tech.rating)


def technician_out(tech: Technician, shop: Shop) -> schemas.TechnicianOut:
    return schemas.TechnicianOut(
        id=tech.id,
        shop_id=tech.shop_id,
        name=tech.name,
        specialization=tech.specialization,
        rating=tech.rating,
        years_experience=tech.years_experience,
        skills=sorted(tech.skills),
        email=tech.email,
        working_hours=hours_to_json(tech.hours),
        timezone=shop.timezone,
        mobile=tech.mobile,
    )


async def slot_out(slot: Slot, catalog: CatalogCache) -> schemas.RecommendedSlot:
    shop = await catalog.shop(slot.shop_id)
    tech = await catalog.technician(slot.technician_id)
    bay = await catalog.bay(slot.bay_id)
    return schemas.RecommendedSlot(
        datetime=local(slot.start, shop),
        technician=technician_ref(tech),
        service_bay=bay.name,
        service_bay_id=bay.id,
        shop_id=slot.shop_id,
        parts_available=slot.parts_available,
        parts_source=slot.parts_source.value if slot.parts_source is not None else None,
        estimated_completion=local(slot.end, shop),
        confidence_score=round(slot.confidence, 3),
        penalties={name: round(points, 2) for name, points in slot.penalties},
        requires_reassignment=slot.requires_reassignment,
        arrival_window=_window_out(slot.arrival_window, shop),
    )


def _window_out(window: Interval | None, shop: Shop) -> schemas.ArrivalWindow | None:
    return (
        None if window is None else schemas.ArrivalWindow(start=local(window.start, shop), end=local(window.end, shop))
    )


async def search_out(result: SlotSearchResult, catalog: CatalogCache) -> schemas.SlotSearchResponse:
    return schemas.SlotSearchResponse(
        recommended_slots=[await slot_out(s, catalog) for s in result.slots],
        explanation=list(result.explanation),
        suggested_date=result.suggested_date,
        shops_searched=list(result.shops_searched),
        search_id=result.search_id,
    )


def invite_out(delivery: InviteDelivery) -> schemas.InviteOut:
    return schemas.InviteOut(
        provider=delivery.provider,
        state=delivery.state.value,
        operation=delivery.operation.value,
        sequence=delivery.sequence,
        provider_event_id=delivery.provider_event_id,
        attempts=delivery.attempts,
        last_error=delivery.last_error,
        next_attempt_at=delivery.next_attempt_at,
        updated_at=delivery.updated_at,
    )


async def appointment_out(appt: Appointment, catalog: CatalogCache) -> schemas.AppointmentOut:
    shop = await catalog.shop(appt.shop_id)
    tech = await catalog.technician(appt.technician_id)
    bay = await catalog.bay(appt.bay_id)
    cancellation = None
    if appt.cancellation is not None:
        cancellation = schemas.CancellationOut(
            cancelled_at=local(appt.cancellation.at, shop),
            late=appt.cancellation.late,
            fee=appt.cancellation.fee,
            reason=appt.cancellation.reason,
        )
    p = appt.progress
    steps = (p.checked_in_at, p.started_at, p.completed_at, p.no_show_at, p.actual_start, p.actual_end)
    progress = None
    if any(t is not None for t in steps):
        progress = schemas.ProgressOut(
            **{
                name: local(t, shop) if t is not None else None
                for name, t in zip(
                    ("checked_in_at", "started_at", "completed_at", "no_show_at", "actual_start", "actual_end"),
                    steps,
                    strict=True,
                )
            }
        )
    return schemas.AppointmentOut(
        id=appt.id,
        status=appt.status.value,
        vehicle_id=appt.vehicle_id,
        service_type=appt.service_type,
        urgency=appt.urgency,
        datetime=local(appt.start, shop),
        estimated_completion=local(appt.end, shop),
        technician=technician_ref(tech),
        service_bay=bay.name,
        service_bay_id=bay.id,
        shop_id=appt.shop_id,
        parts_available=appt.parts_available,
        parts_ready_at=local(appt.parts_ready_at, shop) if appt.parts_ready_at else None,
        hold_expires_at=local(appt.hold_expires_at, shop) if appt.hold_expires_at else None,
        customer=schemas.CustomerOut(
            name=appt.customer.name, email=appt.customer.email, phone=appt.customer.phone, tier=appt.customer.tier
        ),
        notes=appt.notes,
        sequence=appt.sequence,
        cancellation=cancellation,
        progress=progress,
        created_at=local(appt.created_at, shop),
        series_id=appt.series_id,
        location=schemas.SiteOut(lat=appt.site.lat, lon=appt.site.lon) if appt.site else None,
        arrival_window=_window_out(appt.arrival_window, shop),
    )
