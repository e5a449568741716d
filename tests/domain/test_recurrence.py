"""The RRULE subset: parsing (bad input names the part) and expansion on the local wall clock."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from domain.errors import InvalidRequest
from domain.recurrence import Frequency, InvalidRecurrence, WeekdayRule, occurrences, parse_rrule

NY = ZoneInfo("America/New_York")
START = datetime(2026, 10, 19, 9, 0, tzinfo=NY)  # a Monday, three weeks before the November DST change


def expand(text: str, start: datetime = START, tz: ZoneInfo = NY) -> list[datetime]:
    return occurrences(parse_rrule(text, start, tz), start, tz)


def test_a_weekly_series_across_the_dst_change_keeps_nine_oclock_local() -> None:
    starts = expand("FREQ=WEEKLY;COUNT=8")

    assert len(starts) == 8
    assert all(s.tzinfo is UTC for s in starts)
    assert {s.astimezone(NY).time() for s in starts} == {time(9, 0)}
    # 13:00 UTC under EDT, 14:00 UTC under EST (after 2026-11-01)
    assert [s.hour for s in starts] == [13, 13, 14, 14, 14, 14, 14, 14]
    assert [s.astimezone(NY).date().isoformat() for s in starts][:3] == ["2026-10-19", "2026-10-26", "2026-11-02"]


def test_byday_interval_and_until() -> None:
    starts = expand("RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;UNTIL=20261115")

    assert [s.astimezone(NY).date().isoformat() for s in starts] == [
        "2026-10-19",
        "2026-10-22",
        "2026-11-02",
        "2026-11-05",
    ]


def test_monthly_by_month_day_skips_months_without_the_day() -> None:
    start = datetime(2027, 1, 31, 10, 0, tzinfo=NY)

    starts = expand("FREQ=MONTHLY;BYMONTHDAY=31;COUNT=3", start)

    assert [s.astimezone(NY).date().isoformat() for s in starts] == ["2027-01-31", "2027-03-31", "2027-05-31"]


def test_monthly_last_friday() -> None:
    rule = parse_rrule("FREQ=MONTHLY;BYDAY=-1FR;COUNT=2", START, NY)

    assert rule.freq is Frequency.MONTHLY and rule.by_day == (WeekdayRule(4, -1),)
    assert [s.astimezone(NY).date().isoformat() for s in occurrences(rule, START, NY)] == ["2026-10-30", "2026-11-27"]


def test_a_time_in_the_spring_forward_gap_takes_the_offset_before_it() -> None:
    start = datetime(2027, 3, 7, 2, 30, tzinfo=NY)  # Sunday before the change; 02:30 does not exist on 2027-03-14

    starts = expand("FREQ=WEEKLY;COUNT=2", start)

    assert starts[1] == datetime(2027, 3, 14, 7, 30, tzinfo=UTC)  # 02:30 at -05:00


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("FREQ=SECONDLY;COUNT=3", "FREQ"),
        ("FREQ=DAILY;COUNT=3", "FREQ"),
        ("FREQ=WEEKLY;COUNT=10000", "COUNT"),
        ("FREQ=WEEKLY;COUNT=0", "COUNT"),
        ("FREQ=WEEKLY;COUNT=abc", "COUNT"),
        ("FREQ=WEEKLY", "COUNT"),
        ("FREQ=WEEKLY;UNTIL=20261001", "UNTIL"),
        ("FREQ=WEEKLY;UNTIL=20300101", "UNTIL"),
        ("FREQ=WEEKLY;UNTIL=tomorrow", "UNTIL"),
        ("FREQ=WEEKLY;COUNT=3;UNTIL=20261201", "UNTIL"),
        ("FREQ=WEEKLY;COUNT=3;BYDAY=XX", "BYDAY"),
        ("FREQ=WEEKLY;COUNT=3;BYDAY=1MO", "BYDAY"),
        ("FREQ=MONTHLY;COUNT=3;BYDAY=6MO", "BYDAY"),
        ("FREQ=WEEKLY;COUNT=3;BYMONTHDAY=3", "BYMONTHDAY"),
        ("FREQ=MONTHLY;COUNT=3;BYMONTHDAY=32", "BYMONTHDAY"),
        ("FREQ=WEEKLY;INTERVAL=0;COUNT=3", "INTERVAL"),
        ("FREQ=WEEKLY;COUNT=3;BYHOUR=9", "BYHOUR"),
        ("FREQ=WEEKLY;COUNT=3;COUNT=4", "COUNT"),
        ("FREQ=WEEKLY;COUNT", "COUNT"),
        ("COUNT=3", "FREQ"),
        ("", "FREQ"),
        ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;UNTIL=20271001", "UNTIL"),
    ],
)
def test_bad_rules_are_refused_naming_the_part(text: str, part: str) -> None:
    with pytest.raises(InvalidRecurrence) as refused:
        expand(text)

    assert isinstance(refused.value, InvalidRequest)  # a 422
    assert refused.value.details["part"] == part, refused.value.message
    assert refused.value.details["field"] == "recurrence"


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("FREQ=WEEKLY;COUNT=²", "COUNT"),
        ("FREQ=MONTHLY;COUNT=3;BYMONTHDAY=٣", "BYMONTHDAY"),
        ("FREQ=MONTHLY;COUNT=3;BYDAY=١MO", "BYDAY"),
    ],
)
def test_only_ascii_digits_are_numbers(text: str, part: str) -> None:
    with pytest.raises(InvalidRecurrence) as refused:
        expand(text)

    assert refused.value.details["part"] == part


def test_a_series_past_the_last_representable_day_is_refused_not_a_crash() -> None:
    start = datetime(9999, 11, 1, 9, 0, tzinfo=UTC)

    with pytest.raises(InvalidRecurrence) as refused:
        occurrences(parse_rrule("FREQ=MONTHLY;COUNT=5", start, ZoneInfo("UTC")), start, ZoneInfo("UTC"))

    assert refused.value.details["part"] == "RRULE"
