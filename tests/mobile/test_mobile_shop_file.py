"""The shop file's mobile-service fields: mobile technicians, their vans, on-site service types."""

from __future__ import annotations

import pytest

from domain.shop import GeoPoint
from store.shop_file import ShopFileError, parse_shop_text

FILE = """\
version: 1
service_types:
  - {code: tires_home, name: Tires at home, category: routine_maintenance, duration_hours: 1,
     required_skill: tires, required_equipment: [tire_kit], on_site: true}
shops:
  - id: shop_m
    name: Shop M
    timezone: Europe/Paris
    hours: {mon-fri: "08:00-18:00"}
    bay_count: 1
    technicians:
      - id: m_t1
        name: Max
        rating: 4.5
        skills: [tires]
        hours: {mon-fri: "08:00-16:00"}
        mobile: true
        base: {lat: 48.85, lon: 2.35}
        van_equipment: [tire_kit]
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ShopFileError) as caught:
        parse_shop_text(text, source="shops.yaml")
    return [str(p) for p in caught.value.problems]


def test_a_mobile_technician_gets_a_van_that_carries_their_equipment() -> None:
    data = parse_shop_text(FILE)
    [tech] = data.technicians
    assert tech.mobile and tech.base == GeoPoint(48.85, 2.35) and tech.van_equipment == {"tire_kit"}
    [van] = [b for b in data.bays if b.van_of == "m_t1"]
    assert van.id == tech.van_id == "m_t1-van" and van.equipment == {"tire_kit"}
    assert data.service_types[0].on_site


def test_a_base_off_the_planet_is_refused_naming_the_field() -> None:
    found = problems(FILE.replace("lat: 48.85", "lat: 98.85"))
    assert any(p.startswith("shops[0].technicians[0].base.lat:") for p in found), found


def test_a_mobile_technician_without_a_base_is_refused() -> None:
    found = problems(FILE.replace("        base: {lat: 48.85, lon: 2.35}\n", ""))
    assert any(p.startswith("shops[0].technicians[0].base:") for p in found), found


def test_an_on_site_type_nobody_can_do_is_refused() -> None:
    found = problems(FILE.replace("van_equipment: [tire_kit]", "van_equipment: [battery_tester]"))
    assert any(p.startswith("service_types[0].on_site: no mobile technician") for p in found), found


def test_a_base_on_a_technician_who_is_not_mobile_is_refused() -> None:
    found = problems(FILE.replace("mobile: true", "mobile: false"))
    assert any(p.startswith("shops[0].technicians[0].mobile:") for p in found), found
