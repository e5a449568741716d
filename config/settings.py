"""The one settings object. Nothing else in the service reads the environment.

Built lazily (``get_settings()``), never at import time: Ray imports modules in
every worker process, and each builds its own from the same environment.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.policy import LONGEST_EMERGENCY_JOB, CancellationPolicy, Reserve, ReserveKind, SchedulingPolicy


class Settings(BaseSettings):
    """Every environment variable of the service card, plus the service's own knobs."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    service_name: str = "scheduling-service"
    port: int = 8005
    host: str = "0.0.0.0"
    database_url: str | None = None
    redis_url: str | None = None
    data_dir: Path = Path(".data")
    """Where the embedded PostgreSQL and Redis keep their files."""
    seed_demo_data: bool | None = None
    """Load the demo chain into an empty database; defaults to on in embedded mode."""

    max_bookings_per_technician_per_day: int = Field(6, ge=1)
    service_bay_count: int = Field(8, ge=1)
    buffer_time_minutes: int = Field(30, ge=0)
    hold_ttl_minutes: float = Field(15, gt=0)
    waitlist_offer_minutes: float = Field(15, gt=0)
    """How long a waitlist offer (and the hold behind it) lives before it passes to the next entry."""
    slot_step_minutes: int = Field(15, ge=5)
    free_cancellation_hours: float = Field(24, ge=0)
    late_cancellation_fee: Decimal = Decimal("50.00")
    no_show_grace_minutes: float = Field(30, ge=0)
    """How long past its start an appointment must be before the shop may record a no-show."""

    urgent_reserve_share: float = Field(0.1, ge=0, lt=1)
    """About this share of the shop's technician time each local day is kept from LOW/MEDIUM work, as 2-hour
    blocks spread over the day (CRITICAL/HIGH may use them)."""
    urgent_reserve_release_hours: float = Field(12, ge=0)
    """The urgent reserve opens to all work this long before the day's local midnight."""
    priority_reserve_share: float = Field(0.1, ge=0, lt=1)
    """Share of each technician's local day kept from regular customers' LOW/MEDIUM work (fleet/premium may
    use it), counted on each technician's day apart from the urgent reserve's blocks."""
    priority_reserve_release_hours: float = Field(48, ge=0)
    """The priority reserve opens to all work this long before the day's local midnight."""

    min_booking_notice_minutes: int = Field(120, ge=0)
    """No search offers, and no booking takes, a start sooner than this after now."""
    emergency_notice_minutes: int = Field(30, ge=0)
    """The notice CRITICAL requests and auto-booked CRITICAL alerts need instead."""
    max_booking_horizon_days: int = Field(90, ge=1)
    """No search offers, and no booking takes, a start further ahead than this."""

    auto_book_critical_alerts: bool = True
    auto_book_within_days: int = Field(7, ge=1)

    google_calendar_api_key: str | None = None
    google_calendar_credentials_file: Path | None = None
    google_calendar_credentials_json: str | None = None
    microsoft_graph_client_id: str | None = None
    microsoft_graph_client_secret: str | None = None
    microsoft_graph_tenant_id: str | None = None

    send_reminder_hours_before: float = Field(24, gt=0)
    send_confirmation_email: bool = True
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "scheduling@localhost"
    smtp_starttls: bool = False

    alert_service_url: str | None = None
    """The Alert Service, asked for an alert's details when an ``alert.created`` event is thin."""
    alert_service_timeout_seconds: float = Field(2.0, gt=0)
    alert_service_auth_header: str | None = None
    """Sent with every call: ``Name: value`` (``Authorization: Bearer ...``), or a bare ``Authorization`` value."""
    health_service_url: str | None = None
    """The Health Service, asked for a vehicle's health on slot search and auto-booking."""
    health_service_timeout_seconds: float = Field(1.0, gt=0)
    health_service_auth_header: str | None = None
    inventory_service_url: str | None = None
    """The Inventory Service, asked for parts stock and lead time (else the local ``parts`` table answers)."""
    inventory_service_timeout_seconds: float = Field(1.0, gt=0)
    inventory_service_auth_header: str | None = None
    inventory_cache_seconds: float = Field(30, ge=0)
    """How long one Inventory Service answer is reused for the same shops and parts."""
    neighbour_retry_attempts: int = Field(2, ge=1, le=5)
    """Tries per call to a neighbour when the connection fails or it answers 502/503/504 (timeouts: one)."""
    neighbour_circuit_failures: int = Field(5, ge=1)
    """Consecutive failures after which a neighbour's circuit opens (calls refused at once)."""
    neighbour_circuit_reset_seconds: float = Field(30, gt=0)
    """How long an open circuit rests before one trial call."""

    travel_road_factor: float = Field(1.3, ge=1)
    """Mobile service (issue 17): road distance as a multiple of the straight line (haversine)."""
    travel_speed_kmh: float = Field(40, gt=0)
    """Average driving speed for travel times when no OSRM server is configured."""
    osrm_url: str | None = None
    """An OSRM server (``http://osrm:5000``): its ``/table`` service gives driving times instead of the formula."""
    osrm_profile: str = "driving"
    osrm_timeout_seconds: float = Field(2.0, gt=0)
    arrival_window_minutes: int = Field(120, ge=15, le=720)
    """An on-site customer is promised arrival inside a window this long, on a grid from local midnight."""
    max_service_radius_km: float = Field(50, gt=0)
    """An on-site request farther than this from every mobile technician's base is refused (422)."""

    stream_prefix: str = ""
    """Prepended to every stream name (e.g. ``prod:``); one stream per event type."""
    stream_maxlen: int = Field(100_000, ge=100)
    consumer_group: str = "scheduling-service"
    event_max_deliveries: int = Field(5, ge=1)

    solver_time_limit_seconds: float = Field(2.0, gt=0)
    actor_idle_seconds: float = Field(600, gt=0)
    ray_address: str | None = None
    node_ip_address: str | None = None
    """This node's address for Ray and Serve's own sockets. Unset (one node): they all bind loopback and only
    the API port binds ``HOST``. Set it on every node of a multi-node cluster (with ``ray start
    --node-ip-address``), and keep Ray's token authentication on."""
    ray_dashboard: bool = False
    """Start Ray's dashboard with the local node (off: one more port, and it can run code on the cluster)."""
    metrics_export_port: int | None = Field(None, ge=1, le=65535)
    """The port of Ray's Prometheus endpoint on the local node ``scheduling-service serve`` starts (None: Ray
    picks a free one; ``ray.nodes()`` names it as ``MetricsExportPort``)."""
    ray_namespace: str = "scheduling"
    """Namespace of the named resource and bridge actors (tests use their own)."""
    hold_sweep_seconds: float = Field(15, gt=0)
    database_pool_acquire_timeout_seconds: float = Field(10, gt=0)
    """How long a request waits for a free connection of its process's database pool; past it, an exhausted
    pool answers 503 with ``Retry-After`` instead of queueing the request without end."""
    idempotency_in_flight_timeout_seconds: float = Field(60, gt=0)
    """An Idempotency-Key claimed this long ago whose request never finished (its process died) may be
    taken over by a retry; a claim that did take effect is replayed instead, however old."""
    idempotency_retention_hours: float = Field(24, ge=24)
    """Idempotency records are kept this long (at least 24 h), then purged by the ingress every hour."""
    search_retention_days: float = Field(90, ge=1)
    """Recorded slot searches (for the booking-success and recommended-slot KPIs) are kept this long, then
    purged by the ingress every hour; KPI windows older than this count fewer searches."""

    auth_disabled: bool = False
    """Turn authentication off (every caller is an admin): local experiments only. Refused unless the API
    binds a loopback address (``HOST``); logged as a warning at every start."""
    public_url: str | None = None
    """The service's address as customers reach it, for the links in answers and emails
    (default ``http://localhost:PORT``)."""
    customer_link_ttl_days: float = Field(90, gt=0)
    """A customer link dies after this long, or earlier when its appointment ends or is cancelled."""
    rate_limit_search_per_second: float = Field(5, gt=0)
    """Slot searches a key (or, without one, a client address) may make per second, sustained."""
    rate_limit_search_burst: int = Field(20, ge=1)
    """Slot searches allowed at once before the sustained rate applies."""
    rate_limit_write_per_second: float = Field(5, gt=0)
    """Bookings, changes and cancellations per key (or client address) per second, sustained."""
    rate_limit_write_burst: int = Field(20, ge=1)

    @model_validator(mode="after")
    def _reserves_leave_room(self) -> Settings:
        if self.urgent_reserve_share + self.priority_reserve_share >= 1:
            raise ValueError("URGENT_RESERVE_SHARE + PRIORITY_RESERVE_SHARE must be below 1")
        return self

    @property
    def base_url(self) -> str:
        """Where customers reach the service (``PUBLIC_URL``, else ``http://localhost:PORT``), no trailing slash."""
        return (self.public_url or f"http://localhost:{self.port}").rstrip("/")

    @property
    def binds_loopback_only(self) -> bool:
        """Whether the API listens on a loopback address only (``HOST``)."""
        return is_loopback(self.host)

    @property
    def embedded_database(self) -> bool:
        return not self.database_url

    @property
    def embedded_redis(self) -> bool:
        return not self.redis_url

    @property
    def should_seed_demo(self) -> bool:
        return self.embedded_database if self.seed_demo_data is None else self.seed_demo_data

    def scheduling_policy(self) -> SchedulingPolicy:
        return SchedulingPolicy(
            buffer=timedelta(minutes=self.buffer_time_minutes),
            max_bookings_per_technician_per_day=self.max_bookings_per_technician_per_day,
            hold_ttl=timedelta(minutes=self.hold_ttl_minutes),
            slot_step=timedelta(minutes=self.slot_step_minutes),
            reassign_horizon_days=self.auto_book_within_days,
            no_show_grace=timedelta(minutes=self.no_show_grace_minutes),
            min_booking_notice=timedelta(minutes=self.min_booking_notice_minutes),
            emergency_notice=timedelta(minutes=self.emergency_notice_minutes),
            max_booking_horizon=timedelta(days=self.max_booking_horizon_days),
            urgent_reserve=Reserve(
                ReserveKind.URGENT,
                self.urgent_reserve_share,
                timedelta(hours=self.urgent_reserve_release_hours),
                LONGEST_EMERGENCY_JOB,
            ),
            priority_reserve=Reserve(
                ReserveKind.PRIORITY,
                self.priority_reserve_share,
                timedelta(hours=self.priority_reserve_release_hours),
            ),
        )

    def cancellation_policy(self) -> CancellationPolicy:
        return CancellationPolicy(
            free_before=timedelta(hours=self.free_cancellation_hours),
            late_fee=self.late_cancellation_fee,
        )


def is_loopback(host: str) -> bool:
    """Whether ``host`` names a loopback address (``127.0.0.0/8``, ``::1``, ``localhost``)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once from the environment and ``.env``."""
    return Settings()
