"""Fakes of our own ports (the invite repository), a clock that tests move by hand, and a check on deliveries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from domain.invites import DeliveryState, InviteDelivery
from integrations.delivery import CREDENTIALS_REJECTED


def credentials_rejected(delivery: InviteDelivery) -> bool:
    """Failed because the provider refused our credentials (the dispatcher starts ``last_error`` so)."""
    return delivery.state is DeliveryState.FAILED and (delivery.last_error or "").startswith(CREDENTIALS_REJECTED)


@dataclass
class FakeClock:
    now: datetime = field(default_factory=lambda: datetime(2026, 2, 1, 12, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


class InMemoryInviteRepository:
    """The InviteDeliveryRepository port in a dict."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], InviteDelivery] = {}

    async def get(self, appointment_id: str, provider: str) -> InviteDelivery | None:
        return self.rows.get((appointment_id, provider))

    async def save(self, delivery: InviteDelivery) -> None:
        self.rows[(delivery.appointment_id, delivery.provider)] = delivery

    async def for_appointment(self, appointment_id: str) -> list[InviteDelivery]:
        return sorted((d for d in self.rows.values() if d.appointment_id == appointment_id), key=lambda d: d.provider)

    async def due(self, now: datetime, limit: int) -> list[InviteDelivery]:
        due = [d for d in self.rows.values() if d.next_attempt_at is not None and d.next_attempt_at <= now]
        return sorted(due, key=lambda d: (d.next_attempt_at or now, d.appointment_id, d.provider))[:limit]
