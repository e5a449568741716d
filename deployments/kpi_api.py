"""The success metrics over HTTP: one shop's, or the chain's (staff and admin keys)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime

from deployments.api import Svc
from deployments.authentication import CurrentCaller
from deployments.kpi_schemas import KpisOut, kpis_out
from deployments.openapi import COMMON_PROBLEMS, problem_answers

router = APIRouter(prefix="/api/v1", tags=["kpis"], responses=problem_answers(COMMON_PROBLEMS))

From = Annotated[AwareDatetime, Query(alias="from", description="Start of the window, with its UTC offset.")]
To = Annotated[AwareDatetime, Query(description="End of the window (after `from`, at most 366 days later).")]
FORBIDDEN = "`forbidden`: only staff and admin keys read the KPIs"
BAD_WINDOW = "`to` not after `from`, more than 366 days apart, or either without an offset"


def _answer(out: KpisOut) -> JSONResponse:
    return JSONResponse(out.model_dump(mode="json", by_alias=True))


@router.get(
    "/shops/{shop_id}/kpis",
    response_model=KpisOut,
    responses=problem_answers({403: FORBIDDEN, 404: "No such shop (or one outside the key's shops)", 422: BAD_WINDOW}),
)
async def shop_kpis(shop_id: str, svc: Svc, caller: CurrentCaller, from_: From, to: To) -> Any:
    """One shop's utilization, waits, no-show and late-cancellation figures over `[from, to)`."""
    return _answer(kpis_out(await svc.authorized.shop_kpis(caller, shop_id, from_, to)))


@router.get("/kpis", response_model=KpisOut, responses=problem_answers({403: FORBIDDEN, 422: BAD_WINDOW}))
async def chain_kpis(svc: Svc, caller: CurrentCaller, from_: From, to: To) -> Any:
    """The same figures over every shop the key covers (the whole chain for a chain-wide key)."""
    return _answer(kpis_out(await svc.authorized.chain_kpis(caller, from_, to)))
