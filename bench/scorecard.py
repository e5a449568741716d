"""The simulator's figures, the checks of its database, and the table and targets it prints.

Per run: booking success; first-slot uptake and bookings of a slot the first
search recommended; wait from arrival per urgency (mean, p90, max); CRITICAL
booked within 24 h; HIGH within 2 working days of the preferred date; LOW/MEDIUM
delay past the preferred date; utilization per shop and technician (booked job
hours / working hours on the measured days, cancelled jobs out) and its CV across
technicians; search and booking latency. Request figures count the requests that
arrived on the measured days; utilization counts the job hours that fall on them.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

import asyncpg

from bench.demand import SCENARIOS, Request, technician_hours
from domain.appointment import Appointment
from domain.kpis import (
    SearchOutcome,
    booking_success,
    coefficient_of_variation,
    percentile,
    recommended_uptake,
)
from domain.shop import Shop
from domain.time_windows import Interval, local_date, local_day_bounds
from domain.urgency import Urgency
from store.shop_file import ShopData

if TYPE_CHECKING:
    from bench.simulate import Outcome

SERVICE, FIRST_FIT = "service", "first-fit"
NO_REASSIGNMENT = "no-reassign"
"""The service without book by reassignment (issue 14): booked jobs never move."""
"""The two policies a run compares (``bench.simulate`` builds them)."""


pct = percentile
"""The nearest-rank quantile: the service's own (``domain.kpis``), as the KPI endpoint computes its p90."""


def _mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def _share(hits: int, total: int) -> float | None:
    return hits / total if total else None


def _open_days_between(shop: Shop, after: date, until: date) -> int:
    """Open days d with after < d <= until."""
    return sum(1 for k in range(1, (until - after).days + 1) if shop.open_windows(after + timedelta(days=k)))


def outside_working_hours(data: ShopData, appointments: Sequence[Appointment]) -> list[Appointment]:
    """Appointments not inside one of their technician's working windows (which lie inside the shop's hours)."""
    shops = {s.id: s for s in data.shops}
    techs = {t.id: t for t in data.technicians}
    out = []
    for a in appointments:
        shop = shops[a.shop_id]
        windows = techs[a.technician_id].working_windows(shop, local_date(a.start, shop.tz))
        if not any(w.start <= a.start and a.end <= w.end for w in windows):
            out.append(a)
    return out


def _earliest_possible_wait_h(data: ShopData, request: Request) -> float | None:
    """Hours from arrival to the first time a skilled technician of the shop works the whole job (no bookings)."""
    shop = next(s for s in data.shops if s.id == request.shop_id)
    service = next(st for st in data.service_types if st.code == request.service_type)
    techs = [t for t in data.technicians if t.shop_id == shop.id and t.active and t.has_skill(service.required_skill)]
    first = local_date(request.arrival, shop.tz)
    for offset in range(14):
        day = first + timedelta(days=offset)
        starts = [
            max(w.start, request.arrival)
            for t in techs
            for w in t.working_windows(shop, day)
            if w.end - max(w.start, request.arrival) >= request.duration
        ]
        if starts:
            return (min(starts) - request.arrival) / timedelta(hours=1)
    return None


