"""Loading shop files into PostgreSQL: all or nothing, idempotent, demo seeded once."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from store import catalog_repository as catalog
from store.shop_file import ShopFileError, parse_shop_text
from store.shop_loader import demo_chain_text, load_shops, parse_demo_chain, seed_demo_if_empty

TABLES = ("shops", "technicians", "service_bays", "service_types", "parts")


async def row_counts(pool: Any) -> dict[str, int]:
    async with pool.acquire() as conn:
        return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}


async def test_demo_chain_loads_with_mike_johnson_and_bay_3(db: Any) -> None:
    summary = await load_shops(db, parse_demo_chain())
    assert summary.shop_ids == ("shop_nyc", "shop_berlin")
    assert (summary.technicians, summary.bays) == (16, 20)  # with the mobile team (4) and their vans (issue 17)
    async with db.acquire() as conn:
        mike = await catalog.get_technician(conn, "tech_001")
        [bay3] = [b for b in await catalog.list_bays(conn, "shop_nyc") if b.name == "Bay 3"]
        nyc = await catalog.get_shop(conn, "shop_nyc")
        engine = await catalog.get_service_type(conn, "engine_repair")
        stock = await catalog.parts_stock(conn, "shop_berlin")
        engine_techs = await catalog.list_technicians(conn, shop_id="shop_nyc", skill="engine")
    assert mike is not None and (mike.name, mike.specialization, mike.rating, mike.years_experience) == (
        "Mike Johnson",
        "Engine Specialist",
        4.8,
        15,
    )
    assert bay3.id == "nyc_bay_3" and "engine_hoist" in bay3.equipment
    assert nyc is not None and nyc.timezone == "America/New_York" and nyc == parse_demo_chain().shops[0]
    assert engine is not None and [p.part_code for p in engine.required_parts] == ["thermostat", "coolant"]
    assert stock["timing_belt"].quantity == 0 and stock["thermostat"].quantity > 0
    assert "tech_001" in {t.id for t in engine_techs}


async def test_loaded_rows_read_back_as_the_parsed_domain_objects(db: Any) -> None:
    data = parse_demo_chain()
    await load_shops(db, data)
    async with db.acquire() as conn:
        techs = await catalog.list_technicians(conn)
        types = await catalog.list_service_types(conn)
    assert sorted(techs, key=lambda t: t.id) == sorted(data.technicians, key=lambda t: t.id)
    assert {st.code: st for st in types} == {st.code: st for st in data.service_types}


async def test_loading_the_same_file_twice_changes_nothing(db: Any) -> None:
    data = parse_demo_chain()
    await load_shops(db, data)
    async with db.acquire() as conn:
        rids_before = await conn.fetch("SELECT id, rid FROM technicians ORDER BY id")
    first = await row_counts(db)
    await load_shops(db, data)
    assert await row_counts(db) == first
    async with db.acquire() as conn:
        assert await conn.fetch("SELECT id, rid FROM technicians ORDER BY id") == rids_before


async def test_reloading_an_edited_file_updates_rows_in_place(db: Any) -> None:
    await load_shops(db, parse_demo_chain())
    mike = "rating: 4.8\n        years_experience: 15"
    edited = demo_chain_text().replace(mike, "rating: 4.9\n        years_experience: 16")
    await load_shops(db, parse_shop_text(edited))
    async with db.acquire() as conn:
        mike = await catalog.get_technician(conn, "tech_001")
    assert mike is not None and (mike.rating, mike.years_experience) == (4.9, 16)


async def test_a_malformed_last_shop_is_refused_and_the_database_is_unchanged(db: Any) -> None:
    await load_shops(db, parse_demo_chain())
    before = await row_counts(db)
    bad = (
        demo_chain_text()
        .replace("rating: 4.8\n        years_experience: 15", "rating: 4.1\n        years_experience: 15")
        .replace("      - id: tech_001\n", "      - {id: tech_new, name: New, rating: 3}\n      - id: tech_001\n")
        .replace("timezone: Europe/Berlin", "timezone: Europe/Nowhere")
    )
    with pytest.raises(ShopFileError) as refused:
        await load_shops(db, parse_shop_text(bad))
    line = 1 + bad.splitlines().index("    timezone: Europe/Nowhere")
    assert [str(p) for p in refused.value.problems] == [
        f"shops[1].timezone: unknown IANA time zone 'Europe/Nowhere' (line {line})"
    ]
    assert await row_counts(db) == before
    async with db.acquire() as conn:
        mike = await catalog.get_technician(conn, "tech_001")
        assert mike is not None and mike.rating == 4.8
        assert await catalog.get_technician(conn, "tech_new") is None


async def test_a_write_failing_midway_rolls_back_everything(db: Any) -> None:
    """A database refusal on the last row leaves nothing of the earlier rows behind."""
    data = parse_demo_chain()
    last = data.parts[-1]
    broken = type(data)(
        data.shops, data.technicians, data.bays, data.service_types,
        (*data.parts[:-1], type(last)(last.shop_id, last.part_code, last.name, -1, last.lead_time)),
    )  # fmt: skip
    before = await row_counts(db)
    with pytest.raises(asyncpg.CheckViolationError):
        await load_shops(db, broken)
    assert await row_counts(db) == before


async def test_seed_demo_if_empty_seeds_an_empty_database_once(db: Any) -> None:
    assert await seed_demo_if_empty(db) is True
    seeded = await row_counts(db)
    assert seeded["shops"] == 2 and seeded["technicians"] == 16  # with the mobile team (issue 17)
    assert await seed_demo_if_empty(db) is False
    assert await row_counts(db) == seeded


async def test_concurrent_seeders_seed_exactly_once(db: Any, database_url: str) -> None:
    results = await asyncio.gather(*(seed_demo_if_empty(database_url) for _ in range(4)))
    assert sorted(results) == [False, False, False, True]
    assert (await row_counts(db))["technicians"] == 16


async def test_seed_demo_does_nothing_when_shops_exist(db: Any) -> None:
    from tests.factories import seed_shop

    await seed_shop(db)
    assert await seed_demo_if_empty(db) is False
    async with db.acquire() as conn:
        assert [s.id for s in await catalog.list_shops(conn)] == ["shop_a"]
