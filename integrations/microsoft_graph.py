"""Microsoft Graph target: events on the technician's Outlook calendar through msgraph-sdk.

Authenticates as an application (client credentials: tenant, client id and
secret through azure-identity) and writes ``/users/{technician email}/events``.
The app registration needs the *application* permission ``Calendars.ReadWrite``
with admin consent; an Exchange application access policy can restrict it to
the technicians' mailboxes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

import httpx
from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError
from kiota_abstractions.api_error import APIError
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from kiota_http.middleware.options import RetryHandlerOption
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.event import Event
from msgraph.generated.models.free_busy_status import FreeBusyStatus
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.location import Location
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph.graph_request_adapter import options as graph_default_options
from msgraph.graph_service_client import GraphServiceClient
from msgraph_core import GraphClientFactory

from domain.invites import Invite, InviteStatus
from integrations.calendar_target import (
    CalendarError,
    CredentialsRejected,
    EventGone,
    RequestRejected,
    TransientCalendarError,
)
from integrations.invite import repeated_wall_time

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
GRAPH_BASE_URL = "https://graph.microsoft.com/v1.0"

T = TypeVar("T")


def graph_client(credential: AsyncTokenCredential, http_client: httpx.AsyncClient | None = None) -> GraphServiceClient:
    """A GraphServiceClient on ``credential``; ``http_client`` lets tests put a fake transport under it.

    The SDK's own retry middleware is switched off: the invite dispatcher owns
    retries and their backoff, and the middleware would sleep inside a call.
    """
    client = http_client or httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0))
    if not client.base_url:
        client.base_url = httpx.URL(GRAPH_BASE_URL)
    options = {
        **graph_default_options,
        RetryHandlerOption.get_key(): RetryHandlerOption(max_retries=0, should_retry=False),
    }
    client = GraphClientFactory.create_with_default_middleware(client=client, options=options)
    auth = AzureIdentityAuthenticationProvider(credential, scopes=[GRAPH_SCOPE])
    return GraphServiceClient(request_adapter=GraphRequestAdapter(auth, client=client))


def _wall_time(moment: datetime, timezone: str) -> DateTimeTimeZone:
    # Graph takes a local wall-clock time plus a zone name (IANA names are accepted),
    # which keeps the shop's local time on DST days; a repeated wall time goes as UTC.
    if repeated_wall_time(moment):
        moment, timezone = moment.astimezone(UTC), "UTC"
    return DateTimeTimeZone(date_time=moment.strftime("%Y-%m-%dT%H:%M:%S"), time_zone=timezone)


def graph_event(invite: Invite, *, in_utc: bool = False, transaction_id: str | None = None) -> Event:
    """The Graph event for an invite; ``in_utc`` for a shop zone Graph does not know.

    ``transaction_id`` is Graph's idempotency key for a create (a retried POST
    returns the first event); leave it out of a PATCH. It is passed in rather
    than cleared afterwards because kiota's backing store sends a property
    reset to None as ``"transaction_id": null`` (its Python name), which Graph
    refuses as an unknown property.
    """
    start, end, zone = invite.start, invite.end, invite.timezone
    if in_utc:
        start, end, zone = start.astimezone(UTC), end.astimezone(UTC), "UTC"
    return Event(
        subject=invite.summary,
        body=ItemBody(content_type=BodyType.Text, content=invite.description),
        start=_wall_time(start, zone),
        end=_wall_time(end, zone),
        location=Location(display_name=invite.location),
        show_as=FreeBusyStatus.Tentative if invite.status is InviteStatus.TENTATIVE else FreeBusyStatus.Busy,
        transaction_id=transaction_id,
    )


def classify_graph_error(exc: Exception) -> CalendarError | None:
    """The calendar error an msgraph / azure-identity exception means; None if it is not one of theirs."""
    if isinstance(exc, ClientAuthenticationError):
        return CredentialsRejected(f"Microsoft identity platform refused the client credentials: {exc}")
    if isinstance(exc, APIError):
        status = exc.response_status_code or 0
        odata = getattr(exc, "error", None)  # ODataError carries Graph's error code and message
        said = f"{odata.code}: {odata.message}" if odata is not None else (exc.message or str(exc))
        detail = f"Microsoft Graph answered {status}: {said}"
        if status == 401:
            return CredentialsRejected(detail, status=status)
        if status == 403:
            return CredentialsRejected(
                f"{detail} (does the app have Calendars.ReadWrite with admin consent?)", status=status
            )
        if status in (404, 410):
            return EventGone(detail, status=status)
        if status == 429 or status >= 500:
            return TransientCalendarError(detail, status=status)
        return RequestRejected(detail, status=status)
    if isinstance(exc, httpx.TransportError | ServiceRequestError | OSError):
        return TransientCalendarError(f"cannot reach Microsoft Graph: {exc}")
    return None


class MicrosoftGraphTarget:
    """Puts invites on technicians' Outlook calendars (``/users/{email}/events``)."""

    provider = "microsoft"

    def __init__(self, client: GraphServiceClient) -> None:
        self._client = client

    def accepts(self, invite: Invite) -> bool:
        return bool(invite.attendee_email)

    async def create(self, invite: Invite) -> str:
        events = self._client.users.by_user_id(self._user(invite)).events
        created = await self._with_zone_fallback(
            lambda utc: events.post(graph_event(invite, in_utc=utc, transaction_id=invite.uid))
        )
        if created is None or not created.id:
            raise TransientCalendarError("Microsoft Graph created an event but returned no id")
        return created.id

    async def update(self, invite: Invite, provider_event_id: str) -> str:
        event = self._client.users.by_user_id(self._user(invite)).events.by_event_id(provider_event_id)
        # No transaction_id: it is a create-only key (see graph_event).
        updated = await self._with_zone_fallback(lambda utc: event.patch(graph_event(invite, in_utc=utc)))
        return (updated.id if updated is not None and updated.id else None) or provider_event_id

    async def cancel(self, invite: Invite, provider_event_id: str) -> None:
        event = self._client.users.by_user_id(self._user(invite)).events.by_event_id(provider_event_id)
        try:
            await self._call(event.delete)
        except EventGone:
            return

    async def _with_zone_fallback(self, request: Callable[[bool], Awaitable[Event | None]]) -> Event | None:
        # Graph accepts Windows zone names and only a subset of IANA names; for
        # a shop zone outside it, the same instants sent in UTC still land right.
        try:
            return await self._call(lambda: request(False))
        except RequestRejected as exc:
            if exc.status != 400 or "timezone" not in str(exc).lower():
                raise
        return await self._call(lambda: request(True))

    @staticmethod
    def _user(invite: Invite) -> str:
        if not invite.attendee_email:
            raise RequestRejected("the technician has no email, so no Outlook calendar")
        return invite.attendee_email

    @staticmethod
    async def _call(request: Callable[[], Awaitable[T]]) -> T:
        try:
            return await request()
        except Exception as exc:
            error = classify_graph_error(exc)
            if error is None:
                raise
            raise error from exc
