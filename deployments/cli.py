"""The admin command line: ``scheduling-service {serve,migrate,seed-demo,load-shops,stop-embedded}``.

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
from collections.abc import Callable, Sequence
from pathlib import Path

from config.settings import Settings, get_settings

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
