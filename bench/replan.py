"""Shop-day replans (book by reassignment, ``solver.reassign``) on the demo shops: time, moves, optimality.

    .venv/bin/python bench/replan.py [--runs 200] [--seed 1]

For each demo shop and each load (60, 70, 80, 90% of its technicians' working
minutes booked with 1-3 h jobs of the demo catalog, each on a technician with
the skill and a bay with the equipment, buffers kept), a weekday is drawn and a
CRITICAL job (2-3 h, one of the catalog's urgent service types) is placed by
reassignment from 08:00. Printed per load: how often a plan was found, solve
time p50/p99 (model build included), moved jobs per plan (mean, max), and the
share proven optimal within the 1 s limit. Every plan is re-checked by
``solver.checker.plan_violations``; a broken plan is counted and printed.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if __name__ == "__main__":  # as a script: the repository first, bench/ off the path (bench/http.py shadows http)
    sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from domain.catalog import ServiceCategory  # noqa: E402
from domain.time_windows import local_day_bounds  # noqa: E402
from solver.checker import plan_violations  # noqa: E402
from solver.reassign import BookedJob, Place, ReassignProblem, solve_reassignment  # noqa: E402
from store.shop_loader import parse_demo_chain  # noqa: E402

DAY = date(2030, 3, 5)  # a Tuesday: every demo technician works
BUFFER, STEP, CAP = 30, 15, 6
LOADS = (0.6, 0.7, 0.8, 0.9)


def _minutes(instant: object, origin: object) -> int:
    return int((instant - origin).total_seconds() // 60)  # type: ignore[operator]


def shop_day(data: object, shop: object, load: float, rng: random.Random) -> ReassignProblem | None:
    """One drawn day of ``shop`` booked to ``load``, and a CRITICAL job to place."""
    origin = local_day_bounds(DAY, shop.tz).start  # type: ignore[attr-defined]
    techs = [t for t in data.technicians if t.shop_id == shop.id and t.active and not t.mobile]  # type: ignore[attr-defined]
    bays = [b for b in data.bays if b.shop_id == shop.id and b.active and b.van_of is None]  # type: ignore[attr-defined]
    working = {
        t.id: [(_minutes(w.start, origin), _minutes(w.end, origin)) for w in t.working_windows(shop, DAY)]
        for t in techs
    }
    open_ = [(_minutes(w.start, origin), _minutes(w.end, origin)) for w in shop.open_windows(DAY)]  # type: ignore[attr-defined]
    services = [st for st in data.service_types if st.category is not ServiceCategory.EMERGENCY]  # type: ignore[attr-defined]
    urgent = [
        st for st in data.service_types if st.category in (ServiceCategory.EMERGENCY, ServiceCategory.COMPONENT_REPAIR)
    ]  # type: ignore[attr-defined]
    target = load * sum(hi - lo for spans in working.values() for lo, hi in spans)
    on_tech: dict[str, list[tuple[int, int]]] = {t.id: [] for t in techs}
    on_bay: dict[str, list[tuple[int, int]]] = {b.id: [] for b in bays}
    jobs: list[BookedJob] = []
    booked, attempts = 0, 0
    while booked < target and attempts < 2000:
        attempts += 1
        st = rng.choice(services)
        d = 60 * rng.randint(1, 3)
        who = [t.id for t in techs if t.has_skill(st.required_skill) and working[t.id]]
        where = [b.id for b in bays if b.has_equipment(st.required_equipment)]
        if not who or not where:
            continue
        t, b = rng.choice(who), rng.choice(where)
        lo_w, hi_w = working[t][0]
        if hi_w - lo_w < d:
            continue
        s = lo_w + STEP * rng.randrange(0, (hi_w - lo_w - d) // STEP + 1)
        if any(s < e + BUFFER and a < s + d + BUFFER for a, e in on_tech[t]) or any(
            s < e and a < s + d for a, e in on_bay[b]
        ):
            continue
        on_tech[t].append((s, s + d))
        on_bay[b].append((s, s + d))
        jobs.append(BookedJob(f"J{len(jobs)}", (s, s + d), t, b, tuple(who), tuple(where)))
        booked += d
    job = rng.choice(urgent)
    duration = 60 * rng.randint(2, 3)
    first = 8 * 60
    last = max(hi for spans in working.values() for _, hi in spans) - duration
    return ReassignProblem(
        duration=duration,
        starts=tuple(range(first, last + 1, STEP)),
        skilled=frozenset(t.id for t in techs if t.has_skill(job.required_skill)),
        equipped=frozenset(b.id for b in bays if b.has_equipment(job.required_equipment)),
        technicians=tuple(Place(t.id, tuple(working[t.id])) for t in techs),
        bays=tuple(Place(b.id, tuple(open_)) for b in bays),
        jobs=tuple(jobs),
        buffer=BUFFER,
        cap=CAP,
    )


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200, help="drawn days per shop and load")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    data = parse_demo_chain()
    print(f"shop-day replans, demo chain ({', '.join(s.id for s in data.shops)}), {args.runs} days per shop and load")
    columns = ("plans", "p50 ms", "p99 ms", "moves mean", "moves max", "optimal", "broken")
    print(f"{'load':>5} " + " ".join(f"{c:>11}" for c in columns))
    for load in LOADS:
        times, moves, optimal, found, broken, total = [], [], 0, 0, 0, 0
        for shop in data.shops:
            rng = random.Random(f"{args.seed}/{shop.id}/{load}")
            for _ in range(args.runs):
                problem = shop_day(data, shop, load, rng)
                if problem is None:
                    continue
                total += 1
                t0 = time.perf_counter()
                plan = solve_reassignment(problem, time_limit_s=1.0)
                times.append((time.perf_counter() - t0) * 1e3)
                if plan is None:
                    continue
                found += 1
                moves.append(len(plan.moves))
                optimal += plan.optimal
                broken += bool(plan_violations(problem, plan))
        cells = (
            f"{found}/{total}",
            f"{statistics.median(times):.1f}",
            f"{pct(times, 0.99):.1f}",
            f"{statistics.fmean(moves) if moves else 0:.2f}",
            f"{max(moves, default=0)}",
            f"{optimal / found if found else 0:.0%}",
            f"{broken}",
        )
        print(f"{load:>5.0%} " + " ".join(f"{c:>11}" for c in cells))


if __name__ == "__main__":
    main()
