"""Lifecycle, catalog durations, parts, cancellation policy, events, and domain purity."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from domain.appointment import AppointmentStatus, check_transition
from domain.catalog import PartRequirement, ServiceCategory, ServiceType
from domain.errors import InvalidTransition
from domain.events import EventEnvelope, MalformedEvent
from domain.parts import PartStock, check_parts
from domain.policy import CancellationPolicy
from domain.urgency import Urgency

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("src", "dst"),
    [("held", "scheduled"), ("held", "expired"), ("scheduled", "checked_in"), ("checked_in", "in_progress"),
     ("in_progress", "completed"), ("scheduled", "cancelled"), ("scheduled", "no_show")],
)
def test_lifecycle_steps_are_allowed(src: str, dst: str) -> None:
    check_transition(AppointmentStatus(src), AppointmentStatus(dst))


@pytest.mark.parametrize(("src", "dst"), [("completed", "scheduled"), ("cancelled", "scheduled"),
                                          ("expired", "scheduled"), ("held", "completed")])
def test_lifecycle_refuses_other_steps(src: str, dst: str) -> None:
    with pytest.raises(InvalidTransition):
        check_transition(AppointmentStatus(src), AppointmentStatus(dst))


def test_duration_outside_the_categorys_range_is_refused() -> None:
    st = ServiceType("engine_repair", "Engine", ServiceCategory.COMPONENT_REPAIR, timedelta(hours=3))
    assert st.duration_for(None) == timedelta(hours=3)
    assert st.duration_for(timedelta(hours=5)) == timedelta(hours=5)
    with pytest.raises(ValueError, match="outside"):
        st.duration_for(timedelta(hours=6))


def test_missing_parts_add_the_longest_lead_time() -> None:
    stock = {
        "a": PartStock("s", "a", "A", 5, timedelta(days=1)),
        "b": PartStock("s", "b", "B", 0, timedelta(days=3)),
        "c": PartStock("s", "c", "C", 1, timedelta(days=2)),
    }
    verdict = check_parts([PartRequirement("a"), PartRequirement("b"), PartRequirement("c", 2)], stock, NOW)
    assert not verdict.available
    assert verdict.missing == ("b", "c")
    assert verdict.ready_at == NOW + timedelta(days=3)
    assert check_parts([PartRequirement("a")], stock, NOW).available
    assert check_parts([PartRequirement("zz")], stock, NOW).unknown == ("zz",)


def test_cancellation_is_free_only_more_than_a_day_ahead() -> None:
    policy = CancellationPolicy(free_before=timedelta(hours=24), late_fee=Decimal("40"))
    assert not policy.assess(NOW + timedelta(hours=25), NOW).late
    late = policy.assess(NOW + timedelta(hours=23), NOW)
    assert late.late and late.fee == Decimal("40")


def test_event_envelope_round_trips_and_tolerates_unknown_fields() -> None:
    env = EventEnvelope.new("appointment.scheduled", {"appointment_id": "x"}, NOW)
    back = EventEnvelope.from_json(env.to_json())
    assert back == env
    raw = '{"event_id":"1","event_type":"alert.created","occurred_at":"2030-01-01T00:00:00Z","extra":1,"data":{}}'
    assert EventEnvelope.from_json(raw).event_type == "alert.created"
    for bad in ("nope", "[]", '{"event_id":"1"}', raw.replace("Z", "")):
        with pytest.raises(MalformedEvent):
            EventEnvelope.from_json(bad)


def test_urgency_parses_case_insensitively() -> None:
    assert Urgency.parse("high") is Urgency.HIGH
    with pytest.raises(ValueError, match="LOW"):
        Urgency.parse("soon")


FORBIDDEN = {"ray", "asyncpg", "redis", "ortools", "fastapi", "starlette", "httpx", "pydantic",
             "solver", "store", "actors", "bridge", "integrations", "deployments", "config"}


def test_domain_imports_no_infrastructure_and_nothing_of_ours_outside_domain() -> None:
    root = Path(__file__).resolve().parents[2] / "domain"
    for path in root.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, f"{path.name} imports {name}"
