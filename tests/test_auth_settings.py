"""``AUTH_DISABLED`` is for local experiments: refused unless the API binds loopback, a warning at every start."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from config.settings import Settings
from deployments.authentication import AuthDisabledRefused, check_auth_settings
from deployments.launcher import run

ROOT = Path(__file__).parents[1]


def _settings(**values: object) -> Settings:
    return Settings(database_url="postgresql://x@127.0.0.1:1/x", redis_url="redis://127.0.0.1:1/0", **values)  # type: ignore[arg-type]


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5", "scheduling.example"])
def test_auth_disabled_is_refused_beyond_loopback(host: str) -> None:
    with pytest.raises(AuthDisabledRefused):
        check_auth_settings(_settings(auth_disabled=True, host=host))


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_auth_disabled_on_loopback_starts_with_a_warning(host: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        check_auth_settings(_settings(auth_disabled=True, host=host))
    assert "AUTH_DISABLED=true" in caplog.text


def test_serve_refuses_auth_disabled_beyond_loopback_before_starting_anything(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(_settings(auth_disabled=True, host="0.0.0.0"), config=ROOT / "serve_config.yaml") == 2
    assert "AUTH_DISABLED=true is refused" in capsys.readouterr().err
