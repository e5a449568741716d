"""The port that stores invite deliveries (:class:`~domain.invites.InviteDelivery`)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from domain.invites import InviteDelivery

CREDENTIALS_REJECTED = "credentials rejected"
"""The start of ``last_error`` when a provider refused our credentials."""


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
