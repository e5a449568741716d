"""The quick start's keys: in embedded mode the first start makes an admin key and a booking key for the
demo chain, prints them once, and keeps them in ``DATA_DIR/api-keys.env`` (readable by its owner only).

Later starts reuse them (and say where they are); if the database no longer knows them (its folder was
deleted), new ones are made.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from application.access import Role
from application.api_keys import ApiKeys
from domain.errors import Unauthenticated
from store.database import create_pool

KEYS_FILE = "api-keys.env"
ADMIN_VARIABLE = "SCHEDULING_KEY"
"""The README's curl examples send ``$SCHEDULING_KEY``: the admin key, which may run every one of them."""
BOOKING_VARIABLE = "SCHEDULING_BOOKING_KEY"


@dataclass(frozen=True, slots=True)
class EmbeddedKeys:
    path: Path
    admin: str
    booking: str
    created: bool
    """Made by this start (print them); else read from ``path``."""


def _read(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and not name.startswith("#"):
            values[name.strip()] = value.strip()
    return values


async def ensure_embedded_keys(database_url: str, data_dir: Path) -> EmbeddedKeys:
    """The quick start's keys, made on first use."""
    path = data_dir / KEYS_FILE
    pool = await create_pool(database_url, min_size=1, max_size=2)
    try:
        keys = ApiKeys(pool)
        if path.exists():
            known = _read(path)
            try:
                await keys.authenticate(known.get(ADMIN_VARIABLE, ""))
                await keys.authenticate(known.get(BOOKING_VARIABLE, ""))
                return EmbeddedKeys(path, known[ADMIN_VARIABLE], known[BOOKING_VARIABLE], created=False)
            except Unauthenticated:
                pass  # a fresh database: make new ones
        admin = await keys.create(Role.ADMIN, name="quick start admin (embedded)")
        booking = await keys.create(Role.BOOKING, name="quick start booking front end (embedded)")
    finally:
        await pool.close()
    data_dir.mkdir(parents=True, exist_ok=True)
    text = (
        "# API keys made by the first `scheduling-service serve` in embedded mode; keep them secret.\n"
        "# export $(grep -v '^#' " + str(path) + ")\n"
        f"{ADMIN_VARIABLE}={admin.secret}\n"
        f"{BOOKING_VARIABLE}={booking.secret}\n"
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    path.chmod(0o600)
    return EmbeddedKeys(path, admin.secret, booking.secret, created=True)


def announce(keys: EmbeddedKeys) -> str:
    """What the start prints: the keys themselves the first time, where they are afterwards."""
    if not keys.created:
        return f"API keys: {keys.path} (export $(grep -v '^#' {keys.path}))"
    return (
        f"made API keys for the quick start (kept in {keys.path}; shown only now):\n"
        f"  admin (every shop, every operation):    {ADMIN_VARIABLE}={keys.admin}\n"
        f"  booking (the demo chain's front end):   {BOOKING_VARIABLE}={keys.booking}\n"
        f"  curl -H \"Authorization: Bearer ${ADMIN_VARIABLE}\" ...   after   export $(grep -v '^#' {keys.path})"
    )
