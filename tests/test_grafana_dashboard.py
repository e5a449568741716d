"""The Grafana dashboard reads only metrics the service exports, and shows every one of them."""

from __future__ import annotations

import json
import re
from pathlib import Path

from actors.metrics import PROMETHEUS_PREFIX, SPECS, exported_names

DASHBOARD = Path(__file__).resolve().parents[1] / "deploy" / "grafana" / "scheduling.json"


def _expressions() -> list[str]:
    board = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [t["expr"] for panel in board["panels"] for t in panel["targets"]]


def test_every_metric_the_dashboard_names_is_exported() -> None:
    named = {m for expr in _expressions() for m in re.findall(r"\b(ray_[a-z_]+)\b", expr)}
    assert named, "the dashboard names no metric"
    assert named <= exported_names(), sorted(named - exported_names())


def test_every_exported_metric_has_a_panel() -> None:
    text = " ".join(_expressions())
    missing = [s.name for s in SPECS if PROMETHEUS_PREFIX + s.name not in text]
    assert missing == []
