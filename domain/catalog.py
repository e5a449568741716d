"""The service catalog: service types and the card's table of categories."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum


class ServiceCategory(StrEnum):
    """The four appointment types of the service card."""

    ROUTINE_MAINTENANCE = "routine_maintenance"
    DIAGNOSTIC = "diagnostic"
    COMPONENT_REPAIR = "component_repair"
    EMERGENCY = "emergency"


class Priority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"


class AutoBook(StrEnum):
    """When a job of this category is booked without a person choosing the slot."""

    NEVER = "never"
    CRITICAL_ALERTS = "critical_alerts"  # best slot within AUTO_BOOK_WITHIN_DAYS
    IMMEDIATE = "immediate"  # the immediate next feasible slot


@dataclass(frozen=True, slots=True)
class CategoryRule:
    """One row of the card's table."""

    min_duration: timedelta
    max_duration: timedelta
    priority: Priority
    auto_book: AutoBook


CATEGORY_RULES: dict[ServiceCategory, CategoryRule] = {
    ServiceCategory.ROUTINE_MAINTENANCE: CategoryRule(
        timedelta(hours=1), timedelta(hours=2), Priority.LOW, AutoBook.NEVER
    ),
    ServiceCategory.DIAGNOSTIC: CategoryRule(
        timedelta(hours=2), timedelta(hours=3), Priority.MEDIUM, AutoBook.NEVER
    ),
    ServiceCategory.COMPONENT_REPAIR: CategoryRule(
        timedelta(hours=3), timedelta(hours=5), Priority.HIGH, AutoBook.CRITICAL_ALERTS
    ),
    ServiceCategory.EMERGENCY: CategoryRule(
        timedelta(hours=1), timedelta(hours=2), Priority.URGENT, AutoBook.IMMEDIATE
    ),
}


@dataclass(frozen=True, slots=True)
class PartRequirement:
    part_code: str
    quantity: int = 1


@dataclass(frozen=True, slots=True)
class ServiceType:
    """A bookable service (``engine_repair``, ``routine``, ...) of one category.

    ``min_duration``/``max_duration`` default to the category's range; a request
    may ask for any duration inside it, else ``default_duration`` applies.
    """

    code: str
    name: str
    category: ServiceCategory
    default_duration: timedelta
    required_skill: str | None = None
    required_equipment: frozenset[str] = frozenset()
    required_parts: tuple[PartRequirement, ...] = ()
    min_duration: timedelta | None = None
    max_duration: timedelta | None = None
    on_site: bool = False
    """Done at the customer's place by a mobile technician (no bay; the request gives a ``location``);
    ``required_equipment`` is then matched against the technician's van."""

    @property
    def rule(self) -> CategoryRule:
        return CATEGORY_RULES[self.category]

    @property
    def priority(self) -> Priority:
        return self.rule.priority

    @property
    def auto_book(self) -> AutoBook:
        return self.rule.auto_book

    @property
    def duration_range(self) -> tuple[timedelta, timedelta]:
        return (self.min_duration or self.rule.min_duration, self.max_duration or self.rule.max_duration)

    def duration_for(self, requested: timedelta | None) -> timedelta:
        """The job's duration: the requested one if inside the range, else a ValueError."""
        if requested is None:
            return self.default_duration
        low, high = self.duration_range
        if not low <= requested <= high:
            raise ValueError(f"duration {requested} is outside {self.code}'s range {low}..{high}")
        return requested