def figures(every: Sequence[Outcome], data: ShopData, days: Sequence[date]) -> dict[str, float | None]:
    """The run's figures by key (see ``rows``): requests that arrived on the measured ``days``,
    job hours booked on them (whenever asked for)."""
    f: dict[str, float | None] = {}
    outcomes = [o for o in every if o.request.measured]
    booked = [o for o in outcomes if o.appointment is not None]
    f["requests"] = len(outcomes)
    f["booked"] = len(booked)
    # the service's own KPI arithmetic (domain.kpis), so that the bench and GET /kpis cannot disagree
    searched = [SearchOutcome(o.appointment is not None, o.took_first_slot) for o in outcomes]
    f["success"] = booking_success(searched).value
    f["uptake"] = recommended_uptake(searched).value
    f["recommended"] = _share(sum(o.took_recommended_slot for o in booked), len(booked))
    f["conflicts"] = sum(o.conflicts for o in outcomes)
    f["pick.free"] = _share(sum(o.conflicts == 0 for o in booked), len(booked))
    for rank in range(3):
        f[f"confidence.{rank + 1}"] = _mean([o.confidence[rank] for o in outcomes if len(o.confidence) > rank])
    f["errors"] = sum(o.error for o in outcomes)
    shops = {s.id: s for s in data.shops}
    for u in Urgency:
        asked = [o for o in outcomes if o.request.urgency is u]
        got = [o for o in asked if o.appointment is not None]
        waits = [(o.appointment.start - o.request.arrival) / timedelta(hours=1) for o in got if o.appointment]
        f[f"refused.{u.value}"] = len(asked) - len(got)
        f[f"success.{u.value}"] = _share(len(got), len(asked))
        f[f"wait.{u.value}.mean"] = _mean(waits)
        f[f"wait.{u.value}.p90"] = pct(waits, 0.9)
        f[f"wait.{u.value}.max"] = max(waits) if waits else None
        if u is Urgency.CRITICAL:
            f["critical.24h"] = _share(sum(w <= 24 for w in waits), len(waits))
            # what an empty shop would answer: the wait the shops' hours alone impose
            bounds = [b for o in asked if (b := _earliest_possible_wait_h(data, o.request)) is not None]
            f["wait.CRITICAL.floor.mean"] = _mean(bounds)
            f["wait.CRITICAL.floor.p90"] = pct(bounds, 0.9)
    for u in (Urgency.LOW, Urgency.MEDIUM, Urgency.HIGH):
        delays, early, within_two = [], 0, 0
        for o in booked:
            r, a = o.request, o.appointment
            if r.urgency is not u or r.preferred_date is None or a is None:
                continue
            shop = shops[r.shop_id]
            start_day = local_date(a.start, shop.tz)
            delays.append(max(0, (start_day - r.preferred_date).days))
            early += start_day < r.preferred_date
            within_two += _open_days_between(shop, r.preferred_date, start_day) <= 2
        f[f"delay.{u.value}.mean"] = _mean(delays)
        f[f"delay.{u.value}.p90"] = pct(delays, 0.9)
        f[f"early.{u.value}"] = _share(early, len(delays))
        f[f"within2.{u.value}"] = _share(within_two, len(delays))
    kept = [o.appointment for o in every if o.appointment is not None and o.cancelled_at is None]
    f["cancelled"] = sum(o.cancelled_at is not None for o in booked)
    f["all.live"] = len(kept)
    f["all.cancelled"] = sum(o.cancelled_at is not None for o in every)
    f["no_shows"] = sum(o.request.no_show for o in booked if o.cancelled_at is None)
    tech_util: list[float] = []
    job_hours = working_hours = 0.0
    for shop in data.shops:
        period = Interval(local_day_bounds(days[0], shop.tz).start, local_day_bounds(days[-1], shop.tz).end)
        hours = technician_hours(data, shop, days)
        jobs = dict.fromkeys(hours, 0.0)
        for a in kept:
            if a.shop_id == shop.id and a.technician_id in jobs and (part := a.interval.intersection(period)):
                jobs[a.technician_id] += part.duration / timedelta(hours=1)
        f[f"util.shop.{shop.id}"] = _share_h(sum(jobs.values()), sum(hours.values()))
        job_hours += sum(jobs.values())
        working_hours += sum(hours.values())
        for tech, h in hours.items():
            f[f"util.tech.{tech}"] = _share_h(jobs[tech], h)
            if h > 0:
                tech_util.append(jobs[tech] / h)
    f["util.all"] = _share_h(job_hours, working_hours)
    f["util.cv"] = coefficient_of_variation(tech_util)  # the KPI endpoint's own arithmetic
    searches = [ms for o in outcomes for ms in o.search_ms]
    books = [ms for o in outcomes for ms in o.book_ms]
    f["search.p50"], f["search.p99"] = pct(searches, 0.5), pct(searches, 0.99)
    f["book.p50"], f["book.p99"] = pct(books, 0.5), pct(books, 0.99)
    f["outside_hours"] = len(outside_working_hours(data, [o.appointment for o in every if o.appointment]))
    return f


def _share_h(part: float, whole: float) -> float | None:
    return part / whole if whole > 0 else None


LIVE = "('held', 'scheduled', 'checked_in', 'in_progress')"


async def database_checks(pool: asyncpg.Pool) -> dict[str, int]:
    """Overlapping live appointments per technician (with the buffer), bay and vehicle, and the live rows."""
    overlap = """SELECT count(*) FROM appointments a JOIN appointments b ON a.id < b.id
                 WHERE a.status IN {live} AND b.status IN {live} AND a.{col} = b.{col}
                   AND tstzrange(a.start_at, a.{end}) && tstzrange(b.start_at, b.{end})"""
    out = {}
    for name, col, end in (
        ("technician", "technician_id", "blocked_until"),
        ("bay", "bay_id", "end_at"),
        ("vehicle", "vehicle_id", "end_at"),
    ):
        out[f"overlaps.{name}"] = int(await pool.fetchval(overlap.format(live=LIVE, col=col, end=end)))
    out["live_rows"] = int(await pool.fetchval(f"SELECT count(*) FROM appointments WHERE status IN {LIVE}"))
    out["cancelled_rows"] = int(await pool.fetchval("SELECT count(*) FROM appointments WHERE status = 'cancelled'"))
    return out


