"""The shop-day page's HTML: plain string templates, every value escaped, the stylesheet inlined.

Server-rendered and readable without JavaScript (there is none): an
appointment's details open with a ``<details>`` element, the page refreshes
itself with a meta refresh, and nothing is fetched from the network. Positions
on the timeline are percentages of the displayed span, so the same markup
reads on a 1280 px screen and (scrolling sideways) on a phone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import cache
from html import escape
from importlib.resources import files
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from application.shop_day import DayBooking, Lane, ShopDay
from domain.appointment import AppointmentStatus
from domain.kpis import Figure
from domain.time_windows import Interval

REFRESH_SECONDS = 30
DEFAULT_HOURS = (8, 18)
"""The span shown on a day when no one works (a closed day)."""
STATUS_LABELS = {
    AppointmentStatus.HELD: "Held",
    AppointmentStatus.SCHEDULED: "Scheduled",
    AppointmentStatus.CHECKED_IN: "Checked in",
    AppointmentStatus.IN_PROGRESS: "In progress",
    AppointmentStatus.COMPLETED: "Completed",
    AppointmentStatus.NO_SHOW: "No-show",
}


@cache
def stylesheet() -> str:
    return files("deployments").joinpath("page/shop_day.css").read_text(encoding="utf-8")


def _page(title: str, body: str, *, refresh: bool = False) -> str:
    meta = f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">' if refresh else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'  # no favicon request
        f"{meta}<title>{escape(title)}</title><style>{stylesheet()}</style></head>"
        f"<body>{body}</body></html>"
    )


def day_url(shop_id: str, day: dt.date) -> str:
    return f"/shops/{escape(shop_id, quote=True)}/day?{urlencode({'date': day.isoformat()})}"


class Span:
    """The displayed part of the day: whole local hours around everyone's working time and every booking."""

    def __init__(self, day: ShopDay) -> None:
        tz = day.shop.tz
        intervals: list[Interval] = [iv for lane in (*day.technicians, *day.bays) for iv in lane.working]
        intervals += [Interval(b.appointment.start, b.blocked_until) for b in day.bookings]
        clipped = [c for iv in intervals if (c := iv.intersection(day.window)) is not None]
        if clipped:
            start = min(iv.start for iv in clipped).astimezone(tz)
            end = max(iv.end for iv in clipped).astimezone(tz)
            start = start.replace(minute=0, second=0, microsecond=0)
            if end.minute or end.second or end.microsecond:
                end = end.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
            self.start = max(start, day.window.start)
            self.end = min(end, day.window.end)
        else:
            self.start = dt.datetime.combine(day.day, dt.time(DEFAULT_HOURS[0]), tz)
            self.end = dt.datetime.combine(day.day, dt.time(DEFAULT_HOURS[1]), tz)
        self.tz: ZoneInfo = tz

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def pct(self, at: dt.datetime) -> float:
        """Where ``at`` lies across the span, in percent (clamped to it)."""
        return min(100.0, max(0.0, (at - self.start).total_seconds() / self.seconds * 100))

    def place(self, start: dt.datetime, end: dt.datetime) -> str:
        left = self.pct(start)
        return f"left:{left:.4f}%;width:{max(0.0, self.pct(end) - left):.4f}%"

    def hours(self) -> Iterable[dt.datetime]:
        at = self.start.astimezone(self.tz)
        while at < self.end:
            yield at
            at = (at + dt.timedelta(hours=1)).astimezone(self.tz)


