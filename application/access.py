"""Who may do what: the caller, its role and scope, and the one check every use case makes.

A caller is an API key (a role and a set of shops, or the whole chain) or a
customer link (one appointment). The checks answer in two ways only: a role
that may not do the operation at all is ``Forbidden`` (403, whatever the
object); an object outside the caller's scope is ``NotFound`` with exactly the
message an unknown id gets, so that nothing tells the two apart (DESIGN.md,
invariant 8).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from domain.appointment import Appointment
from domain.errors import Forbidden, NotFound


class Role(StrEnum):
    BOOKING = "booking"
    """A booking front end or partner: search and book at its shops; what it booked: read, move, cancel."""
    STAFF = "staff"
    """A shop's staff: everything on its shops' appointments and schedules."""
    ADMIN = "admin"
    """Every shop, keys, shop files."""
    CUSTOMER = "customer"
    """A customer link: read, reschedule and cancel one appointment."""


class Action(StrEnum):
    SEARCH = "search"
    BOOK = "book"
    READ_APPOINTMENT = "read_appointment"
    CONFIRM = "confirm"
    RESCHEDULE = "reschedule"
    REASSIGN = "reassign"
    """Move an appointment to another technician or bay."""
    EDIT_DETAILS = "edit_details"
    CANCEL = "cancel"
    LIST_VEHICLE = "list_vehicle"
    READ_TECHNICIANS = "read_technicians"
    READ_SCHEDULE = "read_schedule"
    """A technician's schedule and calendar feed: every customer of the day."""
    MANAGE_KEYS = "manage_keys"
    MANAGE_TIME_OFF = "manage_time_off"
    """Record or withdraw a technician's time off, which replans their appointments."""
    EXTEND_JOB = "extend_job"
    """Lengthen a job in progress, which moves what it collides with."""
    RUN_LIFECYCLE = "run_lifecycle"
    """Check in, start, complete an appointment or record its no-show: the shop floor's steps."""
    READ_KPIS = "read_kpis"
    """A shop's (or the chain's) figures: utilization, waits, no-shows, late cancellations."""
    WAITLIST = "waitlist"
    """Join the waitlist, read or leave an entry (a booking key: the entries it made)."""
    READ_CATALOG = "read_catalog"
    """The service types a client may request (issue 17)."""
    OPTIMIZE_ROUTES = "optimize_routes"
    """Re-plan a shop-day's on-site visits inside their arrival windows (issue 17)."""


_A = Action
_BOOKING = frozenset(
    {
        _A.SEARCH,
        _A.BOOK,
        _A.READ_APPOINTMENT,
        _A.CONFIRM,
        _A.RESCHEDULE,
        _A.REASSIGN,
        _A.EDIT_DETAILS,
        _A.CANCEL,
        _A.LIST_VEHICLE,
        _A.READ_TECHNICIANS,
        _A.WAITLIST,
        _A.READ_CATALOG,
    }
)
PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.BOOKING: _BOOKING,
    Role.STAFF: _BOOKING
    | {_A.READ_SCHEDULE, _A.MANAGE_TIME_OFF, _A.EXTEND_JOB, _A.RUN_LIFECYCLE, _A.READ_KPIS, _A.OPTIMIZE_ROUTES},
    Role.ADMIN: frozenset(Action),
    Role.CUSTOMER: frozenset({_A.READ_APPOINTMENT, _A.RESCHEDULE, _A.CANCEL}),
}
"""What each role may do at all; the scope (shops, own bookings, one appointment) narrows it per object."""


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking: a key (``key_id``) or a customer link (``appointment_id``), with its role and shops."""

    principal: str
    """A stable name for idempotency and rate limits: ``key:<id>``, ``link:<id>``, ``anonymous``."""
    role: Role
    shops: frozenset[str] | None = None
    """The shops it covers; None: the whole chain."""
    key_id: str | None = None
    appointment_id: str | None = None
    """A customer link's one appointment."""

    @classmethod
    def for_key(cls, key_id: str, role: Role, shops: Collection[str] | None) -> Caller:
        return cls(f"key:{key_id}", role, frozenset(shops) if shops else None, key_id=key_id)

    @classmethod
    def for_link(cls, link_id: str, appointment_id: str, shop_id: str) -> Caller:
        return cls(f"link:{link_id}", Role.CUSTOMER, frozenset({shop_id}), appointment_id=appointment_id)

    @classmethod
    def unrestricted(cls, principal: str = "anonymous") -> Caller:
        """Every right on every shop: ``AUTH_DISABLED`` on loopback, or the service's own commands."""
        return cls(principal, Role.ADMIN)

    def may(self, action: Action) -> bool:
        return action in PERMISSIONS[self.role]

    def covers_shop(self, shop_id: str) -> bool:
        return self.shops is None or shop_id in self.shops

    def covers(self, appt: Appointment) -> bool:
        """Whether the appointment lies in this caller's scope (not whether the role may act on it)."""
        if not self.covers_shop(appt.shop_id):
            return False
        if self.role is Role.CUSTOMER:
            return appt.id == self.appointment_id
        if self.role is Role.BOOKING:
            return appt.booked_by is not None and appt.booked_by == self.key_id
        return True

    @property
    def booked_by(self) -> str | None:
        """What a list of appointments is narrowed to: the key's own bookings for a booking key."""
        return self.key_id if self.role is Role.BOOKING else None


def require(caller: Caller, action: Action) -> None:
    """``Forbidden`` unless the caller's role allows ``action`` at all."""
    if not caller.may(action):
        raise Forbidden(f"a {caller.role.value} credential may not {action.value.replace('_', ' ')}")


def unknown_appointment(appointment_id: str) -> NotFound:
    """The one answer for an appointment that does not exist or lies outside the caller's scope."""
    return NotFound(f"no appointment {appointment_id}", appointment_id=appointment_id)


def unknown_series(series_id: str) -> NotFound:
    """The answer for a series that does not exist or has no occurrence in the caller's scope (the same)."""
    return NotFound(f"no series {series_id}")


def unknown_technician(technician_id: str) -> NotFound:
    return NotFound(f"no technician {technician_id!r}", technician_id=technician_id)


def authorize_appointment(caller: Caller, action: Action, appt: Appointment) -> Appointment:
    """``appt`` if the caller may do ``action`` on it; ``Forbidden`` by role, else ``NotFound`` outside scope."""
    require(caller, action)
    if not caller.covers(appt):
        raise unknown_appointment(appt.id)
    return appt
