"""The service bay actor: a calendar of the shop's open hours, and an equipment check."""

from __future__ import annotations

from actors.calendar_shell import CalendarShell
from application.ports import Requirement, ResourceKind, ResourceRef
from domain.calendar import ResourceCalendar
from domain.errors import InvalidRequest, MissingEquipment, NotFound
from domain.resources import DailyWindows, ServiceBay
from domain.shop import Shop
from domain.time_windows import Interval


class BayCalendar(CalendarShell):
    """One bay's appointments and holds. A bay needs no buffer and has no daily cap."""

    def __init__(self, bay: ServiceBay, shop: Shop, *, rid: int, loaded: Interval) -> None:
        working = DailyWindows(shop.tz, shop.open_windows).within

        calendar = ResourceCalendar(bay.id, tz=shop.tz, working_time=working)
        ref = ResourceRef(ResourceKind.BAY, shop.id, bay.id)
        super().__init__(ref, name=bay.name, rid=rid, timezone=shop.timezone, calendar=calendar,
                         working_time=working, loaded=loaded)
        self.bay = bay

    def check_requirement(self, requirement: Requirement) -> None:
        if not self.bay.active:
            raise InvalidRequest(f"service bay {self.bay.id} is not active", bay_id=self.bay.id)
        if not self.bay.has_equipment(requirement.equipment):
            missing = sorted(requirement.equipment - self.bay.equipment)
            raise MissingEquipment(
                f"service bay {self.bay.id} lacks {', '.join(missing)}", bay_id=self.bay.id, missing=missing
            )


def bay_not_found(ref: ResourceRef) -> NotFound:
    return NotFound(f"no service bay {ref.resource_id} at shop {ref.shop_id}", bay_id=ref.resource_id)
