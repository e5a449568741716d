"""The pure alert → job rules of domain/alert_mapping.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.alert_mapping import (
    BookingMode,
    job_for,
    needs_details,
    parse_agent_decision,
    parse_alert,
    plan_booking,
    service_type_for,
    with_details,
)
from domain.customer import CustomerTier
from domain.events import MalformedEvent
from domain.urgency import Urgency

NOW = datetime(2030, 2, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("component", "recommended", "expected"),
    [
        ("engine", None, "engine_repair"),
        ("Cooling System", None, "engine_repair"),
        ("thermostat", None, "engine_repair"),
        ("brakes", None, "brake_repair"),
        ("transmission", None, "transmission_repair"),
        ("battery", None, "diagnostic"),
        ("flux capacitor", None, "diagnostic"),
        (None, None, "diagnostic"),
        ("engine", "emergency", "emergency_repair"),
        ("engine", "Timing Belt", "timing_belt_replacement"),
        ("brakes", "something unheard of", "brake_repair"),
    ],
)
def test_component_or_recommended_service_maps_to_a_service_type(
    component: str | None, recommended: str | None, expected: str
) -> None:
    assert service_type_for(component, recommended) == expected


def test_critical_component_repair_is_booked_at_the_best_slot_within_the_configured_days() -> None:
    plan = plan_booking(parse_alert({"alert_id": "A", "vehicle_id": "V", "severity": "critical",
                                     "component": "engine"}), auto_book=True, within_days=5)
    assert (plan.mode, plan.service_type, plan.within) == (BookingMode.BEST_WITHIN_DAYS, "engine_repair",
                                                           timedelta(days=5))


def test_critical_emergency_is_booked_at_the_next_feasible_slot() -> None:
    alert = parse_alert({"alert_id": "A", "vehicle_id": "V", "severity": "CRITICAL",
                         "recommended_service": "emergency_repair"})
    assert plan_booking(alert, auto_book=True, within_days=7).immediate


@pytest.mark.parametrize("severity", ["HIGH", "medium", "warning", "LOW", "info"])
def test_lower_severities_are_not_auto_booked(severity: str) -> None:
    alert = parse_alert({"alert_id": "A", "vehicle_id": "V", "severity": severity, "component": "engine"})
    plan = plan_booking(alert, auto_book=True, within_days=7)
    assert not plan.books and "CRITICAL" in plan.reason


def test_nothing_is_auto_booked_when_switched_off() -> None:
    alert = parse_alert({"alert_id": "A", "vehicle_id": "V", "severity": "CRITICAL"})
    assert not plan_booking(alert, auto_book=False, within_days=7).books


def test_alert_parsing_tolerates_unknown_fields_and_aliases() -> None:
    alert = parse_alert({
        "id": 42, "vehicle": {"vin": "WVW123"}, "severity": "Critical", "system": "Brakes",
        "location": {"latitude": 40.7, "longitude": -74.0}, "customer": {"name": "Ann", "tier": "FLEET"},
        "brand_new_field": [1, 2, 3],
    })
    assert (alert.alert_id, alert.vehicle_id, alert.severity) == ("42", "WVW123", Urgency.CRITICAL)
    assert alert.service_type == "brake_repair" and alert.dedupe_key == "alert:42"
    assert alert.location is not None and alert.customer.tier is CustomerTier.FLEET
    job = job_for(alert, plan_booking(alert, auto_book=True, within_days=7), NOW)
    assert job.duration == timedelta(hours=3) and job.earliest == NOW


def test_a_location_off_the_planet_is_dropped_not_fatal() -> None:
    alert = parse_alert({"alert_id": "A", "vehicle_id": "V", "severity": "LOW", "location": {"lat": 999, "lon": 0}})
    assert alert.location is None


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"vehicle_id": "V", "severity": "CRITICAL"}, "alert_id"),
        ({"alert_id": "A", "severity": "CRITICAL"}, "vehicle_id"),
        ({"alert_id": "A", "vehicle_id": "V"}, "severity"),
        ({"alert_id": "A", "vehicle_id": "V", "severity": "apocalyptic"}, "severity"),
    ],
)
def test_alert_missing_what_it_needs_is_malformed(data: dict[str, str], field: str) -> None:
    with pytest.raises(MalformedEvent, match=field):
        parse_alert(data)


def test_agent_decision_shares_the_dedupe_key_of_the_alert_it_answers() -> None:
    decision = parse_agent_decision({"decision_id": "D", "alert_id": "A", "vehicle_id": "V", "urgency": "CRITICAL",
                                     "service_recommendation": {"service_type": "brake_service"}}, "E")
    assert decision is not None
    assert (decision.dedupe_key, decision.service_type) == ("alert:A", "brake_repair")
    alone = parse_agent_decision({"decision_id": "D", "vehicle_id": "V", "urgency": "HIGH",
                                  "recommended_service": "routine"}, "E")
    assert alone is not None and alone.dedupe_key == "decision:D"


def test_agent_decision_without_a_service_recommendation_is_not_an_alert() -> None:
    assert parse_agent_decision({"decision_id": "D", "vehicle_id": "V", "decision": "monitor"}, "E") is None


@pytest.mark.parametrize(
    ("data", "thin"),
    [
        ({"alert_id": "A1"}, True),
        ({"alert_id": "A1", "vehicle_id": "V1", "severity": "CRITICAL"}, True),  # what is wrong is unknown
        ({"alert_id": "A1", "vehicle_id": "V1", "component": "brakes"}, True),
        ({"alert_id": "A1", "severity": "CRITICAL", "component": "brakes"}, True),
        ({"alert_id": "A1", "vehicle": {"vin": "V1"}, "level": "CRITICAL", "system": "brakes"}, False),
        ({"alert_id": "A1", "vehicle_id": "V1", "severity": "HIGH", "recommended_service": "oil_change"}, False),
    ],
)
def test_an_alert_without_vehicle_severity_or_component_needs_details(data: dict[str, Any], thin: bool) -> None:
    assert needs_details(data) is thin


def test_details_fill_the_gaps_and_the_event_s_own_values_win() -> None:
    details = {"alert_id": "A1", "vehicle_id": "V9", "severity": "CRITICAL", "component": "coolant", "shop_id": "s1"}
    merged = with_details({"alert_id": "A1", "vehicle_id": "V1", "shop_id": None}, details)
    alert = parse_alert(merged)
    assert (alert.vehicle_id, alert.severity, alert.service_type, alert.shop_id) == (
        "V1",
        Urgency.CRITICAL,
        "engine_repair",
        "s1",
    )
