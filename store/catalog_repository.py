"""Shops, technicians, bays, service types and parts: reads and upserts.

Every read of shop data is scoped by shop where the data belongs to one, so
per-shop credentials can be enforced here later without new queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import asyncpg

from domain.catalog import ServiceType
from domain.parts import PartStock
from domain.resources import ServiceBay, Technician
from domain.shop import Shop
from store.codecs import (
    bay_from_row,
    hours_to_json,
    intervals_to_json,
    part_from_row,
    service_type_from_row,
    shop_from_row,
    technician_from_row,
)


async def get_shop(conn: asyncpg.Connection, shop_id: str) -> Shop | None:
    row = await conn.fetchrow("SELECT * FROM shops WHERE id = $1", shop_id)
    return shop_from_row(row) if row else None


async def list_shops(conn: asyncpg.Connection) -> list[Shop]:
    return [shop_from_row(r) for r in await conn.fetch("SELECT * FROM shops ORDER BY id")]


_TECHNICIAN = """
    SELECT t.*, (SELECT coalesce(jsonb_agg(jsonb_build_array(a.starts_at, a.ends_at) ORDER BY a.starts_at), '[]')
                 FROM technician_absences a WHERE a.technician_id = t.id) AS absences
    FROM technicians t
"""
"""A technician's row with the time off recorded through the API (``absences``), which the codec adds."""


async def get_technician(conn: asyncpg.Connection, technician_id: str) -> Technician | None:
    row = await conn.fetchrow(_TECHNICIAN + " WHERE t.id = $1", technician_id)
    return technician_from_row(row) if row else None


async def list_technicians(
    conn: asyncpg.Connection,
    *,
    shop_id: str | None = None,
    skill: str | None = None,
    include_inactive: bool = False,
    limit: int = 1000,
    offset: int = 0,
    within_shops: Sequence[str] | None = None,
) -> list[Technician]:
    """Technicians by shop and skill; only those of ``within_shops`` when given (a caller's scope)."""
    rows = await conn.fetch(
        _TECHNICIAN
        + """
        WHERE ($1::text IS NULL OR shop_id = $1)
          AND ($2::text IS NULL OR $2 = ANY (skills))
          AND ($3 OR active)
          AND ($6::text[] IS NULL OR shop_id = ANY ($6::text[]))
        ORDER BY shop_id, id
        LIMIT $4 OFFSET $5
        """,
        shop_id,
        skill,
        include_inactive,
        limit,
        offset,
        None if within_shops is None else list(within_shops),
    )
    return [technician_from_row(r) for r in rows]


async def count_technicians(
    conn: asyncpg.Connection, *, shop_id: str | None, skill: str | None, within_shops: Sequence[str] | None = None
) -> int:
    value = await conn.fetchval(
        """
        SELECT count(*) FROM technicians
        WHERE ($1::text IS NULL OR shop_id = $1) AND ($2::text IS NULL OR $2 = ANY (skills)) AND active
          AND ($3::text[] IS NULL OR shop_id = ANY ($3::text[]))
        """,
        shop_id,
        skill,
        None if within_shops is None else list(within_shops),
    )
    return int(value)


async def get_bay(conn: asyncpg.Connection, bay_id: str) -> ServiceBay | None:
    row = await conn.fetchrow("SELECT * FROM service_bays WHERE id = $1", bay_id)
    return bay_from_row(row) if row else None


async def list_bays(conn: asyncpg.Connection, shop_id: str) -> list[ServiceBay]:
    rows = await conn.fetch("SELECT * FROM service_bays WHERE shop_id = $1 AND active ORDER BY id", shop_id)
    return [bay_from_row(r) for r in rows]


async def get_service_type(conn: asyncpg.Connection, code: str) -> ServiceType | None:
    row = await conn.fetchrow("SELECT * FROM service_types WHERE code = $1", code)
    return service_type_from_row(row) if row else None


async def list_service_types(conn: asyncpg.Connection) -> list[ServiceType]:
    return [service_type_from_row(r) for r in await conn.fetch("SELECT * FROM service_types ORDER BY code")]


async def parts_stock(conn: asyncpg.Connection, shop_id: str) -> dict[str, PartStock]:
    rows = await conn.fetch("SELECT * FROM parts WHERE shop_id = $1", shop_id)
    return {r["part_code"]: part_from_row(r) for r in rows}


