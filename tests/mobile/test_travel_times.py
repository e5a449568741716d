"""Travel times: the straight-line default, and the OSRM client against a strict fake OSRM."""

from __future__ import annotations

import pytest

from application.travel import travel_from, travel_table
from domain.shop import GeoPoint
from integrations.travel_times import OsrmTravel, StraightLineTravel
from tests.mobile.fake_osrm import FakeOsrm

TIMES_SQUARE = GeoPoint(40.7580, -73.9855)
BROOKLYN = GeoPoint(40.6782, -73.9442)
HOBOKEN = GeoPoint(40.7440, -74.0324)


async def test_straight_line_is_haversine_times_the_road_factor_over_the_speed() -> None:
    km = TIMES_SQUARE.distance_km(BROOKLYN)  # about 9.6 km
    travel = StraightLineTravel(road_factor=1.5, speed_kmh=30)
    [[same, there]] = await travel.table([TIMES_SQUARE], [TIMES_SQUARE, BROOKLYN])
    assert same == 0
    assert there == -(-km * 1.5 / 30 * 60 // 1)


async def test_osrm_table_asks_once_in_lon_lat_order_and_rounds_seconds_up() -> None:
    fake = FakeOsrm(lambda a, b: 0.0 if a == b else 601.0)
    osrm = OsrmTravel("http://osrm.test", transport=fake.transport())
    table = await travel_table(osrm, [TIMES_SQUARE, BROOKLYN, HOBOKEN, BROOKLYN])
    assert len(fake.requests) == 1
    url = fake.requests[0]
    assert url.path.startswith("/table/v1/driving/-73.985500,40.758000;")  # lon,lat
    assert table[(TIMES_SQUARE, HOBOKEN)] == 11 and len(table) == 6  # 601 s -> 11 min; 3 places, 6 pairs
    await osrm.aclose()


async def test_osrm_star_asks_sources_and_destinations_by_index() -> None:
    fake = FakeOsrm(lambda a, b: 120.0)
    osrm = OsrmTravel("http://osrm.test", transport=fake.transport())
    table = await travel_from(osrm, TIMES_SQUARE, [BROOKLYN, HOBOKEN])
    assert table[(TIMES_SQUARE, BROOKLYN)] == 2 and table[(HOBOKEN, TIMES_SQUARE)] == 2
    assert {u.params["sources"] for u in fake.requests} == {"0", "0;1"}  # out: from the job; back: to it
    await osrm.aclose()


@pytest.mark.parametrize("failure", ["down", "unroutable", "wrong_profile"])
async def test_osrm_that_cannot_answer_falls_back_to_the_formula(failure: str) -> None:
    fake = FakeOsrm(lambda a, b: None if failure == "unroutable" else 60.0)
    if failure == "down":
        fake.fail_with = 503
    osrm = OsrmTravel(
        "http://osrm.test", transport=fake.transport(), profile="bike" if failure == "wrong_profile" else "driving"
    )
    formula = StraightLineTravel()
    assert await osrm.table([TIMES_SQUARE], [BROOKLYN]) == await formula.table([TIMES_SQUARE], [BROOKLYN])
    await osrm.aclose()


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("/table/v1/driving/-73.98,40.75,0;-73.94,40.67", "InvalidQuery"),  # not lon,lat pairs
        ("/table/v1/driving/-73.98,140.75;-73.94,40.67", "InvalidQuery"),  # off the planet
        ("/table/v1/driving/-73.98,40.75;-73.94,40.67?sources=2", "InvalidOptions"),  # no such index
        ("/table/v1/driving/-73.98,40.75;-73.94,40.67?radius=5", "InvalidOptions"),  # not a table option
        ("/table/v1/car/-73.98,40.75;-73.94,40.67", "InvalidUrl"),  # unknown profile
    ],
)
def test_the_fake_is_as_strict_as_osrm(url: str, code: str) -> None:
    import httpx

    answer = FakeOsrm(lambda a, b: 1.0).handle(httpx.Request("GET", "http://osrm.test" + url))
    assert answer.status_code == 400 and answer.json()["code"] == code


async def test_osrm_legs_are_one_table_call() -> None:
    fake = FakeOsrm(lambda a, b: 300.0)
    osrm = OsrmTravel("http://osrm.test", transport=fake.transport())
    legs = [(TIMES_SQUARE, BROOKLYN), (BROOKLYN, HOBOKEN), (HOBOKEN, TIMES_SQUARE)]
    assert await osrm.pairs(legs) == [5, 5, 5] and len(fake.requests) == 1
    await osrm.aclose()
