"""What crosses Ray's process boundary comes back equal, of its own class, without re-validation surprises."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from actors.commands import Envelope, Hold, Outcome, View
from application.ports import HoldToken, Requirement, ResourceKind, ResourceRef, ResourceView
from domain.calendar import CalendarEntry
from domain.errors import SlotTaken
from domain.time_windows import Interval

ZONES = st.sampled_from([UTC, ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin"), ZoneInfo("Asia/Kolkata")])


@st.composite
def intervals(draw: st.DrawFn) -> Interval:
    start = draw(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=ZONES))
    return Interval(start, start + draw(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3))))


def round_trip(value: object) -> object:
    return pickle.loads(pickle.dumps(value, protocol=5))


@given(intervals())
def test_an_interval_comes_back_equal_and_in_utc(interval: Interval) -> None:
    back = round_trip(interval)
    assert back == interval and type(back) is Interval
    assert back.start.tzinfo is UTC and back.end.tzinfo is UTC  # as the constructor stored it


@given(intervals(), st.booleans())
def test_commands_views_and_outcomes_come_back_equal(interval: Interval, held: bool) -> None:
    now = interval.start
    ref = ResourceRef(ResourceKind.TECHNICIAN, "shop_a", "t1")
    values = [
        Envelope(ref, Hold("k", interval, now + timedelta(minutes=15), Requirement("engine")), now),
        Envelope(ref, View(interval), now),
        Outcome(value=[interval]),
        Outcome.failed(SlotTaken("taken", technician_id="t1")),
        HoldToken("k", "t1", "Tech One", 7, interval, now, "Europe/Berlin"),
        ResourceView(
            "t1",
            "Tech One",
            (interval,),
            (),
            (interval,),
            {now.date(): 2},
            (CalendarEntry("k", interval, now if held else None),),
        ),
        Requirement(equipment=frozenset({"lift", "alignment"})),
    ]
    for value in values:
        back = round_trip(value)
        assert back == value and type(back) is type(value)
