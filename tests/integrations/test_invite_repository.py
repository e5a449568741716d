"""store.invite_repository against real PostgreSQL, on a throwaway database with only migration 0005."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from domain.invites import DeliveryState, Invite, InviteDelivery, Operation
from integrations.calendar_target import CredentialsRejected
from integrations.dispatcher import InviteDispatcher, RetryPolicy
from store.invite_repository import PostgresInviteRepository
from tests.integrations import builders
from tests.integrations.fakes import FakeClock

MIGRATION = Path(__file__).resolve().parents[2] / "store" / "migrations" / "0005_invites.sql"
NOW = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)


def _server_url() -> str:
    url = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
    return url.replace("postgresql+asyncpg://", "postgresql://")


def _database_url(server: str, name: str) -> str:
    return urlunsplit(urlsplit(server)._replace(path=f"/{name}"))


@pytest.fixture(scope="module")
async def database() -> AsyncIterator[str]:
    server = _server_url()
    name = f"invites_test_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = _database_url(server, name)
    conn = await asyncpg.connect(url)
    try:
        sql = MIGRATION.read_text()
        await conn.execute(sql)
        await conn.execute(sql)  # applying it again changes nothing
    finally:
        await conn.close()
    yield url
    admin = await asyncpg.connect(server)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


@pytest.fixture
async def conn(database: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection inside a transaction rolled back at the end of the test."""
    connection = await asyncpg.connect(database)
    tx = connection.transaction()
    await tx.start()
    try:
        yield connection
    finally:
        await tx.rollback()
        await connection.close()


def _delivery(inv: Invite, provider: str = "google", **kw: object) -> InviteDelivery:
    fields: dict[str, object] = {
        "appointment_id": inv.appointment_id,
        "provider": provider,
        "state": DeliveryState.PENDING,
        "operation": Operation.CREATE,
        "sequence": inv.sequence,
        "invite": inv,
        "updated_at": NOW,
    }
    fields.update(kw)
    return InviteDelivery(**fields)  # type: ignore[arg-type]


async def test_saved_delivery_reads_back_equal(conn: asyncpg.Connection) -> None:
    repo = PostgresInviteRepository(conn)
    delivery = _delivery(
        builders.invite(),
        state=DeliveryState.FAILED,
        attempts=2,
        last_error="credentials rejected: 401",
        next_attempt_at=NOW + timedelta(minutes=5),
    )
    await repo.save(delivery)

    assert await repo.get("appt-0001", "google") == delivery
    assert await repo.get("appt-0001", "microsoft") is None


async def test_save_replaces_the_row_of_the_same_appointment_and_provider(conn: asyncpg.Connection) -> None:
    repo = PostgresInviteRepository(conn)
    inv = builders.invite()
    await repo.save(_delivery(inv))
    sent = _delivery(
        builders.rescheduled(inv), state=DeliveryState.SENT, operation=Operation.UPDATE, provider_event_id="evt-1"
    )
    await repo.save(sent)

    assert await repo.get(inv.appointment_id, "google") == sent
    assert await conn.fetchval("SELECT count(*) FROM calendar_invites") == 1


async def test_for_appointment_lists_every_provider(conn: asyncpg.Connection) -> None:
    repo = PostgresInviteRepository(conn)
    inv = builders.invite()
    for provider in ("microsoft", "email", "google"):
        await repo.save(_delivery(inv, provider))
    await repo.save(_delivery(builders.invite(appointment_id="other")))

    assert [d.provider for d in await repo.for_appointment(inv.appointment_id)] == ["email", "google", "microsoft"]


async def test_due_returns_only_scheduled_retries_whose_time_has_come(conn: asyncpg.Connection) -> None:
    repo = PostgresInviteRepository(conn)
    late = _delivery(builders.invite(appointment_id="a"), next_attempt_at=NOW - timedelta(minutes=1))
    now_due = _delivery(builders.invite(appointment_id="b"), next_attempt_at=NOW)
    later = _delivery(builders.invite(appointment_id="c"), next_attempt_at=NOW + timedelta(seconds=1))
    given_up = _delivery(builders.invite(appointment_id="d"), state=DeliveryState.FAILED)
    for d in (later, now_due, given_up, late):
        await repo.save(d)

    assert [d.appointment_id for d in await repo.due(NOW, limit=10)] == ["a", "b"]
    assert [d.appointment_id for d in await repo.due(NOW, limit=1)] == ["a"]


async def test_works_on_a_connection_with_a_jsonb_codec(conn: asyncpg.Connection) -> None:
    """The store's pool decodes jsonb to Python; the repository must not care."""
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    repo = PostgresInviteRepository(conn)
    delivery = _delivery(builders.invite())
    await repo.save(delivery)

    assert await repo.get(delivery.appointment_id, "google") == delivery
    assert await conn.fetchval("SELECT jsonb_typeof(invite) FROM calendar_invites") == "object"


async def test_dispatcher_state_survives_in_postgres(conn: asyncpg.Connection) -> None:
    """A failed invite is stored with its reason and picked up again from the table."""

    class RefusingThenAccepting:
        provider = "google"
        refuse = True

        def accepts(self, invite: Invite) -> bool:
            return True

        async def create(self, invite: Invite) -> str:
            if self.refuse:
                raise CredentialsRejected("Google Calendar answered 401: Invalid Credentials", status=401)
            return "evt-9"

        async def update(self, invite: Invite, provider_event_id: str) -> str:
            return provider_event_id

        async def cancel(self, invite: Invite, provider_event_id: str) -> None:
            return None

    clock = FakeClock(NOW)
    target = RefusingThenAccepting()
    repo = PostgresInviteRepository(conn)
    dispatcher = InviteDispatcher([target], repo, clock=clock, retry=RetryPolicy(base=timedelta(minutes=1)))
    inv = builders.invite()

    await dispatcher.dispatch(inv)
    row = await conn.fetchrow("SELECT state, last_error, attempts FROM calendar_invites")
    assert row is not None and row["state"] == "failed" and row["attempts"] == 1
    assert row["last_error"].startswith("credentials rejected")

    target.refuse = False
    clock.advance(timedelta(minutes=1))
    [sent] = await dispatcher.retry_due()
    assert sent == await repo.get(inv.appointment_id, "google")
    assert sent.state is DeliveryState.SENT and sent.provider_event_id == "evt-9"
    assert await dispatcher.dispatch(inv) == []  # the stored invite, read back, matches: no duplicate
