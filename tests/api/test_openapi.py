"""The OpenAPI document: built once, served as bytes, and true to what the operations answer."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from deployments import openapi
from deployments.api import create_api
from tests.api.helpers import assert_problem, book, search, vehicle


def _counted(calls: Counter[str], name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    def counting(*args: Any, **kwargs: Any) -> Any:
        calls[name] += 1
        return func(*args, **kwargs)

    return counting


async def test_the_document_is_built_and_serialized_once_however_many_ask(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: Counter[str] = Counter()
    monkeypatch.setattr(openapi, "build_document", _counted(calls, "build", openapi.build_document))
    monkeypatch.setattr(openapi, "serialize", _counted(calls, "serialize", openapi.serialize))
    app = create_api()

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as c:
        answers = await asyncio.gather(*(c.get("/openapi.json") for _ in range(200)))
    docs = [app.openapi() for _ in range(10)]

    assert calls == {"build": 1, "serialize": 1}
    assert {a.status_code for a in answers} == {200}
    assert {a.headers["content-type"] for a in answers} == {"application/json"}
    assert len({a.content for a in answers}) == 1
    assert all(d is docs[0] for d in docs)
    assert json.loads(answers[0].content) == docs[0]


async def test_the_served_document_is_the_apps(api_url: str) -> None:  # public: no key
    async with httpx.AsyncClient(base_url=api_url) as c:
        served = await c.get("/openapi.json")

    assert served.status_code == 200
    assert served.json() == create_api().openapi()


def test_every_problem_answer_is_documented_as_a_problem_and_every_operation_may_be_unavailable() -> None:
    doc = create_api().openapi()

    for path, item in doc["paths"].items():
        for method, operation in item.items():
            answers = operation["responses"]
            assert "503" in answers, (method, path)
            for status, answer in answers.items():
                if status[0] in "45":
                    assert list(answer["content"]) == ["application/problem+json"], (method, path, status)


def test_a_booking_links_to_the_operations_on_the_appointment_it_made() -> None:
    doc = create_api().openapi()
    operation_ids = {op["operationId"]: (m, p) for p, item in doc["paths"].items() for m, op in item.items()}

    links = doc["paths"]["/api/v1/appointments"]["post"]["responses"]["201"]["links"]
    targets = {operation_ids[link["operationId"]] for link in links.values()}

    appointment = "/api/v1/appointments/{appointment_id}"
    assert {("get", appointment), ("put", appointment), ("delete", appointment)} <= targets
    assert ("post", appointment + "/confirm") in targets
    assert all(link["parameters"] for link in links.values())


async def test_confirming_a_cancelled_appointment_is_a_documented_409(client: httpx.AsyncClient) -> None:
    slot = (await search(client, vehicle_id="V001", service_type="routine", shop_id="shop_allday"))[0]
    held = await book(client, slot, vehicle_id=vehicle(), service_type="routine", hold=True)
    assert (await client.delete(f"/appointments/{held['id']}")).status_code == 200

    response = await client.post(f"/appointments/{held['id']}/confirm")

    assert_problem(response, 409, "invalid_transition")
    documented = create_api().openapi()["paths"]["/api/v1/appointments/{appointment_id}/confirm"]["post"]
    assert "409" in documented["responses"]


def test_get_search_documents_exactly_the_parameters_it_accepts() -> None:
    from deployments.schemas import SlotSearchParams

    doc = create_api().openapi()
    documented = {p["name"] for p in doc["paths"]["/api/v1/slots/available"]["get"]["parameters"]}

    assert documented == set(SlotSearchParams.model_fields)
    assert {"lat", "lon", "radius_km", "start", "end"} <= documented
