"""The waitlist in PostgreSQL: entries and offers (migration 0012), only a SHA-256 of each offer token stored.

The partial unique indexes are the rules: one waiting entry per vehicle and
service, one live offer per entry, one live offer per freed slot. A write that
would break one raises ``asyncpg.UniqueViolationError``; the caller decides
what that means.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from domain.shop import GeoPoint
from domain.time_windows import Interval
from domain.urgency import Urgency
from domain.waitlist import EntryStatus, OfferState, WaitlistEntry, WaitlistOffer
from store.codecs import customer_from_json, customer_to_json

Row = asyncpg.Record


@dataclass(frozen=True, slots=True)
class OfferRow:
    """An offer with the token id that finds it and the hash its secret must match."""

    offer: WaitlistOffer
    token_id: str
    secret_hash: bytes


async def insert_entry(conn: asyncpg.Connection, entry: WaitlistEntry) -> WaitlistEntry:
    """Add ``entry``; if the vehicle already waits for the service, the entry it has (joining is idempotent)."""
    row = await conn.fetchrow(
        """
        INSERT INTO waitlist_entries (id, vehicle_id, service_type, urgency, urgency_weight, tier_weight, shop_id,
            lat, lon, radius_km, earliest, latest, preferred_from, preferred_to, customer, status, joined_at,
            booked_by)
        VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15::jsonb, 'waiting', $16, $17)
        ON CONFLICT (vehicle_id, service_type) WHERE status = 'waiting' DO NOTHING
        RETURNING *
        """,
        entry.id,
        entry.vehicle_id,
        entry.service_type,
        entry.urgency.value,
        entry.urgency.weight,
        entry.customer.tier.weight,
        entry.shop_id,
        entry.location.lat if entry.location else None,
        entry.location.lon if entry.location else None,
        entry.radius_km,
        entry.window.start,
        entry.window.end,
        entry.preferred_window[0] if entry.preferred_window else None,
        entry.preferred_window[1] if entry.preferred_window else None,
        customer_to_json(entry.customer),
        entry.joined_at,
        entry.booked_by,
    )
    if row is None:
        row = await conn.fetchrow(
            "SELECT * FROM waitlist_entries WHERE vehicle_id = $1 AND service_type = $2 AND status = 'waiting'",
            entry.vehicle_id,
            entry.service_type,
        )
        assert row is not None  # the conflicting row is there: it is what refused the insert
    return entry_from_row(row)


async def get_entry(conn: asyncpg.Connection, entry_id: str, *, for_update: bool = False) -> WaitlistEntry | None:
    if not _is_uuid(entry_id):
        return None
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(f"SELECT * FROM waitlist_entries WHERE id = $1::uuid{lock}", entry_id)
    return entry_from_row(row) if row else None


async def set_entry_status(
    conn: asyncpg.Connection, entry_id: str, status: EntryStatus, appointment_id: str | None = None
) -> None:
    await conn.execute(
        "UPDATE waitlist_entries SET status = $2, appointment_id = COALESCE($3::uuid, appointment_id) "
        "WHERE id = $1::uuid",
        entry_id,
        status.value,
        appointment_id,
    )


async def candidates(conn: asyncpg.Connection, freed_from: str, window: Interval, limit: int) -> list[WaitlistEntry]:
    """Waiting entries whose window overlaps ``window``, by priority, without a live offer, never offered
    ``freed_from`` before (a declined or lapsed offer passes the slot on, it does not come back)."""
    rows = await conn.fetch(
        """
        SELECT e.* FROM waitlist_entries e
        WHERE e.status = 'waiting' AND e.earliest < $3 AND e.latest > $2
          AND NOT EXISTS (SELECT 1 FROM waitlist_offers o WHERE o.entry_id = e.id
                          AND (o.state = 'offered' OR o.freed_from = $1::uuid))
        ORDER BY e.urgency_weight DESC, e.tier_weight DESC, e.joined_at, e.id
        LIMIT $4
        """,
        freed_from,
        window.start,
        window.end,
        limit,
    )
    return [entry_from_row(r) for r in rows]


async def insert_offer(conn: asyncpg.Connection, row: OfferRow) -> bool:
    """Record a live offer if its entry still waits (False: it left or was booked meanwhile).

    ``UniqueViolationError``: the entry or the freed slot has a live offer already.
    """
    offer = row.offer
    status = await conn.execute(
        """
        INSERT INTO waitlist_offers (id, token_id, secret_hash, entry_id, appointment_id, freed_from, state,
            created_at, expires_at)
        SELECT $1::uuid, $2, $3, $4::uuid, $5::uuid, $6::uuid, $7, $8, $9
        FROM waitlist_entries WHERE id = $4::uuid AND status = 'waiting'
        FOR SHARE
        """,
        offer.id,
        row.token_id,
        row.secret_hash,
        offer.entry_id,
        offer.appointment_id,
        offer.freed_from,
        offer.state.value,
        offer.created_at,
        offer.expires_at,
    )
    return bool(status.endswith(" 1"))


async def offer_by_token(conn: asyncpg.Connection, token_id: str, *, for_update: bool = False) -> OfferRow | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(f"SELECT * FROM waitlist_offers WHERE token_id = $1{lock}", token_id)
    return OfferRow(offer_from_row(row), row["token_id"], bytes(row["secret_hash"])) if row else None


async def offer_for_hold(conn: asyncpg.Connection, appointment_id: str) -> WaitlistOffer | None:
    """The offer whose hold is ``appointment_id`` (None: the appointment is no offer's)."""
    if not _is_uuid(appointment_id):
        return None
    row = await conn.fetchrow("SELECT * FROM waitlist_offers WHERE appointment_id = $1::uuid", appointment_id)
    return offer_from_row(row) if row else None


async def live_offer_of(conn: asyncpg.Connection, entry_id: str) -> WaitlistOffer | None:
    row = await conn.fetchrow("SELECT * FROM waitlist_offers WHERE entry_id = $1::uuid AND state = 'offered'", entry_id)
    return offer_from_row(row) if row else None


async def close_offer(
    conn: asyncpg.Connection, offer_id: str, state: OfferState, now: datetime
) -> WaitlistOffer | None:
    """Move a live offer to ``state``; None when it was no longer live (someone else closed it first)."""
    row = await conn.fetchrow(
        """
        UPDATE waitlist_offers SET state = $2, closed_at = $3
        WHERE id = $1::uuid AND state = 'offered' RETURNING *
        """,
        offer_id,
        state.value,
        now,
    )
    return offer_from_row(row) if row else None


async def lapsed_offers(conn: asyncpg.Connection, now: datetime) -> list[WaitlistOffer]:
    """Live offers past their expiry, marked expired here (the caller releases their holds)."""
    rows = await conn.fetch(
        """
        UPDATE waitlist_offers SET state = 'expired', closed_at = $1
        WHERE state = 'offered' AND expires_at <= $1 RETURNING *
        """,
        now,
    )
    return [offer_from_row(r) for r in rows]


async def offers_of(conn: asyncpg.Connection, entry_ids: Sequence[str]) -> list[WaitlistOffer]:
    rows = await conn.fetch(
        "SELECT * FROM waitlist_offers WHERE entry_id = ANY($1::uuid[]) ORDER BY created_at", list(entry_ids)
    )
    return [offer_from_row(r) for r in rows]


def entry_from_row(row: Row) -> WaitlistEntry:
    preferred = (row["preferred_from"], row["preferred_to"]) if row["preferred_from"] is not None else None
    location = GeoPoint(row["lat"], row["lon"]) if row["lat"] is not None else None
    customer = customer_from_json(row["customer"] or {})
    return WaitlistEntry(
        id=str(row["id"]),
        vehicle_id=row["vehicle_id"],
        service_type=row["service_type"],
        urgency=Urgency(row["urgency"]),
        window=Interval(row["earliest"], row["latest"]),
        joined_at=row["joined_at"],
        shop_id=row["shop_id"],
        location=location,
        radius_km=row["radius_km"],
        preferred_window=preferred,
        customer=customer,
        status=EntryStatus(row["status"]),
        booked_by=row["booked_by"],
        appointment_id=str(row["appointment_id"]) if row["appointment_id"] else None,
    )


def offer_from_row(row: Row) -> WaitlistOffer:
    return WaitlistOffer(
        id=str(row["id"]),
        entry_id=str(row["entry_id"]),
        appointment_id=str(row["appointment_id"]),
        freed_from=str(row["freed_from"]),
        state=OfferState(row["state"]),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
    )


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return False
    return True
