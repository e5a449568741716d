"""The scheduling policy's reserves: who is kept out of which, their defaults, and how settings fill them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from config.settings import Settings
from domain.customer import CustomerTier
from domain.policy import Reserve, ReserveKind, SchedulingPolicy
from domain.urgency import Urgency


def kinds(policy: SchedulingPolicy, urgency: Urgency, tier: CustomerTier) -> list[ReserveKind]:
    return [r.kind for r in policy.reserves_closed_to(urgency, tier)]


@pytest.mark.parametrize("urgency", [Urgency.LOW, Urgency.MEDIUM])
def test_routine_work_of_a_regular_customer_is_kept_out_of_both_reserves(urgency: Urgency) -> None:
    assert kinds(SchedulingPolicy(), urgency, CustomerTier.REGULAR) == [ReserveKind.URGENT, ReserveKind.PRIORITY]


@pytest.mark.parametrize("tier", [CustomerTier.FLEET, CustomerTier.PREMIUM])
def test_fleet_and_premium_routine_work_may_use_the_priority_reserve(tier: CustomerTier) -> None:
    assert kinds(SchedulingPolicy(), Urgency.LOW, tier) == [ReserveKind.URGENT]


@pytest.mark.parametrize("urgency", [Urgency.HIGH, Urgency.CRITICAL])
@pytest.mark.parametrize("tier", list(CustomerTier))
def test_urgent_work_may_use_every_reserve(urgency: Urgency, tier: CustomerTier) -> None:
    assert kinds(SchedulingPolicy(), urgency, tier) == []


def test_defaults_keep_a_tenth_for_urgent_work_until_12_hours_and_a_tenth_for_priority_until_48() -> None:
    policy = SchedulingPolicy()
    assert (policy.urgent_reserve.share, policy.urgent_reserve.release) == (0.1, timedelta(hours=12))
    assert (policy.priority_reserve.share, policy.priority_reserve.release) == (0.1, timedelta(hours=48))
    # The urgent reserve lies in blocks as long as the card's longest emergency; the priority one is a volume.
    assert (policy.urgent_reserve.block, policy.priority_reserve.block) == (timedelta(hours=2), None)
    assert policy.shortest_job == timedelta(hours=1)  # the card's shortest job


def test_a_reserve_with_no_share_keeps_nobody_out() -> None:
    policy = SchedulingPolicy(urgent_reserve=Reserve(ReserveKind.URGENT, 0.0, timedelta(hours=24)))
    assert kinds(policy, Urgency.LOW, CustomerTier.REGULAR) == [ReserveKind.PRIORITY]


def test_reserves_must_leave_part_of_the_day_to_routine_work() -> None:
    with pytest.raises(ValueError, match="share"):
        Reserve(ReserveKind.URGENT, 1.0, timedelta(hours=1))
    with pytest.raises(ValueError, match="release"):
        Reserve(ReserveKind.URGENT, 0.2, timedelta(hours=-1))
    with pytest.raises(ValueError, match="block"):
        Reserve(ReserveKind.URGENT, 0.2, timedelta(hours=1), timedelta(0))
    with pytest.raises(ValueError, match="sum"):
        SchedulingPolicy(
            urgent_reserve=Reserve(ReserveKind.URGENT, 0.6, timedelta(0)),
            priority_reserve=Reserve(ReserveKind.PRIORITY, 0.4, timedelta(0)),
        )


def test_the_four_reserve_settings_reach_the_policy() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        urgent_reserve_share=0.25,
        urgent_reserve_release_hours=12,
        priority_reserve_share=0.05,
        priority_reserve_release_hours=36,
    )
    policy = settings.scheduling_policy()
    assert policy.urgent_reserve == Reserve(ReserveKind.URGENT, 0.25, timedelta(hours=12), timedelta(hours=2))
    assert policy.priority_reserve == Reserve(ReserveKind.PRIORITY, 0.05, timedelta(hours=36))
    defaults = Settings(_env_file=None).scheduling_policy()  # type: ignore[call-arg]
    assert (defaults.urgent_reserve, defaults.priority_reserve) == (
        SchedulingPolicy().urgent_reserve,
        SchedulingPolicy().priority_reserve,
    )


def test_reserve_settings_out_of_range_are_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, urgent_reserve_share=0.7, priority_reserve_share=0.3)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        Settings(_env_file=None, urgent_reserve_share=-0.1)  # type: ignore[call-arg]
