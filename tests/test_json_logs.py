"""Structured logs: one JSON object per line, with the request id of the request being served."""

from __future__ import annotations

import json
import logging

from deployments.json_logs import REQUEST_ID, JsonFormatter


def test_a_record_carries_the_request_id_and_its_extra_fields() -> None:
    record = logging.makeLogRecord(
        {"name": "deployments.access", "levelno": logging.INFO, "levelname": "INFO", "msg": "GET %s", "args": ("/x",)}
    )
    record.status = 200
    token = REQUEST_ID.set("req-1")
    try:
        line = JsonFormatter().format(record)
    finally:
        REQUEST_ID.reset(token)
    out = json.loads(line)
    assert out["message"] == "GET /x" and out["request_id"] == "req-1" and out["status"] == 200
    assert out["level"] == "INFO" and out["logger"] == "deployments.access" and "\n" not in line