# -- printing -------------------------------------------------------------------------------------

Fmt = Callable[[float], str]


def _pc(v: float) -> str:
    return f"{100 * v:.1f}%"


def _h(v: float) -> str:
    return f"{v:.1f} h"


def _d(v: float) -> str:
    return f"{v:.2f} d"


def _ms(v: float) -> str:
    return f"{v:.1f} ms"


def _n(v: float) -> str:
    return f"{v:.0f}"


def _x(v: float) -> str:
    return f"{v:.3f}"


def rows(data: ShopData) -> list[tuple[str, str, Fmt]]:
    """(key, label, format) of every printed figure, in order."""
    out: list[tuple[str, str, Fmt]] = [
        ("requests", "requests", _n),
        ("success", "booking success rate", _pc),
        *((f"refused.{u.value}", f"  refused {u.value}", _n) for u in Urgency),
        ("uptake", "first-slot uptake", _pc),
        ("recommended", "booked a slot of the first search", _pc),
        ("conflicts", "booking conflicts (409)", _n),
        ("pick.free", "chosen slot still free when booked", _pc),
        *((f"confidence.{k}", f"  confidence of offered slot {k}, mean", _x) for k in (1, 2, 3)),
        ("errors", "errors (not a refusal)", _n),
    ]
    for u in Urgency:
        out += [(f"wait.{u.value}.{s}", f"wait from arrival {u.value} {s}", _h) for s in ("mean", "p90", "max")]
    out += [
        ("critical.24h", "CRITICAL booked within 24 h", _pc),
        ("wait.CRITICAL.floor.mean", "  CRITICAL wait an empty shop allows, mean", _h),
        ("wait.CRITICAL.floor.p90", "  CRITICAL wait an empty shop allows, p90", _h),
        ("within2.HIGH", "HIGH within 2 working days of pref.", _pc),
    ]
    for u in (Urgency.LOW, Urgency.MEDIUM):
        out += [
            (f"delay.{u.value}.mean", f"{u.value} delay past pref. date mean", _d),
            (f"delay.{u.value}.p90", f"{u.value} delay past pref. date p90", _d),
            (f"early.{u.value}", f"{u.value} booked before pref. date", _pc),
        ]
    out += [(f"util.shop.{s.id}", f"utilization {s.id}", _pc) for s in data.shops]
    out += [(f"util.tech.{t.id}", f"  {t.id} ({t.shop_id})", _pc) for t in data.technicians if t.active]
    out += [
        ("util.cv", "utilization CV across technicians", _x),
        ("search.p50", "search latency p50", _ms),
        ("search.p99", "search latency p99", _ms),
        ("book.p50", "booking latency p50", _ms),
        ("book.p99", "booking latency p99", _ms),
        ("cancelled", "cancelled later", _n),
        ("no_shows", "no-shows (counted only)", _n),
        ("outside_hours", "booked outside working hours", _n),
    ]
    return out


def _cell(v: float | None, fmt: Fmt) -> str:
    return "-" if v is None else fmt(v)


def print_table(data: ShopData, results: Mapping[str, Mapping[str, float | None]]) -> None:
    names = list(results)
    both = SERVICE in results and FIRST_FIT in results
    head = f"{'':40}" + "".join(f"{n:>13}" for n in names) + (f"{'service/ff':>12}" if both else "")
    print(head)
    for key, label, fmt in rows(data):
        line = f"{label:40}" + "".join(f"{_cell(results[n].get(key), fmt):>13}" for n in names)
        if both:
            s, ff = results[SERVICE].get(key), results[FIRST_FIT].get(key)
            line += f"{s / ff:>12.2f}" if s is not None and ff else f"{'-':>12}"
        print(line)


@dataclass(frozen=True, slots=True)
class Target:
    scenarios: tuple[str, ...]
    label: str
    check: Callable[[Mapping[str, Mapping[str, float | None]]], tuple[str, bool] | None]
    """The figure as text and whether it meets the target; None when this run cannot tell."""


def _at_least(key: str, bound: float, fmt: Fmt = _pc) -> Callable[..., tuple[str, bool] | None]:
    def check(r: Mapping[str, Mapping[str, float | None]]) -> tuple[str, bool] | None:
        v = r.get(SERVICE, {}).get(key)
        return None if v is None else (fmt(v), v >= bound)

    return check


def _at_most(key: str, bound: float, fmt: Fmt) -> Callable[..., tuple[str, bool] | None]:
    def check(r: Mapping[str, Mapping[str, float | None]]) -> tuple[str, bool] | None:
        v = r.get(SERVICE, {}).get(key)
        return None if v is None else (fmt(v), v <= bound)

    return check


