"""iCalendar (RFC 5545 / 5546) renderings of invites: one appointment, or a technician's feed.

Times are written with the shop's TZID and a VTIMEZONE, so a client shows the
shop's wall-clock time even on a day the clocks change. Each VCALENDAR has a
UID (RFC 7986) derived from what it is about, so every render of the same
appointment or the same technician's feed is recognisably the same calendar.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

from icalendar import Calendar, Event, vCalAddress
from icalendar.enums import STATUS

from domain.invites import Invite
from integrations.invite import UID_DOMAIN, repeated_wall_time

PRODID = "-//scheduling-service//calendar invites//EN"

# Fixed forever: changing it would change every calendar UID clients already hold.
_CALENDAR_UID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, f"urn:{UID_DOMAIN}:calendars")


def appointment_calendar_uid(appointment_id: str) -> uuid.UUID:
    """The VCALENDAR UID of one appointment's ``.ics``: the same on every render."""
    return uuid.uuid5(_CALENDAR_UID_NAMESPACE, f"appointment:{appointment_id}")


def feed_calendar_uid(feed_key: str) -> uuid.UUID:
    """The VCALENDAR UID of a technician's feed, from the technician's id: the same on every render."""
    return uuid.uuid5(_CALENDAR_UID_NAMESPACE, f"technician-feed:{feed_key}")


def _address(email: str, name: str | None, role: str | None = None) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    if name:
        address.params["CN"] = name
    if role:
        address.params["ROLE"] = role
    return address


def _event_time(moment: datetime) -> datetime:
    # The shop's TZID keeps the wall-clock time; only a repeated wall time needs UTC.
    return moment.astimezone(UTC) if repeated_wall_time(moment) else moment


def invite_event(
    invite: Invite, stamp: datetime, organizer_email: str | None = None, *, with_attendees: bool = True
) -> Event:
    """The VEVENT of one invite (shared by single invites and feeds).

    ``with_attendees=False`` for a published calendar, which RFC 5545
    §3.8.4.1 forbids to carry ATTENDEE.
    """
    attendees = []
    if with_attendees and invite.attendee_email:
        attendees.append(_address(invite.attendee_email, invite.attendee_name, "REQ-PARTICIPANT"))
    if with_attendees and invite.customer_email:
        attendees.append(_address(invite.customer_email, invite.customer_name, "REQ-PARTICIPANT"))
    event = Event.new(
        uid=invite.uid,
        sequence=invite.sequence,
        summary=invite.summary,
        description=invite.description,
        location=invite.location,
        start=_event_time(invite.start),
        end=_event_time(invite.end),
        stamp=stamp.astimezone(UTC),
        status=STATUS(invite.status.value),
        organizer=_address(organizer_email, None) if organizer_email else None,
        attendees=attendees or None,
    )
    if invite.series_id:
        # One VEVENT per occurrence (README, "Recurring appointments"): the series is named, not expanded
        event.add("X-SCHEDULING-SERIES-ID", invite.series_id)
        if invite.recurrence:
            event.add("X-SCHEDULING-SERIES-RRULE", invite.recurrence)
    return event


def invite_ics(invite: Invite, *, organizer_email: str | None = None, stamp: datetime | None = None) -> bytes:
    """One appointment as an iTIP message: ``METHOD:REQUEST``, or ``METHOD:CANCEL`` once cancelled.

    ``stamp`` (DTSTAMP) defaults to now: it says when this message was made.
    """
    calendar = Calendar.new(
        prodid=PRODID,
        uid=appointment_calendar_uid(invite.appointment_id),
        method="CANCEL" if invite.cancelled else "REQUEST",
        subcomponents=[invite_event(invite, stamp or datetime.now(UTC), organizer_email)],
    )
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())


def series_calendar_uid(series_id: str) -> uuid.UUID:
    """The VCALENDAR UID of a series' ``.ics``: the same on every render."""
    return uuid.uuid5(_CALENDAR_UID_NAMESPACE, f"series:{series_id}")


def series_ics(invites: Iterable[Invite], *, series_id: str, name: str, stamp: datetime | None = None) -> bytes:
    """A recurring series as a published VCALENDAR: one VEVENT per occurrence, each with its own UID.

    Not an RRULE with EXDATE and RECURRENCE-ID overrides: every occurrence is its own appointment (its own
    technician, bay and SEQUENCE, moved or cancelled on its own), and each is already invited on its own, so
    one event per occurrence is exactly what the store holds. A cancelled occurrence stays with
    ``STATUS:CANCELLED`` so that a client that imported the file drops it.
    """
    now = stamp or datetime.now(UTC)
    calendar = Calendar.new(
        prodid=PRODID,
        uid=series_calendar_uid(series_id),
        name=name,
        subcomponents=[
            invite_event(i, now, with_attendees=False) for i in sorted(invites, key=lambda i: (i.start, i.uid))
        ],
    )
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())


def technician_feed(
    invites: Iterable[Invite], *, name: str, technician_id: str | None = None, stamp: datetime | None = None
) -> bytes:
    """A subscribable VCALENDAR of many invites (no METHOD: a feed is published, not sent).

    Cancelled invites stay in the feed with ``STATUS:CANCELLED`` so that a
    subscribed client drops an event it already shows. The events carry no
    ATTENDEE: RFC 5545 §3.8.4.1 forbids it in a published calendar (the
    customer's name is in the description). The calendar UID comes from
    ``technician_id``; without it, from ``name``, which is stable but not
    unique if two technicians share a name.
    """
    now = stamp or datetime.now(UTC)
    calendar = Calendar.new(
        prodid=PRODID,
        uid=feed_calendar_uid(technician_id if technician_id is not None else f"name:{name}"),
        name=name,
        subcomponents=[
            invite_event(i, now, with_attendees=False) for i in sorted(invites, key=lambda i: (i.start, i.uid))
        ],
    )
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())
