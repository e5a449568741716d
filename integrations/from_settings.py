"""Build the enabled calendar targets, the invite dispatcher and the neighbours' clients from Settings.

Called from the service's start-up, never at import time. A provider (or a
neighbouring service: Alert, Health, Inventory) is on when its settings are
present; none of them is required. It takes any object
with the invite settings (``config.settings.Settings`` is one), so that
integrations depends on nothing of ours but the domain.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Protocol

from integrations.alert_service import AlertServiceClient
from integrations.calendar_target import CalendarTarget
from integrations.confirmation_email import ConfirmationEmailTarget, ManageLink, SmtpConfig
from integrations.delivery import InviteDeliveryRepository
from integrations.dispatcher import InviteDispatcher, RetryPolicy, utc_now
from integrations.health_service import HealthServiceClient
from integrations.inventory_service import InventoryServiceClient
from integrations.neighbour_http import NeighbourConfig, NeighbourHttp

log = logging.getLogger(__name__)


class InviteSettings(Protocol):
    """The settings invites read (a subset of ``config.settings.Settings``)."""

    @property
    def google_calendar_api_key(self) -> str | None: ...
    @property
    def google_calendar_credentials_file(self) -> Path | None: ...
    @property
    def google_calendar_credentials_json(self) -> str | None: ...
    @property
    def microsoft_graph_client_id(self) -> str | None: ...
    @property
    def microsoft_graph_client_secret(self) -> str | None: ...
    @property
    def microsoft_graph_tenant_id(self) -> str | None: ...
    @property
    def send_confirmation_email(self) -> bool: ...
    @property
    def smtp_host(self) -> str | None: ...
    @property
    def smtp_port(self) -> int: ...
    @property
    def smtp_username(self) -> str | None: ...
    @property
    def smtp_password(self) -> str | None: ...
    @property
    def smtp_from(self) -> str: ...
    @property
    def smtp_starttls(self) -> bool: ...


def calendar_targets(settings: InviteSettings, manage_link: ManageLink | None = None) -> list[CalendarTarget]:
    """Every calendar target whose configuration is complete (``manage_link`` puts customer links in emails)."""
    targets: list[CalendarTarget] = []
    if settings.google_calendar_credentials_file or settings.google_calendar_credentials_json:
        # Imported here: the Google client is only loaded where it is configured.
        from integrations.google_calendar import GoogleCalendarTarget, service_account_credentials

        credentials = service_account_credentials(
            credentials_file=settings.google_calendar_credentials_file,
            credentials_json=settings.google_calendar_credentials_json,
        )
        targets.append(GoogleCalendarTarget(credentials))
    elif settings.google_calendar_api_key:
        log.warning(
            "GOOGLE_CALENDAR_API_KEY is set but an API key cannot write calendars; "
            "set GOOGLE_CALENDAR_CREDENTIALS_FILE or GOOGLE_CALENDAR_CREDENTIALS_JSON for invites"
        )
    graph = (
        settings.microsoft_graph_tenant_id,
        settings.microsoft_graph_client_id,
        settings.microsoft_graph_client_secret,
    )
    if all(graph):
        from azure.identity.aio import ClientSecretCredential

        from integrations.microsoft_graph import MicrosoftGraphTarget, graph_client

        tenant_id, client_id, client_secret = (str(v) for v in graph)
        credential = ClientSecretCredential(tenant_id, client_id, client_secret)
        targets.append(MicrosoftGraphTarget(graph_client(credential)))
    elif any(graph):
        log.warning(
            "Microsoft Graph invites are off: MICROSOFT_GRAPH_TENANT_ID, _CLIENT_ID and _CLIENT_SECRET must all be set"
        )
    if settings.send_confirmation_email and settings.smtp_host:
        targets.append(ConfirmationEmailTarget(smtp_config(settings), manage_link))
    return targets


def invite_dispatcher(
    settings: InviteSettings,
    repository: InviteDeliveryRepository,
    *,
    retry: RetryPolicy | None = None,
    clock: Callable[[], datetime] = utc_now,
    manage_link: ManageLink | None = None,
) -> InviteDispatcher:
    """The dispatcher over every enabled target, storing state in ``repository``."""
    targets = calendar_targets(settings, manage_link)
    log.info("calendar invites go to: %s", ", ".join(t.provider for t in targets) or "nowhere (none configured)")
    return InviteDispatcher(targets, repository, retry=retry, clock=clock)


class NeighbourSettings(Protocol):
    """The settings of the Alert, Health and Inventory services (a subset of ``config.settings.Settings``)."""

    @property
    def alert_service_url(self) -> str | None: ...
    @property
    def alert_service_timeout_seconds(self) -> float: ...
    @property
    def alert_service_auth_header(self) -> str | None: ...
    @property
    def health_service_url(self) -> str | None: ...
    @property
    def health_service_timeout_seconds(self) -> float: ...
    @property
    def health_service_auth_header(self) -> str | None: ...
    @property
    def inventory_service_url(self) -> str | None: ...
    @property
    def inventory_service_timeout_seconds(self) -> float: ...
    @property
    def inventory_service_auth_header(self) -> str | None: ...
    @property
    def neighbour_retry_attempts(self) -> int: ...
    @property
    def neighbour_circuit_failures(self) -> int: ...
    @property
    def neighbour_circuit_reset_seconds(self) -> float: ...


def _neighbour(
    settings: NeighbourSettings, service: str, url: str, timeout_s: float, auth: str | None
) -> NeighbourHttp:
    return NeighbourHttp(
        NeighbourConfig(
            service=service,
            base_url=url,
            timeout_s=timeout_s,
            auth_header=auth,
            attempts=settings.neighbour_retry_attempts,
            failure_threshold=settings.neighbour_circuit_failures,
            reset_after_s=settings.neighbour_circuit_reset_seconds,
        )
    )


def alert_service(settings: NeighbourSettings) -> AlertServiceClient | None:
    """The Alert Service client, or None when ``ALERT_SERVICE_URL`` is not set."""
    if not settings.alert_service_url:
        return None
    return AlertServiceClient(
        _neighbour(
            settings,
            "alert",
            settings.alert_service_url,
            settings.alert_service_timeout_seconds,
            settings.alert_service_auth_header,
        )
    )


def health_service(settings: NeighbourSettings) -> HealthServiceClient | None:
    """The Health Service client, or None when ``HEALTH_SERVICE_URL`` is not set."""
    if not settings.health_service_url:
        return None
    return HealthServiceClient(
        _neighbour(
            settings,
            "health",
            settings.health_service_url,
            settings.health_service_timeout_seconds,
            settings.health_service_auth_header,
        )
    )


def inventory_service(settings: NeighbourSettings) -> InventoryServiceClient | None:
    """The Inventory Service client, or None when ``INVENTORY_SERVICE_URL`` is not set."""
    if not settings.inventory_service_url:
        return None
    return InventoryServiceClient(
        _neighbour(
            settings,
            "inventory",
            settings.inventory_service_url,
            settings.inventory_service_timeout_seconds,
            settings.inventory_service_auth_header,
        )
    )


def smtp_config(settings: InviteSettings) -> SmtpConfig:
    """Where emails go (``SMTP_*``); only call it with ``smtp_host`` set."""
    assert settings.smtp_host is not None
    return SmtpConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_from,
        username=settings.smtp_username,
        password=settings.smtp_password,
        starttls=settings.smtp_starttls,
    )
