"""A shop file (YAML or JSON): its schema, its validation and its one mapping into domain objects.

The pydantic models here describe the *file* (a boundary), not the domain: they
exist only to be checked and mapped by ``parse_shop_text`` into ``ShopData``.
Every problem is reported with its path in the file and, where known, its line::

    shops[1].technicians[2].rating: must be between 0 and 5 (line 57)

Format (see ``store/demo/demo_chain.yaml`` for a full example)::

    version: 1
    service_types: [{code, name, category, duration_hours, min_hours?, max_hours?,
                     required_skill?, required_equipment?, required_parts?, on_site?}]
    shops: [{id, name, timezone, address?, location?: {lat, lon}, hours, holidays?,
             bays? | bay_count?, technicians?, parts?}]
    technicians? / bays? / parts?: top-level entries naming their shop with ``shop_id``

A technician with ``mobile: true`` works on site: ``base: {lat, lon}`` (required) is where
their day starts and ends, ``van_equipment`` what their van carries. Each gets a van, stored
as a bay ``<technician id>-van`` that only on-site jobs take. A service type with
``on_site: true`` is done at the customer's place; its ``required_equipment`` must be in a
capable mobile technician's van, and the file must have one.

Hours map weekdays (``mon``..``sun``) or ranges (``mon-fri``) to ``"HH:MM-HH:MM"``
windows (a string, a list of them, or ``closed``); ``24:00`` closes at midnight.
A shop without a ``bays`` list gets ``bay_count`` bays (default: the caller's
``default_bay_count``, i.e. ``SERVICE_BAY_COUNT``) named "Bay 1".."Bay N" with
``DEFAULT_BAY_EQUIPMENT``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, time, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from domain.catalog import CATEGORY_RULES, PartRequirement, ServiceCategory, ServiceType
from domain.parts import PartStock
from domain.resources import ServiceBay, Technician, van_id_of
from domain.shop import GeoPoint, Shop, WeeklyHours, parse_timezone
from domain.time_windows import Interval, local_day_bounds

DEFAULT_BAY_EQUIPMENT = frozenset({"lift", "engine_hoist", "diagnostic_scanner", "tire_machine"})
"""Equipment of the bays generated for a shop that gives ``bay_count`` (or nothing) instead of ``bays``."""

FieldPath = tuple[str | int, ...]


# -- errors ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a shop file, at ``path`` (``("shops", 1, "id")``)."""

    path: FieldPath
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{format_path(self.path)}: " if self.path else ""
        return f"{where}{self.message}" + (f" (line {self.line})" if self.line else "")


