"""Fake Alert, Health and Inventory services: real HTTP servers on 127.0.0.1 that can misbehave.

    .venv/bin/python -m bench.fake_neighbours [--alert-port 8101] [--health-port 8102] [--inventory-port 8103]

runs the three with a little demo data (alert ``A-DEMO`` about vehicle ``V001``,
a poor health for ``V001``, a thermostat on back-order at ``shop_nyc``) until
Ctrl-C; point ``ALERT_SERVICE_URL``, ``HEALTH_SERVICE_URL`` and
``INVENTORY_SERVICE_URL`` at the URLs it prints. The tests start them on
ephemeral ports and set ``misbehaviour`` to see what the service does with a
neighbour that answers HTML, wrong types, a 200 with an error body, a 503,
slowly, or not at all (``refuse()``: nothing listens on the port).

Each fake is as strict as its contract (README, "Neighbouring services"): it
answers 401 without the expected auth header, 404 for what it does not know,
and 422 for a request body with unknown or missing fields.
"""

from __future__ import annotations

import argparse
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = tuple[int, Any]


class Misbehaviour(StrEnum):
    """How a fake answers every request until told otherwise."""

    NONE = "none"
    HTML = "html"  # a proxy's error page, 200 text/html
    HTML_AS_JSON = "html_as_json"  # the same page, labelled application/json
    WRONG_TYPES = "wrong_types"  # the right fields with the wrong types
    ERROR_BODY = "error_body"  # 200 with {"error": ...}
    UNAVAILABLE = "unavailable"  # 503
    SLOW = "slow"  # the right answer, after ``slow_s``


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeNeighbour:
    """One fake service; subclasses answer its routes. Start with ``start()`` or ``with fake.running():``."""

    expected_auth: tuple[str, str] | None = None
    """(header, value) every request must carry, else 401."""
    misbehaviour: Misbehaviour = Misbehaviour.NONE
    fail_next: int = 0
    """The next this many requests get a 503, whatever the misbehaviour (then it answers as set)."""
    slow_s: float = 5.0
    received: list[Received] = field(default_factory=list)
    port: int = 0
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _release: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    name = "neighbour"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeNeighbour:
        """Listen on 127.0.0.1 (an ephemeral port the first time, the same port after ``refuse()``)."""
        self._release.clear()
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler_for(self))
        server.daemon_threads = True
        self.port = int(server.server_address[1])
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"fake-{self.name}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()  # slow answers finish now instead of holding the shutdown
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def refuse(self) -> None:
        """Stop listening: connections to the port are refused until ``start()``."""
        self.stop()

    @contextmanager
    def running(self) -> Iterator[FakeNeighbour]:
        self.start()
        try:
            yield self
        finally:
            self.stop()

    def requests_to(self, prefix: str) -> int:
        with self._lock:
            return sum(1 for r in self.received if r.path.startswith(prefix))

    # -- answering ---------------------------------------------------------------------

    def answer(self, method: str, path: str, body: Any) -> Answer:
        """The well-behaved answer to a request (subclasses)."""
        return 404, {"error": "not found"}

    def wrong_types(self, path: str) -> Any:
        """The right fields with the wrong types (subclasses)."""
        return {"id": 1}

    def _respond(self, request: Received) -> tuple[int, str, bytes]:
        with self._lock:
            self.received.append(request)
            failing = self.fail_next > 0
            if failing:
                self.fail_next -= 1
        if self.expected_auth is not None:
            name, value = self.expected_auth
            if request.headers.get(name.lower()) != value:
                return _json(401, {"error": "unauthorized"})
        mode = self.misbehaviour
        if failing or mode is Misbehaviour.UNAVAILABLE:
            return _json(503, {"error": "unavailable"})
        page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
        if mode is Misbehaviour.HTML:
            return 200, "text/html; charset=utf-8", page
        if mode is Misbehaviour.HTML_AS_JSON:
            return 200, "application/json", page
        if mode is Misbehaviour.ERROR_BODY:
            return _json(200, {"error": "internal error", "status": 500})
        if mode is Misbehaviour.WRONG_TYPES:
            return _json(200, self.wrong_types(request.path))
        if mode is Misbehaviour.SLOW:
            self._release.wait(self.slow_s)
        status, doc = self.answer(request.method, request.path, request.body)
        return _json(status, doc)


