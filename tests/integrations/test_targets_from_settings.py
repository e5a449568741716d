"""Which targets are on follows from the settings alone; nothing is contacted while building them."""

from __future__ import annotations

import json
import logging

import pytest

from config.settings import Settings
from integrations.from_settings import calendar_targets, invite_dispatcher
from tests.integrations.fake_google import service_account_info
from tests.integrations.fakes import InMemoryInviteRepository


@pytest.fixture(autouse=True)
def _no_provider_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what a test passes counts, not the invites setup of the machine running it."""
    import os

    for name in list(os.environ):
        if name.upper().startswith(("GOOGLE_CALENDAR_", "MICROSOFT_GRAPH_", "SMTP_", "SEND_CONFIRMATION_EMAIL")):
            monkeypatch.delenv(name)


def _settings(**kw: object) -> Settings:
    # _env_file=None: the test must not pick up a developer's .env
    kw.setdefault("send_confirmation_email", False)
    return Settings(_env_file=None, **kw)  # type: ignore[call-arg, arg-type]


def test_nothing_configured_means_no_targets() -> None:
    assert calendar_targets(_settings()) == []


def test_each_provider_is_on_when_its_settings_are_complete() -> None:
    settings = _settings(
        google_calendar_credentials_json=json.dumps(service_account_info()),
        microsoft_graph_tenant_id="contoso.onmicrosoft.com",
        microsoft_graph_client_id="11111111-2222-3333-4444-555555555555",
        microsoft_graph_client_secret="not-a-real-secret",
        send_confirmation_email=True,
        smtp_host="127.0.0.1",
    )
    assert [t.provider for t in calendar_targets(settings)] == ["google", "microsoft", "email"]
    assert invite_dispatcher(settings, InMemoryInviteRepository()).providers == ["email", "google", "microsoft"]


def test_incomplete_graph_settings_leave_it_off_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        targets = calendar_targets(_settings(microsoft_graph_client_id="only-this"))
    assert targets == []
    assert "Microsoft Graph invites are off" in caplog.text


def test_email_needs_both_the_switch_and_an_smtp_host() -> None:
    assert calendar_targets(_settings(send_confirmation_email=True)) == []
    assert calendar_targets(_settings(smtp_host="mail.example")) == []