class ShopFileError(ValueError):
    """A shop file that cannot be loaded; ``problems`` says what and where."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        if len(problems) == 1:
            text = f"{source}: {problems[0]}"
        else:
            shown = "".join(f"\n  {p}" for p in problems[:25])
            more = f"\n  ... and {len(problems) - 25} more" if len(problems) > 25 else ""
            text = f"{source}: {len(problems)} problems:{shown}{more}"
        super().__init__(text)


def format_path(path: FieldPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# -- the file's schema ---------------------------------------------------------------

Id = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def _as_windows(value: Any) -> Any:
    """``"08:00-17:00"`` -> ``["08:00-17:00"]``; ``closed``/null/empty -> ``[]``."""
    if value is None or value is False or (isinstance(value, str) and value.strip().lower() in ("", "closed")):
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise ValueError('expected a window "HH:MM-HH:MM" (quoted), a list of them, or closed')


def _as_part_requirement(value: Any) -> Any:
    return {"code": value} if isinstance(value, str) else value


Windows = Annotated[list[str], BeforeValidator(_as_windows)]
Hours = dict[str, Windows]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocationIn(_Entry):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class TimeOffIn(_Entry):
    """Whole shop-local days off, both ends included."""

    first: date = Field(alias="from")
    last: date = Field(alias="to")


class TechnicianIn(_Entry):
    id: Id
    shop_id: Id | None = None
    name: Text
    specialization: str = ""
    rating: float
    years_experience: int = Field(0, ge=0)
    email: str | None = None
    skills: list[Text] = []
    hours: Hours = {}
    time_off: list[TimeOffIn] = []
    active: bool = True
    mobile: bool = False
    base: LocationIn | None = None
    van_equipment: list[Text] = []

    @field_validator("rating")
    @classmethod
    def _rating_in_range(cls, value: float) -> float:
        if not 0 <= value <= 5:
            raise ValueError("must be between 0 and 5")
        return value


class BayIn(_Entry):
    id: Id
    shop_id: Id | None = None
    name: Text
    equipment: list[Text] = []
    active: bool = True


class PartIn(_Entry):
    code: Id
    shop_id: Id | None = None
    name: Text
    quantity: int = Field(ge=0)
    lead_time_days: float = Field(0, ge=0)


class PartRequirementIn(_Entry):
    code: Id
    quantity: int = Field(1, ge=1)


class ServiceTypeIn(_Entry):
    code: Id
    name: Text
    category: ServiceCategory
    duration_hours: float = Field(gt=0, le=24)
    min_hours: float | None = Field(None, gt=0, le=24)
    max_hours: float | None = Field(None, gt=0, le=24)
    required_skill: str | None = None
    required_equipment: list[Text] = []
    required_parts: list[Annotated[PartRequirementIn, BeforeValidator(_as_part_requirement)]] = []
    on_site: bool = False


class ShopIn(_Entry):
    id: Id
    name: Text
    timezone: str
    address: str = ""
    location: LocationIn | None = None
    hours: Hours
    holidays: list[date] = []
    bays: list[BayIn] | None = None
    bay_count: int | None = Field(None, ge=1, le=500)
    technicians: list[TechnicianIn] = []
    parts: list[PartIn] = []

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        parse_timezone(value)
        return value


class ShopFileIn(_Entry):
    version: Literal[1] = 1
    service_types: list[ServiceTypeIn] = []
    shops: list[ShopIn] = []
    technicians: list[TechnicianIn] = []
    bays: list[BayIn] = []
    parts: list[PartIn] = []


# -- the result -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShopData:
    """Everything a shop file describes, as domain objects, ready for ``store.shop_loader.load_shops``."""

    shops: tuple[Shop, ...]
    technicians: tuple[Technician, ...]
    bays: tuple[ServiceBay, ...]
    service_types: tuple[ServiceType, ...]
    parts: tuple[PartStock, ...]


# -- parsing ----------------------------------------------------------------------------


def parse_shop_file(path: str | Path, *, default_bay_count: int = 8) -> ShopData:
    """Read and validate a ``.yaml``/``.yml``/``.json`` shop file; raises ``ShopFileError``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".json"):
        raise ShopFileError(str(path), [Problem((), "a shop file must end in .yaml, .yml or .json")])
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ShopFileError(str(path), [Problem((), f"cannot read the file: {exc.strerror or exc}")]) from None
    except UnicodeDecodeError:
        raise ShopFileError(str(path), [Problem((), "the file is not UTF-8 text")]) from None
    fmt: Literal["yaml", "json"] = "json" if suffix == ".json" else "yaml"
    return parse_shop_text(text, fmt=fmt, source=str(path), default_bay_count=default_bay_count)


def parse_shop_text(
    text: str,
    *,
    fmt: Literal["yaml", "json"] = "yaml",
    source: str = "<shop file>",
    default_bay_count: int = 8,
) -> ShopData:
    """Validate a shop file's text and map it into domain objects; raises ``ShopFileError``."""
    raw, lines, problems = _read(text, fmt)
    if problems:
        raise ShopFileError(source, problems)
    try:
        doc = ShopFileIn.model_validate(raw)
    except ValidationError as exc:
        raise ShopFileError(source, [_problem_from_pydantic(e, lines) for e in exc.errors()]) from None
    mapper = _Mapper(lines, default_bay_count)
    data = mapper.map(doc)
    if mapper.problems:
        raise ShopFileError(source, mapper.problems)
    return data


def _read(text: str, fmt: Literal["yaml", "json"]) -> tuple[Any, dict[FieldPath, int], list[Problem]]:
    """The raw document, a path -> line map, and syntax problems."""
    lines: dict[FieldPath, int] = {}
    problems: list[Problem] = []
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            raw: Any = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
        if node is not None:
            _collect_lines(node, (), lines, problems)
    except yaml.YAMLError as exc:
        if fmt == "yaml":
            mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
            reason = getattr(exc, "problem", None) or str(exc)
            return None, {}, [Problem((), f"not valid YAML: {reason}", mark.line + 1 if mark else None)]
        lines, problems = {}, []  # JSON that YAML cannot read: no line numbers, no duplicate-key check
    if fmt == "json":
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            return None, {}, [Problem((), f"not valid JSON: {exc.msg}", exc.lineno)]
    if raw is None:
        problems.append(Problem((), "the file is empty"))
    return raw, lines, problems


