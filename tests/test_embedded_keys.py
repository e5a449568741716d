"""The quick start's keys: made and printed on the first embedded start, kept in DATA_DIR, reused after."""

from __future__ import annotations

import stat
from pathlib import Path

from application.access import Role
from application.api_keys import ApiKeys
from deployments.embedded_keys import ADMIN_VARIABLE, announce, ensure_embedded_keys
from store.database import create_pool


async def test_the_first_start_makes_an_admin_and_a_booking_key_and_later_starts_reuse_them(
    database_url: str, db: object, tmp_path: Path
) -> None:
    first = await ensure_embedded_keys(database_url, tmp_path)
    again = await ensure_embedded_keys(database_url, tmp_path)

    assert first.created and not again.created
    assert (again.admin, again.booking) == (first.admin, first.booking)
    assert first.admin in announce(first) and first.booking in announce(first)
    assert first.admin not in announce(again)
    assert stat.S_IMODE(first.path.stat().st_mode) == 0o600
    assert f"{ADMIN_VARIABLE}={first.admin}" in first.path.read_text()
    pool = await create_pool(database_url)
    try:
        keys = ApiKeys(pool)
        assert (await keys.authenticate(first.admin)).role is Role.ADMIN
        booking = await keys.authenticate(first.booking)
        assert booking.role is Role.BOOKING and booking.shops is None  # the whole demo chain
    finally:
        await pool.close()


async def test_keys_the_database_no_longer_knows_are_made_anew(database_url: str, db: object, tmp_path: Path) -> None:
    (tmp_path / "api-keys.env").write_text("SCHEDULING_KEY=sk_0.gone\nSCHEDULING_BOOKING_KEY=sk_1.gone\n")

    made = await ensure_embedded_keys(database_url, tmp_path)

    assert made.created and made.admin != "sk_0.gone"
