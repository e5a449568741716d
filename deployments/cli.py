"""The admin command line: ``scheduling-service {serve,migrate,seed-demo,load-shops,keys,stop-embedded}``.

Every failure is one message on stderr and a non-zero exit status, never a
traceback (``--traceback`` shows one). A shop file that cannot be loaded
exits with 2, like any other usage error.

Each command imports what it runs inside its function, so that ``migrate`` or
``load-shops`` does not pay for the launcher's imports at start-up.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import traceback
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from config.settings import Settings, get_settings

T = TypeVar("T")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class CommandError(Exception):
    """A failure with a message for the operator and an exit status."""

    def __init__(self, message: str, status: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.status = status


def main(argv: Sequence[str] | None = None, *, settings: Settings | None = None) -> int:
    """Run one command; returns the exit status (the console script exits with it)."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse already printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    command: Callable[[argparse.Namespace, Settings], int] = args.command
    try:
        return command(args, settings or get_settings())
    except CommandError as exc:
        print(f"scheduling-service: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if args.traceback:
            traceback.print_exc()
        print(f"scheduling-service {args.name}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scheduling-service",
        description="Admin commands of the scheduling service. Configuration comes from the environment and .env.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    parser.add_argument("--traceback", action="store_true", help="print a traceback on unexpected errors")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    def add(name: str, command: Callable[[argparse.Namespace, Settings], int], help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(command=command, name=name)
        return p

    add("serve", _serve, "start Ray Serve with the HTTP API on PORT (default 8005)")
    add("migrate", _migrate, "apply pending database migrations")
    add("seed-demo", _seed_demo, "load the demo chain if the database has no shops yet")
    load = add("load-shops", _load_shops, "load (upsert) shops, technicians, bays, parts and service types from a file")
    load.add_argument("file", type=Path, metavar="FILE", help="a .yaml, .yml or .json shop file")
    keys = add("keys", _keys_help, "manage API keys: create, list, revoke")
    keys_sub = keys.add_subparsers(title="key commands", metavar="KEY_COMMAND", required=True)
    create = keys_sub.add_parser("create", help="create a key; it is printed once, on the last line")
    create.set_defaults(command=_keys_create, name="keys create")
    create.add_argument("--role", required=True, choices=["booking", "staff", "admin"], help="what the key may do")
    create.add_argument(
        "--shop", action="append", default=None, metavar="ID", help="a shop it covers (repeat; none: the whole chain)"
    )
    create.add_argument("--name", default=None, help="who or what holds it")
    create.add_argument("--expires", type=float, default=None, metavar="DAYS", help="expire after DAYS")
    listing = keys_sub.add_parser("list", help="list keys (never their secrets)")
    listing.set_defaults(command=_keys_list, name="keys list")
    revoke = keys_sub.add_parser("revoke", help="revoke a key: from now on it is refused (401)")
    revoke.set_defaults(command=_keys_revoke, name="keys revoke")
    revoke.add_argument("id", metavar="ID", help="the key's id (`keys list`)")
    add("stop-embedded", _stop_embedded, "stop the embedded PostgreSQL and Redis started under DATA_DIR")
    return parser


# -- commands ------------------------------------------------------------------------


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from deployments.launcher import run

    return run(settings)


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from store.database import migrate

    url = _database_url(settings)
    applied = asyncio.run(migrate(url))
    print(f"applied migrations: {', '.join(applied)}" if applied else "database schema is up to date")
    return EXIT_OK


def _seed_demo(args: argparse.Namespace, settings: Settings) -> int:
    from store.database import migrate
    from store.shop_loader import seed_demo_if_empty

    url = _database_url(settings)

    async def run() -> bool:
        await migrate(url)
        return await seed_demo_if_empty(url, default_bay_count=settings.service_bay_count)

    print("loaded the demo chain" if asyncio.run(run()) else "the database already has shops; demo chain not loaded")
    return EXIT_OK


def _load_shops(args: argparse.Namespace, settings: Settings) -> int:
    from store.database import connect, migrate
    from store.shop_file import ShopFileError, parse_shop_file
    from store.shop_loader import LoadSummary, load_shops

    try:  # before touching the database: a bad file fails fast and changes nothing
        data = parse_shop_file(args.file, default_bay_count=settings.service_bay_count)
    except ShopFileError as exc:
        raise CommandError(f"refused {exc}", EXIT_USAGE) from None
    url = _database_url(settings)

    async def run() -> LoadSummary:
        await migrate(url)
        conn = await connect(url)
        try:
            return await load_shops(conn, data)
        finally:
            await conn.close()

    print(f"loaded {asyncio.run(run())} from {args.file}")
    return EXIT_OK


def _keys_help(args: argparse.Namespace, settings: Settings) -> int:  # pragma: no cover - argparse requires one
    raise CommandError("choose a key command: create, list or revoke", EXIT_USAGE)


def _keys_create(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import timedelta

    from application.access import Role
    from application.api_keys import IssuedKey
    from domain.errors import InvalidRequest

    if args.expires is not None and args.expires <= 0:
        raise CommandError("--expires must be a positive number of days", EXIT_USAGE)
    expires = timedelta(days=args.expires) if args.expires is not None else None

    async def create(keys: Any) -> IssuedKey:
        issued: IssuedKey = await keys.create(Role(args.role), shops=args.shop, name=args.name, expires_in=expires)
        return issued

    try:
        issued = _with_keys(settings, create)
    except InvalidRequest as exc:
        raise CommandError(exc.message, EXIT_USAGE) from None
    key = issued.key
    print(f"created key {key.id}: role {key.role.value}, {_shops(key.shops)}, expires {_when(key.expires_at)}")
    print("store it now: it is shown only this once (only its hash is kept)")
    print(issued.secret)
    return EXIT_OK


def _keys_list(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import UTC, datetime

    async def list_keys(keys: Any) -> list[Any]:
        found: list[Any] = await keys.list()
        return found

    now = datetime.now(UTC)
    found = _with_keys(settings, list_keys)
    if not found:
        print("no keys")
    for key in found:
        state = "revoked" if key.revoked_at else ("live" if key.live(now) else "expired")
        print(
            f"{key.id}  {key.role.value:<7}  {state:<7}  {_shops(key.shops)}  expires {_when(key.expires_at)}"
            f"  created {key.created_at.isoformat(timespec='seconds')}  {key.name or ''}".rstrip()
        )
    return EXIT_OK


def _keys_revoke(args: argparse.Namespace, settings: Settings) -> int:
    async def revoke(keys: Any) -> bool:
        return bool(await keys.revoke(args.id))

    if not _with_keys(settings, revoke):
        raise CommandError(f"no key {args.id}")
    print(f"revoked key {args.id}")
    return EXIT_OK


def _with_keys(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``work`` with the service's ``ApiKeys`` over a short-lived pool (after migrating)."""
    from application.api_keys import ApiKeys
    from store.database import create_pool, migrate

    url = _database_url(settings)

    async def run() -> T:
        await migrate(url)
        pool = await create_pool(url, min_size=1, max_size=2)
        try:
            return await work(ApiKeys(pool))
        finally:
            await pool.close()

    return asyncio.run(run())


def _shops(shops: Sequence[str] | None) -> str:
    return "shops " + ",".join(shops) if shops else "every shop"


def _when(at: Any) -> str:
    return at.isoformat(timespec="seconds") if at is not None else "never"


def _stop_embedded(args: argparse.Namespace, settings: Settings) -> int:
    from bridge.embedded_redis import stop_embedded_redis
    from store.embedded import stop_embedded_postgres

    data_dir = settings.data_dir
    stopped = stop_embedded_postgres(data_dir)
    print(f"stopped embedded PostgreSQL in {data_dir}" if stopped else f"no embedded PostgreSQL running in {data_dir}")
    stopped = stop_embedded_redis(data_dir)
    print(f"stopped embedded Redis in {data_dir}" if stopped else f"no embedded Redis running in {data_dir}")
    return EXIT_OK


# -- helpers ---------------------------------------------------------------------------


def _database_url(settings: Settings) -> str:
    """DATABASE_URL, else the embedded PostgreSQL under DATA_DIR (started if needed)."""
    from store.embedded import database_url_or_embedded

    try:
        return database_url_or_embedded(settings.database_url, settings.data_dir)
    except ModuleNotFoundError as exc:
        raise CommandError(f"no DATABASE_URL is set and the embedded PostgreSQL is unavailable ({exc})") from None


if __name__ == "__main__":
    sys.exit(main())
