"""The technician actor: a calendar with buffer, daily cap and working hours, and a skill check."""

from __future__ import annotations

from actors.calendar_shell import CalendarShell
from application.ports import Requirement, ResourceKind, ResourceRef
from domain.calendar import ResourceCalendar
from domain.errors import InvalidRequest, MissingSkill, NotFound
from domain.policy import SchedulingPolicy
from domain.resources import DailyWindows, Technician
from domain.shop import Shop
from domain.time_windows import Interval


class TechnicianCalendar(CalendarShell):
    """One technician's appointments and holds; keeps ``buffer`` between jobs and the daily cap."""

    def __init__(self, technician: Technician, shop: Shop, *, rid: int, policy: SchedulingPolicy, loaded: Interval):
        working = DailyWindows(shop.tz, lambda day: technician.working_windows(shop, day)).within

        calendar = ResourceCalendar(
            technician.id,
            tz=shop.tz,
            working_time=working,
            buffer=policy.buffer,
            daily_cap=policy.max_bookings_per_technician_per_day,
        )
        ref = ResourceRef(ResourceKind.TECHNICIAN, shop.id, technician.id)
        super().__init__(ref, name=technician.name, rid=rid, timezone=shop.timezone, calendar=calendar,
                         working_time=working, loaded=loaded)
        self.technician = technician

    def check_requirement(self, requirement: Requirement) -> None:
        if not self.technician.active:
            raise InvalidRequest(f"technician {self.technician.id} is not active", technician_id=self.technician.id)
        if not self.technician.has_skill(requirement.skill):
            raise MissingSkill(
                f"technician {self.technician.id} lacks the skill {requirement.skill!r}",
                technician_id=self.technician.id,
                skill=requirement.skill,
            )


def technician_not_found(ref: ResourceRef) -> NotFound:
    return NotFound(f"no technician {ref.resource_id} at shop {ref.shop_id}", technician_id=ref.resource_id)
