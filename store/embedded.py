"""An embedded PostgreSQL (the pgserver package) for when no DATABASE_URL is set.

One server per data folder and machine: it listens on a Unix socket inside the
folder, every process (Ray workers included) connects to the same one, and it
keeps running until ``stop_embedded_postgres`` (the CLI's ``stop``) or the
process that started it with ``stop_at_exit=True`` exits.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DATABASE_NAME = "scheduling_db"


def start_embedded_postgres(data_dir: Path, *, stop_at_exit: bool = False) -> str:
    """Start (or join) the embedded server under ``data_dir/pg``; returns a DSN for ``scheduling_db``."""
    import importlib

    # imported here: the package is only needed in embedded mode
    pgserver: Any = importlib.import_module("pgserver")

    pgdata = (data_dir / "pg").resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    server: Any = pgserver.get_server(pgdata, cleanup_mode="stop" if stop_at_exit else None)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
        log.info("created database %s in embedded PostgreSQL at %s", DATABASE_NAME, pgdata)
    return str(server.get_uri(DATABASE_NAME))


def database_url_or_embedded(url: str | None, data_dir: Path) -> str:
    """``url`` when configured, else the embedded server of ``data_dir`` (started if needed)."""
    return url or start_embedded_postgres(data_dir)


def stop_embedded_postgres(data_dir: Path) -> bool:
    """Stop the embedded server of ``data_dir`` if it runs; True if one was stopped."""
    import importlib

    pg_ctl: Any = importlib.import_module("pgserver").pg_ctl

    pgdata = (data_dir / "pg").resolve()
    if not (pgdata / "postmaster.pid").exists():
        return False
    user = "pgserver" if _running_as_root() else None
    pg_ctl(["-w", "stop"], pgdata=pgdata, user=user)
    return True


def _running_as_root() -> bool:
    import os

    return hasattr(os, "geteuid") and os.geteuid() == 0
