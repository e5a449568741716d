"""Schemathesis 4 against the API on Ray Serve: every check, every phase, as ``st run --checks all`` would.

Per operation, the examples, coverage (boundary values, missing and extra
parameters, undeclared methods such as TRACE) and fuzzing phases, with valid
and invalid data; then the stateful phase: a state machine built from the
document's links books, reads, moves, confirms and cancels real appointments.
The service must never answer 5xx, and every answer must match the document:
a declared status, content type, headers and body, an ``Allow`` header on a
405, invalid data refused, and a deleted appointment gone everywhere.

Two checks are refined. ``positive_data_acceptance`` expects schema-valid
data to be accepted, but a JSON Schema cannot state every rule (an unknown
service type, end before start, a date outside the supported range, a slot
outside working hours). Such a refusal is allowed when the problem says so: a
domain rule's ``code``, a ``value_error`` of a validator, or a lapsed hold
(410). What the schema can state (an unknown parameter, a missing field, a
wrong type) must never refuse valid data. ``use_after_free`` expects a 404
after a DELETE, but DELETE cancels an appointment, which stays readable as
cancelled (documented on the operation).

The document is loaded from the app in-process at collection (the running
service serves the same one; test_openapi.py checks that), so that
``schema.parametrize()`` makes one test per operation;
``schemathesis.pytest.from_fixture`` does not run under pytest 9.
"""

from __future__ import annotations

import copy
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test
from schemathesis.checks import CHECKS, is_check_class
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import AcceptedNegativeData
from schemathesis.openapi.checks import RejectedPositiveData, UseAfterFree
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance, use_after_free

from deployments.api import create_api

FUZZ_EXAMPLES = 10
"""Fuzzing-phase examples per operation (the coverage phase adds its own, a few dozen each)."""
STATEFUL_SCENARIOS = 30
STATEFUL_STEPS = 8

KNOWN = {
    # Names that exist in the test database (the demo chain and tests/api/conftest.py's shop_allday), offered
    # often so that generated requests get past "unknown id" into the rules behind it.
    "service_types": ["routine", "oil_change", "diagnostic", "engine_repair", "brake_repair"],
    "shops": ["shop_allday", "shop_nyc", "shop_berlin"],
    "technicians": ["tech_901", "tech_902", "tech_001", "tech_101"],
    "bays": ["Bay 1", "Bay 2", "allday_bay_1"],
}
BINDINGS = {
    "service_type": "service_types",
    "shop_id": "shops",
    "technician_id": "technicians",
    "preferred_technician_id": "technicians",
    "service_bay": "bays",
}
CONFIG: dict[str, Any] = {
    "dictionaries": {name: {"values": values} for name, values in KNOWN.items()},
    "parameters": {
        f"{where}.{name}": {"dictionary": dictionary, "probability": 0.7}
        for name, dictionary in BINDINGS.items()
        for where in ("body", "query", "path")
    },
    "generation": {"mode": "all"},
}


def _refused_by_a_rule_beyond_the_schema(response: Any) -> bool:
    if response.status_code == 410:
        return True  # a hold that lapsed before it was confirmed
    if response.status_code != 422:
        return False
    problem = response.json()
    if problem.get("code") != "validation_error":
        return True  # a domain rule (invalid_request, outside_working_hours, ...) on well-formed input
    return all(error.get("type") == "value_error" for error in problem.get("errors") or [{}])


def positive_data_acceptance_within_stated_rules(ctx: Any, response: Any, case: Any) -> bool | None:
    """``positive_data_acceptance``, except for refusals by rules the document cannot state as JSON Schema."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if _refused_by_a_rule_beyond_the_schema(response):
            return None
        raise


def use_after_free_except_as_cancelled(ctx: Any, response: Any, case: Any) -> bool | None:
    """``use_after_free``, except that a cancelled appointment stays readable as cancelled.

    ``DELETE /appointments/{id}`` cancels by the policy (free early, a late
    fee later): the appointment remains, ``status: cancelled`` with its
    ``cancellation``, and its calendar file says ``STATUS:CANCELLED``.
    """
    try:
        return use_after_free(ctx, response, case)
    except UseAfterFree:
        text = response.text
        if '"status":"cancelled"' in text.replace(" ", "") or "STATUS:CANCELLED" in text:
            return None
        raise


CREDENTIALS = ("/properties/token",)
"""Where a request may name a caller besides its headers: with a valid key, ``?token=`` is not read."""


def negative_data_rejection_except_replaced_credentials(ctx: Any, response: Any, case: Any) -> bool | None:
    """``negative_data_rejection``, except when the only invalid part was a ``?token=`` beside the admin's key
    the fuzz sends with every request (with a key, a link's or feed's token is not read)."""
    try:
        return negative_data_rejection(ctx, response, case)
    except AcceptedNegativeData as failure:
        invalid = [line for line in failure.message.splitlines() if line.strip().startswith("- ")]
        if invalid and all(any(c in line for c in CREDENTIALS) for line in invalid):
            return None
        raise


REFINED = {
    positive_data_acceptance: positive_data_acceptance_within_stated_rules,
    use_after_free: use_after_free_except_as_cancelled,
    negative_data_rejection: negative_data_rejection_except_replaced_credentials,
}
schemathesis.checks.load_all_checks()
CHECKS_ALL = [REFINED.get(check, check) for check in CHECKS.get_all() if not is_check_class(check)]
"""Every registered check (``--checks all``), two of them refined as above."""


def _without_credentials(document: dict[str, Any]) -> dict[str, Any]:
    """The document less its security schemes: each test sends the credentials it means (a valid key, or
    none), so generated ones (valid or not) would only stand in for what the test replaces."""
    doc = copy.deepcopy(document)
    doc.get("components", {}).pop("securitySchemes", None)
    for item in doc["paths"].values():
        for operation in item.values():
            operation.pop("security", None)
    return doc


DOCUMENT = _without_credentials(create_api().openapi())
schema = schemathesis.openapi.from_dict(DOCUMENT, config=SchemathesisConfig.from_dict(CONFIG))


@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: the first failure is reported as found
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_every_operation_answers_within_its_document_and_never_5xx(
    case: Any, api_url: str, admin_headers: dict[str, str]
) -> None:
    case.call_and_validate(base_url=api_url, headers=admin_headers, checks=CHECKS_ALL)


def test_chained_operations_answer_within_the_document_and_never_5xx(
    api_url: str, admin_headers: dict[str, str]
) -> None:
    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": api_url, "headers": admin_headers}

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS_ALL, transport_kwargs=kwargs, recorder=self.recorder)

    run_state_machine_as_test(
        Workflow,
        settings=settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=STATEFUL_STEPS,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            database=None,
        ),
    )


@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_without_a_key_every_operation_answers_401_only(case: Any, api_url: str) -> None:
    """No credentials: whatever the request to a documented operation, the answer is a 401 problem."""
    (case.query or {}).pop("token", None)  # a customer link's or a feed's: a credential too
    response = case.call(base_url=api_url)
    if case.path == "/healthz":
        assert response.status_code in (200, 405)  # public
        return
    if case.path.startswith("/api/v1/waitlist/offers/"):  # the path's token is the credential: no key is asked
        assert response.status_code in (404, 405, 410, 422), (case.method, case.path, response.status_code)
        assert response.json()["status"] == response.status_code  # a problem body
        return
    assert response.status_code == 401, (case.method, case.path, response.status_code, response.text)
    assert response.json()["code"] == "unauthorized"
