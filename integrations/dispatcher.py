"""Sends appointment invites to every enabled calendar target, records how it went, retries.

Driven by the appointment events (scheduled, rescheduled, cancelled): the
bridge maps the appointment to an :class:`Invite` and calls
:meth:`InviteDispatcher.dispatch`; a periodic :meth:`InviteDispatcher.retry_due`
retries what failed. The dispatcher reconciles rather than replays: it compares
the invite with the stored delivery, so the same event delivered twice, or
events arriving out of order, create no duplicate provider event.

It never raises for a provider failure: a booking is already committed when
its event arrives, and an invite that could not be sent is stored as failed
(and retried), not turned into an error of the booking.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from domain.events import EventType
from domain.invites import DeliveryState, Invite, InviteDelivery, Operation
from integrations.calendar_target import (
    CalendarTarget,
    CredentialsRejected,
    EventGone,
    RequestRejected,
    TransientCalendarError,
)
from integrations.delivery import CREDENTIALS_REJECTED, InviteDeliveryRepository

log = logging.getLogger(__name__)

INVITE_EVENT_TYPES = frozenset(
    {
        EventType.APPOINTMENT_SCHEDULED,
        EventType.APPOINTMENT_RESCHEDULED,
        EventType.APPOINTMENT_CANCELLED,
    }
)
"""The appointment events that change an invite."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff: ``base * factor**(attempts-1)``, capped, for at most ``max_attempts``."""

    base: timedelta = timedelta(seconds=30)
    factor: float = 2.0
    max_delay: timedelta = timedelta(hours=1)
    max_attempts: int = 10
    call_timeout: timedelta = timedelta(seconds=30)
    """How long one provider call may take before it counts as a transient failure."""

    def next_attempt(self, attempts: int, now: datetime) -> datetime | None:
        """When to try again after ``attempts`` failed attempts; None once they are used up."""
        if attempts >= self.max_attempts:
            return None
        delay = self.base * (self.factor ** max(attempts - 1, 0))
        return now + min(delay, self.max_delay)


def plan(delivery: InviteDelivery | None, invite: Invite) -> Operation | None:
    """What the provider must be told so that it shows ``invite``; None when it already does.

    A version older than the stored one is stale (events may arrive out of
    order) and a cancellation is final, so neither is ever sent after it.
    """
    if delivery is None:
        # Recording a cancellation even when nothing was sent stops a late
        # "scheduled" event from creating an event for a cancelled appointment.
        return Operation.CANCEL if invite.cancelled else Operation.CREATE
    if invite.sequence < delivery.sequence:
        return None
    if delivery.operation is Operation.CANCEL:
        done = delivery.state is DeliveryState.SENT
        return None if done or not invite.cancelled else Operation.CANCEL
    if invite.cancelled:
        return Operation.CANCEL
    if delivery.provider_event_id is None:
        return Operation.CREATE
    changed = invite.sequence > delivery.sequence or invite != delivery.invite
    if changed or delivery.state is not DeliveryState.SENT:
        return Operation.UPDATE
    return None