def _local(at: dt.datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%H:%M")


def _ticks(span: Span, labelled: bool) -> str:
    return "".join(
        f'<div class="tick" style="left:{span.pct(h):.4f}%">{h.strftime("%H:%M") if labelled else ""}</div>'
        for h in span.hours()
    )


def _now_line(day: ShopDay, span: Span) -> str:
    if not span.start <= day.now <= span.end:
        return ""
    return f'<div class="now-line" style="left:{span.pct(day.now):.4f}%" title="now {_local(day.now, span.tz)}"></div>'


def _card(b: DayBooking, day: ShopDay, names: dict[str, str]) -> str:
    a, tz = b.appointment, day.shop.tz
    rows = [
        ("Time", f"{_local(a.start, tz)}–{_local(a.end, tz)}"),
        ("Status", STATUS_LABELS.get(a.status, a.status.value)),
        ("Service", a.service_type),
        ("Vehicle", a.vehicle_id),
        ("Urgency", a.urgency.value),
        ("Technician", names.get(a.technician_id, a.technician_id)),
        ("Bay", names.get(a.bay_id, a.bay_id)),
        ("Customer", a.customer.name or "—"),
    ]
    if b.blocked_until > a.end:
        rows.append(("Buffer until", _local(b.blocked_until, tz)))
    if a.hold_expires_at is not None and b.is_hold:
        rows.append(("Hold lapses", _local(a.hold_expires_at, tz)))
    if a.progress.actual_start is not None:
        rows.append(("Started", _local(a.progress.actual_start, tz)))
    if a.progress.actual_end is not None:
        rows.append(("Finished", _local(a.progress.actual_end, tz)))
    if a.notes:
        rows.append(("Notes", a.notes))
    rows.append(("Id", a.id))
    return "<dl>" + "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows) + "</dl>"


def _booking(b: DayBooking, day: ShopDay, span: Span, names: dict[str, str], lane: str) -> str:
    a = b.appointment
    buffer = (
        f'<div class="buffer" style="{span.place(a.end, b.blocked_until)}" title="buffer"></div>'
        if b.blocked_until > a.end
        else ""
    )
    label = f"{_local(a.start, span.tz)} {a.service_type} · {a.vehicle_id}"
    card_side = "right:0;left:auto" if span.pct(a.start) > 60 else ""
    return (
        f'{buffer}<details class="appt status-{a.status.value}" style="{span.place(a.start, a.end)}" '
        f'data-appointment-id="{escape(a.id, quote=True)}" data-lane="{escape(lane, quote=True)}" '
        f'data-start="{a.start.isoformat()}" data-end="{a.end.isoformat()}" data-status="{a.status.value}">'
        f'<summary title="{escape(label, quote=True)}">{escape(label)}</summary>'
        f'<div class="card" style="{card_side}">{_card(b, day, names)}</div></details>'
    )


def _lanes(title: str, kind: str, lanes: tuple[Lane, ...], day: ShopDay, span: Span, names: dict[str, str]) -> str:
    axis = (
        f'<div class="row axis"><div class="label"><strong>{escape(title)}</strong></div>'
        f'<div class="track">{_ticks(span, True)}{_now_line(day, span)}</div></div>'
    )
    rows = []
    for lane in lanes:
        working = "".join(f'<div class="working" style="{span.place(iv.start, iv.end)}"></div>' for iv in lane.working)
        bookings = "".join(_booking(b, day, span, names, lane.resource_id) for b in lane.bookings)
        rows.append(
            f'<div class="row lane" data-{kind}="{escape(lane.resource_id, quote=True)}">'
            f'<div class="label">{escape(lane.name)}<span class="sub">{escape(lane.detail)}</span></div>'
            f'<div class="track" data-from="{span.start.isoformat()}" data-to="{span.end.isoformat()}">'
            f"{working}{_ticks(span, False)}{bookings}{_now_line(day, span)}</div></div>"
        )
    if not lanes:
        rows.append('<p class="empty">None at this shop.</p>')
    return f'<div class="scroll"><div class="grid" data-view="{kind}">{axis}{"".join(rows)}</div></div>'


def _pct(f: Figure) -> str:
    return "—" if f.value is None else f"{f.value:.0%}"


def _figure_row(name: str, f: Figure, parts: str) -> str:
    met = "" if f.met is None else f' class="met-{str(f.met).lower()}"'
    target = f" (target {escape(f.target.text)})" if f.target else ""
    return (
        f"<tr><th>{escape(name)}<br><small>{escape(parts)}{target}</small></th>"
        f'<td class="num"><span{met}>{_pct(f)}</span></td></tr>'
    )


def _hours(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.1f} h" if value < 72 else f"{value / 24:.1f} d"


def _kpi_panel(day: ShopDay) -> str:
    k = day.kpis
    rows = [
        _figure_row(
            "Technician utilization",
            k.technicians.overall,
            f"{k.technicians.overall.numerator:.1f} h of {k.technicians.overall.denominator:.1f} h",
        ),
        _figure_row(
            "Bay utilization", k.bays.overall, f"{k.bays.overall.numerator:.1f} h of {k.bays.overall.denominator:.1f} h"
        ),
        _figure_row("No-show rate", k.no_show, f"{k.no_show.numerator:.0f} of {k.no_show.denominator:.0f}"),
        _figure_row(
            "Late cancellations",
            k.late_cancellation,
            f"{k.late_cancellation.numerator:.0f} of {k.late_cancellation.denominator:.0f}",
        ),
        _figure_row(
            "Searches that booked",
            k.booking_success,
            f"{k.booking_success.numerator:.0f} of {k.booking_success.denominator:.0f} searches",
        ),
        _figure_row(
            "First slot taken",
            k.recommended_uptake,
            f"{k.recommended_uptake.numerator:.0f} of {k.recommended_uptake.denominator:.0f} bookings",
        ),
    ]
    cv = k.technicians.coefficient_of_variation
    rows.append(f'<tr><th>Spread of load (CV)</th><td class="num">{"—" if cv is None else f"{cv:.2f}"}</td></tr>')
    waits = "".join(
        f'<tr><th>{escape(w.urgency.value)} <small>({w.count})</small></th><td class="num">'
        f"{_hours(w.mean_hours)}</td></tr>"
        for w in k.waits
    )
    loads = "".join(
        f'<tr><th>{escape(r.name)}</th><td class="num">{_pct(r.figure)}</td></tr>' for r in k.technicians.resources
    )
    return (
        '<aside id="kpis"><h2>The day\'s figures</h2>'
        f"<table>{''.join(rows)}</table><h2>Mean wait, request to start</h2><table>{waits}</table>"
        f"<h2>Load per technician</h2><table>{loads}</table></aside>"
    )


def _legend() -> str:
    items = "".join(
        f'<li><span class="status-{s.value}" style="background:var(--{s.value})"></span>{escape(label)}</li>'
        for s, label in STATUS_LABELS.items()
    )
    return (
        f'<ul class="legend">{items}<li><span class="buffer" style="position:static;display:inline-block"></span>'
        'Buffer</li><li><span style="border-left:2px solid #d92d20;border-radius:0"></span>Now</li></ul>'
    )


def _header(day: ShopDay) -> str:
    shop, d = day.shop, day.day
    options = "".join(
        f'<option value="{escape(s.id, quote=True)}"{" selected" if s.id == shop.id else ""}>{escape(s.name)}</option>'
        for s in day.shops
    )
    return (
        f"<header><h1>{escape(shop.name)} · {escape(d.strftime('%A %d %B %Y'))}</h1>"
        f'<nav class="daynav"><a rel="prev" href="{day_url(shop.id, d - dt.timedelta(days=1))}">← Previous day</a> '
        f'<a href="{day_url(shop.id, day.now.astimezone(shop.tz).date())}">Today</a> '
        f'<a rel="next" href="{day_url(shop.id, d + dt.timedelta(days=1))}">Next day →</a></nav>'
        f'<form method="get" action="/shops/{escape(shop.id, quote=True)}/day">'
        f'<input type="date" name="date" value="{d.isoformat()}" aria-label="Date"><button>Show</button></form>'
        # a plain GET form: switching shops works without JavaScript
        f'<form method="get" action="/day"><select name="shop" aria-label="Shop">{options}</select>'
        f'<input type="hidden" name="date" value="{d.isoformat()}"><button>Switch shop</button></form>'
        '<form method="post" action="/signout"><button>Sign out</button></form></header>'
    )


def shop_day_page(day: ShopDay) -> str:
    """The whole page for ``day``."""
    span = Span(day)
    names = {lane.resource_id: lane.name for lane in (*day.technicians, *day.bays)}
    count = len(day.bookings)
    summary = f"{count} appointment{'s' if count != 1 else ''} and holds." if count else "Nothing booked on this day."
    board = (
        f'<section class="board"><p class="summary">{escape(summary)} '
        f"Times in {escape(day.shop.timezone)}; refreshed every {REFRESH_SECONDS} s.</p>"
        f"<h2>Technicians</h2>{_lanes('Technician', 'technician', day.technicians, day, span, names)}"
        f"<h2>Service bays</h2>{_lanes('Bay', 'bay', day.bays, day, span, names)}{_legend()}</section>"
    )
    return _page(
        f"{day.shop.name} · {day.day.isoformat()}",
        f"{_header(day)}<main>{board}{_kpi_panel(day)}</main>",
        refresh=True,
    )


def sign_in_page(*, next_url: str, error: str | None = None) -> str:
    """The sign-in form: a staff API key in, a session cookie out."""
    message = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return _page(
        "Sign in · Scheduling",
        '<form class="signin" method="post" action="/signin"><h1>Shop-day page</h1>'
        "<p>Sign in with a staff or admin API key (<code>scheduling-service keys create --role staff</code>).</p>"
        f'{message}<label for="api_key">API key</label>'
        '<input id="api_key" name="api_key" type="password" autocomplete="current-password" required>'
        f'<input type="hidden" name="next" value="{escape(next_url, quote=True)}">'
        "<button>Sign in</button></form>",
    )


def message_page(title: str, text: str) -> str:
    """An error or notice as a page (an unknown shop, a key that may not read the day)."""
    return _page(
        title,
        f'<div class="signin"><h1>{escape(title)}</h1><p>{escape(text)}</p>'
        '<p><a href="/signin">Sign in</a> · <a href="/day">Your shops</a></p></div>',
    )