# -- upserts (the shop loader's and tests' way in) ----------------------------


async def save_shop(conn: asyncpg.Connection, shop: Shop) -> None:
    await conn.execute(
        """
        INSERT INTO shops (id, name, timezone, hours, holidays, lat, lon, address)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, timezone = EXCLUDED.timezone,
            hours = EXCLUDED.hours, holidays = EXCLUDED.holidays, lat = EXCLUDED.lat,
            lon = EXCLUDED.lon, address = EXCLUDED.address
        """,
        shop.id,
        shop.name,
        shop.timezone,
        hours_to_json(shop.hours),
        sorted(shop.holidays),
        shop.location.lat if shop.location else None,
        shop.location.lon if shop.location else None,
        shop.address,
    )


async def save_technician(conn: asyncpg.Connection, tech: Technician) -> None:
    await conn.execute(
        """
        INSERT INTO technicians (id, shop_id, name, specialization, rating, years_experience,
                                 skills, hours, time_off, email, active, mobile, base_lat, base_lon, van_equipment)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
        ON CONFLICT (id) DO UPDATE SET shop_id = EXCLUDED.shop_id, name = EXCLUDED.name,
            specialization = EXCLUDED.specialization, rating = EXCLUDED.rating,
            years_experience = EXCLUDED.years_experience, skills = EXCLUDED.skills,
            hours = EXCLUDED.hours, time_off = EXCLUDED.time_off, email = EXCLUDED.email,
            active = EXCLUDED.active, mobile = EXCLUDED.mobile, base_lat = EXCLUDED.base_lat,
            base_lon = EXCLUDED.base_lon, van_equipment = EXCLUDED.van_equipment
        """,
        tech.id,
        tech.shop_id,
        tech.name,
        tech.specialization,
        tech.rating,
        tech.years_experience,
        sorted(tech.skills),
        hours_to_json(tech.hours),
        intervals_to_json(tech.time_off),
        tech.email,
        tech.active,
        tech.mobile,
        tech.base.lat if tech.base else None,
        tech.base.lon if tech.base else None,
        sorted(tech.van_equipment),
    )


async def save_bay(conn: asyncpg.Connection, bay: ServiceBay) -> None:
    await conn.execute(
        """
        INSERT INTO service_bays (id, shop_id, name, equipment, active, van_of) VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (id) DO UPDATE SET shop_id = EXCLUDED.shop_id, name = EXCLUDED.name,
            equipment = EXCLUDED.equipment, active = EXCLUDED.active, van_of = EXCLUDED.van_of
        """,
        bay.id,
        bay.shop_id,
        bay.name,
        sorted(bay.equipment),
        bay.active,
        bay.van_of,
    )


async def save_service_type(conn: asyncpg.Connection, st: ServiceType) -> None:
    def minutes(value: timedelta | None) -> int | None:
        return int(value.total_seconds() // 60) if value is not None else None

    await conn.execute(
        """
        INSERT INTO service_types (code, name, category, default_minutes, min_minutes, max_minutes,
                                   required_skill, required_equipment, required_parts, on_site)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, category = EXCLUDED.category,
            default_minutes = EXCLUDED.default_minutes, min_minutes = EXCLUDED.min_minutes,
            max_minutes = EXCLUDED.max_minutes, required_skill = EXCLUDED.required_skill,
            required_equipment = EXCLUDED.required_equipment, required_parts = EXCLUDED.required_parts,
            on_site = EXCLUDED.on_site
        """,
        st.code,
        st.name,
        st.category.value,
        int(st.default_duration.total_seconds() // 60),
        minutes(st.min_duration),
        minutes(st.max_duration),
        st.required_skill,
        sorted(st.required_equipment),
        [{"part_code": p.part_code, "quantity": p.quantity} for p in st.required_parts],
        st.on_site,
    )


async def save_part(conn: asyncpg.Connection, part: PartStock) -> None:
    await conn.execute(
        """
        INSERT INTO parts (shop_id, part_code, name, quantity, lead_time_minutes) VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (shop_id, part_code) DO UPDATE SET name = EXCLUDED.name,
            quantity = EXCLUDED.quantity, lead_time_minutes = EXCLUDED.lead_time_minutes
        """,
        part.shop_id,
        part.part_code,
        part.name,
        part.quantity,
        int(part.lead_time.total_seconds() // 60),
    )
