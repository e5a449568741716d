"""Recurring appointments: the RFC 5545 RRULE subset the service accepts, and its expansion.

Accepted: ``FREQ=WEEKLY|MONTHLY``, ``INTERVAL``, exactly one of ``COUNT`` (at most
52) or ``UNTIL`` (at most two years after the first start), and ``BYDAY``
(``MO``..``SU``; with MONTHLY also ordinals such as ``1MO`` or ``-1FR``) or,
with MONTHLY, ``BYMONTHDAY`` (1..31, -31..-1). Anything else is refused with
``InvalidRecurrence`` naming the part, so a client learns what to change.

Occurrences are expanded on the shop's local wall clock and only then turned
into instants: a 09:00 appointment stays at 09:00 local across a DST change
(its UTC time moves by the offset). A local time that does not exist on a day
(inside a spring-forward gap) takes the offset before the gap, as RFC 5545
says. The week starts on Monday (``WKST=MO``); the first start is the first
occurrence only if it matches the rule (as ``python-dateutil`` does).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from domain.errors import InvalidRequest

MAX_COUNT = 52
"""The most occurrences a COUNT may ask for."""
MAX_SPAN_DAYS = 2 * 365 + 1
"""How far after the first start an UNTIL may reach (two years, a leap day included)."""
MAX_OCCURRENCES = 104
"""The most occurrences any series expands to (an UNTIL with several BYDAYs could reach hundreds)."""
MAX_INTERVAL = 52

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_BYDAY = re.compile(r"^([+-]?[0-9]{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
_PARTS = frozenset({"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "WKST"})


class InvalidRecurrence(InvalidRequest):
    """A recurrence rule the service does not accept; ``details['part']`` names the offending part."""

    code = "invalid_recurrence"

    def __init__(self, part: str, message: str) -> None:
        super().__init__(f"recurrence {part}: {message}", field="recurrence", part=part)


class Frequency(StrEnum):
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"


@dataclass(frozen=True, slots=True)
class WeekdayRule:
    """A BYDAY entry: a weekday (0 = Monday), and in a MONTHLY rule an optional ordinal (1 = first, -1 = last)."""

    weekday: int
    ordinal: int | None = None


@dataclass(frozen=True, slots=True)
class Recurrence:
    """A parsed RRULE of the accepted subset; ``text`` is the rule as the client wrote it (normalized)."""

    text: str
    freq: Frequency
    interval: int = 1
    count: int | None = None
    until: datetime | None = None
    """The last instant an occurrence may start (inclusive), aware."""
    by_day: tuple[WeekdayRule, ...] = ()
    by_month_day: tuple[int, ...] = ()


def parse_rrule(text: str, start: datetime, tz: ZoneInfo) -> Recurrence:
    """Parse ``text`` (with or without ``RRULE:``) for a series whose first start is ``start`` in ``tz``."""
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    if not body:
        raise InvalidRecurrence("FREQ", "the rule is empty")
    values: dict[str, str] = {}
    for item in body.split(";"):
        key, sep, value = item.partition("=")
        key = key.strip().upper()
        if not sep or not value.strip():
            raise InvalidRecurrence(key or "RRULE", f"{item!r} is not NAME=VALUE")
        if key not in _PARTS:
            raise InvalidRecurrence(key, "is not supported (FREQ, INTERVAL, COUNT, UNTIL, BYDAY, BYMONTHDAY)")
        if key in values:
            raise InvalidRecurrence(key, "is given twice")
        values[key] = value.strip().upper()
    if "FREQ" not in values:
        raise InvalidRecurrence("FREQ", "is required")
    try:
        freq = Frequency(values["FREQ"])
    except ValueError:
        raise InvalidRecurrence("FREQ", f"{values['FREQ']} is not supported (WEEKLY or MONTHLY)") from None
    if values.get("WKST", "MO") != "MO":
        raise InvalidRecurrence("WKST", "only MO is supported")
    interval = _integer(values, "INTERVAL", 1, MAX_INTERVAL, default=1) or 1
    if "COUNT" in values and "UNTIL" in values:
        raise InvalidRecurrence("UNTIL", "COUNT and UNTIL must not both be given")
    if "COUNT" not in values and "UNTIL" not in values:
        raise InvalidRecurrence("COUNT", f"a series must end: give COUNT (at most {MAX_COUNT}) or UNTIL")
    count = _integer(values, "COUNT", 1, MAX_COUNT, default=None)
    until = _until(values["UNTIL"], start, tz) if "UNTIL" in values else None
    by_day = _by_day(values["BYDAY"], freq) if "BYDAY" in values else ()
    by_month_day = _by_month_day(values["BYMONTHDAY"], freq) if "BYMONTHDAY" in values else ()
    if by_day and by_month_day:
        raise InvalidRecurrence("BYMONTHDAY", "BYDAY and BYMONTHDAY together are not supported")
    normalized = ";".join(
        f"{k}={values[k]}" for k in ("FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY") if k in values
    )
    return Recurrence(normalized, freq, interval, count, until, by_day, by_month_day)


def occurrences(rule: Recurrence, start: datetime, tz: ZoneInfo) -> list[datetime]:
    """The series' starts, in UTC, each at ``start``'s local wall-clock time in ``tz``."""
    try:
        return _expand(rule, start, tz)
    except (ValueError, OverflowError):  # a series running past the calendar's last representable day
        raise InvalidRecurrence("RRULE", "the series runs past the supported dates") from None


def _expand(rule: Recurrence, start: datetime, tz: ZoneInfo) -> list[datetime]:
    local = start.astimezone(tz)
    first_day, clock = local.date(), local.time().replace(tzinfo=None)
    days: list[date] = []
    period = 0
    # Enough periods for two years at any interval; the loop ends as soon as COUNT or UNTIL is met.
    while period * rule.interval <= (MAX_SPAN_DAYS // 7 + 1 if rule.freq is Frequency.WEEKLY else 25):
        for day in _period_days(rule, first_day, period * rule.interval):
            if day < first_day:
                continue
            instant = _instant(day, clock, tz)
            if rule.until is not None and instant > rule.until:
                return _bounded(days, clock, tz)
            days.append(day)
            if rule.count is not None and len(days) == rule.count:
                return _bounded(days, clock, tz)
        period += 1
    return _bounded(days, clock, tz)


def _bounded(days: list[date], clock: time, tz: ZoneInfo) -> list[datetime]:
    if not days:
        raise InvalidRecurrence("RRULE", "the rule gives no occurrence on or after the start")
    if len(days) > MAX_OCCURRENCES:
        raise InvalidRecurrence("UNTIL", f"the series would have {len(days)} occurrences (at most {MAX_OCCURRENCES})")
    return [_instant(day, clock, tz) for day in days]


def _instant(day: date, clock: time, tz: ZoneInfo) -> datetime:
    """The local wall-clock time on ``day`` as a UTC instant (fold=0: the first of a repeated hour, and in a
    spring-forward gap the offset before the gap)."""
    return datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)


def _period_days(rule: Recurrence, first: date, offset: int) -> list[date]:
    """The candidate days of the period ``offset`` weeks or months after the first start's, in order."""
    if rule.freq is Frequency.WEEKLY:
        monday = first - timedelta(days=first.weekday()) + timedelta(weeks=offset)
        weekdays = sorted({d.weekday for d in rule.by_day}) if rule.by_day else [first.weekday()]
        return [monday + timedelta(days=w) for w in weekdays]
    month_index = first.year * 12 + first.month - 1 + offset
    year, month = divmod(month_index, 12)
    month += 1
    length = calendar.monthrange(year, month)[1]
    found: set[date] = set()
    if rule.by_month_day:
        for n in rule.by_month_day:
            day = n if n > 0 else length + 1 + n
            if 1 <= day <= length:  # the 31st of a 30-day month does not exist: that month has none (RFC 5545)
                found.add(date(year, month, day))
    elif rule.by_day:
        for entry in rule.by_day:
            matching = [
                date(year, month, d) for d in range(1, length + 1) if date(year, month, d).weekday() == entry.weekday
            ]
            if entry.ordinal is None:
                found.update(matching)
            elif 1 <= abs(entry.ordinal) <= len(matching):
                found.add(matching[entry.ordinal - 1 if entry.ordinal > 0 else entry.ordinal])
    elif first.day <= length:
        found.add(date(year, month, first.day))
    return sorted(found)


