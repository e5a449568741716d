"""iCalendar renderings parse back with icalendar to what the appointment says, DST days included."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from domain.appointment import Appointment, AppointmentStatus
from domain.invites import Invite
from domain.time_windows import local_instant
from integrations.ics import invite_ics, technician_feed
from integrations.invite import invite_for, invite_uid, repeated_wall_time
from tests.integrations import builders, rfc5545_lines

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def _parse(raw: bytes) -> Calendar:
    return Calendar.from_ical(raw)


def test_invite_ics_parses_back_with_start_end_zone_summary_and_location() -> None:
    inv = builders.invite()
    cal = _parse(invite_ics(inv, organizer_email="scheduling@shop.example"))

    assert cal["METHOD"] == "REQUEST"
    [event] = cal.events
    assert event.start == datetime(2026, 2, 2, 9, 0, tzinfo=BERLIN)
    assert event.end == datetime(2026, 2, 2, 12, 0, tzinfo=BERLIN)
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert [tz["TZID"] for tz in cal.timezones] == ["Europe/Berlin"]
    assert event["SUMMARY"] == "Engine repair — vehicle V001"
    assert event["LOCATION"] == "Mitte Service Center, Invalidenstraße 1, 10115 Berlin"
    assert event["UID"] == "appt-0001@scheduling-service"
    assert event["STATUS"] == "CONFIRMED"
    assert event.sequence == 0
    assert str(event["ORGANIZER"]) == "mailto:scheduling@shop.example"
    assert {str(a) for a in event["ATTENDEE"]} == {"mailto:ana@shop.example", "mailto:jo@customer.example"}


def test_reschedule_keeps_uid_and_raises_sequence() -> None:
    first = _parse(invite_ics(builders.invite())).events[0]
    moved = _parse(invite_ics(builders.rescheduled(builders.rescheduled(builders.invite())))).events[0]

    assert moved["UID"] == first["UID"]
    assert moved.sequence == 2
    assert moved.start == first.start + timedelta(days=2)


def test_cancelled_appointment_renders_method_cancel_and_status_cancelled() -> None:
    appt = builders.appointment(builders.START, status=AppointmentStatus.CANCELLED, sequence=1)
    inv = invite_for(appt, builders.shop(), builders.technician(), "Engine repair")
    cal = _parse(invite_ics(inv))

    assert cal["METHOD"] == "CANCEL"
    [event] = cal.events
    assert event["STATUS"] == "CANCELLED"
    assert event["UID"] == invite_uid(appt.id) and event.sequence == 1


def test_held_appointment_is_tentative() -> None:
    appt = builders.appointment(builders.START, status=AppointmentStatus.HELD)
    inv = invite_for(appt, builders.shop(), builders.technician(), "Engine repair")
    assert _parse(invite_ics(inv)).events[0]["STATUS"] == "TENTATIVE"


def test_technician_feed_lists_each_appointment_once_in_order() -> None:
    shop, tech = builders.shop(), builders.technician()
    appointments = [
        builders.appointment(builders.START + timedelta(days=3), id="appt-c"),
        builders.appointment(builders.START, id="appt-a"),
        builders.appointment(builders.START + timedelta(days=1), id="appt-b", status=AppointmentStatus.CANCELLED),
    ]
    feed = technician_feed([invite_for(a, shop, tech, "Engine repair") for a in appointments], name="Ana Novak")
    cal = _parse(feed)

    assert "METHOD" not in cal
    assert cal.calendar_name == "Ana Novak"
    assert [e["UID"] for e in cal.events] == [invite_uid(i) for i in ("appt-a", "appt-b", "appt-c")]
    assert [e["STATUS"] for e in cal.events] == ["CONFIRMED", "CANCELLED", "CONFIRMED"]
    assert len(cal.timezones) == 1


def test_new_york_spring_forward_day_keeps_local_time() -> None:
    # 2026-03-08: clocks jump from 02:00 to 03:00 in New York.
    start = local_instant(date(2026, 3, 8), time(9, 0), NEW_YORK)
    appt = builders.appointment(start, hours=3)
    inv = invite_for(appt, builders.shop("America/New_York"), builders.technician(), "Engine repair")
    [event] = _parse(invite_ics(inv)).events

    assert event.start == datetime(2026, 3, 8, 9, 0, tzinfo=NEW_YORK)
    assert event.end == datetime(2026, 3, 8, 12, 0, tzinfo=NEW_YORK)
    assert event["DTSTART"].to_ical() == b"20260308T090000"
    assert event.start.utcoffset() == timedelta(hours=-4)


def test_berlin_fall_back_day_keeps_local_time() -> None:
    # 2026-10-25: clocks go back from 03:00 to 02:00 in Berlin; an 08:00 job is 8 wall-clock hours in.
    start = local_instant(date(2026, 10, 25), time(8, 0), BERLIN)
    appt = builders.appointment(start, hours=2)
    [event] = _parse(invite_ics(invite_for(appt, builders.shop(), builders.technician(), "Oil"))).events

    assert event["DTSTART"].to_ical() == b"20261025T080000"
    assert event["DTEND"].to_ical() == b"20261025T100000"
    assert event.start == start and event.end == start + timedelta(hours=2)


ZONES = ["America/New_York", "Europe/Berlin", "Australia/Sydney", "America/Sao_Paulo", "Asia/Kolkata", "UTC"]


@settings(max_examples=150, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2030, 12, 31)),
    minutes=st.integers(min_value=15, max_value=8 * 60),
)
def test_ics_keeps_the_instant_and_the_shops_wall_clock(zone: str, start: datetime, minutes: int) -> None:
    tz = ZoneInfo(zone)
    begin = start.replace(second=0, microsecond=0, tzinfo=UTC)
    appt = builders.appointment(begin, hours=minutes / 60)
    inv = invite_for(appt, builders.shop(zone), builders.technician(), "Service")
    [event] = _parse(invite_ics(inv)).events

    for parsed, original in ((event.start, appt.start), (event.end, appt.end)):
        # the same instant (== across zones is always False for a wall time in a fall-back fold: PEP 495)
        assert parsed.astimezone(UTC) == original.astimezone(UTC)
        local = original.astimezone(tz)
        if not repeated_wall_time(local):
            # written with the shop's TZID, showing the shop's wall-clock time
            assert parsed.replace(tzinfo=None) == local.replace(tzinfo=None)


def test_invite_survives_json_round_trip_including_repeated_wall_time() -> None:
    second_0130 = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    inv = replace(
        builders.invite(),
        start=second_0130.astimezone(NEW_YORK),
        end=(second_0130 + timedelta(hours=1)).astimezone(NEW_YORK),
        timezone="America/New_York",
    )

    back = Invite.from_json_dict(inv.to_json_dict())
    assert back == inv and back.start.utcoffset() == timedelta(hours=-5)


# Calendar-level identity (RFC 7986 UID) and the published feed (RFC 5545 §3.8.4.1),
# read back with a second parser that shares no code with icalendar.


def _feed(appointments: list[Appointment], technician_id: str = "tech_ana", **kw: Any) -> bytes:
    shop, tech = builders.shop(), builders.technician()
    invites = [invite_for(a, shop, tech, "Engine repair") for a in appointments]
    return technician_feed(invites, name="Ana Novak", technician_id=technician_id, **kw)


def test_appointment_calendar_uid_is_the_same_on_every_render() -> None:
    inv = builders.invite()
    first = rfc5545_lines.parse(invite_ics(inv, stamp=datetime(2026, 1, 20, tzinfo=UTC)))
    again = rfc5545_lines.parse(invite_ics(builders.rescheduled(inv), stamp=datetime(2026, 1, 21, tzinfo=UTC)))
    cancelled = rfc5545_lines.parse(invite_ics(builders.cancelled(inv)))
    other = rfc5545_lines.parse(invite_ics(builders.invite(appointment_id="appt-0002")))

    [uid] = first.values("UID")
    assert again.values("UID") == cancelled.values("UID") == [uid]
    assert other.values("UID") != [uid]
    assert uuid.UUID(uid).version == 5
    assert _parse(invite_ics(inv)).uid == uid  # icalendar reads the same


def test_technician_feed_calendar_uid_is_the_same_on_every_render() -> None:
    one = [builders.appointment(builders.START, id="appt-a")]
    more = [*one, builders.appointment(builders.START + timedelta(days=1), id="appt-b")]

    first = rfc5545_lines.parse(_feed(one, stamp=datetime(2026, 1, 20, tzinfo=UTC)))
    later = rfc5545_lines.parse(_feed(more, stamp=datetime(2026, 1, 21, tzinfo=UTC)))
    empty = rfc5545_lines.parse(_feed([]))
    someone_else = rfc5545_lines.parse(_feed(one, technician_id="tech_bo"))

    [uid] = first.values("UID")
    assert later.values("UID") == empty.values("UID") == [uid]
    assert someone_else.values("UID") != [uid]
    events = [c for c in later.children if c.name == "VEVENT"]
    assert [e.values("UID") for e in events] == [[invite_uid("appt-a")], [invite_uid("appt-b")]]


def test_technician_feed_without_technician_id_still_has_a_stable_uid() -> None:
    shop, tech = builders.shop(), builders.technician()
    invites = [invite_for(builders.appointment(builders.START), shop, tech, "Engine repair")]
    renders = {_parse(technician_feed(invites, name="Ana Novak")).uid for _ in range(2)}
    assert len(renders) == 1


def test_published_technician_feed_has_no_attendee() -> None:
    """RFC 5545 §3.8.4.1: ATTENDEE must not be in a calendar that publishes events."""
    shop, tech = builders.shop(), builders.technician()
    # called as the HTTP feed calls it
    raw = technician_feed([invite_for(builders.appointment(builders.START), shop, tech, "Engine repair")], name="Ana")
    calendar = rfc5545_lines.parse(raw)

    assert calendar.name == "VCALENDAR" and calendar.values("METHOD") == []
    [event] = [c for c in calendar.walk() if c.name == "VEVENT"]
    assert all(c.values("ATTENDEE") == [] for c in calendar.walk())
    assert event.values("ORGANIZER") == []
    assert "Customer: Jo Driver" in event.values("DESCRIPTION")[0].replace("\\n", "\n")
    assert "ATTENDEE" not in _parse(raw).events[0]  # icalendar agrees


def test_invite_ics_still_names_organizer_and_attendees() -> None:
    """A single invite is an iTIP REQUEST: there ORGANIZER and ATTENDEE belong."""
    calendar = rfc5545_lines.parse(invite_ics(builders.invite(), organizer_email="scheduling@shop.example"))

    assert calendar.values("METHOD") == ["REQUEST"]
    [event] = [c for c in calendar.walk() if c.name == "VEVENT"]
    assert event.values("ORGANIZER") == ["mailto:scheduling@shop.example"]
    assert sorted(event.values("ATTENDEE")) == ["mailto:ana@shop.example", "mailto:jo@customer.example"]
    assert sorted(c.name for c in calendar.children) == ["VEVENT", "VTIMEZONE"]
