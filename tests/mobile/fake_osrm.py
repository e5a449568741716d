"""A fake OSRM server at the HTTP transport, as strict as OSRM's table service about the request.

It answers ``GET /table/v1/{profile}/{lon,lat;...}`` with durations from a
given function, and refuses what OSRM refuses with OSRM's own error shape
(``{"code": "InvalidQuery" | "InvalidOptions" | "InvalidUrl" | "TooBig", "message"}``,
HTTP 400): a bad path or profile, coordinates that are not ``lon,lat`` pairs on
Earth, out-of-range or repeated ``sources``/``destinations`` indices, an
unknown parameter or annotation, more than 100 coordinates.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx

from domain.shop import GeoPoint

_PATH = re.compile(r"^/table/v1/(?P<profile>[a-z]+)/(?P<coords>[^/?]+)$")
_KNOWN = {"sources", "destinations", "annotations", "fallback_speed", "fallback_coordinate", "scale_factor"}
MAX_TABLE_SIZE = 100


class FakeOsrm:
    """Answers with ``seconds(a, b)``; ``requests`` records every URL it was asked."""

    def __init__(
        self, seconds: Callable[[GeoPoint, GeoPoint], float | None], *, profiles: tuple[str, ...] = ("driving",)
    ):
        self.seconds = seconds
        self.profiles = profiles
        self.requests: list[httpx.URL] = []
        self.fail_with: int | None = None

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request.url)
        if self.fail_with is not None:
            return httpx.Response(self.fail_with, text="upstream down")
        if request.method != "GET":
            return _error("InvalidUrl", "only GET", 400)
        match = _PATH.match(request.url.path)
        if match is None or match["profile"] not in self.profiles:
            return _error("InvalidUrl", f"URL string malformed close to position 1: {request.url.path}", 400)
        try:
            places = [_coordinate(c) for c in match["coords"].split(";")]
        except ValueError as exc:
            return _error("InvalidQuery", str(exc), 400)
        if len(places) > MAX_TABLE_SIZE:
            return _error("TooBig", "Too many table coordinates", 400)
        params = request.url.params
        unknown = set(params.keys()) - _KNOWN
        if unknown or any(len(params.get_list(k)) > 1 for k in params):
            return _error("InvalidOptions", f"unknown or repeated parameter {sorted(unknown)}", 400)
        if params.get("annotations", "duration") not in ("duration", "distance", "duration,distance"):
            return _error("InvalidOptions", "annotations must be duration and/or distance", 400)
        try:
            sources = _indices(params.get("sources"), len(places))
            destinations = _indices(params.get("destinations"), len(places))
        except ValueError as exc:
            return _error("InvalidOptions", str(exc), 400)
        body: dict[str, Any] = {
            "code": "Ok",
            "durations": [[self.seconds(places[i], places[j]) for j in destinations] for i in sources],
            "sources": [{"location": [places[i].lon, places[i].lat], "name": ""} for i in sources],
            "destinations": [{"location": [places[j].lon, places[j].lat], "name": ""} for j in destinations],
        }
        return httpx.Response(200, json=body)


def _coordinate(text: str) -> GeoPoint:
    parts = text.split(",")
    if len(parts) != 2:
        raise ValueError(f"coordinate {text!r} is not lon,lat")
    lon, lat = (float(p) for p in parts)
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValueError(f"coordinate {text!r} is not on Earth (lon,lat order)")
    return GeoPoint(lat, lon)


def _indices(value: str | None, n: int) -> list[int]:
    if value is None or value == "all":
        return list(range(n))
    out = [int(v) for v in value.split(";")]
    if any(not 0 <= i < n for i in out) or len(set(out)) != len(out):
        raise ValueError(f"indices {value!r} out of range or repeated")
    return out


def _error(code: str, message: str, status: int) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "message": message})