def _integer(values: dict[str, str], part: str, low: int, high: int, *, default: int | None) -> int | None:
    if part not in values:
        return default
    raw = values[part]
    if not re.fullmatch(r"[0-9]+", raw):
        raise InvalidRecurrence(part, f"{raw!r} is not a positive whole number")
    number = int(raw)
    if not low <= number <= high:
        raise InvalidRecurrence(part, f"{number} is outside {low}..{high}")
    return number


def _until(raw: str, start: datetime, tz: ZoneInfo) -> datetime:
    try:
        if re.fullmatch(r"[0-9]{8}", raw):
            # A date: the whole local day is included.
            until = datetime.combine(datetime.strptime(raw, "%Y%m%d").date(), time(23, 59, 59), tzinfo=tz)
        elif re.fullmatch(r"[0-9]{8}T[0-9]{6}Z", raw):
            until = datetime.strptime(raw, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        elif re.fullmatch(r"[0-9]{8}T[0-9]{6}", raw):
            until = datetime.strptime(raw, "%Y%m%dT%H%M%S").replace(tzinfo=tz)
        else:
            raise ValueError(raw)
    except ValueError:
        raise InvalidRecurrence("UNTIL", f"{raw!r} is not YYYYMMDD or YYYYMMDDTHHMMSSZ") from None
    if until < start:
        raise InvalidRecurrence("UNTIL", f"{raw} is before the first start {start.isoformat()}")
    if until - start > timedelta(days=MAX_SPAN_DAYS):
        raise InvalidRecurrence("UNTIL", f"{raw} is more than two years after the first start")
    return until


def _by_day(raw: str, freq: Frequency) -> tuple[WeekdayRule, ...]:
    rules: list[WeekdayRule] = []
    for item in raw.split(","):
        match = _BYDAY.match(item.strip())
        if match is None:
            raise InvalidRecurrence("BYDAY", f"{item!r} is not a weekday (MO, TU, WE, TH, FR, SA, SU)")
        ordinal = int(match.group(1)) if match.group(1) else None
        if ordinal is not None:
            if freq is not Frequency.MONTHLY:
                raise InvalidRecurrence("BYDAY", f"{item!r}: an ordinal weekday needs FREQ=MONTHLY")
            if ordinal == 0 or abs(ordinal) > 5:
                raise InvalidRecurrence("BYDAY", f"{item!r}: the ordinal must be 1..5 or -5..-1")
        rules.append(WeekdayRule(WEEKDAYS.index(match.group(2)), ordinal))
    return tuple(rules)


def _by_month_day(raw: str, freq: Frequency) -> tuple[int, ...]:
    if freq is not Frequency.MONTHLY:
        raise InvalidRecurrence("BYMONTHDAY", "needs FREQ=MONTHLY")
    days: list[int] = []
    for item in raw.split(","):
        if not re.fullmatch(r"[+-]?[0-9]{1,2}", item.strip()):
            raise InvalidRecurrence("BYMONTHDAY", f"{item!r} is not a day of the month")
        day = int(item)
        if day == 0 or abs(day) > 31:
            raise InvalidRecurrence("BYMONTHDAY", f"{day} is outside 1..31 (or -31..-1)")
        days.append(day)
    return tuple(days)
