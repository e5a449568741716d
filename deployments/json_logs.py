"""Structured logs: one JSON object per line, carrying the request id of the HTTP request being served.

``REQUEST_ID`` is set by ``deployments.observability.Observability`` for the
duration of a request (a context variable: each request's tasks see their
own), and every record logged meanwhile carries it, whichever module logs.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from contextvars import ContextVar
from typing import Any

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
OUR_PACKAGES = ("deployments", "bridge", "actors", "application", "store", "solver", "integrations", "domain")
_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "message", "request_id", ...extra fields, "exc"}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or REQUEST_ID.get(),
        }
        out.update({k: v for k, v in vars(record).items() if k not in _RESERVED and k not in out})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def install_json_logging(level: int = logging.INFO) -> None:
    """Send our packages' logs to stderr as JSON lines (idempotent: a replica may call it again)."""
    for name in OUR_PACKAGES:
        logger = logging.getLogger(name)
        if any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
            continue
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False  # Ray's worker handler would print the same record again as text
