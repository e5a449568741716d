"""The stored state of one invite at one provider, and the port that stores it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from integrations.invite import Invite

CREDENTIALS_REJECTED = "credentials rejected"
"""The start of ``last_error`` when a provider refused our credentials."""


class DeliveryState(StrEnum):
    """Where an invite's latest operation stands at one provider."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class Operation(StrEnum):
    """What the provider must be told for the invite's current version."""

    CREATE = "create"
    UPDATE = "update"
    CANCEL = "cancel"


@dataclass(frozen=True, slots=True)
class InviteDelivery:
    """One appointment's invite at one provider: the latest operation and how it went.

    Keyed by ``(appointment_id, provider)``. ``sequence`` and ``operation`` say
    which version of the invite the state is about; ``invite`` is that version,
    kept so that a retry needs nothing else. ``next_attempt_at`` is set while a
    retry is scheduled; a failed delivery without one has been given up.
    """

    appointment_id: str
    provider: str
    state: DeliveryState
    operation: Operation
    sequence: int
    invite: Invite
    updated_at: datetime
    provider_event_id: str | None = None
    attempts: int = 0
    last_error: str | None = None
    next_attempt_at: datetime | None = None


class InviteDeliveryRepository(Protocol):
    """Stores invite deliveries (PostgreSQL: ``store.invite_repository``)."""

    async def get(self, appointment_id: str, provider: str) -> InviteDelivery | None:
        """The delivery of this appointment's invite to this provider, if any."""
        ...

    async def save(self, delivery: InviteDelivery) -> None:
        """Insert or replace the delivery keyed by ``(appointment_id, provider)``."""
        ...

    async def for_appointment(self, appointment_id: str) -> list[InviteDelivery]:
        """Every provider's delivery for one appointment (shown on the appointment)."""
        ...

    async def due(self, now: datetime, limit: int) -> list[InviteDelivery]:
        """Deliveries whose retry is due (``next_attempt_at <= now``), oldest first."""
        ...
