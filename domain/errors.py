"""The domain's exception hierarchy, drawn in one place.

Every error carries a stable machine-readable ``code`` that the HTTP layer maps
to an RFC 9457 problem type and the event bridge writes into dead letters.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every rule violation the domain reports."""

    code = "domain_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details


class NotFound(DomainError):
    """An id that names nothing (shop, technician, bay, appointment, service type)."""

    code = "not_found"


class Unauthenticated(DomainError):
    """No credentials, or credentials that name no live key or link (unknown, expired, revoked)."""

    code = "unauthorized"


class Forbidden(DomainError):
    """The caller is known but its role does not allow the operation (scope misses answer NotFound)."""

    code = "forbidden"


class InvalidRequest(DomainError):
    """Input that is well-formed but violates a rule (e.g. duration out of range)."""

    code = "invalid_request"


class OutsideBookingWindow(InvalidRequest):
    """A start inside the booking notice (too soon) or beyond the booking horizon (too far ahead).

    A 422, as other rule violations of the request itself: retrying the same start never succeeds
    (a 409 means the state of the calendar is in the way, and another time may fit)."""

    code = "outside_booking_window"


class SlotTaken(DomainError):
    """The time is no longer free for the technician or the bay."""

    code = "slot_taken"


class VehicleAlreadyBooked(DomainError):
    """The vehicle already has a live appointment (or hold) overlapping the time; one car, one place."""

    code = "vehicle_already_booked"


class OutsideWorkingHours(DomainError):
    """The interval is not fully inside the resource's working time."""

    code = "outside_working_hours"


class DailyCapReached(DomainError):
    """The technician already has the maximum number of jobs that local day."""

    code = "daily_cap_reached"


class MissingSkill(DomainError):
    """The technician lacks the skill the service type requires."""

    code = "missing_skill"


class MissingEquipment(DomainError):
    """The bay lacks equipment the service type requires."""

    code = "missing_equipment"


class HoldNotFound(DomainError):
    """A hold token that names no live hold."""

    code = "hold_not_found"


class HoldExpired(DomainError):
    """The hold's 15 minutes (or configured TTL) have passed."""

    code = "hold_expired"


class InvalidTransition(DomainError):
    """An appointment lifecycle step that is not allowed from its current status."""

    code = "invalid_transition"


class NoSlotAvailable(DomainError):
    """Nothing fits; ``details['reasons']`` says which constraints ruled times out."""

    code = "no_slot_available"


class IdempotencyConflict(DomainError):
    """An idempotency key reused with a different request, or still in flight."""

    code = "idempotency_conflict"


class ServiceUnavailable(DomainError):
    """A dependency (the database, a resource actor) could not be reached: try again shortly.

    A write that failed this way either took effect once or not at all; retried
    with the same ``Idempotency-Key`` it answers the effect if there was one.
    """

    code = "service_unavailable"


class DatabaseBusy(ServiceUnavailable):
    """The database is up but has no connection to spare (the pool exhausted, or PostgreSQL out of slots).

    Answered like any ``ServiceUnavailable`` (503 with ``Retry-After``); told apart so that it is not
    retried on a fresh connection, as a lost database is: waiting again only lengthens the queue.
    """


class OfferGone(DomainError):
    """A waitlist offer that was used (accepted or declined) or has expired: its token opens nothing now."""

    code = "offer_gone"
