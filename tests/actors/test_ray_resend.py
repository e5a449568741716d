"""The Ray resend policy without a cluster: a host that stays dead is resent to, with growing pauses, until
the deadline, and the caller then hears ``ServiceUnavailable``.

The host class is a fake whose every handle is dead (``RayActorError``), so each
resend shows whether the dead handle was dropped and a new one asked for. The
pauses are recorded instead of slept. The killed-actor tests in
``test_actor_restarts.py`` run the same policy against real Ray.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from ray.exceptions import RayActorError
from tenacity import RetryCallState, stop_after_attempt

from actors import factory
from actors.factory import RETRY_DEADLINE_S, RayDirectory
from application.ports import ResourceKind, ResourceRef
from domain.errors import ServiceUnavailable
from domain.policy import SchedulingPolicy

TECHNICIAN = ResourceRef(ResourceKind.TECHNICIAN, "s1", "t1")
NOW = datetime(2030, 2, 1, 9, 0, tzinfo=UTC)


class _DeadHandle:
    def __init__(self, failure: Exception) -> None:
        self._failure = failure

    def __getattr__(self, method: str) -> Any:
        return self

    async def remote(self, *args: Any) -> Any:
        raise self._failure


class _DeadHostClass:
    """Stands for ``ray.remote(RayCalendarHost)``: every actor it gets-or-creates has died."""

    def __init__(self, failure: Exception) -> None:
        self.failure = failure
        self.handles: list[_DeadHandle] = []

    def options(self, **_: Any) -> _DeadHostClass:
        return self

    def remote(self, *_: Any) -> _DeadHandle:
        self.handles.append(_DeadHandle(self.failure))
        return self.handles[-1]


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    asked: list[float] = []

    async def record(seconds: float) -> None:
        asked.append(seconds)

    monkeypatch.setattr(RayDirectory._send.retry, "sleep", record)
    return asked


def _directory(monkeypatch: pytest.MonkeyPatch, failure: Exception) -> tuple[RayDirectory, _DeadHostClass]:
    hosts = _DeadHostClass(failure)
    monkeypatch.setattr(factory, "_host_class", lambda: hosts)
    return RayDirectory("postgresql://unused", SchedulingPolicy()), hosts


async def test_a_dead_host_is_resent_with_doubling_pauses_and_then_answered_unavailable(
    monkeypatch: pytest.MonkeyPatch, pauses: list[float]
) -> None:
    directory, hosts = _directory(monkeypatch, RayActorError())
    monkeypatch.setattr(RayDirectory._send.retry, "stop", stop_after_attempt(8))  # the deadline, in attempts

    with pytest.raises(ServiceUnavailable, match="shop:s1"):
        await directory.activate([TECHNICIAN], NOW)
    assert len(hosts.handles) == 8  # every resend dropped the dead handle and got-or-created it again
    assert pauses == pytest.approx([0.02, 0.04, 0.08, 0.16, 0.32, 0.5, 0.5])


def test_the_resend_policy_gives_up_at_the_deadline_and_not_before() -> None:
    policy = RayDirectory._send.retry
    state = RetryCallState(policy, fn=None, args=(), kwargs={})
    state.set_exception((RayActorError, RayActorError(), None))
    state.outcome_timestamp = state.start_time + RETRY_DEADLINE_S - 0.5
    assert not policy.stop(state)
    state.outcome_timestamp = state.start_time + RETRY_DEADLINE_S
    assert policy.stop(state)


async def test_a_failure_other_than_a_dead_host_is_not_resent(
    monkeypatch: pytest.MonkeyPatch, pauses: list[float]
) -> None:
    directory, hosts = _directory(monkeypatch, ValueError("a bug in the host"))
    with pytest.raises(ValueError, match="a bug"):
        await directory.activate([TECHNICIAN], NOW)
    assert len(hosts.handles) == 1
    assert pauses == []
