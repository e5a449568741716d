"""A fake of Microsoft Graph's events endpoints, served through httpx.MockTransport.

msgraph-sdk, kiota and the azure-identity auth provider run for real on top
of it; the credential is a fake object with ``get_token`` (no Entra ID call).
Like Graph, it refuses a POST or PATCH body with a property the event type
does not declare or a value of the wrong type (400 ``RequestBodyRead``),
checked against the SDK's own event model (:mod:`tests.integrations.graph_schema`).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError

from tests.integrations.graph_schema import body_problem

BASE = "/v1.0/users/"


class FakeCredential:
    """An AsyncTokenCredential that hands out fake tokens, or refuses like a revoked secret."""

    def __init__(self) -> None:
        self.revoked = False
        self.scopes: list[tuple[str, ...]] = []
        self.issued = 0

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        if self.revoked:
            raise ClientAuthenticationError(
                "ClientSecretCredential.get_token failed: AADSTS7000222: The provided client secret keys "
                "for app '00000000-0000-0000-0000-000000000000' are expired."
            )
        self.issued += 1
        return AccessToken(f"eyJ0eXAiOiJKV1Qi.fake-{self.issued}", 4102444800)

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> FakeCredential:
        return self

    async def __aexit__(self, *args: Any) -> None:
        return None


def _error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(
        status,
        json={
            "error": {
                "code": code,
                "message": message,
                "innerError": {"date": "2026-02-01T12:00:00", "request-id": "5d1a8c4e-0000-0000-0000-000000000000"},
            }
        },
    )


@dataclass
class FakeGraph:
    """Outlook calendars as Graph shows them. ``expired_token`` makes every call answer 401."""

    expired_token: bool = False
    unsupported_zones: frozenset[str] = frozenset({"Europe/Amsterdam"})
    """IANA names Graph refuses (it knows Windows names and only some IANA ones)."""
    events: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def calls(self, method: str) -> int:
        return sum(1 for r in self.requests if r.method == method)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return _error(401, "InvalidAuthenticationToken", "Access token is empty.")
        if self.expired_token:
            return _error(401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
        path = unquote(request.url.path)
        assert path.startswith(BASE), path
        parts = path[len(BASE) :].split("/")
        user, rest = parts[0].lower(), parts[1:]
        doc: Any = {}
        if request.method in ("POST", "PATCH"):
            # Graph reads the whole body against the event type before it looks at any value.
            try:
                doc = json.loads(request.content)
            except ValueError:
                return _error(400, "RequestBodyRead", "Invalid JSON. The request body is not valid JSON.")
            problem = body_problem(doc)
            if problem:
                return _error(400, "RequestBodyRead", problem)
        for edge in ("start", "end"):
            zone = doc.get(edge, {}).get("timeZone")
            if zone in self.unsupported_zones:
                return _error(
                    400,
                    "TimeZoneNotSupportedException",
                    "A valid TimeZone value must be specified. "
                    f"The following TimeZone value is not supported: '{zone}'.",
                )
        if request.method == "POST" and rest == ["events"]:
            return self._create(user, doc)
        if len(rest) == 2 and rest[0] == "events":
            event = self.events.get((user, rest[1]))
            if event is None:
                return _error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
            if request.method == "PATCH":
                event.update(doc)
                return httpx.Response(200, json=event)
            if request.method == "DELETE":
                del self.events[(user, rest[1])]
                return httpx.Response(204)
        return _error(400, "BadRequest", "Unsupported request")

    def _create(self, user: str, doc: dict[str, Any]) -> httpx.Response:
        transaction = doc.get("transactionId")
        for (owner, _), event in self.events.items():
            if owner == user and transaction and event.get("transactionId") == transaction:
                return httpx.Response(201, json=event)  # Graph: same transactionId, same event
        event_id = "AAMkAGI2TG93AAA=" + secrets.token_urlsafe(12)
        event = {
            "@odata.context": f"https://graph.microsoft.com/v1.0/$metadata#users('{user}')/events/$entity",
            "@odata.etag": 'W/"ZlnW4RIAV06KYYwlrfNZvQAAKGWwbw=="',
            "id": event_id,
            "createdDateTime": "2026-02-01T12:00:00.0000000Z",
            "lastModifiedDateTime": "2026-02-01T12:00:00.0000000Z",
            "isCancelled": False,
            "isOrganizer": True,
            "webLink": f"https://outlook.office365.com/owa/?itemid={event_id}",
            "organizer": {"emailAddress": {"address": user}},
            **doc,
        }
        self.events[(user, event_id)] = event
        return httpx.Response(201, json=event)