def _collect_lines(node: yaml.Node, path: FieldPath, out: dict[FieldPath, int], problems: list[Problem]) -> None:
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            if name in seen and name != "<<":
                problems.append(Problem((*path, name), "duplicate key", key.start_mark.line + 1))
            seen.add(name)
            out[(*path, name)] = key.start_mark.line + 1
            _collect_lines(value, (*path, name), out, problems)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _collect_lines(item, (*path, index), out, problems)


def _line(lines: Mapping[FieldPath, int], path: FieldPath) -> int | None:
    """The line of ``path``, else of its nearest ancestor in the file."""
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


_PYDANTIC_MESSAGES = {"missing": "required field is missing", "extra_forbidden": "unknown field"}


def _problem_from_pydantic(error: Any, lines: Mapping[FieldPath, int]) -> Problem:
    path = tuple(part for part in error["loc"] if isinstance(part, str | int))
    message = _PYDANTIC_MESSAGES.get(error["type"], error["msg"])
    message = message.removeprefix("Value error, ")
    if error["type"] == "literal_error" and path == ("version",):
        message = "unsupported version (this service reads version 1)"
    elif error["type"] == "model_type" and not path:
        message = "the file must be a mapping with service_types and shops"
    return Problem(path, message, _line(lines, path))


# -- the one mapping into the domain ---------------------------------------------------------

_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAYS = {name: n for n, full in enumerate(_DAY_NAMES, 1) for name in (full, full[:3])}
_TIME = re.compile(r"^(?:([01]\d|2[0-3]):([0-5]\d)|24:00)$")


