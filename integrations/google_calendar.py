"""Google Calendar target: events on the technician's calendar through google-api-python-client.

The client library is synchronous (httplib2), so every call runs in a worker
thread and never blocks an event loop. The technician's calendar id is their
email; the service account must be allowed to change events on it (the
calendar shared with the service account's address, "Make changes to events").
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httplib2
from google.auth.credentials import Credentials
from google.auth.exceptions import RefreshError, TransportError
from google.oauth2 import service_account
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from domain.invites import Invite, InviteStatus
from integrations.calendar_target import (
    CalendarError,
    CredentialsRejected,
    EventGone,
    RequestRejected,
    TransientCalendarError,
)

CALENDAR_EVENTS_SCOPE = "https://www.googleapis.com/auth/calendar.events"
"""The only scope asked for: events, not calendars or settings."""

# Google answers 403 for quota trouble too; those reasons pass with time.
_THROTTLED_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"})


def google_event_id(uid: str) -> str:
    """A Google event id derived from the invite's UID (base32hex, as Google requires).

    Because the id is ours, a repeated insert of the same appointment is
    refused by Google with 409 instead of creating a second event.
    """
    return base64.b32hexencode(uid.encode()).decode().rstrip("=").lower()


def service_account_credentials(
    *, credentials_file: Path | None = None, credentials_json: str | None = None
) -> Credentials:
    """Service-account credentials, scoped to calendar events, from a key file or its JSON text."""
    if credentials_json:
        info = json.loads(credentials_json)
        return service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call,no-any-return]
            info, scopes=[CALENDAR_EVENTS_SCOPE]
        )
    if credentials_file:
        return service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call,no-any-return]
            str(credentials_file), scopes=[CALENDAR_EVENTS_SCOPE]
        )
    raise ValueError("Google Calendar needs a credentials file or credentials JSON")


def _event_body(invite: Invite) -> dict[str, Any]:
    return {
        "summary": invite.summary,
        "description": invite.description,
        "location": invite.location,
        "start": {"dateTime": invite.start.isoformat(), "timeZone": invite.timezone},
        "end": {"dateTime": invite.end.isoformat(), "timeZone": invite.timezone},
        "status": "tentative" if invite.status is InviteStatus.TENTATIVE else "confirmed",
        "extendedProperties": {"private": {"appointment_id": invite.appointment_id}},
    }


def _error_reason(exc: HttpError) -> str:
    try:
        doc = json.loads(exc.content)
        return str(doc["error"]["errors"][0]["reason"])
    except (ValueError, KeyError, IndexError, TypeError):
        return ""


def classify_google_error(exc: Exception) -> CalendarError | None:
    """The calendar error a google-api-python-client exception means; None if it is not one of theirs."""
    if isinstance(exc, RefreshError):
        return CredentialsRejected(f"Google refused the service account: {exc}")
    if isinstance(exc, HttpError):
        status = exc.resp.status
        detail = f"Google Calendar answered {status}: {exc.reason}"
        if status == 401:
            return CredentialsRejected(detail, status=status)
        if status in (404, 410):
            return EventGone(detail, status=status)
        if status == 429 or status >= 500 or (status == 403 and _error_reason(exc) in _THROTTLED_REASONS):
            return TransientCalendarError(detail, status=status)
        return RequestRejected(detail, status=status)
    if isinstance(exc, TransportError | httplib2.HttpLib2Error | OSError):
        return TransientCalendarError(f"cannot reach Google Calendar: {exc}")
    return None


class GoogleCalendarTarget:
    """Puts invites on technicians' Google calendars (calendar id = technician email)."""

    provider = "google"

    def __init__(
        self, credentials: Credentials, *, http_factory: Callable[[], Any] = lambda: httplib2.Http(timeout=30)
    ) -> None:
        self._credentials = credentials
        self._http_factory = http_factory
        self._service: Any = None
        # httplib2.Http is not thread-safe; invites are few, so one call at a time is plenty.
        self._lock = threading.Lock()

    def accepts(self, invite: Invite) -> bool:
        return bool(invite.attendee_email)

    async def create(self, invite: Invite) -> str:
        event_id = google_event_id(invite.uid)
        body = {"id": event_id, **_event_body(invite)}
        try:
            created = await self._run(
                lambda events: events.insert(calendarId=invite.attendee_email, body=body, sendUpdates="none")
            )
        except RequestRejected as exc:
            if exc.status != 409:
                raise
            # Already there (an earlier attempt got through, or it was cancelled
            # and is now wanted again): make it say what the invite says.
            return await self.update(invite, event_id)
        return str(created["id"])

    async def update(self, invite: Invite, provider_event_id: str) -> str:
        updated = await self._run(
            lambda events: events.patch(
                calendarId=invite.attendee_email,
                eventId=provider_event_id,
                body=_event_body(invite),
                sendUpdates="none",
            )
        )
        return str(updated["id"])

    async def cancel(self, invite: Invite, provider_event_id: str) -> None:
        try:
            await self._run(
                lambda events: events.delete(
                    calendarId=invite.attendee_email, eventId=provider_event_id, sendUpdates="none"
                )
            )
        except EventGone:
            return

    async def _run(self, make_request: Callable[[Any], Any]) -> Mapping[str, Any]:
        return await asyncio.to_thread(self._execute, make_request)

    def _execute(self, make_request: Callable[[Any], Any]) -> Mapping[str, Any]:
        with self._lock:
            try:
                response = make_request(self._events()).execute(num_retries=0)
            except Exception as exc:
                error = classify_google_error(exc)
                if error is None:
                    raise
                raise error from exc
        # DELETE answers with an empty body, which the client returns as "".
        return response if isinstance(response, dict) else {}

    def _events(self) -> Any:
        if self._service is None:
            http = AuthorizedHttp(self._credentials, http=self._http_factory())
            # static_discovery: the Calendar discovery document ships with the
            # library, so building the client needs no network.
            self._service = build("calendar", "v3", http=http, static_discovery=True, cache_discovery=False)
        return self._service.events()
