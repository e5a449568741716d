"""Outlook invites: the real msgraph-sdk (kiota, azure auth provider) against a faked Graph transport."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from msgraph.generated.models.event import Event
from msgraph.generated.models.o_data_errors.o_data_error import ODataError

from domain.invites import DeliveryState, Operation
from integrations.dispatcher import InviteDispatcher, RetryPolicy
from integrations.microsoft_graph import GRAPH_SCOPE, MicrosoftGraphTarget, graph_client, graph_event
from tests.integrations import builders
from tests.integrations.fake_graph import FakeCredential, FakeGraph
from tests.integrations.fakes import FakeClock, InMemoryInviteRepository, credentials_rejected
from tests.integrations.graph_schema import model_fields

USER = "ana@shop.example"

# msgraph-sdk's generated request builders warn about their own deprecated classes.
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:msgraph"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:kiota_abstractions"),
]


@pytest.fixture
def graph() -> FakeGraph:
    return FakeGraph()


@pytest.fixture
def credential() -> FakeCredential:
    return FakeCredential()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def repo() -> InMemoryInviteRepository:
    return InMemoryInviteRepository()


@pytest.fixture
async def dispatcher(
    graph: FakeGraph, credential: FakeCredential, repo: InMemoryInviteRepository, clock: FakeClock
) -> AsyncIterator[InviteDispatcher]:
    async with httpx.AsyncClient(transport=graph.transport()) as http:
        target = MicrosoftGraphTarget(graph_client(credential, http))
        yield InviteDispatcher([target], repo, clock=clock, retry=RetryPolicy(base=timedelta(minutes=1)))


def _only_event(graph: FakeGraph) -> dict[str, Any]:
    [event] = graph.events.values()
    return event


async def test_scheduled_appointment_creates_event_in_technicians_outlook(
    dispatcher: InviteDispatcher, graph: FakeGraph, credential: FakeCredential
) -> None:
    inv = builders.invite()
    [delivery] = await dispatcher.dispatch(inv)

    assert delivery.state is DeliveryState.SENT
    [(user, event_id)] = graph.events
    assert user == USER and delivery.provider_event_id == event_id
    event = graph.events[(user, event_id)]
    assert event["subject"] == "Engine repair — vehicle V001"
    assert event["start"] == {"dateTime": "2026-02-02T09:00:00", "timeZone": "Europe/Berlin"}
    assert event["end"] == {"dateTime": "2026-02-02T12:00:00", "timeZone": "Europe/Berlin"}
    assert event["location"]["displayName"] == "Mitte Service Center, Invalidenstraße 1, 10115 Berlin"
    assert event["body"] == {"contentType": "text", "content": inv.description}
    assert event["transactionId"] == inv.uid
    assert credential.scopes == [(GRAPH_SCOPE,)]


async def test_reschedule_patches_the_same_outlook_event(dispatcher: InviteDispatcher, graph: FakeGraph) -> None:
    inv = builders.invite()
    [created] = await dispatcher.dispatch(inv)

    [moved] = await dispatcher.dispatch(builders.rescheduled(inv, timedelta(hours=4)))

    assert moved.operation is Operation.UPDATE and moved.state is DeliveryState.SENT
    assert moved.provider_event_id == created.provider_event_id
    assert graph.calls("POST") == 1 and graph.calls("PATCH") == 1
    assert _only_event(graph)["start"]["dateTime"] == "2026-02-02T13:00:00"


async def test_cancellation_deletes_the_outlook_event(dispatcher: InviteDispatcher, graph: FakeGraph) -> None:
    inv = builders.invite()
    await dispatcher.dispatch(inv)

    [delivery] = await dispatcher.dispatch(builders.cancelled(inv))

    assert delivery.operation is Operation.CANCEL and delivery.state is DeliveryState.SENT
    assert graph.events == {}
    # a second copy of the cancellation asks Graph nothing more
    assert await dispatcher.dispatch(builders.cancelled(inv)) == []
    assert graph.calls("DELETE") == 1


async def test_same_event_delivered_twice_creates_one_outlook_event(
    dispatcher: InviteDispatcher, graph: FakeGraph
) -> None:
    inv = builders.invite()
    first = await dispatcher.dispatch(inv)
    second = await dispatcher.dispatch(inv)

    assert len(first) == 1 and second == []
    assert graph.calls("POST") == 1 and len(graph.events) == 1


async def test_expired_token_marks_failed_then_retry_succeeds(
    dispatcher: InviteDispatcher,
    graph: FakeGraph,
    repo: InMemoryInviteRepository,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    graph.expired_token = True
    inv = builders.invite()

    [failed] = await dispatcher.dispatch(inv)

    assert failed.state is DeliveryState.FAILED and credentials_rejected(failed)
    assert failed.last_error is not None and "401" in failed.last_error
    assert failed.next_attempt_at == clock.now + timedelta(minutes=1)
    assert "credentials rejected" in caplog.text and "microsoft" in caplog.text

    graph.expired_token = False
    clock.advance(timedelta(minutes=1))
    [sent] = await dispatcher.retry_due()

    assert sent.state is DeliveryState.SENT and sent.attempts == 2
    assert (await repo.get(inv.appointment_id, "microsoft")) == sent
    assert len(graph.events) == 1


async def test_revoked_client_secret_is_reported_as_credentials_rejected(
    dispatcher: InviteDispatcher, graph: FakeGraph, credential: FakeCredential
) -> None:
    credential.revoked = True

    [failed] = await dispatcher.dispatch(builders.invite())

    assert credentials_rejected(failed) and "AADSTS7000222" in (failed.last_error or "")
    assert failed.next_attempt_at is not None
    assert graph.requests == []  # nothing went to Graph without a token


async def test_repeated_wall_time_goes_to_graph_in_utc(dispatcher: InviteDispatcher, graph: FakeGraph) -> None:
    """01:30 happens twice in New York on 2026-11-01; the second one is sent as UTC, not ambiguous."""
    second_0130 = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST
    inv = builders.invite(start=second_0130 - timedelta(hours=1))
    ny = ZoneInfo("America/New_York")
    inv = replace(inv, start=inv.start.astimezone(ny), end=second_0130.astimezone(ny), timezone="America/New_York")

    await dispatcher.dispatch(inv)

    event = _only_event(graph)
    assert event["start"] == {"dateTime": "2026-11-01T01:30:00", "timeZone": "America/New_York"}
    assert event["end"] == {"dateTime": "2026-11-01T06:30:00", "timeZone": "UTC"}


async def test_shop_zone_unknown_to_graph_is_sent_in_utc(dispatcher: InviteDispatcher, graph: FakeGraph) -> None:
    amsterdam = ZoneInfo("Europe/Amsterdam")
    inv = builders.invite()
    inv = replace(
        inv, start=inv.start.astimezone(amsterdam), end=inv.end.astimezone(amsterdam), timezone="Europe/Amsterdam"
    )

    [delivery] = await dispatcher.dispatch(inv)

    assert delivery.state is DeliveryState.SENT
    event = _only_event(graph)
    assert event["start"] == {"dateTime": "2026-02-02T08:00:00", "timeZone": "UTC"}
    assert event["end"] == {"dateTime": "2026-02-02T11:00:00", "timeZone": "UTC"}


async def test_graph_error_code_is_kept_in_last_error(dispatcher: InviteDispatcher, graph: FakeGraph) -> None:
    graph.expired_token = True
    [failed] = await dispatcher.dispatch(builders.invite())
    assert "InvalidAuthenticationToken" in (failed.last_error or "")


async def test_reschedule_patch_carries_only_graph_property_names(
    dispatcher: InviteDispatcher, graph: FakeGraph
) -> None:
    """The PATCH goes through the real msgraph client to a fake that refuses what Outlook refuses."""
    inv = builders.invite()
    await dispatcher.dispatch(inv)

    [moved] = await dispatcher.dispatch(builders.rescheduled(inv, timedelta(hours=4)))

    assert moved.state is DeliveryState.SENT, moved.last_error
    [patch] = [r for r in graph.requests if r.method == "PATCH"]
    sent = json.loads(patch.content)
    _, event_fields = model_fields(Event)
    assert set(sent) <= set(event_fields)
    assert "transactionId" not in sent  # a create-only key, and never under its Python name
    assert _only_event(graph)["transactionId"] == inv.uid  # kept from the create


async def test_graph_refuses_an_event_property_the_model_lacks_through_the_real_client(
    graph: FakeGraph, credential: FakeCredential
) -> None:
    # kiota writes additional_data keys verbatim, so this is how a stray name reaches the wire.
    event = graph_event(builders.invite())
    event.additional_data = {"transaction_id": None}
    async with httpx.AsyncClient(transport=graph.transport()) as http:
        events = graph_client(credential, http).users.by_user_id(USER).events
        with pytest.raises(ODataError) as refused:
            await events.post(event)

    assert refused.value.response_status_code == 400
    error = refused.value.error
    assert error is not None and error.code == "RequestBodyRead"
    assert "'transaction_id' does not exist on type 'microsoft.graph.event'" in error.message
    assert graph.events == {}


def _raw(graph: FakeGraph, method: str, path: str, body: Any) -> httpx.Response:
    request = httpx.Request(
        method,
        f"https://graph.microsoft.com/v1.0/users/{USER}/{path}",
        json=body,
        headers={"Authorization": "Bearer x"},
    )
    return graph.handle(request)


START = {"dateTime": "2026-02-02T09:00:00", "timeZone": "Europe/Berlin"}


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ({"subject": "x", "colour": "red"}, "The property 'colour' does not exist on type 'microsoft.graph.event'"),
        (
            {"start": {"date_time": "2026-02-02T09:00:00"}},
            "'date_time' does not exist on type 'microsoft.graph.dateTimeTimeZone'",
        ),
        ({"body": {"contentType": "text", "text": "x"}}, "'text' does not exist on type 'microsoft.graph.itemBody'"),
        ({"location": {"name": "Bay 1"}}, "'name' does not exist on type 'microsoft.graph.location'"),
        (
            {"attendees": [{"emailAddress": {"address": "a@b.example", "email": "a@b.example"}}]},
            "'email' does not exist on type 'microsoft.graph.emailAddress'",
        ),
        ({"isAllDay": "yes"}, "Cannot convert the literal 'yes' to the expected type 'Edm.Boolean'"),
        ({"reminderMinutesBeforeStart": "15"}, "to the expected type 'Edm.Int32'"),
        ({"showAs": "maybe"}, "to the expected type 'microsoft.graph.freeBusyStatus'"),
        ({"start": "2026-02-02T09:00:00"}, "A 'StartObject' node was expected"),
        ({"categories": "Service"}, "a collection was expected"),
    ],
)
def test_fake_graph_refuses_what_the_sdk_event_model_does_not_declare(
    graph: FakeGraph, body: dict[str, Any], said: str
) -> None:
    created = _raw(graph, "POST", "events", {"subject": "Oil change", "start": START, "end": START}).json()

    for method, path in (("POST", "events"), ("PATCH", f"events/{created['id']}")):
        answer = _raw(graph, method, path, body)
        assert answer.status_code == 400
        error = answer.json()["error"]
        assert error["code"] == "RequestBodyRead" and said in error["message"]
    assert len(graph.events) == 1 and _only_event(graph)["subject"] == "Oil change"


def test_fake_graph_accepts_what_the_sdk_event_model_declares(graph: FakeGraph) -> None:
    body = {
        "@odata.type": "#microsoft.graph.event",
        "subject": "Oil change",
        "start": START,
        "end": START,
        "showAs": "Tentative",  # Graph reads enum members in any case
        "isAllDay": False,
        "categories": ["Service"],
        "reminderMinutesBeforeStart": 15,
        "attendees": [{"type": "required", "emailAddress": {"address": "a@b.example", "name": "A"}}],
        "location": {"@odata.type": "#microsoft.graph.locationConstraintItem", "resolveAvailability": True},
        "body": None,  # null clears a property
    }
    assert _raw(graph, "POST", "events", body).status_code == 201


def test_fake_graph_knows_event_properties_from_the_sdk_not_from_a_list() -> None:
    type_name, fields = model_fields(Event)
    assert type_name == "microsoft.graph.event"
    assert set(fields) == set(Event().get_field_deserializers())
    assert {"transactionId", "iCalUId", "showAs", "start"} <= set(fields)
    assert "transaction_id" not in fields
