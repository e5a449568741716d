"""Every metric the service exports, in one place: Ray's metrics API (``ray.util.metrics``).

Why Ray's and not prometheus-client on ``/metrics``: the service runs in
several processes (Serve replicas, the event-bridge actor, solver tasks), and a
``/metrics`` route would answer for whichever replica the request reached. Ray
collects every process's metrics through its per-node agent and serves them at
the node's Prometheus endpoint (``ray start --metrics-export-port=8080``;
``ray.nodes()[i]["MetricsExportPort"]``), with the process in labels. Ray adds
the ``ray_`` prefix: ``scheduling_bookings_total`` is scraped as
``ray_scheduling_bookings_total``.

Metric objects are made on first use in each process (never at import: Ray
imports this module in every worker), and recording never raises: a metric
that cannot be recorded must not fail a booking.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from application.slot_search import SolveRunner
from solver import SlotProblem, SlotResult

log = logging.getLogger(__name__)

PROMETHEUS_PREFIX = "ray_"
LATENCY_BOUNDARIES = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """A metric's name, kind, help text and label names."""

    name: str
    kind: str  # counter | gauge | histogram
    description: str
    tags: tuple[str, ...] = ()


SPECS: tuple[MetricSpec, ...] = (
    MetricSpec("scheduling_searches_total", "counter", "Slot searches answered, by outcome.", ("outcome",)),
    MetricSpec("scheduling_search_seconds", "histogram", "Slot search latency over HTTP.", ("outcome",)),
    MetricSpec("scheduling_solves_total", "counter", "CP-SAT slot solves, by status.", ("status", "runner")),
    MetricSpec("scheduling_solve_seconds", "histogram", "Time of one batch of slot solves.", ("runner",)),
    MetricSpec("scheduling_bookings_total", "counter", "Appointments and holds booked, by channel.", ("channel",)),
    MetricSpec("scheduling_conflicts_total", "counter", "409 answers, by route.", ("route",)),
    MetricSpec("scheduling_http_requests_total", "counter", "HTTP requests.", ("route", "method", "status")),
    MetricSpec("scheduling_http_request_seconds", "histogram", "HTTP request latency.", ("route", "method")),
    MetricSpec("scheduling_holds_expired_total", "counter", "Holds released after their time-to-live."),
    MetricSpec("scheduling_replans_total", "counter", "Replans applied (time off, overruns).", ("kind",)),
    MetricSpec("scheduling_events_consumed_total", "counter", "Stream events consumed, by outcome.", ("outcome",)),
    MetricSpec("scheduling_events_published_total", "counter", "Outbox events published to Redis Streams."),
    MetricSpec("scheduling_events_dead_lettered_total", "counter", "Events moved to the dead-letter stream."),
    MetricSpec("scheduling_outbox_lag_seconds", "gauge", "Age of the oldest unpublished outbox event (0: none)."),
    MetricSpec("scheduling_outbox_unpublished", "gauge", "Outbox events not yet published."),
    MetricSpec("scheduling_consumer_pending", "gauge", "Entries delivered but not acked, per stream.", ("stream",)),
    MetricSpec(
        "scheduling_invite_deliveries",
        "gauge",
        "Calendar invite deliveries by provider and state.",
        ("provider", "state"),
    ),
)
_BY_NAME = {s.name: s for s in SPECS}


def exported_names() -> set[str]:
    """Every series name Prometheus sees (prefix added; a histogram's ``_bucket``, ``_sum`` and ``_count``)."""
    names = set()
    for s in SPECS:
        base = PROMETHEUS_PREFIX + s.name
        names |= {base + suffix for suffix in ("_bucket", "_sum", "_count")} if s.kind == "histogram" else {base}
    return names


@cache
def _metric(name: str) -> Any:
    from ray.util import metrics

    spec = _BY_NAME[name]
    if spec.kind == "counter":
        return metrics.Counter(spec.name, description=spec.description, tag_keys=spec.tags)
    if spec.kind == "gauge":
        return metrics.Gauge(spec.name, description=spec.description, tag_keys=spec.tags)
    return metrics.Histogram(spec.name, description=spec.description, boundaries=LATENCY_BOUNDARIES, tag_keys=spec.tags)


def _tags(name: str, tags: dict[str, str]) -> dict[str, str] | None:
    return {k: str(tags.get(k, "")) for k in _BY_NAME[name].tags} or None


def count(name: str, value: float = 1.0, **tags: str) -> None:
    """Add ``value`` to a counter (nothing for 0)."""
    if value <= 0:
        return
    try:
        _metric(name).inc(value, tags=_tags(name, tags))
    except Exception:  # a metric must never fail the work it measures
        log.debug("metric %s not recorded", name, exc_info=True)


def observe(name: str, value: float, **tags: str) -> None:
    """Record a value in a histogram."""
    try:
        _metric(name).observe(value, tags=_tags(name, tags))
    except Exception:
        log.debug("metric %s not recorded", name, exc_info=True)


def set_gauge(name: str, value: float, **tags: str) -> None:
    try:
        _metric(name).set(value, tags=_tags(name, tags))
    except Exception:
        log.debug("metric %s not recorded", name, exc_info=True)


class MeasuredSolveRunner:
    """A ``SolveRunner`` that records each batch's time and each solve's status (``timed_out`` when it missed)."""

    def __init__(self, inner: SolveRunner, runner: str) -> None:
        self._inner = inner
        self._runner = runner

    async def solve(self, problems: Sequence[SlotProblem], time_limit_s: float) -> list[SlotResult | None]:
        started = time.perf_counter()
        results = await self._inner.solve(problems, time_limit_s)
        observe("scheduling_solve_seconds", time.perf_counter() - started, runner=self._runner)
        for r in results:
            count(
                "scheduling_solves_total", status=r.status.value if r is not None else "timed_out", runner=self._runner
            )
        return results
