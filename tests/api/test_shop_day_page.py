"""The shop-day page in a real headless chromium: sign-in, the timeline's rows and positions, details, phone width.

One day of the demo chain's Midtown shop (a Wednesday a year ahead, drawn at
random so that other tests' bookings stay clear of it) is booked with known
appointments; the test reads their places back from the DOM, opens one's
details, checks the page at phone width, saves ``docs/shop-day.png`` (the
README shows it) and fails on any console error.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.api.conftest import ApiKeys
from tests.api.helpers import vehicle
from tests.headless_chromium import Browser, find_chromium

NYC = "shop_nyc"
TZ = ZoneInfo("America/New_York")
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "shop-day.png"
# the NYC demo shop: six in the shop and two mobile (tech_007, tech_008)
TECHNICIANS = ("tech_001", "tech_002", "tech_003", "tech_004", "tech_005", "tech_006", "tech_007", "tech_008")
PLAN = [  # technician, bay, local start, service type, hold
    ("tech_001", "Bay 1", time(9, 0), "routine", False),
    ("tech_001", "Bay 1", time(12, 0), "routine", False),
    ("tech_002", "Bay 3", time(10, 30), "diagnostic", False),
    ("tech_003", "Bay 7", time(8, 30), "routine", False),
    ("tech_005", "Bay 2", time(11, 0), "tire_rotation", False),
    ("tech_006", "Bay 6", time(14, 0), "diagnostic", False),
    ("tech_004", "Bay 4", time(13, 0), "routine", True),  # last: the tests' holds lapse after 9 s
]


def _a_wednesday() -> date:
    first = datetime.now(UTC).date() + timedelta(days=random.randint(300, 380))
    return first + timedelta(days=(2 - first.weekday()) % 7)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    binary = find_chromium()
    if binary is None:
        pytest.skip("chromium is not installed and apt-get could not install it (.ci/run installs it)")
    b = Browser(binary)
    yield b
    b.close()


@pytest.fixture(scope="module")
def booked_day(api_url: str, api_keys: ApiKeys) -> tuple[date, list[dict[str, Any]]]:
    """The day and the appointments (and one hold) booked on it, as the API answered them."""
    day = _a_wednesday()
    booked = []
    with httpx.Client(base_url=api_url + "/api/v1", headers=api_keys.headers(api_keys.staff_nyc), timeout=60) as c:
        for tech, bay, at, service, hold in PLAN:
            body = {
                "datetime": datetime.combine(day, at, TZ).isoformat(),
                "technician_id": tech,
                "service_bay": bay,
                "shop_id": NYC,
                "vehicle_id": vehicle(),
                "service_type": service,
                "urgency": "HIGH",  # routine work may not take the urgent reserve's blocks
                "customer": {"name": f"Customer of {tech}"},
                "hold": hold,
            }
            response = c.post("/appointments", json=body)
            assert response.status_code == 201, response.text
            booked.append(response.json())
    assert [a["status"] for a in booked].count("held") == 1
    return day, booked


def _sign_in(browser: Browser, api_url: str, key: str, day: date) -> None:
    browser.open(f"{api_url}/shops/{NYC}/day?date={day.isoformat()}")
    assert browser.evaluate("location.pathname") == "/signin"
    browser.evaluate(
        f"document.getElementById('api_key').value = {key!r}; document.querySelector('form.signin').submit()"
    )
    browser.wait_for("Page.loadEventFired")


def test_the_day_shows_every_technician_and_appointment_at_its_time(
    browser: Browser, api_url: str, api_keys: ApiKeys, booked_day: tuple[date, list[dict[str, Any]]]
) -> None:
    day, booked = booked_day
    browser.viewport(1280, 900)
    _sign_in(browser, api_url, api_keys.staff_nyc, day)
    assert browser.evaluate("location.pathname") == f"/shops/{NYC}/day"
    assert browser.evaluate("document.cookie") == "", "the session cookie must be HttpOnly"

    rows = browser.evaluate(
        "[...document.querySelectorAll('[data-view=technician] .lane')].map(r => r.dataset.technician)"
    )
    assert sorted(rows) == sorted(TECHNICIANS)

    placed = browser.evaluate(
        """[...document.querySelectorAll('[data-view=technician] details.appt')].map(d => {
             const track = d.parentElement, t = track.getBoundingClientRect(), r = d.getBoundingClientRect();
             return {id: d.dataset.appointmentId, lane: d.closest('.lane').dataset.technician, status: d.dataset.status,
                     left: r.left - t.left, width: r.width, trackWidth: t.width,
                     from: track.dataset.from, to: track.dataset.to};
           })"""
    )
    by_id = {p["id"]: p for p in placed}
    # the tests' holds lapse after 9 s (HOLD_TTL_MINUTES): a slow run may find the hold already released
    assert {a["id"] for a in booked if a["status"] != "held"} <= set(by_id) <= {a["id"] for a in booked}
    for appt in booked:
        if appt["id"] not in by_id:
            continue
        p = by_id[appt["id"]]
        assert p["lane"] == appt["technician"]["id"]
        start, end = datetime.fromisoformat(appt["datetime"]), datetime.fromisoformat(appt["estimated_completion"])
        lo, hi = datetime.fromisoformat(p["from"]), datetime.fromisoformat(p["to"])
        per_second = p["trackWidth"] / (hi - lo).total_seconds()
        assert abs(p["left"] - (start - lo).total_seconds() * per_second) < 2, (appt, p)
        assert abs(p["width"] - (end - start).total_seconds() * per_second) < 2, (appt, p)
        assert p["status"] == appt["status"]
    bays = browser.evaluate("document.querySelectorAll('[data-view=bay] details.appt').length")
    assert bays == len(placed)

    # details on click, no JavaScript of the page's own: a <details> element
    diagnostic = next(a for a in booked if a["technician"]["id"] == "tech_002")
    opened = browser.evaluate(
        f"""(() => {{
              const d = document.querySelector('[data-view=technician] [data-appointment-id="{diagnostic["id"]}"]');
              d.querySelector('summary').click();
              const card = d.querySelector('.card');
              return [d.open, card.getBoundingClientRect().height, card.innerText];
            }})()"""
    )
    assert opened[0] is True and opened[1] > 0
    assert diagnostic["vehicle_id"] in opened[2] and "Customer of tech_002" in opened[2]
    assert browser.evaluate("!!document.querySelector('#kpis') && !!document.querySelector('meta[http-equiv=refresh]')")
    browser.screenshot(SCREENSHOT)

    browser.viewport(390, 844, mobile=True)
    overflow = browser.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, "at phone width only the timeline scrolls sideways, not the page"
    browser.viewport(1280, 900)
    assert browser.errors() == []


def test_a_day_far_from_the_data_is_empty_and_an_unknown_shop_is_a_404_page(
    browser: Browser, api_url: str, api_keys: ApiKeys
) -> None:
    browser.open(f"{api_url}/shops/{NYC}/day?date=2090-06-07", headers=api_keys.headers(api_keys.staff_nyc))
    assert browser.evaluate("document.querySelectorAll('details.appt').length") == 0
    assert "Nothing booked" in browser.evaluate("document.body.innerText")
    with httpx.Client(base_url=api_url, headers=api_keys.headers(api_keys.staff_nyc), timeout=30) as c:
        unknown = c.get("/shops/shop_nowhere/day")
        assert unknown.status_code == 404 and unknown.headers["content-type"].startswith("text/html")
        other = c.get("/shops/shop_allday/day")  # another shop's: exactly as unknown
        assert other.status_code == 404 and "shop_allday" in other.text
        booking = c.get(f"/shops/{NYC}/day", headers=api_keys.headers(api_keys.booking_nyc))
        assert booking.status_code == 403
        bad = c.get(f"/shops/{NYC}/day", params={"date": "tomorrow"})
        assert bad.status_code == 422
        today = c.get("/shops/shop_allday/day", headers=api_keys.headers(api_keys.staff_allday))
        assert today.status_code == 200 and 'class="now-line"' in today.text  # open around the clock: now is in view
    with httpx.Client(base_url=api_url, timeout=30) as anonymous:
        assert anonymous.get(f"/shops/{NYC}/day", follow_redirects=False).status_code == 303
        forged = anonymous.get(f"/shops/{NYC}/day", cookies={"sched_session": "k1.9999999999.00"})
        assert forged.status_code == 303
        cross_site = anonymous.post("/signin", content=b"api_key=x", headers={"Origin": "https://evil.example"})
        assert cross_site.status_code == 403
    browser.send("Network.setExtraHTTPHeaders", {"headers": {}})
    assert browser.errors() == []
