"""The interface every calendar target implements, and the errors it may raise.

A target puts one appointment's event somewhere (a technician's Google or
Outlook calendar, a customer's inbox) and answers with the provider's id for
that event, which the dispatcher stores and hands back for updates and
cancellations. Targets classify their provider's failures into the errors
below, so the dispatcher decides about retries without knowing any provider.
"""

from __future__ import annotations

from typing import Protocol

from domain.invites import Invite


class CalendarError(Exception):
    """A provider refused or failed a request; subclasses say whether a retry may help.

    ``status`` is the provider's HTTP status when there was one.
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TransientCalendarError(CalendarError):
    """Network trouble, throttling, a 5xx: the same request may well succeed later."""


class CredentialsRejected(CalendarError):
    """The provider refused our credentials (401, expired, revoked): an operator must act."""


class RequestRejected(CalendarError):
    """The provider refused this request (a 4xx other than auth): retrying will not help."""


class EventGone(CalendarError):
    """The event to update no longer exists at the provider (deleted by someone)."""


class CalendarTarget(Protocol):
    """Creates, updates and cancels an appointment's event at one provider."""

    @property
    def provider(self) -> str:
        """The provider's name as stored with the invite's state (``google``, ``microsoft``, ...)."""
        ...

    def accepts(self, invite: Invite) -> bool:
        """Whether this target has anywhere to put ``invite`` (e.g. the technician has an email)."""
        ...

    async def create(self, invite: Invite) -> str:
        """Create the event; return the provider's event id."""
        ...

    async def update(self, invite: Invite, provider_event_id: str) -> str:
        """Replace the event's time and details; return the (possibly new) event id."""
        ...

    async def cancel(self, invite: Invite, provider_event_id: str) -> None:
        """Remove or cancel the event; an event that is already gone counts as done."""
        ...
