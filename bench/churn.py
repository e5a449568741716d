"""Shop churn: activate many shops on demand, let the idle ones retire; prints figures, asserts nothing.

    .venv/bin/python bench/churn.py [--shops 200] [--clients 4] [--idle 5]

A fresh database on DATABASE_URL's server (default
postgresql://postgres@127.0.0.1:5432/postgres) holds the demo chain and
``--shops`` synthetic all-day shops (two technicians, two bays each), written
through the store as any shop file is. One local Ray (2 CPUs) runs the shop
calendar hosts (``actors.factory.RayDirectory``, one host per shop, retired
after ``--idle`` seconds without a call); this process plays the ingress: the
application's slot finder over that directory, as a Serve replica builds it.

``--clients`` clients walk the shops once, each shop's first search finding
it cold (its host process started and its calendars loaded from PostgreSQL
on demand), followed by a second, warm search. Meanwhile a sampler reads
``/proc/<pid>/smaps_rollup`` of every Ray worker process (``ray::...``) and
keeps the peak of their summed PSS, and the CPU time each host used. Then
the bench waits for every host to retire.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path[0] = str(Path(__file__).resolve().parents[1])  # the repository, not bench/, first on the path

HOST_TITLE = "ray::RayCalendarHost"
"""The process title of a live shop host (Ray renames its worker process after the actor class)."""
TICKS = os.sysconf("SC_CLK_TCK")


# -- processes ----------------------------------------------------------------------------------


def _cmdline(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0", 1)[0].decode(errors="replace")
    except OSError:
        return ""


def _pss_kib(pid: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _cpu_s(pid: str) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime
    except (OSError, ValueError, IndexError):
        return 0.0


def _parent(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]
    except (OSError, IndexError):
        return ""


RAYLET_PID = ""
"""This bench's raylet: its worker processes are the ones measured (other Ray instances may share the machine)."""


def ray_workers() -> dict[str, str]:
    """Pid → process title of this bench's Ray worker processes (``ray::...``, children of its raylet)."""
    pids = [p.name for p in Path("/proc").iterdir() if p.name.isdigit()]
    mine = [pid for pid in pids if _parent(pid) == RAYLET_PID]
    titles = {pid: _cmdline(pid) for pid in mine}
    return {pid: title for pid, title in titles.items() if title.startswith("ray::")}


def find_raylet() -> str:
    """The pid of the raylet of the Ray this process started."""
    import ray

    node: Any = ray._private.worker._global_node  # no public handle on the local node's processes
    return str(node.all_processes["raylet"][0].process.pid)


@dataclass
class Sampler:
    """Samples the Ray workers' PSS and the shop hosts' CPU time in a thread, every ``period_s``."""

    period_s: float = 0.5
    peak_pss_kib: int = 0
    peak_hosts: int = 0
    pss_at_peak_hosts_kib: int = 0
    host_pss_kib: list[int] = field(default_factory=list)
    host_cpu_s: dict[str, float] = field(default_factory=dict)
    """Last CPU time seen per host pid (a retired host keeps its last sample)."""
    live_hosts: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.period_s)

    def sample(self) -> None:
        workers = ray_workers()
        pss = {pid: _pss_kib(pid) for pid in workers}
        hosts = [pid for pid, title in workers.items() if title.startswith(HOST_TITLE)]
        total = sum(pss.values())
        self.live_hosts = len(hosts)
        self.peak_pss_kib = max(self.peak_pss_kib, total)
        if len(hosts) >= self.peak_hosts:
            self.peak_hosts, self.pss_at_peak_hosts_kib = len(hosts), total
        self.host_pss_kib.extend(pss[pid] for pid in hosts if pss[pid])
        for pid in hosts:
            self.host_cpu_s[pid] = _cpu_s(pid)

    def stop(self) -> None:
        self._stop.set()


