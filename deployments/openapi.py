"""The OpenAPI document: what each operation answers, how operations chain, served as bytes built once.

FastAPI documents error models as ``application/json`` and adds its own
``HTTPValidationError`` for 422; the handlers answer RFC 9457 problems, so
every 4xx/5xx answer is rewritten to ``application/problem+json``. Links say
how an answer's ids feed the next operation (book, then read, move, confirm,
cancel), for clients and for the stateful fuzz. The document is built on
first use and kept as JSON bytes: a request for it serializes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.openapi.utils import get_openapi
from starlette.routing import Route

from deployments.problems import PROBLEM_JSON
from deployments.schemas import Problem

COMMON_PROBLEMS: dict[int, str] = {
    401: "`unauthorized`: no API key, or one that is unknown, expired or revoked (a customer link: "
    "expired, or its appointment ended or was cancelled)",
    403: "`forbidden`: the key's role may not do this (whatever the object; an object outside the key's "
    "shops answers 404 as an unknown one does)",
    422: "Invalid request: `validation_error` (the failing fields in `errors`), `invalid_request`, or "
    "`idempotency_key_reused` (an Idempotency-Key sent before with another request)",
    429: "`rate_limited` (searches and writes): the caller's key, or its address, is over its limit; "
    "retry after `Retry-After` seconds",
    503: "A dependency (the database, an actor) is unavailable or the service is overloaded; try again",
}
"""Problems any operation of the API can answer: its credentials, its input, its rate, a lost dependency."""


def problem_answers(meanings: Mapping[int, str]) -> dict[int | str, dict[str, Any]]:
    """A route's ``responses=``: each problem status it can answer and what that means there."""
    return {status: {"model": Problem, "description": meaning} for status, meaning in meanings.items()}


# -- links ---------------------------------------------------------------------

_PREFIX = "/api/v1"
_APPOINTMENT = _PREFIX + "/appointments/{appointment_id}"
_TECHNICIAN = _PREFIX + "/technicians/{technician_id}"

_APPOINTMENT_ID = {"appointment_id": "$response.body#/id"}
_FROM_APPOINTMENT: dict[str, tuple[str, str, dict[str, str]]] = {
    "GetAppointment": ("get", _APPOINTMENT, _APPOINTMENT_ID),
    "RescheduleAppointment": ("put", _APPOINTMENT, _APPOINTMENT_ID),
    "CancelAppointment": ("delete", _APPOINTMENT, _APPOINTMENT_ID),
    "ConfirmAppointment": ("post", _APPOINTMENT + "/confirm", _APPOINTMENT_ID),
    "AppointmentCalendar": ("get", _APPOINTMENT + "/calendar.ics", _APPOINTMENT_ID),
    "VehicleAppointments": (
        "get",
        _PREFIX + "/appointments/vehicle/{vehicle_id}",
        {"vehicle_id": "$response.body#/vehicle_id"},
    ),
    "TechnicianSchedule": ("get", _TECHNICIAN + "/schedule", {"technician_id": "$response.body#/technician/id"}),
}
_FIRST_TECHNICIAN = {"technician_id": "$response.body#/items/0/id"}
_FROM_TECHNICIAN_LIST: dict[str, tuple[str, str, dict[str, str]]] = {
    "GetTechnician": ("get", _TECHNICIAN, _FIRST_TECHNICIAN),
    "TechnicianSchedule": ("get", _TECHNICIAN + "/schedule", _FIRST_TECHNICIAN),
    "TechnicianCalendar": ("get", _TECHNICIAN + "/calendar.ics", _FIRST_TECHNICIAN),
}

LINKS: dict[tuple[str, str, str], dict[str, tuple[str, str, dict[str, str]]]] = {
    ("post", _PREFIX + "/appointments", "201"): _FROM_APPOINTMENT,
    ("get", _APPOINTMENT, "200"): _FROM_APPOINTMENT,
    ("put", _APPOINTMENT, "200"): _FROM_APPOINTMENT,
    ("delete", _APPOINTMENT, "200"): _FROM_APPOINTMENT,
    ("post", _APPOINTMENT + "/confirm", "200"): _FROM_APPOINTMENT,
    ("get", _PREFIX + "/technicians", "200"): _FROM_TECHNICIAN_LIST,
}
"""(method, path, status) of an answer → its links: name → (method, path, parameters) of the next operation."""


def _add_links(doc: dict[str, Any]) -> None:
    paths: dict[str, Any] = doc["paths"]
    for (method, path, status), links in LINKS.items():
        answer = paths[path][method]["responses"][status]
        answer["links"] = {
            name: {"operationId": paths[target_path][target_method]["operationId"], "parameters": parameters}
            for name, (target_method, target_path, parameters) in links.items()
        }


# -- the document ----------------------------------------------------------------


def _retry_after() -> dict[str, Any]:
    return {"description": "Seconds to wait before trying again", "schema": {"type": "integer", "minimum": 0}}


def build_document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document of ``app``'s routes: problem answers as ``application/problem+json``, links."""
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    for path_item in doc.get("paths", {}).values():
        for operation in path_item.values():
            for status, answer in operation.get("responses", {}).items():
                if status[0] in "45":
                    answer["content"] = {PROBLEM_JSON: {"schema": problem_ref}}
                if status in ("429", "503"):
                    answer["headers"] = {"Retry-After": _retry_after()}
    components = doc.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    _add_links(doc)
    return doc


def serialize(doc: dict[str, Any]) -> bytes:
    """The document as compact UTF-8 JSON, as ``/openapi.json`` answers it."""
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def install_openapi(app: FastAPI) -> None:
    """Serve ``app``'s document at its ``openapi_url`` from JSON bytes built once.

    ``app.openapi()`` (also built once) answers the dict; FastAPI's own route,
    which serializes it again on every request, is swapped for one that
    answers the bytes. Swagger UI (``/docs``) reads the same URL.
    """
    served: list[bytes] = []

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_document(app)
        return app.openapi_schema

    def document_bytes() -> bytes:
        if not served:
            served.append(serialize(document()))
        return served[0]

    async def openapi_json(request: Request) -> Response:
        return Response(document_bytes(), media_type="application/json")

    url = app.openapi_url
    if url is None:
        raise ValueError("install_openapi needs an app with an openapi_url")
    app.openapi = document  # type: ignore[method-assign]
    routes = app.router.routes
    default = next(i for i, r in enumerate(routes) if isinstance(r, Route) and r.path == url)
    routes[default] = Route(url, openapi_json, include_in_schema=False)
