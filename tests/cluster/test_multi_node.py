"""The service on a three-node Ray cluster loses a node under 32 booking clients.

The scenario (``tests/cluster/scenario.py``) runs in a process of its own: its
``ray.cluster_utils.Cluster`` cannot share a process with the session's
single-node Ray (``tests/conftest.py``). It takes about a minute; this module
runs it once and checks its report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 32
SCENARIO_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("multi-node") / "report.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "REDIS_URL": redis_url, "RAY_ADDRESS": ""}
    done = subprocess.run(
        [sys.executable, "-m", "tests.cluster.scenario", "--out", str(out), "--clients", str(CLIENTS)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=SCENARIO_TIMEOUT_S,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    result: dict[str, Any] = json.loads(out.read_text())
    print(json.dumps(result, indent=1))  # shown with -s, and on failure
    return result


def test_shop_hosts_spread_over_the_nodes(report: dict[str, Any]) -> None:
    assert len(set(report["hosts_before"].values())) >= 2, report["hosts_before"]
    assert report["removed"] in report["hosts_before"].values(), "the lost node held shop hosts"


def test_serve_replicas_run_on_two_nodes(report: dict[str, Any]) -> None:
    assert report["replica_nodes"] == ["node_b", "node_c"]


def test_lost_hosts_come_back_on_the_surviving_nodes_rebuilt_from_postgres(report: dict[str, Any]) -> None:
    assert report["removed"] not in report["hosts_after"].values(), report["hosts_after"]
    assert set(report["hosts_after"]) == set(report["hosts_before"])
    assert report["rebuilt_calendars"] and all(report["rebuilt_calendars"].values()), report["rebuilt_calendars"]


def test_every_acknowledged_booking_survives_without_overlaps(report: dict[str, Any]) -> None:
    assert report["acknowledged_after_loss"] > 0, "bookings went on after the loss"
    assert report["missing_acknowledged"] == []
    assert report["overlaps"]["technician_overlaps"] == 0
    assert report["overlaps"]["bay_overlaps"] == 0
    assert report["overlaps"]["live_rows"] == report["acknowledged"]
    # Each slot was distinct: only a request whose first try was cut off with its replica may be refused (its
    # transient calendar hold outlives it for 30 s), and then with a 409, never a 5xx.
    assert set(report["statuses"]) <= {"201", "409"}, report["statuses"]
    assert report["refused_not_cut_off"] == 0, report["refusals"]
    assert report["statuses"].get("409", 0) <= sum(report["failed_attempts"].values())


def test_server_errors_only_hit_requests_in_flight_on_the_lost_node(report: dict[str, Any]) -> None:
    failed = sum(report["failed_attempts"].values())
    # at most one request per client can be in flight on the lost replica when it dies
    assert failed <= CLIENTS, report["failed_attempts"]
    assert report["failed_in_window"] == failed, "no failure outside the loss of the node"


def test_bridge_survives_the_loss_of_its_node(report: dict[str, Any]) -> None:
    before, after = report["bridge_before"], report["bridge_after"]
    assert before["node"] == report["removed"]
    assert after["running"] and after["node"] not in ("", report["removed"]) and after["pid"] != before["pid"]
    assert report["unpublished_outbox"] == 0, "the restarted bridge published every booking's events"
