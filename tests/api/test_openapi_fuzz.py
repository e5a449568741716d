"""Property-based fuzz of every operation in /openapi.json (schemathesis).

Each operation gets a few dozen generated requests, valid and invalid. The
service must never answer 5xx, and every answer must match the document:
a declared status code, the declared content type, and a body that fits
the declared schema (problems included).

``schemathesis.pytest.from_fixture`` does not run under pytest 9 (it reads a
private ``_nodeid``), so the operations are walked by hand, each one a
hypothesis test of its own; failures of all operations are reported together.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi import checks as openapi_checks

EXAMPLES_PER_MODE = 12
"""Per operation and mode (valid / invalid data): about 24 requests an operation."""

CHECKS = [
    schemathesis.checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.negative_data_rejection,
]


def _fuzz(operation: Any, mode: GenerationMode) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_MODE,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the first failure is reported as found
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def run(case: Any) -> None:
        case.call_and_validate(checks=CHECKS)

    run()


def test_every_operation_answers_within_its_schema_and_never_5xx(api_url: str) -> None:
    schema = schemathesis.openapi.from_url(api_url + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 14, [op.label for op in operations]

    failures: list[str] = []
    for operation in operations:
        for mode in GenerationMode:
            try:
                _fuzz(operation, mode)
            except Unsatisfiable:
                continue  # nothing invalid to send (e.g. a lone unconstrained path string)
            except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failure, then fail once
                failures.append(f"{operation.label} [{mode.value}]: {exc}")

    assert not failures, "\n\n".join(failures)
