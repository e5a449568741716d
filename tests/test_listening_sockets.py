"""Started as the README does, the service listens beyond loopback on the API port only.

Ray's GCS, raylet, workers, agents and Serve's replica sockets (inter-deployment
gRPC, direct ingress) all bind 127.0.0.1; only the API port binds ``HOST``
(default ``0.0.0.0``). The keys the first start printed (and kept in
``DATA_DIR/api-keys.env``) open the API; no key gets a 401.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.test_launcher_signals import ROOT, START_DEADLINE_S, STOP_DEADLINE_S, answers_healthz, free_port, wait_for

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")


@pytest.fixture
def service_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="scheduling-sockets-") as folder:
        yield Path(folder)


def _listening(root: int) -> list[tuple[str, int, str]]:
    """(address, port, process name) of every TCP socket listening in ``root``'s process tree."""
    pids = {root}
    try:
        pids |= {p.pid for p in psutil.Process(root).children(recursive=True)}
    except psutil.NoSuchProcess:
        return []
    found = []
    for conn in psutil.net_connections("tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.pid in pids:
            try:
                name = psutil.Process(conn.pid).name()
            except psutil.NoSuchProcess:
                continue
            found.append((conn.laddr.ip, conn.laddr.port, name))
    return found


def _loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def _keys(data_dir: Path) -> dict[str, str]:
    lines = (data_dir / "api-keys.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_only_the_api_port_listens_beyond_loopback_and_the_printed_key_opens_it(service_dir: Path) -> None:
    data_dir, port = service_dir / "data", free_port()
    env = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "PORT": str(port),
        "DATABASE_URL": "",  # the README's first command: embedded servers, demo chain
        "REDIS_URL": "",
        "RAY_ADDRESS": "local",
    }
    env.pop("HOST", None)
    log_path = service_dir / "serve.log"
    with log_path.open("wb") as log:
        launcher = subprocess.Popen(
            [sys.executable, "-m", "deployments.cli", "serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        up = wait_for(lambda: answers_healthz(port) or launcher.poll() is not None, START_DEADLINE_S)
        assert up and launcher.poll() is None, log_path.read_text(errors="replace")[-4000:]

        sockets = _listening(launcher.pid)
        beyond = [(a, p, n) for a, p, n in sockets if not _loopback(a)]
        assert len(sockets) > 5, sockets  # Ray's and Serve's sockets were seen
        assert {p for _, p, _ in beyond} == {port}, f"listening beyond loopback: {beyond}"

        keys = _keys(data_dir)
        printed = log_path.read_text(errors="replace")
        assert keys["SCHEDULING_KEY"] in printed and keys["SCHEDULING_BOOKING_KEY"] in printed
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=30) as http:
            assert http.get("/technicians").status_code == 401
            admin = {"Authorization": f"Bearer {keys['SCHEDULING_KEY']}"}
            assert http.get("/technicians/tech_001/schedule", headers=admin).status_code == 200
            booking = {"Authorization": f"Bearer {keys['SCHEDULING_BOOKING_KEY']}"}
            body = {"vehicle_id": "V001", "service_type": "routine", "shop_id": "shop_nyc"}
            assert http.post("/slots/available", json=body, headers=booking).status_code == 200
    finally:
        if launcher.poll() is None:
            launcher.send_signal(signal.SIGTERM)
        try:
            launcher.wait(timeout=STOP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            launcher.kill()
            launcher.wait()
