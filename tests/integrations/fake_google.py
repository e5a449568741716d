"""A fake of Google's HTTP side (OAuth token endpoint + Calendar v3 events), httplib2-compatible.

The real google-auth and google-api-python-client run on top of it; it answers
the way Google does (bodies shaped like recorded answers), and keeps the
events it holds so tests can look at "Google's" state. Like Google, it refuses
a body with a property or a value type that the Calendar v3 discovery document
does not allow (400 ``invalid``; see :mod:`tests.integrations.google_discovery`).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httplib2
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.integrations.google_discovery import body_problem, request_schema

TOKEN_URI = "https://oauth2.googleapis.com/token"
API_PREFIX = "/calendar/v3/calendars/"


def service_account_info() -> dict[str, str]:
    """A service-account key file's content with a freshly generated key (never a real one)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {
        "type": "service_account",
        "project_id": "fleet-scheduling-test",
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": "invites@fleet-scheduling-test.iam.gserviceaccount.com",
        "client_id": "104763220348793640221",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": TOKEN_URI,
    }


def _error(status: int, reason: str, message: str, rpc_status: str | None = None) -> tuple[int, dict[str, Any]]:
    error: dict[str, Any] = {
        "errors": [{"domain": "global", "reason": reason, "message": message}],
        "code": status,
        "message": message,
    }
    if rpc_status:
        error["status"] = rpc_status
    return status, {"error": error}


@dataclass
class FakeGoogle:
    """Google, as far as invites see it. Switch ``revoked`` / ``reject_tokens`` to make it refuse us."""

    revoked: bool = False
    """The token endpoint answers invalid_grant (key deleted or disabled)."""
    reject_tokens: bool = False
    """The Calendar API answers 401 to every access token (expired or revoked token)."""
    events: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    tokens_issued: int = 0

    def http(self) -> FakeGoogleHttp:
        return FakeGoogleHttp(self)

    def calls(self, method: str) -> int:
        return sum(1 for m, url in self.requests if m == method and API_PREFIX in url)

    def answer(self, uri: str, method: str, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
        self.requests.append((method, uri))
        if uri.startswith(TOKEN_URI):
            return self._token(body)
        if headers.get("authorization", headers.get("Authorization", "")).startswith("Bearer ") is False:
            return _error(401, "required", "Login Required.")
        if self.reject_tokens:
            return _error(401, "authError", "Invalid Credentials")
        parts = urlsplit(uri)
        path = parts.path[len(API_PREFIX) :].split("/")
        calendar_id = unquote(path[0])
        event_id = unquote(path[2]) if len(path) > 2 else None
        doc = json.loads(body) if body else {}
        method_name = {"POST": "insert", "PATCH": "patch"}.get(method)
        if method_name:
            problem = body_problem(doc, request_schema(method_name))
            if problem:
                return _error(400, "invalid", problem, "INVALID_ARGUMENT")
        if method == "POST":
            return self._insert(calendar_id, doc)
        if method == "PATCH" and event_id:
            return self._patch(calendar_id, event_id, doc)
        if method == "DELETE" and event_id:
            return self._delete(calendar_id, event_id)
        return _error(400, "badRequest", "Bad Request")

    def _token(self, body: Any) -> tuple[int, Any]:
        form = parse_qs(body.decode() if isinstance(body, bytes) else body)
        assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
        if self.revoked:
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
        self.tokens_issued += 1
        return 200, {"access_token": f"ya29.c.fake-{self.tokens_issued}", "expires_in": 3599, "token_type": "Bearer"}

    def _insert(self, calendar_id: str, doc: dict[str, Any]) -> tuple[int, Any]:
        event_id = doc.get("id") or secrets.token_hex(13)
        existing = self.events.get((calendar_id, event_id))
        if existing is not None:
            return _error(409, "duplicate", "The requested identifier already exists.")
        event = {
            "kind": "calendar#event",
            "etag": f'"{secrets.randbelow(10**16)}"',
            "id": event_id,
            "status": "confirmed",
            "htmlLink": f"https://www.google.com/calendar/event?eid={event_id}",
            "created": "2026-02-01T12:00:00.000Z",
            "updated": "2026-02-01T12:00:00.000Z",
            "creator": {"email": "invites@fleet-scheduling-test.iam.gserviceaccount.com"},
            "organizer": {"email": calendar_id, "self": True},
            "iCalUID": f"{event_id}@google.com",
            "sequence": 0,
            "reminders": {"useDefault": True},
            "eventType": "default",
            **doc,
        }
        self.events[(calendar_id, event_id)] = event
        return 200, event

    def _patch(self, calendar_id: str, event_id: str, doc: dict[str, Any]) -> tuple[int, Any]:
        event = self.events.get((calendar_id, event_id))
        if event is None:
            return _error(404, "notFound", "Not Found")
        event.update(doc)
        event["sequence"] = int(event["sequence"]) + 1
        return 200, event

    def _delete(self, calendar_id: str, event_id: str) -> tuple[int, Any]:
        event = self.events.get((calendar_id, event_id))
        if event is None:
            return _error(404, "notFound", "Not Found")
        if event["status"] == "cancelled":
            return _error(410, "deleted", "Resource has been deleted")
        event["status"] = "cancelled"  # Google keeps deleted events as cancelled
        return 204, None


class FakeGoogleHttp:
    """The httplib2.Http interface that google-auth-httplib2 and the API client call."""

    def __init__(self, google: FakeGoogle) -> None:
        self.google = google
        self.timeout = None
        self.redirect_codes: set[int] = set()

    def request(
        self,
        uri: str,
        method: str = "GET",
        body: Any = None,
        headers: dict[str, str] | None = None,
        redirections: int = 5,
        connection_type: Any = None,
        **kwargs: Any,
    ) -> tuple[httplib2.Response, bytes]:
        status, doc = self.google.answer(uri, method, body, headers or {})
        content = b"" if doc is None else json.dumps(doc).encode()
        return httplib2.Response({"status": str(status), "content-type": "application/json; charset=UTF-8"}), content
