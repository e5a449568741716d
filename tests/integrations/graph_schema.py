"""What Microsoft Graph accepts in an event body, read from msgraph-sdk's own generated models.

Graph's OData reader refuses a property its type does not declare
(``RequestBodyRead``), and a value it cannot convert. The SDK's models are
generated from Graph's metadata, so they are the published schema at hand:
each model's ``get_field_deserializers()`` maps every JSON property name to a
function that reads it from a kiota ``ParseNode``. Calling those functions
with a recording node tells which JSON names a type has, and which kind of
value (string, boolean, enum, nested model, collection...) each one holds,
without a hand-written list. Nested types are read the same way, lazily (the
model graph is cyclic: an event has ``instances`` that are events).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import Any

from msgraph.generated.models.event import Event


@dataclass(frozen=True)
class FieldType:
    """One property's value: ``kind`` is an Edm primitive name, ``"enum"`` or ``"object"``."""

    kind: str
    collection: bool = False
    target: Any = None
    """The enum class for ``"enum"``, the model class for ``"object"``."""


_PRIMITIVE_KINDS = {
    str: "Edm.String",
    bool: "Edm.Boolean",
    int: "Edm.Int32",
    float: "Edm.Double",
    bytes: "Edm.Binary",
    uuid.UUID: "Edm.Guid",
}


class _RecordingNode:
    """Stands in for a kiota ParseNode: remembers which reader a field deserializer called."""

    def __init__(self) -> None:
        self.field: FieldType | None = None

    def _saw(self, kind: str, collection: bool = False, target: Any = None) -> None:
        self.field = FieldType(kind, collection, target)

    def get_str_value(self) -> None:
        self._saw("Edm.String")

    def get_bool_value(self) -> None:
        self._saw("Edm.Boolean")

    def get_int_value(self) -> None:
        self._saw("Edm.Int32")

    def get_float_value(self) -> None:
        self._saw("Edm.Double")

    def get_uuid_value(self) -> None:
        self._saw("Edm.Guid")

    def get_bytes_value(self) -> None:
        self._saw("Edm.Binary")

    def get_datetime_value(self) -> None:
        self._saw("Edm.DateTimeOffset")

    def get_date_value(self) -> None:
        self._saw("Edm.Date")

    def get_time_value(self) -> None:
        self._saw("Edm.TimeOfDay")

    def get_timedelta_value(self) -> None:
        self._saw("Edm.Duration")

    def get_enum_value(self, enum_class: type[Enum]) -> None:
        self._saw("enum", target=enum_class)

    def get_object_value(self, factory: Any) -> None:
        self._saw("object", target=factory)

    def get_collection_of_primitive_values(self, primitive_type: type) -> None:
        self._saw(_PRIMITIVE_KINDS.get(primitive_type, "Edm.DateTimeOffset"), collection=True)

    def get_collection_of_enum_values(self, enum_class: type[Enum]) -> None:
        self._saw("enum", collection=True, target=enum_class)

    def get_collection_of_object_values(self, factory: Any) -> None:
        self._saw("object", collection=True, target=factory)


class _DiscriminatorNode:
    """The node a model's ``create_from_discriminator_value`` reads ``@odata.type`` from."""

    def __init__(self, odata_type: str | None) -> None:
        self._odata_type = odata_type

    def get_child_node(self, name: str) -> _DiscriminatorNode | None:
        return self if name == "@odata.type" and self._odata_type else None

    def get_str_value(self) -> str | None:
        return self._odata_type


@cache
def model_fields(model: Any, odata_type: str | None = None) -> tuple[str, dict[str, FieldType]]:
    """Graph's type name and ``{JSON name: FieldType}`` of ``model`` (its subtype when ``odata_type`` names one)."""
    instance = model.create_from_discriminator_value(_DiscriminatorNode(odata_type))
    # Read the name first: the recording node's answers (None) overwrite the instance's fields.
    # Complex types (dateTimeTimeZone, itemBody...) carry no default @odata.type.
    class_name = type(instance).__name__
    type_name = (instance.odata_type or f"#microsoft.graph.{class_name[:1].lower()}{class_name[1:]}").lstrip("#")
    fields: dict[str, FieldType] = {}
    for name, deserialize in instance.get_field_deserializers().items():
        node = _RecordingNode()
        deserialize(node)
        assert node.field is not None, f"{type(instance).__name__}.{name} read nothing"
        fields[name] = node.field
    return type_name, fields


_PATTERNS = {
    "Edm.DateTimeOffset": re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)"),
    "Edm.Date": re.compile(r"\d{4}-\d\d-\d\d"),
    "Edm.TimeOfDay": re.compile(r"\d\d:\d\d(:\d\d(\.\d+)?)?"),
    "Edm.Duration": re.compile(r"-?P(?!$)(\d+D)?(T(?!$)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?"),
    "Edm.Guid": re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}"),
}


def _primitive_fits(kind: str, value: Any) -> bool:
    if kind == "Edm.Boolean":
        return isinstance(value, bool)
    if kind == "Edm.Int32":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "Edm.Double":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if not isinstance(value, str):
        return False
    pattern = _PATTERNS.get(kind)
    return pattern is None or pattern.fullmatch(value) is not None


def _enum_fits(enum_class: type[Enum], value: Any) -> bool:
    # Graph reads enum members case-insensitively; flag enums come comma-separated.
    members = {str(m.value).casefold() for m in enum_class}
    return isinstance(value, str) and all(part.strip().casefold() in members for part in value.split(","))


def body_problem(doc: Any, model: Any = Event) -> str | None:
    """Why Graph would refuse ``doc`` as a body of type ``model`` (Graph's wording), or None if it reads."""
    if not isinstance(doc, dict):
        return "An unexpected node was found when reading from the JSON reader. A 'StartObject' node was expected."
    type_name, fields = model_fields(model, doc.get("@odata.type"))
    for name, value in doc.items():
        field = fields.get(name)
        if field is None:
            return (
                f"The property '{name}' does not exist on type '{type_name}'. Make sure to only use "
                "property names that are defined by the type or mark the type as open type."
            )
        if value is None:  # Graph's properties are nullable: null clears one
            continue
        if field.collection and not isinstance(value, list):
            return f"A node of type '{type(value).__name__}' was read where a collection was expected for '{name}'."
        for item in value if field.collection else [value]:
            problem = _value_problem(name, field, item)
            if problem:
                return problem
    return None


def _value_problem(name: str, field: FieldType, value: Any) -> str | None:
    if field.kind == "object":
        if not isinstance(value, dict):
            return (
                f"An unexpected 'PrimitiveValue' node was found for property named '{name}' when reading "
                "from the JSON reader. A 'StartObject' node was expected."
            )
        return body_problem(value, field.target)
    if field.kind == "enum":
        fits = _enum_fits(field.target, value)
        expected = f"microsoft.graph.{field.target.__name__[:1].lower()}{field.target.__name__[1:]}"
    else:
        fits, expected = _primitive_fits(field.kind, value), field.kind
    return None if fits else f"Cannot convert the literal '{value}' to the expected type '{expected}'."