class _Mapper:
    """Maps a validated ``ShopFileIn`` into ``ShopData``, collecting cross-entry problems."""

    def __init__(self, lines: Mapping[FieldPath, int], default_bay_count: int) -> None:
        self.lines = lines
        self.default_bay_count = default_bay_count
        self.problems: list[Problem] = []

    def problem(self, path: FieldPath, message: str) -> None:
        self.problems.append(Problem(path, message, _line(self.lines, path)))

    def map(self, doc: ShopFileIn) -> ShopData:
        service_types = [self.service_type(st, ("service_types", i)) for i, st in enumerate(doc.service_types)]
        self.unique_at(
            ((st.code, ("service_types", i)) for i, st in enumerate(doc.service_types)), "service type", "code"
        )
        shops: dict[str, Shop] = {}
        techs: list[tuple[TechnicianIn, str, FieldPath]] = []
        bays: list[tuple[BayIn, str, FieldPath]] = []
        parts: list[tuple[PartIn, str, FieldPath]] = []
        for i, entry in enumerate(doc.shops):
            at: FieldPath = ("shops", i)
            if entry.id in shops:
                self.problem((*at, "id"), f"duplicate shop id {entry.id!r}")
            shop = self.shop(entry, at)
            if shop is not None:
                shops[entry.id] = shop
            techs += self.owned(entry.technicians, entry.id, (*at, "technicians"))
            if entry.bays is not None and entry.bay_count is not None:
                self.problem((*at, "bay_count"), "give either bays or bay_count, not both")
            if entry.bays is not None:
                bays += self.owned(entry.bays, entry.id, (*at, "bays"))
            elif not any(b.shop_id == entry.id for b in doc.bays):
                bays += _generated_bays(entry.id, entry.bay_count or self.default_bay_count, at)
            parts += self.owned(entry.parts, entry.id, (*at, "parts"))
        defined = {s.id for s in doc.shops}
        techs += self.top_level(doc.technicians, "technicians", defined)
        bays += self.top_level(doc.bays, "bays", defined)
        parts += self.top_level(doc.parts, "parts", defined)

        self.unique_at(((t.id, p) for t, _, p in techs), "technician id")
        vans = [(_van(t, s), p) for t, s, p in techs if t.mobile]
        self.unique_at(((b.id, p) for b, _, p in bays), "bay id")
        self.unique_at([*((b.id, p) for b, _, p in bays), *((v.id, (*p, "mobile")) for v, p in vans)], "van id")
        self.unique_at((((s, b.name.lower()), p) for b, s, p in bays), "bay name in this shop", key="name")
        self.unique_at((((s, pt.code), p) for pt, s, p in parts), "part code in this shop", key="code")
        technicians = tuple(t for t in (self.technician(t, s, p, shops.get(s)) for t, s, p in techs) if t)
        for i, st in enumerate(service_types):
            if (
                st is not None
                and st.on_site
                and technicians
                and not any(t.can_visit(st.required_skill, st.required_equipment) for t in technicians)
            ):
                self.problem(
                    ("service_types", i, "on_site"),
                    f"no mobile technician has the skill {st.required_skill!r} and a van with "
                    f"{sorted(st.required_equipment)}",
                )
        return ShopData(
            shops=tuple(shops.values()),
            technicians=technicians,
            bays=tuple(ServiceBay(b.id, s, b.name, frozenset(b.equipment), b.active) for b, s, _ in bays)
            + tuple(v for v, _ in vans),
            service_types=tuple(st for st in service_types if st is not None),
            parts=tuple(
                PartStock(s, pt.code, pt.name, pt.quantity, timedelta(days=pt.lead_time_days)) for pt, s, _ in parts
            ),
        )

    # -- uniqueness and ownership --

    def unique_at(self, keyed: Iterable[tuple[Any, FieldPath]], what: str, key: str = "id") -> None:
        seen: set[Any] = set()
        for value, path in keyed:
            if value in seen:
                shown = value[-1] if isinstance(value, tuple) else value
                self.problem((*path, key), f"duplicate {what} {shown!r}")
            seen.add(value)

    def owned(self, entries: list[Any], shop_id: str, at: FieldPath) -> list[tuple[Any, str, FieldPath]]:
        out = []
        for i, entry in enumerate(entries):
            if entry.shop_id not in (None, shop_id):
                self.problem((*at, i, "shop_id"), f"is {entry.shop_id!r} but the entry is under shop {shop_id!r}")
            out.append((entry, shop_id, (*at, i)))
        return out

    def top_level(self, entries: list[Any], name: str, defined: set[str]) -> list[tuple[Any, str, FieldPath]]:
        out = []
        for i, entry in enumerate(entries):
            at: FieldPath = (name, i)
            if entry.shop_id is None:
                self.problem((*at, "shop_id"), "required field is missing (top-level entries name their shop)")
            elif entry.shop_id not in defined:
                self.problem((*at, "shop_id"), f"shop {entry.shop_id!r} is not defined in this file")
            else:
                out.append((entry, entry.shop_id, at))
        return out

    # -- entries --

    def shop(self, entry: ShopIn, at: FieldPath) -> Shop | None:
        hours = self.hours(entry.hours, (*at, "hours"))
        location = GeoPoint(entry.location.lat, entry.location.lon) if entry.location else None
        if hours is None:
            return None
        return Shop(entry.id, entry.name, entry.timezone, hours, frozenset(entry.holidays), location, entry.address)

    def technician(self, entry: TechnicianIn, shop_id: str, at: FieldPath, shop: Shop | None) -> Technician | None:
        hours = self.hours(entry.hours, (*at, "hours"))
        time_off: list[Interval] = []
        for i, off in enumerate(entry.time_off):
            if off.last < off.first:
                self.problem((*at, "time_off", i, "to"), f"ends ({off.last}) before it starts ({off.first})")
            elif shop is not None:
                first, last = local_day_bounds(off.first, shop.tz), local_day_bounds(off.last, shop.tz)
                time_off.append(Interval(first.start, last.end))
        if entry.mobile and entry.base is None:
            self.problem((*at, "base"), "a mobile technician needs a base {lat, lon} (where the day starts and ends)")
        if not entry.mobile and (entry.base is not None or entry.van_equipment):
            self.problem((*at, "mobile"), "base and van_equipment are for mobile technicians (mobile: true)")
        if hours is None:
            return None
        return Technician(
            id=entry.id,
            shop_id=shop_id,
            name=entry.name,
            specialization=entry.specialization,
            rating=entry.rating,
            years_experience=entry.years_experience,
            skills=frozenset(entry.skills),
            hours=hours,
            time_off=tuple(time_off),
            email=entry.email,
            active=entry.active,
            mobile=entry.mobile,
            base=GeoPoint(entry.base.lat, entry.base.lon) if entry.base else None,
            van_equipment=frozenset(entry.van_equipment),
        )

    def service_type(self, entry: ServiceTypeIn, at: FieldPath) -> ServiceType | None:
        rule = CATEGORY_RULES[entry.category]
        low = timedelta(hours=entry.min_hours) if entry.min_hours is not None else rule.min_duration
        high = timedelta(hours=entry.max_hours) if entry.max_hours is not None else rule.max_duration
        default = timedelta(hours=entry.duration_hours)
        if low > high:
            self.problem((*at, "max_hours"), f"is below min_hours ({_hours(low)} > {_hours(high)})")
            return None
        if not low <= default <= high:
            self.problem((*at, "duration_hours"), f"must be within {_hours(low)}..{_hours(high)} h ({entry.category})")
            return None
        requirements = [(p.code, p.quantity) for p in entry.required_parts]
        self.unique_at(
            ((code, (*at, "required_parts", i)) for i, (code, _) in enumerate(requirements)), "part", key="code"
        )
        return ServiceType(
            code=entry.code,
            name=entry.name,
            category=entry.category,
            default_duration=default,
            required_skill=entry.required_skill or None,
            required_equipment=frozenset(entry.required_equipment),
            required_parts=tuple(PartRequirement(code, qty) for code, qty in requirements),
            min_duration=timedelta(hours=entry.min_hours) if entry.min_hours is not None else None,
            max_duration=timedelta(hours=entry.max_hours) if entry.max_hours is not None else None,
            on_site=entry.on_site,
        )

    def hours(self, doc: Mapping[str, list[str]], at: FieldPath) -> WeeklyHours | None:
        days: dict[int, tuple[tuple[time, time], ...]] = {}
        before = len(self.problems)
        for key, windows in doc.items():
            weekdays = self.weekdays(key, (*at, key))
            parsed = [w for i, text in enumerate(windows) if (w := self.window(text, (*at, key, i)))]
            parsed.sort()
            for (_, closes), (opens, _) in pairwise(parsed):
                if closes == time(0) or opens < closes:
                    self.problem((*at, key), "windows overlap")
            for day in weekdays:
                if day in days:
                    self.problem((*at, key), f"{_day_name(day)} is given more than once")
                days[day] = tuple(parsed)
        return WeeklyHours({d: w for d, w in days.items() if w}) if len(self.problems) == before else None

    def weekdays(self, key: str, at: FieldPath) -> list[int]:
        names = [_DAYS.get(part.strip().lower()) for part in str(key).split("-")]
        if len(names) in (1, 2) and None not in names:
            first, last = names[0] or 0, names[-1] or 0
            if first <= last:
                return list(range(first, last + 1))
        self.problem(at, "not a weekday or weekday range (mon..sun, e.g. mon-fri)")
        return []

    def window(self, text: str, at: FieldPath) -> tuple[time, time] | None:
        parts = [p.strip() for p in text.split("-")]
        if len(parts) != 2 or not all(_TIME.match(p) for p in parts):
            self.problem(at, f"{text!r} is not a window 'HH:MM-HH:MM' (24-hour clock; 24:00 closes at midnight)")
            return None
        opens, closes = (time(0) if p == "24:00" else time.fromisoformat(p) for p in parts)
        if parts[0] == "24:00" or (closes != time(0) and closes <= opens):
            self.problem(at, f"closes ({parts[1]}) before it opens ({parts[0]})")
            return None
        return opens, closes  # a close of 00:00 or 24:00 is midnight


def _generated_bays(shop_id: str, count: int, at: FieldPath) -> list[tuple[BayIn, str, FieldPath]]:
    return [
        (BayIn(id=f"{shop_id}_bay_{n}", name=f"Bay {n}", equipment=sorted(DEFAULT_BAY_EQUIPMENT)), shop_id, at)
        for n in range(1, count + 1)
    ]


def _van(entry: TechnicianIn, shop_id: str) -> ServiceBay:
    """A mobile technician's van, as the bay their on-site jobs take."""
    return ServiceBay(
        van_id_of(entry.id), shop_id, f"Van of {entry.name}", frozenset(entry.van_equipment), entry.active, entry.id
    )


def _hours(value: timedelta) -> str:
    return f"{value.total_seconds() / 3600:g}"


def _day_name(day: int) -> str:
    return _DAY_NAMES[day - 1][:3]