def _between(key: str, lo: float, hi: float) -> Callable[..., tuple[str, bool] | None]:
    def check(r: Mapping[str, Mapping[str, float | None]]) -> tuple[str, bool] | None:
        v = r.get(SERVICE, {}).get(key)
        return None if v is None else (_pc(v), lo <= v <= hi)

    return check


def _mean_delay(r: Mapping[str, Mapping[str, float | None]]) -> tuple[str, bool] | None:
    s = r.get(SERVICE, {})
    values = [s.get(f"delay.{u}.mean") for u in ("LOW", "MEDIUM")]
    if any(v is None for v in values):
        return None
    return " / ".join(_d(v or 0.0) for v in values), all((v or 0.0) <= 1.0 for v in values)


def _routine_wait(r: Mapping[str, Mapping[str, float | None]]) -> tuple[str, bool] | None:
    v = r.get(SERVICE, {}).get("wait.LOW.mean")
    return None if v is None else (f"{v / 24:.2f} d", v < 72)


def _no_critical_refused(r: Mapping[str, Mapping[str, float | None]]) -> tuple[str, bool] | None:
    s = r.get(SERVICE, {})
    refused = {u: int(s.get(f"refused.{u}") or 0) for u in ("LOW", "MEDIUM", "HIGH", "CRITICAL")}
    return " ".join(f"{u} {n}" for u, n in refused.items()), refused["CRITICAL"] == 0


def _beats_first_fit(r: Mapping[str, Mapping[str, float | None]]) -> tuple[str, bool] | None:
    s, ff = r.get(SERVICE, {}), r.get(FIRST_FIT, {})
    sw, fw = s.get("wait.CRITICAL.mean"), ff.get("wait.CRITICAL.mean")
    ss, fs = s.get("success"), ff.get("success")
    if None in (sw, fw, ss, fs):
        return None
    assert sw is not None and fw is not None and ss is not None and fs is not None
    return (f"CRITICAL wait {sw:.1f} vs {fw:.1f} h, success {_pc(ss)} vs {_pc(fs)}", sw < fw and ss >= fs)


TARGETS = (
    Target(("normal",), "success >= 99%", _at_least("success", 0.99)),
    Target(("normal",), "CRITICAL mean wait <= 12 h", _at_most("wait.CRITICAL.mean", 12, _h)),
    Target(("normal",), "CRITICAL p90 wait <= 24 h", _at_most("wait.CRITICAL.p90", 24, _h)),
    Target(("normal",), "HIGH >= 90% within 2 working days of pref.", _at_least("within2.HIGH", 0.90)),
    Target(("normal",), "utilization CV across technicians <= 0.15", _at_most("util.cv", 0.15, _x)),
    Target(("normal",), "LOW / MEDIUM mean delay past pref. <= 1 day", _mean_delay),
    Target(("peak",), "success >= 95%", _at_least("success", 0.95)),
    Target(("peak",), "CRITICAL mean wait <= 24 h", _at_most("wait.CRITICAL.mean", 24, _h)),
    Target(("overload",), "refused work is LOW/MEDIUM, never CRITICAL", _no_critical_refused),
    Target(tuple(SCENARIOS), "beats first-fit on CRITICAL wait, >= on success", _beats_first_fit),
    Target(tuple(SCENARIOS), "card: booking success >= 95%", _at_least("success", 0.95)),
    Target(tuple(SCENARIOS), "card: >= 90% book a recommended slot", _at_least("recommended", 0.90)),
    Target(tuple(SCENARIOS), "card: routine mean wait < 3 days", _routine_wait),
    Target(tuple(SCENARIOS), "card: CRITICAL mean wait < 24 h", _at_most("wait.CRITICAL.mean", 24 - 1e-9, _h)),
    Target(tuple(SCENARIOS), "card: technician utilization 70-80%", _between("util.all", 0.70, 0.80)),
)


def print_targets(scenario: str, results: Mapping[str, Mapping[str, float | None]]) -> None:
    print(f"targets ({scenario}; the service's figures; issue 12 and the service card):")
    for t in TARGETS:
        if scenario not in t.scenarios:
            continue
        verdict = t.check(results)
        if verdict is None:
            print(f"  {t.label:52} (not measured in this run)")
        else:
            print(f"  {t.label:52} {verdict[0]:>44}  {'met' if verdict[1] else 'MISSED'}")
    print(
        "  slot search p99 <= 50 ms in process is bench/solver.py's figure (the solve alone); "
        "the search latency above adds the calendar reads through Ray"
    )
