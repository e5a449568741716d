"""iCalendar (RFC 5545 / 5546) renderings of invites: one appointment, or a technician's feed.

Times are written with the shop's TZID and a VTIMEZONE, so a client shows the
shop's wall-clock time even on a day the clocks change.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from icalendar import Calendar, Event, vCalAddress
from icalendar.enums import STATUS

from integrations.invite import Invite, repeated_wall_time

PRODID = "-//scheduling-service//calendar invites//EN"


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


def invite_event(invite: Invite, stamp: datetime, organizer_email: str | None = None) -> Event:
    """The VEVENT of one invite (shared by single invites and feeds)."""
    attendees = []
    if invite.attendee_email:
        attendees.append(_address(invite.attendee_email, invite.attendee_name, "REQ-PARTICIPANT"))
    if invite.customer_email:
        attendees.append(_address(invite.customer_email, invite.customer_name, "REQ-PARTICIPANT"))
    return Event.new(
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


def invite_ics(invite: Invite, *, organizer_email: str | None = None, stamp: datetime | None = None) -> bytes:
    """One appointment as an iTIP message: ``METHOD:REQUEST``, or ``METHOD:CANCEL`` once cancelled.

    ``stamp`` (DTSTAMP) defaults to now: it says when this message was made.
    """
    calendar = Calendar.new(
        prodid=PRODID,
        method="CANCEL" if invite.cancelled else "REQUEST",
        subcomponents=[invite_event(invite, stamp or datetime.now(UTC), organizer_email)],
    )
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())


def technician_feed(invites: Iterable[Invite], *, name: str, stamp: datetime | None = None) -> bytes:
    """A subscribable VCALENDAR of many invites (no METHOD: a feed is published, not sent).

    Cancelled invites stay in the feed with ``STATUS:CANCELLED`` so that a
    subscribed client drops an event it already shows.
    """
    now = stamp or datetime.now(UTC)
    calendar = Calendar.new(
        prodid=PRODID,
        name=name,
        subcomponents=[invite_event(i, now) for i in sorted(invites, key=lambda i: (i.start, i.uid))],
    )
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())
