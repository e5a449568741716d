"""A vehicle's health as the Health Service reports it, and what it changes about a job.

The rules, in one place (``adjust_for_health``):

* **Urgency** rises with a poor health score: below ``CRITICAL_SCORE`` the job
  is CRITICAL, below ``HIGH_SCORE`` at least HIGH. It never falls below what
  the caller asked for: health is context, the caller's word is the floor.
* **Duration** grows with what a technician will meet under the hood: each
  active fault code adds ``PER_FAULT_CODE`` (up to ``MAX_COUNTED_FAULT_CODES``),
  a mileage past ``HIGH_MILEAGE_KM`` adds ``HIGH_MILEAGE_EXTRA``. The result
  stays inside the service type's duration range and never shrinks.

Every change is named in ``HealthAdjustment.notes``, which the slot search puts
in its answer's ``explanation``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from domain.urgency import Urgency

CRITICAL_SCORE = 25.0
HIGH_SCORE = 50.0
PER_FAULT_CODE = timedelta(minutes=15)
MAX_COUNTED_FAULT_CODES = 4
HIGH_MILEAGE_KM = 150_000
HIGH_MILEAGE_EXTRA = timedelta(minutes=30)

_ORDER = (Urgency.LOW, Urgency.MEDIUM, Urgency.HIGH, Urgency.CRITICAL)


@dataclass(frozen=True, slots=True)
class VehicleHealth:
    """One vehicle's health: a score (0 worst .. 100 best), its active fault codes, its mileage."""

    vehicle_id: str
    health_score: float | None = None
    active_fault_codes: tuple[str, ...] = ()
    mileage_km: float | None = None


@dataclass(frozen=True, slots=True)
class HealthAdjustment:
    """The job's urgency and duration after health was considered, and why they changed."""

    urgency: Urgency
    duration: timedelta
    notes: tuple[str, ...] = ()


def adjust_for_health(
    health: VehicleHealth,
    urgency: Urgency,
    duration: timedelta,
    duration_range: tuple[timedelta, timedelta],
) -> HealthAdjustment:
    """The job's urgency and duration in the light of ``health`` (see the module's rules)."""
    notes: list[str] = []
    raised = _urgency_for(health.health_score)
    new_urgency = max(urgency, raised, key=_ORDER.index) if raised is not None else urgency
    if new_urgency is not urgency:
        notes.append(
            f"vehicle health score {health.health_score:g} raised the urgency from {urgency.value} to "
            f"{new_urgency.value}"
        )
    extra, causes = _extra_time(health)
    longest = max(duration, duration_range[1])  # a requested duration is never cut, only not lengthened past the range
    new_duration = min(duration + extra, longest)
    if new_duration > duration:
        capped = " (capped at the service's longest)" if duration + extra > longest else ""
        notes.append(
            f"{' and '.join(causes)} lengthened the estimated duration from {_hm(duration)} to "
            f"{_hm(new_duration)}{capped}"
        )
    return HealthAdjustment(new_urgency, new_duration, tuple(notes))


def _urgency_for(score: float | None) -> Urgency | None:
    if score is None:
        return None
    if score < CRITICAL_SCORE:
        return Urgency.CRITICAL
    if score < HIGH_SCORE:
        return Urgency.HIGH
    return None


def _extra_time(health: VehicleHealth) -> tuple[timedelta, list[str]]:
    extra = timedelta(0)
    causes: list[str] = []
    codes = health.active_fault_codes
    if codes:
        extra += PER_FAULT_CODE * min(len(codes), MAX_COUNTED_FAULT_CODES)
        causes.append(f"{len(codes)} active fault code{'s' if len(codes) != 1 else ''} ({', '.join(codes)})")
    if health.mileage_km is not None and health.mileage_km >= HIGH_MILEAGE_KM:
        extra += HIGH_MILEAGE_EXTRA
        causes.append(f"a mileage of {health.mileage_km:,.0f} km")
    return extra, causes


def _hm(value: timedelta) -> str:
    minutes = int(value.total_seconds() // 60)
    return f"{minutes // 60}h{minutes % 60:02d}"
