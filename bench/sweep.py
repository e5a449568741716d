"""How the reserves and the fragmentation weights were chosen: the simulator over a grid of them.

    .venv/bin/python bench/sweep.py [--scenarios normal,peak] [--weeks 4] [--seed 1]
        [--urgent-shares 0,0.1,0.2,0.3] [--urgent-releases 0,12,24]
        [--stranded 5] [--loose 20] [--reserve-use 100] [--first-fit]

Each combination runs the service (``bench/simulate.py``'s ``service`` policy, the
same demand and seed for every row of a scenario) with the urgent reserve's share
and release and the fragmentation terms' points (``solver.problem.Weights``)
replaced (``--reserve-use``: the points HIGH work pays to borrow an urgent block);
every other setting is the default. One row per combination: the
figures the issue's targets read. ``*`` marks the service's defaults; with
``--first-fit`` the first-fit baseline is printed first, for scale.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import time as wall
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if __name__ == "__main__":  # as a script: the repository first, bench/ off the path (bench/http.py shadows http)
    sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from bench.demand import SCENARIOS, START, generate_demand, load_shop_data, per_day_for_load, simulated_days  # noqa: E402
from bench.scorecard import FIRST_FIT, SERVICE  # noqa: E402
from bench.simulate import run_policy, start_runtime  # noqa: E402
from domain.policy import SchedulingPolicy  # noqa: E402
from solver import Weights  # noqa: E402

COLUMNS = (
    ("success", "success", "{:.1%}"),
    ("wait.CRITICAL.mean", "CRIT mean h", "{:.1f}"),
    ("wait.CRITICAL.p90", "CRIT p90 h", "{:.1f}"),
    ("critical.24h", "CRIT <=24h", "{:.0%}"),
    ("within2.HIGH", "HIGH <=2d", "{:.0%}"),
    ("delay.LOW.mean", "LOW delay d", "{:.2f}"),
    ("delay.MEDIUM.mean", "MED delay d", "{:.2f}"),
    ("util.cv", "util CV", "{:.3f}"),
    ("refused.CRITICAL", "CRIT refused", "{:.0f}"),
)


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def _cell(value: float | None, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", default="normal,peak")
    parser.add_argument("--weeks", type=float, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--urgent-shares", type=_floats, default=[0.0, 0.1, 0.2, 0.3])
    parser.add_argument("--urgent-releases", type=_floats, default=[0.0, 12.0, 24.0], help="hours")
    parser.add_argument("--stranded", type=_floats, default=[float(Weights().stranded_gap)])
    parser.add_argument("--loose", type=_floats, default=[float(Weights().loose_routine)])
    parser.add_argument("--reserve-use", type=_floats, default=[float(Weights().reserve_use)])
    parser.add_argument("--first-fit", action="store_true", help="print the first-fit baseline first")
    args = parser.parse_args()
    scenarios = args.scenarios.split(",")
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {', '.join(unknown)}; expected {', '.join(SCENARIOS)}")

    import ray

    server = start_runtime()
    data = load_shop_data(None)
    days = simulated_days(START, args.weeks)
    default, default_weights = SchedulingPolicy(), Weights()
    started = wall.perf_counter()
    try:
        for scenario in scenarios:
            requests = generate_demand(data, days, per_day_for_load(data, days, SCENARIOS[scenario]), args.seed)
            print(f"\n== scenario {scenario} ({args.weeks:g} weeks, seed {args.seed}, demo chain)")
            header = f"  {'urgent share':>12} {'release h':>9} {'stranded':>8} {'loose':>5} {'borrow':>6} " + " ".join(
                f"{title:>12}" for _, title, _ in COLUMNS
            )
            print(header)
            if args.first_fit:
                f, _, _ = await run_policy(server, data, days, requests, FIRST_FIT)
                print(f"  {'first-fit':>45} " + " ".join(f"{_cell(f.get(k), fmt):>12}" for k, _, fmt in COLUMNS))
            for share, release, stranded, loose, borrow in itertools.product(
                args.urgent_shares, args.urgent_releases, args.stranded, args.loose, args.reserve_use
            ):
                policy = replace(
                    default,
                    urgent_reserve=replace(default.urgent_reserve, share=share, release=timedelta(hours=release)),
                )
                weights = replace(
                    default_weights, stranded_gap=round(stranded), loose_routine=round(loose), reserve_use=round(borrow)
                )
                f, checks, _ = await run_policy(server, data, days, requests, SERVICE, policy, weights)
                mark = "*" if (policy, weights) == (default, default_weights) else " "
                broken = sum(checks[k] for k in ("overlaps.technician", "overlaps.bay", "overlaps.vehicle"))
                print(
                    f"{mark} {share:>12.2f} {release:>9.0f} {stranded:>8.0f} {loose:>5.0f} {borrow:>6.0f} "
                    + " ".join(f"{_cell(f.get(k), fmt):>12}" for k, _, fmt in COLUMNS)
                    + (f"  DOUBLE BOOKINGS {broken}" if broken else ""),
                    flush=True,
                )
    finally:
        ray.shutdown()
    print(f"\nwall time {wall.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    asyncio.run(main())
