"""Google Calendar invites: the real google-auth and API client against a faked Google HTTP side."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from google.oauth2 import service_account
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from domain.invites import DeliveryState, Operation
from integrations.dispatcher import InviteDispatcher, RetryPolicy
from integrations.google_calendar import (
    CALENDAR_EVENTS_SCOPE,
    GoogleCalendarTarget,
    google_event_id,
    service_account_credentials,
)
from tests.integrations import builders
from tests.integrations.fake_google import FakeGoogle, service_account_info
from tests.integrations.fakes import FakeClock, InMemoryInviteRepository, credentials_rejected
from tests.integrations.google_discovery import calendar_discovery, request_schema

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
    assert credentials_rejected(failed)
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
    assert second.state is DeliveryState.FAILED and credentials_rejected(second)
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


# FakeGoogle is as strict as Google: bodies are checked against the Calendar v3
# discovery document shipped with google-api-python-client, so a body our target
# could not send to Google cannot pass here either.


def _raw_events(google: FakeGoogle, key_info: dict[str, str]) -> Any:
    """The real API client's events resource on the fake, for bodies our target would never build."""
    credentials = service_account_credentials(credentials_json=json.dumps(key_info))
    http = AuthorizedHttp(credentials, http=google.http())
    return build("calendar", "v3", http=http, static_discovery=True, cache_discovery=False).events()


VALID = {
    "summary": "Oil change",
    "start": {"dateTime": "2026-02-02T09:00:00+01:00", "timeZone": "Europe/Berlin"},
    "end": {"dateTime": "2026-02-02T10:00:00+01:00", "timeZone": "Europe/Berlin"},
}


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ({**VALID, "colour": "red"}, "Unknown name \"colour\" at 'resource'"),
        (
            {**VALID, "start": {"date_time": "2026-02-02T09:00:00+01:00"}},
            "Unknown name \"date_time\" at 'resource.start'",
        ),
        ({**VALID, "attendees": [{"email": "a@b.example", "name": "A"}]}, "at 'resource.attendees[0]'"),
        ({**VALID, "sequence": "one"}, "'resource.sequence' (TYPE_INT32)"),
        ({**VALID, "guestsCanModify": "yes"}, "'resource.guestsCanModify' (TYPE_BOOL)"),
        (
            {**VALID, "start": "2026-02-02T09:00:00+01:00"},
            "'resource.start' (type.googleapis.com/calendar.EventDateTime)",
        ),
        ({**VALID, "start": {"dateTime": "tomorrow at nine"}}, "'resource.start.dateTime' (TYPE_STRING)"),
        ({**VALID, "attendees": {"email": "a@b.example"}}, "'resource.attendees' (TYPE_LIST)"),
        ({**VALID, "extendedProperties": {"private": {"appointment_id": 7}}}, "'resource.extendedProperties.private"),
    ],
)
def test_fake_google_refuses_a_body_the_discovery_document_does_not_allow(
    google: FakeGoogle, key_info: dict[str, str], body: dict[str, Any], said: str
) -> None:
    with pytest.raises(HttpError) as refused:
        _raw_events(google, key_info).insert(calendarId=CAL, body=body).execute(num_retries=0)

    assert refused.value.resp.status == 400
    error = json.loads(refused.value.content)["error"]
    assert error["status"] == "INVALID_ARGUMENT" and error["errors"][0]["reason"] == "invalid"
    assert said in error["message"]
    assert google.events == {}


def test_fake_google_accepts_what_the_discovery_document_allows(google: FakeGoogle, key_info: dict[str, str]) -> None:
    body = {
        **VALID,
        "sequence": 3,
        "guestsCanModify": False,
        "attendees": [{"email": "a@b.example", "displayName": "A", "optional": True}],
        "reminders": {"useDefault": False, "overrides": [{"method": "popup", "minutes": 30}]},
        "extendedProperties": {"private": {"appointment_id": "appt-1"}},
        "description": None,  # a patch or insert may clear a field with null
    }
    created = _raw_events(google, key_info).insert(calendarId=CAL, body=body).execute(num_retries=0)
    assert created["summary"] == "Oil change"


def test_fake_google_checks_against_the_document_shipped_with_the_client() -> None:
    import googleapiclient

    document = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / "calendar.v3.json"
    assert calendar_discovery() == json.loads(document.read_text(encoding="utf-8"))
    assert request_schema("insert") == request_schema("patch") == "Event"
