"""On-site jobs through the shared search and booking path: travel at both ends of the day and between visits."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from application.booking import BookingRequest
from application.slot_search import SlotSearch
from domain.errors import InvalidRequest, SlotTaken
from domain.job import Job
from domain.resources import van_id_of
from domain.shop import GeoPoint
from domain.time_windows import Interval
from domain.urgency import Urgency
from tests.mobile.conftest import BASE, TRAVEL, MobileShop, at, day_ahead, east


def search(where: GeoPoint | None, **kw: object) -> SlotSearch:
    day = day_ahead()
    fields: dict[str, object] = {
        "vehicle_id": "V-M1",
        "service_type": "mobile_tires",
        "urgency": Urgency.HIGH,
        "shop_ids": ("shop_m",),
        "location": where,
        "earliest": at(day, 0),
        "search_days": 1,
        "top_k": 10,
        "preferred_date": day,
    }
    fields.update(kw)
    return SlotSearch(**fields)  # type: ignore[arg-type]


async def test_the_first_and_last_slots_leave_the_drive_from_and_back_to_the_base(mobile_shop: MobileShop) -> None:
    site = east(30)
    drive = TRAVEL.minutes(BASE, site)
    found = await mobile_shop.app.finder.find(search(site, top_k=10))
    assert found.slots
    day = day_ahead()
    for slot in found.slots:
        assert slot.start >= at(day, 8) + timedelta(minutes=drive), slot
        assert slot.end + timedelta(minutes=drive) <= at(day, 17), slot
        assert slot.bay_id == van_id_of(slot.technician_id)
        assert slot.arrival_window is not None and slot.arrival_window.contains_instant(slot.start)
        assert (slot.arrival_window.end - slot.arrival_window.start) == timedelta(minutes=120)
    early = await mobile_shop.app.finder.find(search(site, exact_start=at(day, 8), top_k=10))
    assert early.slots == ()  # 08:00 leaves no time to drive out
    late = await mobile_shop.app.finder.find(search(site, exact_start=at(day, 16), top_k=10))
    assert late.slots == ()  # ends at 17:00 with the drive home still ahead


async def test_a_booked_visit_keeps_the_drive_free_around_it(mobile_shop: MobileShop) -> None:
    day = day_ahead()
    far, near = east(40), east(5)
    appt = await mobile_shop.app.booking.book(_request("m0", at(day, 12), far, "V-A"))
    assert appt.site == far and appt.bay_id == "m0-van"
    assert appt.arrival_window is not None and appt.arrival_window.start == at(day, 12)
    gap = TRAVEL.minutes(far, near)
    found = await mobile_shop.app.finder.find(search(near, vehicle_id="V-B", top_k=10))
    for slot in (s for s in found.slots if s.technician_id == "m0"):
        assert slot.end + timedelta(minutes=gap) <= appt.start or slot.start >= appt.end + timedelta(minutes=gap)
    # booking straight into the drive is refused by the check under the technician's lock
    with pytest.raises(SlotTaken):
        await mobile_shop.app.booking.book(_request("m0", at(day, 13), near, "V-C"))
    after = at(day, 13) + timedelta(minutes=gap)
    after += timedelta(minutes=-after.minute % 15)  # the next quarter hour once the drive is done
    booked = await mobile_shop.app.booking.book(_request("m0", after, near, "V-D"))
    assert booked.technician_id == "m0"


async def test_the_search_ranks_the_insertion_that_adds_least_driving_first(mobile_shop: MobileShop) -> None:
    day = day_ahead()
    await mobile_shop.app.booking.book(_request("m0", at(day, 10), east(-40), "V-E"))  # west: a detour back
    await mobile_shop.app.booking.book(_request("m1", at(day, 10), east(2), "V-F"))
    found = await mobile_shop.app.finder.find(search(east(3), vehicle_id="V-G", exact_start=at(day, 12), top_k=10))
    assert found.slots[0].technician_id == "m1"  # next door to m1's visit; 43 km from m0's, the far side
    assert 0 < dict(found.slots[0].penalties)["extra_travel"] <= 2 * 4  # a few minutes' detour, priced


@pytest.mark.parametrize(
    ("where", "message"),
    [(None, "needs a location"), (GeoPoint(48.1, 11.5), "beyond 50 km")],
)
async def test_an_on_site_request_without_a_reachable_location_is_422_naming_it(
    mobile_shop: MobileShop, where: GeoPoint | None, message: str
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        await mobile_shop.app.finder.find(search(where))
    assert refused.value.details.get("field") == "location" and message in refused.value.message
    with pytest.raises(InvalidRequest) as refused:
        await mobile_shop.app.booking.book(_request("m0", at(day_ahead(), 12), where, "V-H"))
    assert refused.value.details.get("field") == "location"


async def test_shop_work_never_goes_to_a_mobile_technician_or_a_van(mobile_shop: MobileShop) -> None:
    found = await mobile_shop.app.finder.find(search(None, service_type="routine", location=None))
    assert found.slots and {(s.technician_id, s.bay_id) for s in found.slots} == {("shop_tech", "shop_bay")}
    request = replace(_request("m0", at(day_ahead(), 12), None, "V-I"), job=_job("routine", None, "V-I"))
    with pytest.raises(InvalidRequest) as refused:
        await mobile_shop.app.booking.book(request)
    assert refused.value.details.get("field") == "technician_id"


def _job(service: str, where: GeoPoint | None, vehicle: str) -> Job:
    return Job(vehicle, service, Urgency.HIGH, timedelta(hours=1), location=where)


def _request(tech: str, start: datetime, where: GeoPoint | None, vehicle: str) -> BookingRequest:
    return BookingRequest("shop_m", tech, van_id_of(tech), start, _job("mobile_tires", where, vehicle))


async def test_moving_a_visit_checks_the_drives_and_promises_the_new_window(mobile_shop: MobileShop) -> None:
    day = day_ahead()
    booking = mobile_shop.app.booking
    await booking.book(_request("m0", at(day, 12), east(40), "V-J"))
    near = await booking.book(_request("m0", at(day, 9), east(5), "V-K"))
    with pytest.raises(SlotTaken):
        await booking.reschedule(near.id, start=at(day, 13))  # no time to drive from 40 km east
    moved = await booking.reschedule(near.id, start=at(day, 15))
    assert moved.arrival_window == Interval(at(day, 14), at(day, 16)) and moved.bay_id == "m0-van"
    assert (await booking.reschedule(near.id, start=at(day, 15), technician_id="m1")).bay_id == "m1-van"
