"""A slot search in the light of the vehicle's health (when a Health Service is configured).

The health may raise the search's urgency and lengthen its duration
(``domain.vehicle_health.adjust_for_health``); each change, and a Health
Service that could not answer in time, is named in the notes the slot search
puts first in its explanation. A search is adjusted once: the adjusted one is
marked, so that a booking that searches again (``Scheduler.book_best``) books
the same job it was offered.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

from application.neighbour_ports import VehicleHealthSource
from domain.catalog import ServiceType
from domain.neighbours import NeighbourNotFound, NeighbourUnavailable
from domain.vehicle_health import adjust_for_health

if TYPE_CHECKING:  # slot_search imports this module; the type is only named here
    from application.slot_search import SlotSearch

log = logging.getLogger(__name__)


class VehicleContext:
    """Adjusts a search's urgency and duration to the vehicle's health; without a source, changes nothing."""

    def __init__(self, health: VehicleHealthSource | None) -> None:
        self._health = health

    async def adjust(
        self, search: SlotSearch, service: ServiceType, duration: timedelta
    ) -> tuple[SlotSearch, tuple[str, ...]]:
        """``search`` with the health's urgency and duration (marked as considered), and the notes saying why."""
        if self._health is None or search.health_considered:
            return search, ()
        considered = replace(search, health_considered=True)
        try:
            health = await self._health.vehicle_health(search.vehicle_id)
        except NeighbourNotFound:
            return considered, (f"the Health Service knows no vehicle {search.vehicle_id}; health not considered",)
        except NeighbourUnavailable as exc:
            log.warning("slot search for %s without vehicle health: %s", search.vehicle_id, exc)
            return considered, (f"vehicle health not considered: {exc}",)
        adjusted = adjust_for_health(health, search.urgency, duration, service.duration_range)
        if not adjusted.notes:
            return considered, ()
        changed = replace(
            considered,
            urgency=adjusted.urgency,
            duration=adjusted.duration if adjusted.duration != duration else search.duration,
        )
        return changed, adjusted.notes
