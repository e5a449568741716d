"""The admin command line: exit statuses and messages, never a traceback."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from config.settings import Settings
from deployments.cli import main
from store.shop_loader import demo_chain_text

ROOT = Path(__file__).parents[1]
UNREACHABLE_DB = "postgresql://nobody@127.0.0.1:1/nothing"


def settings_for(url: str | None, tmp_path: Path) -> Settings:
    return Settings(database_url=url, data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]


async def run_cli(*argv: str, settings: Settings) -> int:
    """``main`` in a thread: it runs its own event loop, as the console script does."""
    return await asyncio.to_thread(main, list(argv), settings=settings)


async def counts(pool: Any) -> tuple[int, ...]:
    async with pool.acquire() as conn:
        return tuple([await conn.fetchval(f"SELECT count(*) FROM {t}") for t in ("shops", "technicians", "parts")])


def bad_last_shop(tmp_path: Path) -> tuple[Path, int]:
    text = demo_chain_text().replace(
        "rating: 4.9\n        years_experience: 7", "rating: 5.5\n        years_experience: 7"
    )
    path = tmp_path / "shops.yaml"
    path.write_text(text, encoding="utf-8")
    return path, 1 + next(i for i, line in enumerate(text.splitlines()) if "rating: 5.5" in line)


# -- load-shops ----------------------------------------------------------------------


async def test_load_shops_loads_a_file_and_prints_a_summary(
    db: Any, database_url: str, tmp_path: Path, capsys: Any
) -> None:
    path = tmp_path / "chain.yaml"
    path.write_text(demo_chain_text(), encoding="utf-8")
    assert await run_cli("load-shops", str(path), settings=settings_for(database_url, tmp_path)) == 0
    out = capsys.readouterr().out
    assert "loaded 2 shops (shop_nyc, shop_berlin), 16 technicians, 20 bays" in out
    assert await counts(db) == (2, 16, 14)


async def test_load_shops_refuses_a_malformed_file_with_exit_2_and_changes_nothing(
    db: Any, database_url: str, tmp_path: Path, capsys: Any
) -> None:
    path, line = bad_last_shop(tmp_path)
    before = await counts(db)
    assert await run_cli("load-shops", str(path), settings=settings_for(database_url, tmp_path)) == 2
    captured = capsys.readouterr()
    assert f"shops[1].technicians[5].rating: must be between 0 and 5 (line {line})" in captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    assert await counts(db) == before


async def test_seed_demo_loads_once(db: Any, database_url: str, tmp_path: Path, capsys: Any) -> None:
    settings = settings_for(database_url, tmp_path)
    assert await run_cli("seed-demo", settings=settings) == 0
    assert await run_cli("seed-demo", settings=settings) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["loaded the demo chain", "the database already has shops; demo chain not loaded"]
    assert await counts(db) == (2, 16, 14)


async def test_migrate_reports_an_up_to_date_schema(database_url: str, tmp_path: Path, capsys: Any) -> None:
    assert await run_cli("migrate", settings=settings_for(database_url, tmp_path)) == 0
    assert capsys.readouterr().out.strip() == "database schema is up to date"


# -- failures without a database ----------------------------------------------------------


def test_malformed_file_exits_2_from_the_console_entry_point_without_touching_the_database(tmp_path: Path) -> None:
    path, line = bad_last_shop(tmp_path)
    env = {**os.environ, "DATABASE_URL": UNREACHABLE_DB}
    done = subprocess.run(
        [sys.executable, "-m", "deployments.cli", "load-shops", str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert f"shops[1].technicians[5].rating: must be between 0 and 5 (line {line})" in done.stderr
    assert "Traceback" not in done.stderr


def test_missing_file_exits_2(tmp_path: Path, capsys: Any) -> None:
    assert main(["load-shops", str(tmp_path / "nope.yaml")], settings=settings_for(UNREACHABLE_DB, tmp_path)) == 2
    assert "cannot read the file" in capsys.readouterr().err


def test_unreachable_database_is_one_line_on_stderr(tmp_path: Path, capsys: Any) -> None:
    assert main(["migrate"], settings=settings_for(UNREACHABLE_DB, tmp_path)) == 1
    err = capsys.readouterr().err
    assert err.startswith("scheduling-service migrate: ") and "Traceback" not in err


def test_usage_errors_exit_2(capsys: Any) -> None:
    assert main(["load-shops"]) == 2
    assert main(["frobnicate"]) == 2
    assert "usage: scheduling-service" in capsys.readouterr().err


# -- serve and stop-embedded: the launcher and the embedded servers replaced by fakes ------


def fake_launcher(run: Any) -> types.ModuleType:
    launcher = types.ModuleType("deployments.launcher")
    launcher.run = run  # type: ignore[attr-defined]
    return launcher


def test_serve_hands_the_settings_to_the_launcher_and_exits_with_its_status(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: list[Settings] = []
    monkeypatch.setitem(sys.modules, "deployments.launcher", fake_launcher(lambda settings: seen.append(settings) or 3))
    settings = settings_for(None, tmp_path)
    assert main(["serve"], settings=settings) == 3
    assert seen == [settings]


def test_serve_that_fails_is_one_line_on_stderr(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: Any) -> None:
    def run(settings: Settings) -> int:
        raise RuntimeError("no Ray for you")

    monkeypatch.setitem(sys.modules, "deployments.launcher", fake_launcher(run))
    assert main(["serve"], settings=settings_for(None, tmp_path)) == 1
    err = capsys.readouterr().err
    assert err == "scheduling-service serve: RuntimeError: no Ray for you\n"


def test_stop_embedded_with_nothing_running(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: Any) -> None:
    stopped: list[Path] = []
    redis = types.ModuleType("bridge.embedded_redis")
    redis.stop_embedded_redis = lambda data_dir: stopped.append(data_dir) or False  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "bridge.embedded_redis", redis)
    settings = settings_for(None, tmp_path)
    assert main(["stop-embedded"], settings=settings) == 0
    out = capsys.readouterr().out
    assert "no embedded PostgreSQL running" in out and "no embedded Redis running" in out
    assert stopped == [settings.data_dir]


# -- keys ------------------------------------------------------------------------------


async def test_keys_create_prints_the_key_once_on_the_last_line_and_list_and_revoke_manage_it(
    db: Any, database_url: str, tmp_path: Path, capsys: Any
) -> None:
    from application.access import Role
    from application.api_keys import ApiKeys
    from domain.errors import Unauthenticated
    from store.shop_file import parse_shop_text
    from store.shop_loader import load_shops

    settings = settings_for(database_url, tmp_path)
    async with db.acquire() as conn:
        await load_shops(conn, parse_shop_text(demo_chain_text(), source="demo"))

    create = ("keys", "create", "--role", "staff", "--shop", "shop_nyc", "--name", "front desk", "--expires", "30")
    assert await run_cli(*create, settings=settings) == 0
    key = capsys.readouterr().out.strip().splitlines()[-1]
    caller = await ApiKeys(db).authenticate(key)
    assert caller.role is Role.STAFF and caller.shops == frozenset({"shop_nyc"})

    assert await run_cli("keys", "list", settings=settings) == 0
    listed = capsys.readouterr().out
    assert caller.key_id in listed and "front desk" in listed and "live" in listed
    assert key.split(".", 1)[1] not in listed  # never the secret

    assert await run_cli("keys", "revoke", str(caller.key_id), settings=settings) == 0
    with pytest.raises(Unauthenticated):
        await ApiKeys(db).authenticate(key)
    assert await run_cli("keys", "revoke", "nosuchkey", settings=settings) == 1
    assert await run_cli("keys", "create", "--role", "staff", "--shop", "shop_nowhere", settings=settings) == 2
    assert "unknown shop shop_nowhere" in capsys.readouterr().err
