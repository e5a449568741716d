"""Where the service's PostgreSQL and Redis are, and getting the database ready.

With ``DATABASE_URL`` / ``REDIS_URL`` unset, the embedded servers under
``DATA_DIR`` are started (or joined: one per machine and data folder) and the
demo chain is loaded into an empty database. The same SQL and code path run
either way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bridge.embedded_redis import redis_url_or_embedded
from config.settings import Settings
from store.database import migrate
from store.embedded import database_url_or_embedded
from store.shop_loader import seed_demo_if_empty

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Infrastructure:
    database_url: str
    redis_url: str


def resolve_infrastructure(settings: Settings) -> Infrastructure:
    """The configured servers, or the embedded ones (started if they are not running)."""
    return Infrastructure(
        database_url_or_embedded(settings.database_url, settings.data_dir),
        redis_url_or_embedded(settings.redis_url, settings.data_dir),
    )


async def prepare_database(database_url: str, settings: Settings) -> None:
    """Apply migrations; load the demo chain into an empty database when configured to."""
    applied = await migrate(database_url)
    if applied:
        log.info("applied migrations %s", ", ".join(applied))
    if settings.should_seed_demo and await seed_demo_if_empty(
        database_url, default_bay_count=settings.service_bay_count
    ):
        log.info("loaded the demo chain into an empty database")
