"""Rate limits: 429 with ``Retry-After`` after the burst, success once that time has passed (a manual clock)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from application.access import Caller
from application.slot_search import SlotSearchResult
from config.settings import Settings
from deployments.api import create_api
from deployments.rate_limits import EndpointClass, Limit, RateLimited, RateLimiter
from tests.api.helpers import assert_problem


class FakeClock:
    """Seconds that move only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_the_burst_then_refills_at_its_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter({EndpointClass.SEARCH: Limit(per_second=2, burst=3)}, clock)
    for _ in range(3):
        limiter.check(EndpointClass.SEARCH, "key:a")
    with pytest.raises(RateLimited) as refused:
        limiter.check(EndpointClass.SEARCH, "key:a")
    assert refused.value.retry_after == pytest.approx(0.5)
    limiter.check(EndpointClass.SEARCH, "key:b")  # another caller has its own bucket

    clock.now += 0.5
    limiter.check(EndpointClass.SEARCH, "key:a")
    with pytest.raises(RateLimited):
        limiter.check(EndpointClass.SEARCH, "key:a")


def test_forgotten_buckets_start_full_and_memory_stays_bounded() -> None:
    clock = FakeClock()
    limiter = RateLimiter({EndpointClass.WRITE: Limit(per_second=1, burst=1)}, clock, max_buckets=2)
    limiter.check(EndpointClass.WRITE, "a")
    limiter.check(EndpointClass.WRITE, "b")
    limiter.check(EndpointClass.WRITE, "c")  # "a" is forgotten
    assert len(limiter._buckets) == 2
    limiter.check(EndpointClass.WRITE, "a")


class _Authorized:
    """Answers every search with nothing: the test is about the limit in front of it."""

    async def search(self, caller: Caller, search: Any) -> SlotSearchResult:
        return SlotSearchResult(())


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def limited_client(clock: FakeClock) -> Any:
    """The real routes over fake services: auth off on loopback, searches limited to a burst of 2 at 0.25/s."""
    settings = Settings(
        auth_disabled=True,
        host="127.0.0.1",
        rate_limit_search_burst=2,
        rate_limit_search_per_second=0.25,
        database_url="postgresql://unused",
    )
    app = create_api()
    app.state.services = SimpleNamespace(
        settings=settings,
        authorized=_Authorized(),
        rate_limits=RateLimiter.from_settings(settings, clock),
        catalog=None,
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api/api/v1") as c:
        yield c


async def test_a_caller_over_its_limit_gets_429_with_retry_after_then_succeeds_after_it(
    limited_client: httpx.AsyncClient, clock: FakeClock
) -> None:
    body = {"vehicle_id": "V1", "service_type": "routine"}
    assert (await limited_client.post("/slots/available", json=body)).status_code == 200
    assert (await limited_client.get("/slots/available", params=body)).status_code == 200

    refused = await limited_client.post("/slots/available", json=body)
    assert_problem(refused, 429, "rate_limited")
    wait = int(refused.headers["Retry-After"])
    assert wait == 4

    clock.now += wait - 1
    assert_problem(await limited_client.post("/slots/available", json=body), 429, "rate_limited")
    clock.now += 1
    assert (await limited_client.post("/slots/available", json=body)).status_code == 200
