"""Google Calendar invites: the real google-auth and API client against a faked Google HTTP side."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from google.oauth2 import service_account

from integrations.delivery import DeliveryState, Operation
from integrations.dispatcher import InviteDispatcher, RetryPolicy
from integrations.google_calendar import (
    CALENDAR_EVENTS_SCOPE,
    GoogleCalendarTarget,
    google_event_id,
    service_account_credentials,
)
from tests.integrations import builders
from tests.integrations.fake_google import FakeGoogle, service_account_info
from tests.integrations.fakes import FakeClock, InMemoryInviteRepository

CAL = "ana@shop.example"


@pytest.fixture(scope="module")
def key_info() -> dict[str, str]:
    return service_account_info()


@pytest.fixture
def google() -> FakeGoogle:
    return FakeGoogle()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def repo() -> InMemoryInviteRepository:
    return InMemoryInviteRepository()


@pytest.fixture
def dispatcher(
    google: FakeGoogle, key_info: dict[str, str], repo: InMemoryInviteRepository, clock: FakeClock
) -> InviteDispatcher:
    credentials = service_account_credentials(credentials_json=json.dumps(key_info))
    target = GoogleCalendarTarget(credentials, http_factory=google.http)
    return InviteDispatcher([target], repo, clock=clock, retry=RetryPolicy(base=timedelta(minutes=1)))


def _event(google: FakeGoogle, inv: Any) -> dict[str, Any]:
    return google.events[(CAL, google_event_id(inv.uid))]


async def test_scheduled_appointment_creates_event_on_technicians_calendar(
    dispatcher: InviteDispatcher, google: FakeGoogle, repo: InMemoryInviteRepository
) -> None:
    inv = builders.invite()
    [delivery] = await dispatcher.dispatch(inv)

    assert delivery.state is DeliveryState.SENT
    assert delivery.provider_event_id == google_event_id(inv.uid)
    event = _event(google, inv)
    assert event["summary"] == "Engine repair — vehicle V001"
    assert event["start"] == {"dateTime": "2026-02-02T09:00:00+01:00", "timeZone": "Europe/Berlin"}
    assert event["end"] == {"dateTime": "2026-02-02T12:00:00+01:00", "timeZone": "Europe/Berlin"}
    assert event["location"] == "Mitte Service Center, Invalidenstraße 1, 10115 Berlin"
    assert (await repo.get(inv.appointment_id, "google")) == delivery


async def test_reschedule_patches_the_same_event(dispatcher: InviteDispatcher, google: FakeGoogle) -> None:
    inv = builders.invite()
    await dispatcher.dispatch(inv)
    moved = builders.rescheduled(inv, timedelta(days=2))

    [delivery] = await dispatcher.dispatch(moved)

    assert delivery.operation is Operation.UPDATE and delivery.state is DeliveryState.SENT
    assert delivery.sequence == 1
    assert google.calls("POST") == 1 and google.calls("PATCH") == 1
    assert _event(google, inv)["start"]["dateTime"] == "2026-02-04T09:00:00+01:00"


async def test_cancellation_deletes_the_event(dispatcher: InviteDispatcher, google: FakeGoogle) -> None:
    inv = builders.invite()
    await dispatcher.dispatch(inv)

    [delivery] = await dispatcher.dispatch(builders.cancelled(inv))

    assert delivery.operation is Operation.CANCEL and delivery.state is DeliveryState.SENT
    assert google.calls("DELETE") == 1
    assert _event(google, inv)["status"] == "cancelled"


async def test_same_event_delivered_twice_creates_one_google_event(
    dispatcher: InviteDispatcher, google: FakeGoogle
) -> None:
    inv = builders.invite()
    await dispatcher.dispatch(inv)
    again = await dispatcher.dispatch(inv)

    assert again == []
    assert google.calls("POST") == 1
    assert len(google.events) == 1


async def test_insert_repeated_after_lost_answer_reuses_the_event(
    key_info: dict[str, str], google: FakeGoogle, clock: FakeClock
) -> None:
    """A create that reached Google but whose state was never stored (crash) makes no second event."""
    inv = builders.invite()
    credentials = service_account_credentials(credentials_json=json.dumps(key_info))
    target = GoogleCalendarTarget(credentials, http_factory=google.http)
    await target.create(inv)

    fresh_state = InviteDispatcher([target], InMemoryInviteRepository(), clock=clock)
    [delivery] = await fresh_state.dispatch(inv)

    assert delivery.state is DeliveryState.SENT
    assert len(google.events) == 1
    assert google.calls("PATCH") == 1  # Google said 409, so the event was brought up to date instead


async def test_revoked_key_marks_invite_failed_and_it_is_retried(
    dispatcher: InviteDispatcher,
    google: FakeGoogle,
    repo: InMemoryInviteRepository,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    google.revoked = True
    inv = builders.invite()

    [failed] = await dispatcher.dispatch(inv)  # does not raise: the booking stands

    assert failed.state is DeliveryState.FAILED
    assert failed.last_error is not None and failed.last_error.startswith("credentials rejected")
    assert failed.credentials_rejected
    assert failed.next_attempt_at == clock.now + timedelta(minutes=1)
    assert "credentials rejected" in caplog.text and "google" in caplog.text
    assert google.events == {}

    google.revoked = False
    assert await dispatcher.retry_due() == []  # not due yet
    clock.advance(timedelta(minutes=1))
    [retried] = await dispatcher.retry_due()

    assert retried.state is DeliveryState.SENT and retried.attempts == 2
    assert (await repo.get(inv.appointment_id, "google")) == retried
    assert len(google.events) == 1


async def test_expired_token_401_marks_failed_with_backoff_then_succeeds(
    dispatcher: InviteDispatcher, google: FakeGoogle, clock: FakeClock
) -> None:
    google.reject_tokens = True
    inv = builders.invite()

    [first] = await dispatcher.dispatch(inv)
    clock.advance(timedelta(minutes=1))
    [second] = await dispatcher.retry_due()

    assert first.last_error is not None and "401" in first.last_error
    assert second.state is DeliveryState.FAILED and second.credentials_rejected
    # exponential: the second failure waits twice as long as the first
    assert second.next_attempt_at == clock.now + timedelta(minutes=2)

    google.reject_tokens = False
    clock.advance(timedelta(minutes=2))
    [third] = await dispatcher.retry_due()
    assert third.state is DeliveryState.SENT and third.attempts == 3


async def test_event_deleted_in_google_is_recreated_on_reschedule(
    dispatcher: InviteDispatcher, google: FakeGoogle
) -> None:
    inv = builders.invite()
    await dispatcher.dispatch(inv)
    google.events.clear()  # someone removed it at Google

    [delivery] = await dispatcher.dispatch(builders.rescheduled(inv))

    assert delivery.state is DeliveryState.SENT
    assert len(google.events) == 1


def test_credentials_ask_for_calendar_events_scope_only(key_info: dict[str, str], tmp_path: Any) -> None:
    key_file = tmp_path / "key.json"
    key_file.write_text(json.dumps(key_info))
    for credentials in (
        service_account_credentials(credentials_file=key_file),
        service_account_credentials(credentials_json=json.dumps(key_info)),
    ):
        assert isinstance(credentials, service_account.Credentials)
        assert credentials.scopes == [CALENDAR_EVENTS_SCOPE]


def test_google_event_id_uses_only_base32hex_characters() -> None:
    event_id = google_event_id("3f2c9a4e-0000-4bde-9a61-2f1e0c1d9b77@scheduling-service")
    assert set(event_id) <= set("0123456789abcdefghijklmnopqrstuv")
    assert 5 <= len(event_id) <= 1024
