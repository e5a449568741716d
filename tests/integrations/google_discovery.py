"""What Google Calendar accepts in a request body, read from the discovery document the client ships.

google-api-python-client carries Google's published Calendar v3 discovery
document (``googleapiclient/discovery_cache/documents/calendar.v3.json``);
its ``schemas`` describe every resource's properties and their JSON types.
Checking against that file, not a list of our own, keeps FakeGoogle as strict
as Google and independent of what our code happens to send.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib.resources import files
from typing import Any

_FORMATS = {
    "date-time": re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?"),
    "date": re.compile(r"\d{4}-\d\d-\d\d"),
    "int64": re.compile(r"-?\d+"),
}
# Names Google's error messages give a field's expected type.
_TYPE_NAMES = {"string": "TYPE_STRING", "integer": "TYPE_INT32", "number": "TYPE_DOUBLE", "boolean": "TYPE_BOOL"}


@cache
def calendar_discovery() -> dict[str, Any]:
    """The Calendar v3 discovery document of the installed google-api-python-client."""
    document = files("googleapiclient") / "discovery_cache" / "documents" / "calendar.v3.json"
    loaded: dict[str, Any] = json.loads(document.read_text(encoding="utf-8"))
    return loaded


def request_schema(method: str) -> str:
    """The schema an events method takes as its body, e.g. ``"Event"`` for ``"insert"`` and ``"patch"``."""
    return str(calendar_discovery()["resources"]["events"]["methods"][method]["request"]["$ref"])


def body_problem(doc: Any, schema_name: str) -> str | None:
    """Why Google would refuse ``doc`` as a ``schema_name`` body (Google's wording), or None if it reads."""
    return _problem(doc, {"$ref": schema_name}, "resource")


def _problem(value: Any, schema: dict[str, Any], path: str) -> str | None:
    type_name = "calendar"
    if "$ref" in schema:
        type_name = f"calendar.{schema['$ref']}"
        schema = calendar_discovery()["schemas"][schema["$ref"]]
    if value is None:  # a patch clears a field with null
        return None
    kind = schema.get("type", "any")
    if kind == "object":
        if not isinstance(value, dict):
            return f"Invalid value at '{path}' (type.googleapis.com/{type_name}), {json.dumps(value)}"
        return _object_problem(value, schema, path)
    if kind == "array":
        if not isinstance(value, list):
            return f"Invalid value at '{path}' (TYPE_LIST), {json.dumps(value)}"
        for i, item in enumerate(value):
            problem = _problem(item, schema.get("items", {}), f"{path}[{i}]")
            if problem:
                return problem
        return None
    return None if _scalar_fits(kind, schema.get("format"), value) else _invalid(path, kind, value)


def _object_problem(value: dict[str, Any], schema: dict[str, Any], path: str) -> str | None:
    declared: dict[str, Any] = schema.get("properties", {})
    extra = schema.get("additionalProperties")  # a map: any key, each value of this schema
    for name, item in value.items():
        field = declared.get(name, extra)
        if field is None:
            return f"Invalid JSON payload received. Unknown name \"{name}\" at '{path}': Cannot find field."
        problem = _problem(item, field, f"{path}.{name}")
        if problem:
            return problem
    return None


def _scalar_fits(kind: str, fmt: str | None, value: Any) -> bool:
    if kind == "any":
        return True
    if kind == "boolean":
        return isinstance(value, bool)
    if kind in ("integer", "number"):
        # proto3 JSON reads numbers written as strings too
        if isinstance(value, str):
            return _FORMATS["int64"].fullmatch(value) is not None
        return isinstance(value, int | float) and not isinstance(value, bool) and (kind == "number" or value % 1 == 0)
    if kind == "string":
        if fmt == "int64" and isinstance(value, int) and not isinstance(value, bool):
            return True
        pattern = _FORMATS.get(fmt or "")
        return isinstance(value, str) and (pattern is None or pattern.fullmatch(value) is not None)
    return False


def _invalid(path: str, kind: str, value: Any) -> str:
    return f"Invalid value at '{path}' ({_TYPE_NAMES.get(kind, kind)}), {json.dumps(value)}"