# -- the bench ----------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def churn(opts: argparse.Namespace, dsn: str) -> None:
    import ray

    from bridge.composition import ray_application
    from config.settings import Settings
    from store.database import create_pool
    from tests.cluster.allday_shops import seed_allday_chain

    shops = await seed_allday_chain(dsn, opts.shops, prefix="churn")
    settings = Settings(
        database_url=dsn,
        seed_demo_data=False,
        ray_namespace=f"churn-{uuid.uuid4().hex[:6]}",
        actor_idle_seconds=opts.idle,
        urgent_reserve_share=0,
        priority_reserve_share=0,
        min_booking_notice_minutes=0,
    )
    pool = await create_pool(dsn, min_size=2, max_size=20)
    app = ray_application(settings, pool, dsn)
    from application.slot_search import SlotSearch
    from domain.urgency import Urgency

    baseline_pss = sum(_pss_kib(pid) for pid in ray_workers())
    sampler = Sampler()
    thread = threading.Thread(target=sampler.run, daemon=True)
    thread.start()
    cold: list[float] = []
    warm: list[float] = []
    empty = 0
    queue = iter(shops)

    async def client() -> None:
        nonlocal empty
        for shop in queue:
            search = SlotSearch(vehicle_id=f"C-{shop}", service_type="routine", urgency=Urgency.HIGH, shop_ids=(shop,))
            for times in (cold, warm):
                started = time.perf_counter()
                found = await app.finder.find(search)
                times.append(time.perf_counter() - started)
                empty += not found.slots

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(opts.clients)))
    walked_s = time.perf_counter() - started
    retire_started = time.perf_counter()
    deadline = retire_started + opts.idle * 3 + 60
    while time.perf_counter() < deadline:
        sampler.sample()
        if sampler.live_hosts == 0:
            break
        await asyncio.sleep(0.5)
    retired_s = time.perf_counter() - retire_started
    left = sampler.live_hosts
    sampler.stop()
    thread.join()
    await pool.close()
    ray.shutdown()

    per_host = statistics.median(sampler.host_pss_kib) / 1024 if sampler.host_pss_kib else 0.0
    cpu = sorted(sampler.host_cpu_s.values())
    print(
        f"\nchurn bench ({os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}): {opts.shops} shops "
        f"(2 technicians, 2 bays each), {opts.clients} clients, hosts retire after {opts.idle:g} s idle"
    )
    print(
        f"  first search on a cold shop: p50 {pct(cold, 0.5) * 1000:.0f} ms, p99 {pct(cold, 0.99) * 1000:.0f} ms, "
        f"max {max(cold) * 1000:.0f} ms; then warm: p50 {pct(warm, 0.5) * 1000:.0f} ms, "
        f"p99 {pct(warm, 0.99) * 1000:.0f} ms ({empty} searches found no slot)"
    )
    print(
        f"  activated {opts.shops} shops in {walked_s:.1f} s ({opts.shops / walked_s:.1f} shops/s); "
        f"peak {sampler.peak_hosts} live hosts; {'all' if left == 0 else f'all but {left}'} retired "
        f"{retired_s:.1f} s after the last search"
    )
    print(
        f"  peak PSS of the Ray worker processes: {sampler.peak_pss_kib / 1024:.0f} MiB "
        f"(before the first shop: {baseline_pss / 1024:.0f} MiB; with {sampler.peak_hosts} hosts live: "
        f"{sampler.pss_at_peak_hosts_kib / 1024:.0f} MiB)"
    )
    print(
        f"  one active shop's host: PSS median {per_host:.0f} MiB; CPU over its life (activation, 2 searches, "
        f"idle until retired): median {statistics.median(cpu) * 1000:.0f} ms, p99 {pct(cpu, 0.99) * 1000:.0f} ms"
        if cpu
        else "  no host was sampled"
    )
    if per_host:
        print(f"  memory alone: {1024 / per_host:.0f} live shops per GiB given to Ray workers")


async def main(opts: argparse.Namespace) -> None:
    import asyncpg
    import ray

    from store.database import migrate, normalize_dsn
    from tests.conftest import _with_database

    server = normalize_dsn(os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    name = f"bench_churn_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    dsn = _with_database(server, name)
    try:
        await migrate(dsn)
        from bench.local_ray import start_local_ray

        start_local_ray("bench-churn")
        global RAYLET_PID
        RAYLET_PID = find_raylet()
        await churn(opts, dsn)
    finally:
        if ray.is_initialized():
            ray.shutdown()
        admin = await asyncpg.connect(server)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shops", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--idle", type=float, default=5.0, help="actor_idle_seconds of the hosts")
    asyncio.run(main(parser.parse_args()))
