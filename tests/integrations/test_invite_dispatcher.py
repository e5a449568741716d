"""The dispatcher's reconciling, retry and reporting rules, on a scripted target of our own port."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from domain.events import EventType
from domain.invites import DeliveryState, Invite, Operation
from integrations.calendar_target import CalendarError, EventGone, RequestRejected, TransientCalendarError
from integrations.dispatcher import InviteDispatcher, RetryPolicy
from tests.integrations import builders
from tests.integrations.fakes import FakeClock, InMemoryInviteRepository


class ScriptedTarget:
    """Records calls; raises the queued errors first."""

    provider = "scripted"

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []
        self.errors: list[Exception] = []
        self.created = 0

    def accepts(self, invite: Invite) -> bool:
        return bool(invite.attendee_email)

    def _maybe_fail(self) -> None:
        if self.errors:
            raise self.errors.pop(0)

    async def create(self, invite: Invite) -> str:
        self.calls.append(("create", invite.sequence))
        await asyncio.sleep(0)  # a provider call suspends: let a concurrent delivery run meanwhile
        self._maybe_fail()
        self.created += 1
        return f"evt-{self.created}"

    async def update(self, invite: Invite, provider_event_id: str) -> str:
        self.calls.append(("update", invite.sequence))
        self._maybe_fail()
        return provider_event_id

    async def cancel(self, invite: Invite, provider_event_id: str) -> None:
        self.calls.append(("cancel", invite.sequence))
        self._maybe_fail()


@pytest.fixture
def target() -> ScriptedTarget:
    return ScriptedTarget()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def dispatcher(target: ScriptedTarget, clock: FakeClock) -> InviteDispatcher:
    policy = RetryPolicy(base=timedelta(seconds=10), factor=2, max_delay=timedelta(seconds=60), max_attempts=4)
    return InviteDispatcher([target], InMemoryInviteRepository(), retry=policy, clock=clock)


def test_only_appointment_change_events_drive_invites() -> None:
    assert InviteDispatcher.handles(EventType.APPOINTMENT_SCHEDULED)
    assert InviteDispatcher.handles(EventType.APPOINTMENT_RESCHEDULED)
    assert InviteDispatcher.handles(EventType.APPOINTMENT_CANCELLED)
    assert not InviteDispatcher.handles(EventType.TECHNICIAN_ASSIGNED)


async def test_out_of_order_older_version_is_ignored(dispatcher: InviteDispatcher, target: ScriptedTarget) -> None:
    inv = builders.invite()
    await dispatcher.dispatch(inv)
    await dispatcher.dispatch(builders.rescheduled(inv))

    assert await dispatcher.dispatch(inv) == []  # the late "scheduled" event
    assert target.calls == [("create", 0), ("update", 1)]


async def test_scheduled_arriving_after_cancelled_creates_nothing(
    dispatcher: InviteDispatcher, target: ScriptedTarget
) -> None:
    inv = builders.invite()
    [cancel] = await dispatcher.dispatch(builders.cancelled(inv))
    assert cancel.operation is Operation.CANCEL and cancel.state is DeliveryState.SENT

    assert await dispatcher.dispatch(inv) == []
    assert target.calls == []  # nothing existed, nothing to delete, nothing created


async def test_backoff_doubles_up_to_the_cap_then_gives_up(
    dispatcher: InviteDispatcher, target: ScriptedTarget, clock: FakeClock
) -> None:
    target.errors = [TransientCalendarError("503") for _ in range(4)]
    [d] = await dispatcher.dispatch(builders.invite())
    waits = []
    while d.next_attempt_at is not None:
        waits.append(d.next_attempt_at - clock.now)
        clock.now = d.next_attempt_at
        [d] = await dispatcher.retry_due()

    assert waits == [timedelta(seconds=10), timedelta(seconds=20), timedelta(seconds=40)]
    assert d.state is DeliveryState.FAILED and d.attempts == 4 and d.next_attempt_at is None
    assert d.last_error == "503"


async def test_rejected_request_is_not_retried(dispatcher: InviteDispatcher, target: ScriptedTarget) -> None:
    target.errors = [RequestRejected("400 bad timeZone")]
    [d] = await dispatcher.dispatch(builders.invite())

    assert d.state is DeliveryState.FAILED and d.next_attempt_at is None
    assert d.last_error == "rejected: 400 bad timeZone"


async def test_unexpected_error_is_recorded_and_retried_not_raised(
    dispatcher: InviteDispatcher, target: ScriptedTarget
) -> None:
    target.errors = [KeyError("surprise")]
    [d] = await dispatcher.dispatch(builders.invite())

    assert d.state is DeliveryState.FAILED and d.next_attempt_at is not None
    assert d.last_error is not None and "KeyError" in d.last_error


async def test_redelivered_event_retries_a_failed_delivery_now(
    dispatcher: InviteDispatcher, target: ScriptedTarget
) -> None:
    inv = builders.invite()
    target.errors = [TransientCalendarError("timeout")]
    await dispatcher.dispatch(inv)

    [d] = await dispatcher.dispatch(inv)

    assert d.state is DeliveryState.SENT and d.attempts == 2
    assert target.calls == [("create", 0), ("create", 0)]


async def test_reschedule_while_create_is_failing_creates_the_new_version(
    dispatcher: InviteDispatcher, target: ScriptedTarget
) -> None:
    inv = builders.invite()
    target.errors = [TransientCalendarError("timeout")]
    await dispatcher.dispatch(inv)

    [d] = await dispatcher.dispatch(builders.rescheduled(inv))

    assert d.operation is Operation.CREATE and d.sequence == 1 and d.attempts == 1
    assert target.calls == [("create", 0), ("create", 1)]


async def test_update_of_a_vanished_event_creates_it_again(
    dispatcher: InviteDispatcher, target: ScriptedTarget
) -> None:
    inv = builders.invite()
    await dispatcher.dispatch(inv)
    target.errors = [EventGone("404")]

    [d] = await dispatcher.dispatch(builders.rescheduled(inv))

    assert d.state is DeliveryState.SENT and d.provider_event_id == "evt-2"
    assert target.calls == [("create", 0), ("update", 1), ("create", 1)]


async def test_technician_without_email_gets_no_calendar_invite(
    dispatcher: InviteDispatcher, target: ScriptedTarget
) -> None:
    assert await dispatcher.dispatch(builders.invite(attendee_email=None)) == []
    assert target.calls == []


async def test_deliveries_are_readable_per_appointment(dispatcher: InviteDispatcher) -> None:
    inv = builders.invite()
    await dispatcher.dispatch(inv)

    [d] = await dispatcher.deliveries(inv.appointment_id)
    assert (d.provider, d.state, d.provider_event_id) == ("scripted", DeliveryState.SENT, "evt-1")


def test_calendar_errors_carry_the_providers_status() -> None:
    assert CalendarError("x", status=409).status == 409
    assert TransientCalendarError("x").status is None


async def test_two_copies_of_one_event_at_once_create_one_provider_event(
    dispatcher: InviteDispatcher, target: ScriptedTarget
) -> None:
    inv = builders.invite()
    results = await asyncio.gather(dispatcher.dispatch(inv), dispatcher.dispatch(inv))

    assert sorted(len(r) for r in results) == [0, 1]
    assert target.calls == [("create", 0)]
