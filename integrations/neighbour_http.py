"""One HTTP conversation with a neighbouring service: a timeout, a bounded retry, a circuit breaker.

Every way a call can go wrong ends as ``NeighbourUnavailable`` (or
``NeighbourNotFound`` for a 404), never as an httpx, JSON or pydantic error:
the use cases decide what to do without the neighbour in one place each.

* **Timeout**: ``timeout_s`` bounds each attempt as a whole (httpx's own
  timeouts bound each phase; a server trickling bytes would outlast them).
* **Retry**: up to ``attempts`` tries, only where another try can help at once
  (the connection was refused or reset, or a 502/503/504). A timeout is not
  retried: a neighbour that is slow now is slow a moment later, and the caller
  has a deadline of its own.
* **Circuit breaker**: failures (including answers that break the contract)
  count; an open circuit refuses at once, without a connection.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from pydantic import ValidationError

from domain.neighbours import NeighbourNotFound, NeighbourUnavailable
from integrations.circuit_breaker import CircuitBreaker

T = TypeVar("T")

RETRYABLE_STATUS = frozenset({502, 503, 504})


@dataclass(frozen=True, slots=True)
class NeighbourConfig:
    """Where a neighbour is and how patiently it is called."""

    service: str
    """Its name in messages and explanations (``alert``, ``health``, ``inventory``)."""
    base_url: str
    timeout_s: float = 2.0
    auth_header: str | None = None
    """``Name: value`` (e.g. ``Authorization: Bearer t0ken``); a bare value is sent as ``Authorization``."""
    attempts: int = 2
    failure_threshold: int = 5
    reset_after_s: float = 30.0

    def headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.auth_header:
            name, sep, value = self.auth_header.partition(":")
            if sep and name.strip() and " " not in name.strip():
                headers[name.strip()] = value.strip()
            else:
                headers["Authorization"] = self.auth_header.strip()
        return headers


class NeighbourHttp:
    """Calls one neighbour's JSON API and hands the body to a validating ``parse``."""

    def __init__(
        self,
        config: NeighbourConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.breaker = CircuitBreaker(
            failure_threshold=config.failure_threshold, reset_after_s=config.reset_after_s, clock=clock
        )
        self._client = httpx.AsyncClient(
            base_url=config.base_url.rstrip("/"),
            headers=config.headers(),
            timeout=httpx.Timeout(config.timeout_s),
            transport=transport,
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get(self, path: str, parse: Callable[[Any], T]) -> T:
        return await self._call("GET", path, parse)

    async def post(self, path: str, body: Mapping[str, Any], parse: Callable[[Any], T]) -> T:
        return await self._call("POST", path, parse, body)

    async def _call(self, method: str, path: str, parse: Callable[[Any], T], body: Any = None) -> T:
        name = self.config.service
        if not self.breaker.allow():
            raise NeighbourUnavailable(name, "circuit open after repeated failures; not called")
        try:
            value = parse(await self._json(method, path, body))
        except NeighbourNotFound:
            self.breaker.record_success()  # it answered, clearly: the service works
            raise
        except NeighbourUnavailable:
            self.breaker.record_failure()
            raise
        except (ValidationError, ValueError, TypeError) as exc:
            self.breaker.record_failure()
            raise NeighbourUnavailable(name, f"answer does not match the contract: {_short(exc)}") from None
        self.breaker.record_success()
        return value

    async def _json(self, method: str, path: str, body: Any) -> Any:
        name = self.config.service
        reason = "no attempt made"
        for _ in range(max(1, self.config.attempts)):
            try:
                async with asyncio.timeout(self.config.timeout_s):
                    response = await self._client.request(method, path, json=body)
            except (TimeoutError, httpx.TimeoutException):
                raise NeighbourUnavailable(name, f"no answer within {self.config.timeout_s:g} s") from None
            except (httpx.TransportError, OSError) as exc:
                reason = f"connection failed: {type(exc).__name__}"
                continue
            except (httpx.HTTPError, httpx.InvalidURL) as exc:  # anything else httpx raises: not retried
                raise NeighbourUnavailable(name, f"request failed: {type(exc).__name__}: {exc}") from None
            if response.status_code in RETRYABLE_STATUS:
                reason = f"HTTP {response.status_code}"
                continue
            return _body(name, response)
        raise NeighbourUnavailable(name, reason)


def _body(name: str, response: httpx.Response) -> Any:
    if response.status_code == 404:
        raise NeighbourNotFound(name, f"{response.request.url.path} not found")
    if response.status_code != 200:
        raise NeighbourUnavailable(name, f"HTTP {response.status_code}")
    if "json" not in response.headers.get("content-type", ""):
        raise NeighbourUnavailable(name, f"answer is {response.headers.get('content-type') or 'untyped'}, not JSON")
    try:
        return response.json()
    except ValueError:
        raise NeighbourUnavailable(name, "answer is not valid JSON") from None


def _short(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        return f"{where}: {first['msg']} ({exc.error_count()} error(s))"
    return str(exc)[:200]
