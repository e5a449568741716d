"""A recurring series in iCalendar: one VEVENT per occurrence, read back by a second, independent parser.

``icalendar`` writes the files; ``vobject`` (a separate implementation) reads them, so that what a calendar
client sees is checked by something other than the producer: eight events at 09:00 New York wall time
(``TZID=America/New_York``) across the 2027 spring-forward change, each with its own UID, the series named
on each, a cancelled one marked so. The file's VTIMEZONE is read by ``dateutil.tz.tzical`` for the offsets:
vobject re-serializes a VTIMEZONE before handing it to dateutil and loses its RDATE lists on the way (it
then reads every date as standard time), which is vobject's fault, not the file's.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import vobject
from dateutil import tz

from domain.appointment import AppointmentStatus
from domain.recurrence import occurrences, parse_rrule
from integrations.ics import invite_ics, series_ics
from integrations.invite import invite_for
from tests.factories import appointment
from tests.integrations import builders

NY = ZoneInfo("America/New_York")
FIRST = datetime(2027, 2, 15, 9, 0, tzinfo=NY)
RULE = "FREQ=WEEKLY;COUNT=8"
SERIES = str(uuid.uuid4())


def _invites() -> list[Any]:
    shop = builders.shop("America/New_York", id="shop_nyc")
    tech = builders.technician()
    starts = occurrences(parse_rrule(RULE, FIRST, NY), FIRST, NY)
    appts = [
        appointment(tech.id, "bay_1", start, shop_id=shop.id, series_id=SERIES, recurrence=RULE) for start in starts
    ]
    appts[2] = replace(appts[2], status=AppointmentStatus.CANCELLED)
    return [invite_for(a, shop, tech, "Routine maintenance") for a in appts]


def _parse(raw: bytes) -> Any:
    return vobject.readOne(raw.decode())


def _file_zone(raw: bytes) -> Any:
    """The file's own VTIMEZONE, as dateutil reads it."""
    text = raw.decode()
    block = text[text.index("BEGIN:VTIMEZONE") : text.index("END:VTIMEZONE") + len("END:VTIMEZONE")]
    return tz.tzical(io.StringIO(block)).get()


def test_a_series_file_is_one_event_per_occurrence_at_nine_local_across_dst() -> None:
    invites = _invites()

    calendar = _parse(series_ics(invites, series_id=SERIES, name="Recurring appointment"))

    events = calendar.vevent_list
    assert len(events) == 8
    assert {e.dtstart.params["X-VOBJ-ORIGINAL-TZID"][0] for e in events} == {"America/New_York"}
    walls = [e.dtstart.value.replace(tzinfo=None) for e in events]  # the wall time the file states
    assert [w.time() for w in walls] == [time(9, 0)] * 8
    assert [w - walls[0] for w in walls] == [timedelta(weeks=k) for k in range(8)]
    zone = _file_zone(series_ics(invites, series_id=SERIES, name="x"))
    assert [int(zone.utcoffset(w).total_seconds() // 3600) for w in walls] == [-5] * 4 + [-4] * 4
    assert len({e.uid.value for e in events}) == 8  # each occurrence its own event, not an RRULE's instances
    assert not any(hasattr(e, "rrule") for e in events)
    assert {e.contents["x-scheduling-series-id"][0].value for e in events} == {SERIES}
    assert {e.contents["x-scheduling-series-rrule"][0].value for e in events} == {RULE}
    assert [e.status.value for e in events] == ["CONFIRMED"] * 2 + ["CANCELLED"] + ["CONFIRMED"] * 5
    assert not hasattr(calendar, "method")  # published, not an iTIP request: no ATTENDEE either
    assert not any(hasattr(e, "attendee") for e in events)


def test_one_occurrences_invite_names_its_series() -> None:
    invite = _invites()[5]

    event = _parse(invite_ics(invite, organizer_email="bookings@shop.example")).vevent

    assert event.contents["x-scheduling-series-id"][0].value == SERIES
    assert f"Recurring series {SERIES} ({RULE})" in event.description.value
    assert event.dtstart.value.replace(tzinfo=None) == datetime(2027, 3, 22, 9, 0)  # 09:00 wall time, EDT by then