class FakeAlertService(FakeNeighbour):
    """``GET /alerts/{id}``: the alerts in ``alerts`` (by id), else 404."""

    name = "alert"

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.alerts: dict[str, dict[str, Any]] = {}

    def answer(self, method: str, path: str, body: Any) -> Answer:
        match = re.fullmatch(r"/alerts/([^/]+)", path)
        if method != "GET" or match is None:
            return 404, {"error": "no such route"}
        alert = self.alerts.get(match.group(1))
        return (200, alert) if alert is not None else (404, {"error": "no such alert"})

    def wrong_types(self, path: str) -> Any:
        return {"alert_id": path.rsplit("/", 1)[-1], "vehicle_id": 12345, "severity": ["CRITICAL"]}


class FakeHealthService(FakeNeighbour):
    """``GET /vehicles/{id}/health``: the health in ``health`` (by vehicle id), else 404."""

    name = "health"

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.health: dict[str, dict[str, Any]] = {}

    def answer(self, method: str, path: str, body: Any) -> Answer:
        match = re.fullmatch(r"/vehicles/([^/]+)/health", path)
        if method != "GET" or match is None:
            return 404, {"error": "no such route"}
        health = self.health.get(match.group(1))
        return (200, health) if health is not None else (404, {"error": "no such vehicle"})

    def wrong_types(self, path: str) -> Any:
        return {"health_score": "poor", "active_fault_codes": "P0217", "mileage_km": "a lot"}


class FakeInventoryService(FakeNeighbour):
    """``POST /parts/availability``: what ``stock[(shop_id, part_code)] = (quantity, lead_time_hours)`` holds."""

    name = "inventory"

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.stock: dict[tuple[str, str], tuple[int, float]] = {}

    def answer(self, method: str, path: str, body: Any) -> Answer:
        if method != "POST" or path != "/parts/availability":
            return 404, {"error": "no such route"}
        if not isinstance(body, dict) or set(body) != {"shop_ids", "part_codes"}:
            return 422, {"error": "body must have exactly shop_ids and part_codes"}
        shops, codes = body["shop_ids"], body["part_codes"]
        if not all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in (shops, codes)):
            return 422, {"error": "shop_ids and part_codes are lists of strings"}
        items = [
            {"shop_id": s, "part_code": p, "name": p.title(), "quantity": q, "lead_time_hours": lead}
            for (s, p), (q, lead) in sorted(self.stock.items())
            if s in shops and p in codes
        ]
        return 200, {"items": items, "as_of": "now"}

    def wrong_types(self, path: str) -> Any:
        item = {"shop_id": "shop_a", "part_code": "thermostat", "quantity": "lots", "lead_time_hours": None}
        return {"items": [item]}


def _json(status: int, doc: Any) -> tuple[int, str, bytes]:
    return status, "application/json", json.dumps(doc).encode()


def _handler_for(fake: FakeNeighbour) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
            request = Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            status, content_type, payload = fake._respond(request)
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (its timeout): nothing to tell it

        do_GET = _serve
        do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: tests read ``fake.received``

    return Handler


def _demo(alert_port: int, health_port: int, inventory_port: int) -> None:
    alerts = FakeAlertService(port=alert_port)
    alerts.alerts["A-DEMO"] = {
        "alert_id": "A-DEMO",
        "vehicle_id": "V001",
        "severity": "CRITICAL",
        "component": "coolant",
        "description": "coolant temperature above limit",
        "shop_id": "shop_nyc",
    }
    health = FakeHealthService(port=health_port)
    health.health["V001"] = {"health_score": 22, "active_fault_codes": ["P0217", "P0128"], "mileage_km": 182000}
    inventory = FakeInventoryService(port=inventory_port)
    inventory.stock[("shop_nyc", "thermostat")] = (0, 72)
    inventory.stock[("shop_nyc", "coolant")] = (12, 24)
    for fake, env in ((alerts, "ALERT"), (health, "HEALTH"), (inventory, "INVENTORY")):
        fake.start()
        print(f"{env}_SERVICE_URL={fake.url}")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        for fake in (alerts, health, inventory):
            fake.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alert-port", type=int, default=8101)
    parser.add_argument("--health-port", type=int, default=8102)
    parser.add_argument("--inventory-port", type=int, default=8103)
    args = parser.parse_args()
    _demo(args.alert_port, args.health_port, args.inventory_port)


if __name__ == "__main__":
    main()
