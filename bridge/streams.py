"""Stream names and the one-field message format of DESIGN.md ("Events").

One stream per event type by default: ``<STREAM_PREFIX><event_type>``, e.g.
``alert.created`` or, with a prefix, ``prod:alert.created``. Failed or
malformed incoming entries go to ``<STREAM_PREFIX>dead-letter``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from domain.events import EventEnvelope

EVENT_FIELD = "event"
"""Every message carries exactly this field, holding the JSON envelope."""

@dataclass(frozen=True, slots=True)
class StreamNames:
    """Where each event type lives, under one configurable prefix."""

    prefix: str = ""

    def for_event(self, event_type: str) -> str:
        return f"{self.prefix}{event_type}"

    @property
    def dead_letter(self) -> str:
        return f"{self.prefix}dead-letter"


def message_for(envelope: EventEnvelope) -> dict[str, str]:
    """The stream entry's fields for an envelope."""
    return {EVENT_FIELD: envelope.to_json()}


def raw_event(fields: Mapping[str, str] | None) -> str | None:
    """The envelope's JSON text from an entry's fields, or None if the entry has none."""
    if not fields:
        return None
    return fields.get(EVENT_FIELD)
