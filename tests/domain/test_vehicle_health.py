"""A vehicle's health raises a job's urgency and lengthens it within its range; every change is named."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.urgency import Urgency
from domain.vehicle_health import VehicleHealth, adjust_for_health

H = timedelta(hours=1)
RANGE = (3 * H, 5 * H)


def test_a_healthy_vehicle_changes_nothing() -> None:
    adjusted = adjust_for_health(VehicleHealth("V1", 90.0, (), 40_000), Urgency.MEDIUM, 3 * H, RANGE)
    assert (adjusted.urgency, adjusted.duration, adjusted.notes) == (Urgency.MEDIUM, 3 * H, ())


@pytest.mark.parametrize(
    ("score", "asked", "urgency"),
    [
        (49.9, Urgency.LOW, Urgency.HIGH),
        (24.9, Urgency.MEDIUM, Urgency.CRITICAL),
        (40.0, Urgency.CRITICAL, Urgency.CRITICAL),  # never lowered below the caller's
        (50.0, Urgency.LOW, Urgency.LOW),
    ],
)
def test_a_poor_score_raises_the_urgency_and_never_lowers_it(score: float, asked: Urgency, urgency: Urgency) -> None:
    adjusted = adjust_for_health(VehicleHealth("V1", score), asked, 3 * H, RANGE)
    assert adjusted.urgency is urgency
    assert bool(adjusted.notes) == (urgency is not asked)


def test_the_note_names_the_score_and_both_urgencies() -> None:
    adjusted = adjust_for_health(VehicleHealth("V1", 22.0), Urgency.MEDIUM, 3 * H, RANGE)
    assert adjusted.notes == ("vehicle health score 22 raised the urgency from MEDIUM to CRITICAL",)


def test_fault_codes_and_mileage_lengthen_the_job_and_say_why() -> None:
    health = VehicleHealth("V1", 80.0, ("P0217", "P0128", "P0300"), 182_000)
    adjusted = adjust_for_health(health, Urgency.HIGH, 3 * H, RANGE)
    assert adjusted.duration == 4 * H + timedelta(minutes=15)
    assert adjusted.notes == (
        "3 active fault codes (P0217, P0128, P0300) and a mileage of 182,000 km lengthened the estimated "
        "duration from 3h00 to 4h15",
    )


def test_the_longer_job_stays_inside_the_service_range() -> None:
    health = VehicleHealth("V1", None, tuple(f"P{i:04d}" for i in range(9)), 300_000)
    adjusted = adjust_for_health(health, Urgency.LOW, 4 * H + timedelta(minutes=30), RANGE)
    assert adjusted.duration == 5 * H
    assert "capped at the service's longest" in adjusted.notes[0]
    assert adjusted.urgency is Urgency.LOW


def test_a_job_already_at_its_longest_is_not_lengthened_nor_noted() -> None:
    adjusted = adjust_for_health(VehicleHealth("V1", 90.0, ("P0217",)), Urgency.LOW, 5 * H, RANGE)
    assert (adjusted.duration, adjusted.notes) == (5 * H, ())
