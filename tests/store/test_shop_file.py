"""Parsing and validating shop files: every refusal names the field and the line."""

from __future__ import annotations

import json
from datetime import time, timedelta
from pathlib import Path

import pytest
import yaml

from domain.catalog import ServiceCategory
from store.shop_file import DEFAULT_BAY_EQUIPMENT, ShopFileError, parse_shop_file, parse_shop_text
from store.shop_loader import demo_chain_text, parse_demo_chain

MINIMAL = """\
version: 1
service_types:
  - code: routine
    name: Routine maintenance
    category: routine_maintenance
    duration_hours: 1
    required_skill: general
    required_equipment: [lift]
shops:
  - id: shop_a
    name: Shop A
    timezone: Europe/Paris
    hours:
      mon-fri: "08:00-18:00"
      sat: ["09:00-12:00", "13:00-15:00"]
      sun: closed
    bays:
      - {id: a_bay_1, name: Bay 1, equipment: [lift]}
    technicians:
      - id: a_t1
        name: Ann
        rating: 4.5
        skills: [general]
        hours: {mon-fri: "08:00-16:00"}
    parts:
      - {code: coolant, name: Coolant, quantity: 3, lead_time_days: 1}
"""


def refusal(text: str, fmt: str = "yaml", **kw: int) -> ShopFileError:
    with pytest.raises(ShopFileError) as caught:
        parse_shop_text(text, fmt=fmt, source="shops.yaml", **kw)  # type: ignore[arg-type]
    return caught.value


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the ``occurrence``-th line containing ``needle``."""
    hits = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    return hits[occurrence - 1]


# -- the demo chain ----------------------------------------------------------------------


def test_demo_chain_has_two_shops_in_different_time_zones_with_eight_bays_each() -> None:
    data = parse_demo_chain()
    zones = {s.id: s.timezone for s in data.shops}
    assert zones == {"shop_nyc": "America/New_York", "shop_berlin": "Europe/Berlin"}
    for shop in data.shops:
        bays = [b for b in data.bays if b.shop_id == shop.id and b.van_of is None]  # vans: mobile service
        assert [b.name for b in bays] == [f"Bay {n}" for n in range(1, 9)]
        assert len([t for t in data.technicians if t.shop_id == shop.id]) >= 6
        assert shop.holidays and shop.location is not None and shop.address


def test_demo_chain_has_mike_johnson_and_an_engine_bay_3() -> None:
    data = parse_demo_chain()
    mike = next(t for t in data.technicians if t.id == "tech_001")
    assert (mike.name, mike.specialization, mike.rating, mike.years_experience) == (
        "Mike Johnson",
        "Engine Specialist",
        4.8,
        15,
    )
    assert mike.shop_id == "shop_nyc" and "engine" in mike.skills and mike.email == "mike.johnson@example.com"
    assert mike.hours.days[1] == ((time(8), time(16)),)
    bay3 = next(b for b in data.bays if b.id == "nyc_bay_3")
    assert bay3.name == "Bay 3" and "engine_hoist" in bay3.equipment


def test_demo_catalog_serves_the_cards_two_examples() -> None:
    data = parse_demo_chain()
    types = {st.code: st for st in data.service_types}
    engine, routine = types["engine_repair"], types["routine"]
    assert engine.category is ServiceCategory.COMPONENT_REPAIR and engine.default_duration == timedelta(hours=3)
    assert engine.required_skill == "engine" and engine.required_equipment == {"engine_hoist"}
    assert {p.part_code for p in engine.required_parts} == {"thermostat", "coolant"}
    assert routine.category is ServiceCategory.ROUTINE_MAINTENANCE and routine.required_skill == "general"
    for shop in data.shops:
        techs = [t for t in data.technicians if t.shop_id == shop.id]
        bays = [b for b in data.bays if b.shop_id == shop.id]
        for st in (engine, routine):
            assert any(t.has_skill(st.required_skill) for t in techs)
            assert any(b.has_equipment(st.required_equipment) for b in bays)
        stock = {p.part_code: p for p in data.parts if p.shop_id == shop.id}
        assert stock["thermostat"].quantity > 0 and stock["coolant"].quantity > 0
        assert stock["timing_belt"].quantity == 0 and stock["timing_belt"].lead_time == timedelta(days=3)
    assert len([t for t in data.technicians if "general" in t.skills]) >= 8


# -- format features -----------------------------------------------------------------------


def test_hours_accept_ranges_lists_and_closed() -> None:
    data = parse_shop_text(MINIMAL)
    (shop,) = data.shops
    assert sorted(shop.hours.days) == [1, 2, 3, 4, 5, 6]
    assert shop.hours.days[6] == ((time(9), time(12)), (time(13), time(15)))


def test_bay_count_generates_named_bays_and_the_default_count_applies_without_bays() -> None:
    bays = "    bays:\n      - {id: a_bay_1, name: Bay 1, equipment: [lift]}\n"
    with_count = MINIMAL.replace(bays, "    bay_count: 3\n")
    data = parse_shop_text(with_count)
    assert [(b.id, b.name) for b in data.bays] == [
        ("shop_a_bay_1", "Bay 1"),
        ("shop_a_bay_2", "Bay 2"),
        ("shop_a_bay_3", "Bay 3"),
    ]
    assert all(b.equipment == DEFAULT_BAY_EQUIPMENT for b in data.bays)
    without = MINIMAL.replace(bays, "")
    assert len(parse_shop_text(without, default_bay_count=5).bays) == 5


def test_top_level_technicians_name_their_shop() -> None:
    text = MINIMAL + "technicians:\n  - {id: a_t2, shop_id: shop_a, name: Bo, rating: 4, skills: [general]}\n"
    assert {t.id for t in parse_shop_text(text).technicians} == {"a_t1", "a_t2"}


def test_json_file_parses_and_reports_lines(tmp_path: Path) -> None:
    doc = yaml.safe_load(MINIMAL)
    good = tmp_path / "shops.json"
    good.write_text(json.dumps(doc, default=str, indent=2), encoding="utf-8")
    assert [s.id for s in parse_shop_file(good).shops] == ["shop_a"]
    doc["shops"][0]["technicians"][0]["rating"] = 9
    text = json.dumps(doc, default=str, indent=2)
    bad = tmp_path / "bad.json"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ShopFileError) as caught:
        parse_shop_file(bad)
    line = line_of(text, '"rating"')
    assert f"shops[0].technicians[0].rating: must be between 0 and 5 (line {line})" in str(caught.value)


# -- refusals: field and line ------------------------------------------------------------------


def test_rating_outside_0_to_5_names_the_field_and_line() -> None:
    text = MINIMAL.replace("rating: 4.5", "rating: 7")
    err = refusal(text)
    line = line_of(text, "rating:")
    assert str(err) == f"shops.yaml: shops[0].technicians[0].rating: must be between 0 and 5 (line {line})"


def test_unknown_time_zone_is_refused() -> None:
    text = MINIMAL.replace("Europe/Paris", "Europe/Atlantis")
    assert f"shops[0].timezone: unknown IANA time zone 'Europe/Atlantis' (line {line_of(text, 'timezone')})" in str(
        refusal(text)
    )


@pytest.mark.parametrize(
    ("window", "message"),
    [
        ("8:00-18:00", "is not a window"),
        ("08:00-25:00", "is not a window"),
        ("08:60-18:00", "is not a window"),
        ("18:00-08:00", "closes (08:00) before it opens (18:00)"),
        ("08:00", "is not a window"),
    ],
)
def test_bad_opening_hours_are_refused(window: str, message: str) -> None:
    text = MINIMAL.replace('mon-fri: "08:00-18:00"', f'mon-fri: "{window}"')
    err = refusal(text)
    assert "shops[0].hours.mon-fri" in str(err) and message in str(err)
    assert f"(line {line_of(text, window)})" in str(err)


def test_unknown_weekday_and_overlapping_windows_are_refused() -> None:
    text = MINIMAL.replace("sun: closed", 'sunday-monday: "10:00-12:00"').replace('"13:00-15:00"', '"11:00-15:00"')
    problems = [str(p) for p in refusal(text).problems]
    assert any(p.startswith("shops[0].hours.sunday-monday: not a weekday") for p in problems)
    assert any(p.startswith("shops[0].hours.sat: windows overlap") for p in problems)


def test_unknown_service_category_is_refused_but_unknown_skill_is_not() -> None:
    assert parse_shop_text(MINIMAL.replace("required_skill: general", "required_skill: juggling"))
    text = MINIMAL.replace("category: routine_maintenance", "category: pampering")
    err = refusal(text)
    assert "service_types[0].category: Input should be 'routine_maintenance'" in str(err)
    assert f"(line {line_of(text, 'pampering')})" in str(err)


def test_duration_outside_the_category_range_is_refused() -> None:
    text = MINIMAL.replace("duration_hours: 1", "duration_hours: 4")
    assert "service_types[0].duration_hours: must be within 1..2 h (routine_maintenance) (line 6)" in str(refusal(text))


def test_duplicate_ids_are_refused() -> None:
    text = MINIMAL + "technicians:\n  - {id: a_t1, shop_id: shop_a, name: Bo, rating: 4}\n"
    assert f"technicians[0].id: duplicate technician id 'a_t1' (line {line_of(text, 'Bo')})" in str(refusal(text))


def test_duplicate_yaml_key_is_refused() -> None:
    text = MINIMAL.replace("    rating: 4.5\n", "    rating: 4.5\n        rating: 4.6\n")
    assert "shops[0].technicians[0].rating: duplicate key" in str(refusal(text))


def test_technician_pointing_to_a_missing_shop_is_refused() -> None:
    text = MINIMAL + "technicians:\n  - {id: a_t2, shop_id: shop_zz, name: Bo, rating: 4}\n"
    line = line_of(text, "shop_zz")
    assert f"technicians[0].shop_id: shop 'shop_zz' is not defined in this file (line {line})" in str(refusal(text))


def test_negative_quantity_missing_field_and_unknown_field_are_refused() -> None:
    text = MINIMAL.replace("quantity: 3", "quantity: -1").replace("    name: Shop A\n", "    nmae: Shop A\n")
    problems = {str(p) for p in refusal(text).problems}
    part_line = line_of(text, "coolant")
    assert f"shops[0].parts[0].quantity: Input should be greater than or equal to 0 (line {part_line})" in problems
    assert "shops[0].name: required field is missing (line 10)" in problems
    assert "shops[0].nmae: unknown field (line 11)" in problems


def test_bays_and_bay_count_together_are_refused() -> None:
    text = MINIMAL.replace("    bays:\n", "    bay_count: 4\n    bays:\n")
    assert "shops[0].bay_count: give either bays or bay_count, not both" in str(refusal(text))


def test_syntax_errors_give_the_line() -> None:
    assert "not valid YAML" in str(refusal("shops:\n  - id: [unclosed\n"))
    assert "(line 2)" in str(refusal('{\n  "shops": [,]\n}', fmt="json"))
    assert "the file is empty" in str(refusal(""))
    with pytest.raises(ShopFileError, match=r"must end in \.yaml, \.yml or \.json"):
        parse_shop_file("shops.txt")


def test_error_in_the_last_shop_is_found_with_its_line() -> None:
    demo = demo_chain_text()
    bad = demo.replace("rating: 4.9\n        years_experience: 7", "rating: 5.5\n        years_experience: 7")
    assert bad != demo
    err = refusal(bad)
    assert str(err) == (
        f"shops.yaml: shops[1].technicians[5].rating: must be between 0 and 5 (line {line_of(bad, 'rating: 5.5')})"
    )