class InviteDispatcher:
    """Delivers invites to calendar targets and keeps each delivery's state in a repository.

    ``clock`` is injectable so that tests move time instead of sleeping.
    """

    def __init__(
        self,
        targets: Sequence[CalendarTarget],
        repository: InviteDeliveryRepository,
        *,
        retry: RetryPolicy | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._targets = _by_provider(targets)
        self._repository = repository
        self._retry = retry or RetryPolicy()
        self._clock = clock
        # One delivery per (appointment, provider) at a time inside this process,
        # so two copies of one event cannot both create. The bridge runs one
        # dispatcher; provider-side idempotency keys cover a crash mid-create.
        # Weak values: a lock lives only while a delivery holds or awaits it.
        self._locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = weakref.WeakValueDictionary()

    @property
    def providers(self) -> list[str]:
        return sorted(self._targets)

    @staticmethod
    def handles(event_type: str) -> bool:
        """Whether an event of this type changes an invite."""
        return event_type in INVITE_EVENT_TYPES

    async def dispatch(self, invite: Invite) -> list[InviteDelivery]:
        """Bring every enabled provider in line with ``invite``; return the deliveries touched.

        Providers run concurrently, so a slow one does not hold up the others.
        """
        targets = [t for t in self._targets.values() if t.accepts(invite)]
        results = await asyncio.gather(*(self._deliver(t, invite) for t in targets))
        return [d for d in results if d is not None]

    async def retry_due(self, limit: int = 100) -> list[InviteDelivery]:
        """Retry the deliveries whose next attempt is due; return what became of them."""
        out: list[InviteDelivery] = []
        for due in await self._repository.due(self._clock(), limit):
            target = self._targets.get(due.provider)
            if target is None:
                # A provider switched off since: leave its state as it is, visible.
                continue
            async with self._lock(due.appointment_id, due.provider):
                current = await self._repository.get(due.appointment_id, due.provider)
                now = self._clock()
                if current is None or current.next_attempt_at is None or current.next_attempt_at > now:
                    continue
                out.append(await self._attempt(target, current))
        return out

    async def deliveries(self, appointment_id: str) -> list[InviteDelivery]:
        """The stored state of an appointment's invites, one per provider."""
        return await self._repository.for_appointment(appointment_id)

    def _lock(self, appointment_id: str, provider: str) -> asyncio.Lock:
        key = (appointment_id, provider)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    async def _deliver(self, target: CalendarTarget, invite: Invite) -> InviteDelivery | None:
        async with self._lock(invite.appointment_id, target.provider):
            stored = await self._repository.get(invite.appointment_id, target.provider)
            operation = plan(stored, invite)
            if operation is None:
                return None
            same_version = stored is not None and stored.operation is operation and stored.sequence == invite.sequence
            pending = InviteDelivery(
                appointment_id=invite.appointment_id,
                provider=target.provider,
                state=DeliveryState.PENDING,
                operation=operation,
                sequence=invite.sequence,
                invite=invite,
                updated_at=self._clock(),
                provider_event_id=stored.provider_event_id if stored else None,
                attempts=stored.attempts if stored and same_version else 0,
                last_error=stored.last_error if stored and same_version else None,
            )
            await self._repository.save(pending)
            return await self._attempt(target, pending)

    async def _attempt(self, target: CalendarTarget, delivery: InviteDelivery) -> InviteDelivery:
        attempts = delivery.attempts + 1
        try:
            event_id = await asyncio.wait_for(self._call(target, delivery), self._retry.call_timeout.total_seconds())
        except CredentialsRejected as exc:
            log.error(
                "calendar invite %s for appointment %s: %s credentials rejected (%s); "
                "fix the %s credentials, the invite will be retried",
                delivery.operation.value,
                delivery.appointment_id,
                target.provider,
                exc,
                target.provider,
            )
            return await self._failed(delivery, attempts, f"{CREDENTIALS_REJECTED}: {exc}", retry=True)
        except RequestRejected as exc:
            log.error(
                "calendar invite %s for appointment %s refused by %s: %s",
                delivery.operation.value,
                delivery.appointment_id,
                target.provider,
                exc,
            )
            return await self._failed(delivery, attempts, f"rejected: {exc}", retry=False)
        except (TransientCalendarError, TimeoutError) as exc:
            log.warning(
                "calendar invite %s for appointment %s at %s failed, will retry: %s",
                delivery.operation.value,
                delivery.appointment_id,
                target.provider,
                exc or "timed out",
            )
            return await self._failed(delivery, attempts, str(exc) or "timed out", retry=True)
        except Exception as exc:
            # A bug or an unclassified library error: record and retry it rather
            # than let one provider's surprise reach the booking's event handling.
            log.exception(
                "calendar invite %s for appointment %s at %s failed unexpectedly",
                delivery.operation.value,
                delivery.appointment_id,
                target.provider,
            )
            return await self._failed(delivery, attempts, f"{type(exc).__name__}: {exc}", retry=True)
        sent = replace(
            delivery,
            state=DeliveryState.SENT,
            provider_event_id=event_id,
            attempts=attempts,
            last_error=None,
            next_attempt_at=None,
            updated_at=self._clock(),
        )
        await self._repository.save(sent)
        return sent

    async def _call(self, target: CalendarTarget, delivery: InviteDelivery) -> str | None:
        invite, event_id = delivery.invite, delivery.provider_event_id
        if delivery.operation is Operation.CANCEL:
            if event_id is not None:
                await target.cancel(invite, event_id)
            return event_id
        if delivery.operation is Operation.UPDATE and event_id is not None:
            try:
                return await target.update(invite, event_id)
            except EventGone:
                log.info(
                    "event %s of appointment %s is gone at %s; creating it again",
                    event_id,
                    delivery.appointment_id,
                    target.provider,
                )
        return await target.create(invite)

    async def _failed(self, delivery: InviteDelivery, attempts: int, error: str, *, retry: bool) -> InviteDelivery:
        now = self._clock()
        failed = replace(
            delivery,
            state=DeliveryState.FAILED,
            attempts=attempts,
            last_error=error[:2000],
            next_attempt_at=self._retry.next_attempt(attempts, now) if retry else None,
            updated_at=now,
        )
        await self._repository.save(failed)
        return failed


def _by_provider(targets: Iterable[CalendarTarget]) -> dict[str, CalendarTarget]:
    out: dict[str, CalendarTarget] = {}
    for target in targets:
        if target.provider in out:
            raise ValueError(f"two calendar targets for provider {target.provider!r}")
        out[target.provider] = target
    return out
