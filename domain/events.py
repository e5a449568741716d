"""Event envelopes: the contract on Redis Streams (DESIGN.md, "Events").

Each stream message carries one field ``event`` holding the JSON envelope
``{event_id, event_type, occurred_at, source, data}``. Parsing tolerates
unknown fields.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.time_windows import require_aware

SOURCE = "scheduling-service"


class EventType:
    """Names of the event types this service consumes and publishes."""

    ALERT_CREATED = "alert.created"
    AGENT_DECISION_MADE = "agent.decision.made"
    APPOINTMENT_SCHEDULED = "appointment.scheduled"
    APPOINTMENT_RESCHEDULED = "appointment.rescheduled"
    APPOINTMENT_CANCELLED = "appointment.cancelled"
    APPOINTMENT_REMINDER = "appointment.reminder"
    APPOINTMENT_NOT_BOOKED = "appointment.not_booked"
    TECHNICIAN_ASSIGNED = "technician.assigned"
    PARTS_ORDER_REQUESTED = "parts.order.requested"


class MalformedEvent(ValueError):
    """A message that is not a valid envelope; the reason says which field."""


@dataclass(frozen=True, slots=True)
class EventEnvelope:
    event_id: str
    event_type: str
    occurred_at: datetime
    source: str
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def new(cls, event_type: str, data: dict[str, Any], now: datetime) -> EventEnvelope:
        return cls(str(uuid.uuid4()), event_type, require_aware(now), SOURCE, data)

    def to_json(self) -> str:
        return json.dumps(
            {
                "event_id": self.event_id,
                "event_type": self.event_type,
                "occurred_at": self.occurred_at.isoformat(),
                "source": self.source,
                "data": self.data,
            },
            separators=(",", ":"),
            default=str,
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> EventEnvelope:
        try:
            doc = json.loads(raw)
        except (ValueError, TypeError) as exc:
            raise MalformedEvent(f"event is not JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise MalformedEvent("event must be a JSON object")
        for name in ("event_id", "event_type", "occurred_at"):
            if not isinstance(doc.get(name), str) or not doc[name]:
                raise MalformedEvent(f"event field {name!r} is missing or not a string")
        data = doc.get("data", {})
        if not isinstance(data, dict):
            raise MalformedEvent("event field 'data' must be an object")
        try:
            occurred = require_aware(datetime.fromisoformat(doc["occurred_at"]), "occurred_at")
        except ValueError as exc:
            raise MalformedEvent(f"event field 'occurred_at': {exc}") from None
        return cls(doc["event_id"], doc["event_type"], occurred, str(doc.get("source", "")), data)
