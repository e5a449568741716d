"""``scheduling-service serve`` started in the background stops on SIGTERM, and takes down
everything it started: ``serve run``, the Ray processes behind it, the embedded servers.

A background job of a non-interactive shell (and some supervisors) starts with SIGINT
ignored, and its children inherit that, so a launcher that only forwarded SIGINT hung.
This runs the real service once (embedded PostgreSQL and Redis under a temporary
DATA_DIR, its own local Ray cluster, a free port), which is the only way to see which
processes Ray starts and whether they go away.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).parents[1]
PROC = Path("/proc")
START_DEADLINE_S = 240.0  # a cold Ray start, migrations and the demo seed on a loaded 2-core box
STOP_DEADLINE_S = 90.0  # the launcher's own bounds (20 s grace, 5 + 5 s for leftovers) plus slack

Process = tuple[int, int]
"""(pid, start time in clock ticks): a pid the kernel reuses is not mistaken for the old process."""

pytestmark = pytest.mark.skipif(not (PROC / "self" / "stat").exists(), reason="reads the process table from /proc")


@pytest.fixture
def service_dir() -> Iterator[Path]:
    """A folder outside pytest's basetemp: a pytest session starting meanwhile on the same machine
    deletes all but the newest three, and with them the files of the embedded servers under test."""
    with tempfile.TemporaryDirectory(prefix="scheduling-serve-") as folder:
        yield Path(folder)


def test_serve_in_the_background_stops_on_sigterm_with_its_ray_processes_and_embedded_servers(
    service_dir: Path,
) -> None:
    data_dir = service_dir / "data"
    port = free_port()
    env = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "PORT": str(port),
        "HOST": "127.0.0.1",
        # Empty rather than unset, so that a developer's .env cannot swap in real servers:
        # the embedded ones are part of what must stop.
        "DATABASE_URL": "",
        "REDIS_URL": "",
        # A cluster of its own even where `ray start` left one to join on this machine.
        "RAY_ADDRESS": "local",
    }
    with (service_dir / "serve.log").open("wb") as log:
        launcher = subprocess.Popen(
            [sys.executable, "-m", "deployments.cli", "serve"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=ignore_sigint,  # as `cmd &` in a script does
        )
    started: set[Process] = set()
    try:
        up = wait_for(lambda: answers_healthz(port) or launcher.poll() is not None, START_DEADLINE_S)
        assert up and launcher.poll() is None, f"serve not up ({launcher.returncode=}):\n{tail(service_dir)}"
        started = family(launcher.pid)
        servers = embedded_servers(data_dir)
        assert len(started) > 5 and len(servers) == 2, f"{started=} {servers=}"  # Ray and both servers ran

        launcher.send_signal(signal.SIGTERM)

        try:
            launcher.wait(timeout=STOP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"serve still running {STOP_DEADLINE_S:.0f} s after SIGTERM:\n{tail(service_dir)}")
        gone = wait_for(lambda: not any(map(alive, started | servers)), STOP_DEADLINE_S)
        assert gone, f"left running ({launcher.returncode=}): {survivors(started | servers)}\n{tail(service_dir)}"
        assert not (data_dir / "pg" / "postmaster.pid").exists()
        assert not (data_dir / "redis" / "redis.pid").exists()
    finally:
        # A failed run must not leave a Ray cluster and two servers behind for the next tests.
        # (Only an unreaped launcher's pid is still its own: a reaped one may belong to anyone.)
        running = family(launcher.pid) if launcher.returncode is None else set()
        for pid, _ in filter(alive, running | started):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        launcher.wait()
        from bridge.embedded_redis import stop_embedded_redis
        from store.embedded import stop_embedded_postgres

        with contextlib.suppress(subprocess.CalledProcessError):  # a killed postmaster: the failure above tells
            stop_embedded_postgres(data_dir)
        stop_embedded_redis(data_dir)


DEAF_TO_SIGTERM = """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
worker = subprocess.Popen(  # in a process group of its own, as Ray starts its workers
    [sys.executable, "-c", "import time; print(flush=True); time.sleep(600)"],
    process_group=0,
    stdout=subprocess.PIPE,
)
worker.stdout.readline()
print(worker.pid, flush=True)
time.sleep(600)
"""


def test_a_child_deaf_to_sigterm_is_killed_with_its_whole_session_after_the_grace_period(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from deployments import launcher

    # The escalation alone, on a stand-in for `serve run` that ignores SIGTERM: Ray never does here.
    monkeypatch.setattr(launcher, "STOP_GRACE_S", 0.5)
    child = subprocess.Popen([sys.executable, "-c", DEAF_TO_SIGTERM], stdout=subprocess.PIPE, start_new_session=True)
    started: set[Process] = set()
    try:
        assert child.stdout is not None
        worker_pid = int(child.stdout.readline())
        started = family(child.pid)
        worker = next(p for p in started if p[0] == worker_pid)

        assert launcher._stop(child) == launcher.EXIT_KILLED

        assert child.returncode == -signal.SIGKILL
        assert wait_for(lambda: not alive(worker), 10)
    finally:
        for pid, _ in filter(alive, (family(child.pid) if child.returncode is None else set()) | started):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        child.wait()
        if child.stdout is not None:
            child.stdout.close()


# -- helpers ----------------------------------------------------------------------------


def ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def answers_healthz(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def wait_for(condition: Callable[[], bool], timeout_s: float) -> bool:
    """Whether ``condition`` came true within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def survivors(processes: set[Process]) -> list[str]:
    found = []
    for pid, _ in filter(alive, processes):
        with contextlib.suppress(OSError):
            command = (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ")
            found.append(f"{pid} {command[:120].decode(errors='replace')}")
    return found


def family(root: int) -> set[Process]:
    """``root`` and its descendants: Ray's workers are in process groups of their own, not in its."""
    children: dict[int, list[Process]] = {}
    for pid, ppid, start in stats():
        children.setdefault(ppid, []).append((pid, start))
    stat = read_stat(root)
    found: set[Process] = set()
    todo = [] if stat is None or stat[0] == "Z" else [(root, int(stat[19]))]
    while todo:
        process = todo.pop()
        found.add(process)
        todo.extend(children.get(process[0], []))
    return found


def embedded_servers(data_dir: Path) -> set[Process]:
    """The postmaster and redis-server of ``data_dir``, from their pid files (both daemonize)."""
    pids = []
    for pid_file in (data_dir / "pg" / "postmaster.pid", data_dir / "redis" / "redis.pid"):
        if pid_file.exists():
            pids.append(int(pid_file.read_text().split()[0]))
    return {(pid, start) for pid, _, start in stats() if pid in pids}


def alive(process: Process) -> bool:
    stat = read_stat(process[0])
    return stat is not None and stat[0] != "Z" and int(stat[19]) == process[1]


def stats() -> list[tuple[int, int, int]]:
    """(pid, parent pid, start time) of every live process."""
    found = []
    for entry in PROC.iterdir():
        stat = read_stat(int(entry.name)) if entry.name.isdigit() else None
        if stat is not None and stat[0] != "Z":
            found.append((int(entry.name), int(stat[1]), int(stat[19])))
    return found


def read_stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after "(comm)": state, ppid, ...; None once it is gone."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def tail(service_dir: Path) -> str:
    return "\n".join((service_dir / "serve.log").read_text(errors="replace").splitlines()[-40:])
