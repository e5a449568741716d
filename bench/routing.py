"""The route optimizer on the public Solomon VRPTW instances: distance, vehicles, gap to the best known.

    .venv/bin/python bench/routing.py [--solomon FILE ...] [--seconds 10] [--json OUT]

Without ``--solomon`` it reads the six instances in ``../shared/bench-data/solomon/``.
Each is solved by ``solver.routing.solve_routes`` (the optimizer mobile-service
routes use) with the instance's fleet and capacity, and re-checked by
``solver.checker.route_violations``. Distances are compared as the best-known
values were compiled: each arc truncated to one decimal (the matrix is in
tenths, truncated). Printed per instance: distance, vehicles, best known, gap %,
seconds, feasible; then the mean gap.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if __name__ == "__main__":  # as a script: the repository first, bench/ off the path (bench/http.py shadows http)
    sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from solver.checker import route_violations  # noqa: E402
from solver.routing import RoutingProblem, route_distance, solve_routes  # noqa: E402

SOLOMON = ROOT.parent / "shared" / "bench-data" / "solomon"
BEST_KNOWN = {"C101": 827.3, "R101": 1637.7, "RC101": 1619.8, "C201": 589.1, "R201": 1143.2, "RC201": 1261.8}
"""Best-known total distances (``../shared/bench-data/solomon/README.md``)."""
SCALE = 10
"""Tenths: arcs truncated to one decimal, as the best-known values were compiled."""


def read_solomon(path: Path) -> tuple[str, RoutingProblem]:
    """A Solomon instance as a ``RoutingProblem`` in tenths (travel time equals distance)."""
    lines = [line.split() for line in path.read_text().splitlines() if line.strip()]
    name = lines[0][0]
    vehicles, capacity = (int(v) for v in lines[next(i for i, row in enumerate(lines) if row[0] == "NUMBER") + 1])
    rows = [row for row in lines if len(row) == 7 and row[0].isdigit()]
    xy = [(float(r[1]), float(r[2])) for r in rows]
    travel = tuple(
        tuple(math.floor(math.dist(a, b) * SCALE) for b in xy)  # truncated to one decimal, in tenths
        for a in xy
    )
    return name, RoutingProblem(
        travel=travel,
        windows=tuple((int(r[4]) * SCALE, int(r[5]) * SCALE) for r in rows),
        service=tuple(int(r[6]) * SCALE for r in rows),
        demand=tuple(int(r[3]) for r in rows),
        vehicles=vehicles,
        capacity=capacity,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--solomon", nargs="*", type=Path, help="instance files (default: the six in bench-data)")
    parser.add_argument("--seconds", type=float, default=10.0, help="per instance (default 10)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    files = args.solomon or sorted(p for p in SOLOMON.glob("*.txt"))
    if not files:
        parser.error(f"no instances: pass --solomon FILE ..., or put them in {SOLOMON}")
    print(f"solver.routing (PyVRP), {args.seconds:g} s per instance")
    head = ("distance", "vehicles", "best known", "gap %", "seconds", "feasible")
    print(f"{'instance':>9} " + " ".join(f"{h:>10}" for h in head))
    out, gaps = [], []
    for path in files:
        name, problem = read_solomon(path)
        t0 = time.perf_counter()
        solution = solve_routes(problem, args.seconds)
        seconds = time.perf_counter() - t0
        routes = [r for r in solution.routes if r]
        distance = route_distance(problem, routes) / SCALE
        feasible = not route_violations(problem, routes)
        best = BEST_KNOWN.get(name)
        gap = 100 * (distance - best) / best if best else None
        if gap is not None:
            gaps.append(gap)
        cells = (
            f"{distance:.1f}",
            len(routes),
            best or "-",
            "-" if gap is None else f"{gap:.2f}",
            f"{seconds:.1f}",
            "yes" if feasible else "NO",
        )
        print(f"{name:>9} " + " ".join(f"{c:>10}" for c in cells))
        out.append(
            {"instance": name, "distance": distance, "vehicles": len(routes), "seconds": seconds, "feasible": feasible}
        )
    if gaps:
        print(f"mean gap to the best known: {statistics.fmean(gaps):.2f}% over {len(gaps)} instances")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
