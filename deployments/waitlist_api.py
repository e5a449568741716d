"""The waitlist over HTTP: join, read, leave (API keys); accept or decline an offer (its token alone)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import JSONResponse

from application.waitlist import EntryView, JoinRequest
from deployments import mapping
from deployments.api import API_PREFIX, UNREADABLE_BODY, Svc, WriteCaller, _render
from deployments.authentication import CurrentCaller
from deployments.openapi import COMMON_PROBLEMS, problem_answers
from deployments.rate_limits import EndpointClass
from deployments.registry import services
from deployments.schemas import Location, TimeWindow
from deployments.waitlist_schemas import AcceptedOffer, OfferAnswer, OfferOut, WaitlistEntryOut, WaitlistJoin
from domain.errors import DomainError
from domain.shop import GeoPoint

UNKNOWN = "No such waitlist entry (or not within the key's scope)"
OFFER_PROBLEMS = problem_answers(
    {
        404: "`not_found`: no offer has this token",
        410: "`offer_gone`: the offer was already accepted or declined, or has expired",
    }
)
TokenPath = Annotated[str, Path(max_length=200, description="The offer's token, as the offer event or email gave it")]


async def _by_address(request: Request) -> None:
    """The write rate limit, per client address: the token answers carry no key to count by."""
    client = request.client.host if request.client else "unknown"
    services(request).rate_limits.check(EndpointClass.WRITE, f"address:{client}")


ByAddress = Depends(_by_address)

router = APIRouter(prefix=API_PREFIX, tags=["waitlist"], responses=problem_answers(COMMON_PROBLEMS))


@router.post(
    "/waitlist",
    status_code=201,
    response_model=WaitlistEntryOut,
    responses={
        200: {
            "model": WaitlistEntryOut,
            "description": "The vehicle already waits for this service: that entry (joining is idempotent)",
        },
        **problem_answers(
            {
                400: UNREADABLE_BODY,
                422: "Invalid request (`validation_error`, `invalid_request`: an unknown shop or service type, a "
                "window already past)",
            }
        ),
    },
)
async def join_waitlist(body: WaitlistJoin, svc: Svc, caller: WriteCaller) -> Response:
    """Wait for freed time: when some frees up inside the window, a slot is held and offered (one entry at a time,
    by urgency, then customer tier, then join time); the offer's token comes in `appointment.waitlist.offered`
    (and by email when SMTP is configured)."""
    request = JoinRequest(
        vehicle_id=body.vehicle_id,
        service_type=body.service_type,
        urgency=body.urgency,
        earliest=body.earliest,
        latest=body.latest,
        shop_id=body.shop_id,
        location=GeoPoint(body.location.lat, body.location.lon) if body.location else None,
        radius_km=body.radius_km,
        preferred_window=(
            (body.preferred_time_window.start, body.preferred_time_window.end) if body.preferred_time_window else None
        ),
        customer=mapping.customer_from(body.customer),
    )
    view, new = await svc.authorized.join_waitlist(caller, request)
    response = JSONResponse(_entry_out(view).model_dump(mode="json"), status_code=201 if new else 200)
    response.headers["Location"] = f"{API_PREFIX}/waitlist/{view.entry.id}"
    return response


@router.get("/waitlist/{entry_id}", response_model=WaitlistEntryOut, responses=problem_answers({404: UNKNOWN}))
async def get_waitlist_entry(entry_id: str, svc: Svc, caller: CurrentCaller) -> Any:
    """The entry, and its live offer if it has one."""
    return _entry_out(await svc.authorized.waitlist_entry(caller, entry_id))


@router.delete("/waitlist/{entry_id}", response_model=WaitlistEntryOut, responses=problem_answers({404: UNKNOWN}))
async def leave_waitlist(entry_id: str, svc: Svc, caller: WriteCaller) -> Any:
    """Leave the waitlist; a live offer is withdrawn and its slot passes to the next entry. Leaving twice is a no-op."""
    return _entry_out(await svc.authorized.leave_waitlist(caller, entry_id))


@router.post(
    "/waitlist/offers/{token}/accept", response_model=AcceptedOffer, responses=OFFER_PROBLEMS, dependencies=[ByAddress]
)
async def accept_offer(token: TokenPath, svc: Svc) -> Any:
    """Book the held slot (no API key: the token is the credential, single use)."""
    try:
        appt = await svc.authorized.accept_offer(token)
    except DomainError as exc:
        raise await _render(exc, svc) from None
    return AcceptedOffer(appointment=await mapping.appointment_out(appt, svc.catalog))


@router.post(
    "/waitlist/offers/{token}/decline", response_model=OfferAnswer, responses=OFFER_PROBLEMS, dependencies=[ByAddress]
)
async def decline_offer(token: TokenPath, svc: Svc) -> Any:
    """Refuse the offer: its hold is released and the slot goes to the next entry; the entry keeps waiting."""
    offer = await svc.authorized.decline_offer(token)
    return OfferAnswer(offer_id=offer.id, state=offer.state.value)


def _entry_out(view: EntryView) -> WaitlistEntryOut:
    entry, offer = view.entry, view.offer
    window = entry.preferred_window
    return WaitlistEntryOut(
        id=entry.id,
        status=entry.status.value,
        vehicle_id=entry.vehicle_id,
        service_type=entry.service_type,
        urgency=entry.urgency,
        shop_id=entry.shop_id,
        location=Location(lat=entry.location.lat, lon=entry.location.lon) if entry.location else None,
        radius_km=entry.radius_km,
        earliest=entry.window.start,
        latest=entry.window.end,
        preferred_time_window=TimeWindow(start=window[0], end=window[1]) if window else None,
        joined_at=entry.joined_at,
        appointment_id=entry.appointment_id,
        offer=(
            OfferOut(
                id=offer.id, state=offer.state.value, expires_at=offer.expires_at, appointment_id=offer.appointment_id
            )
            if offer
            else None
        ),
    )
