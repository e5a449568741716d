"""The coordinator's Ray part: solve many shops' slot problems in parallel.

Every Ray call of the solve path lives in this file. Each Ray task solves a
*chunk* of shops (not one shop) because per-task overhead is of the same
order as one solve (a few ms): by default there are exactly as many chunks
as the cluster has CPUs, of sizes differing by at most one, so the overhead
is paid once per core. Each chunk asks for one CPU, so a 2-core machine runs
two at once (and a bigger cluster scales with cores).

The caller solves the first chunk itself, in a worker thread, while the
tasks solve the others (``local``, the default): its core would otherwise
only wait, and that chunk pays neither task overhead nor pickling; a single
chunk never leaves the caller.

A chunk travels compactly: the driver pickles its problems once (protocol 5,
``SlotProblem``'s own flat ``__reduce__``) into one ``bytes`` argument, which
Ray moves as an opaque buffer, and the task returns its results the same
way; one object each way per chunk, never one per shop.

Ray runs worker processes at nice 15 by default (``worker_niceness``): on a
machine shared with other nice-0 work the solves get a smaller CPU share than
the caller. Where that matters, start Ray with
``_system_config={"worker_niceness": 0}`` (the benchmark does).

An overall deadline bounds the answer: chunks still running at the deadline
are cancelled and their shops reported as timed out; what finished is
returned. Every solve also has its own CP-SAT time limit.

``solve_shops_async`` awaits the task refs (never ``ray.get`` on the event
loop); ``RaySolveRunner`` is the coordinator's port onto it.
"""

from __future__ import annotations

import asyncio
import pickle
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import ray

from solver.problem import SlotProblem
from solver.ranking import DEFAULT_TIME_LIMIT_S, solve_slots
from solver.result import SlotResult

DEFAULT_DEADLINE_S = 2.0
CHUNKS_PER_CPU = 1
"""Chunks per CPU: one pays the task overhead once per core (solves are uniform enough to need no more)."""


@dataclass(frozen=True, slots=True)
class MultiShopResult:
    """Each shop's result, and the shops that did not answer in time or failed.

    ``results`` follows the order of the problems given (None: timed out or failed).
    """

    results: tuple[SlotResult | None, ...]
    timed_out: tuple[str, ...]
    failed: dict[str, str]


def solve_chunk(problems: Sequence[SlotProblem], time_limit_s: float) -> list[SlotResult]:
    """Solve shops one after the other (the body of a Ray task; also the sequential baseline)."""
    return [solve_slots(p, time_limit_s=time_limit_s) for p in problems]


def solve_packed(packed: bytes, time_limit_s: float) -> bytes:
    """The Ray task: ``solve_chunk`` on a pickled list of problems, results pickled back."""
    problems: list[SlotProblem] = pickle.loads(packed)
    return pickle.dumps(solve_chunk(problems, time_limit_s), protocol=5)


@cache
def _remote_solve_chunk() -> Any:
    # Built on first use, not at import: Ray imports this module in every worker.
    return ray.remote(num_cpus=1, max_retries=0)(solve_packed)


def chunk(problems: Sequence[SlotProblem], shops_per_task: int | None, cpus: int) -> list[list[SlotProblem]]:
    """Split into chunks of ``shops_per_task``, or by default into ``CHUNKS_PER_CPU`` per CPU.

    Default chunks are contiguous and differ in size by at most one.
    """
    if not problems:
        return []
    if shops_per_task:
        return [list(problems[i : i + shops_per_task]) for i in range(0, len(problems), shops_per_task)]
    parts = min(len(problems), CHUNKS_PER_CPU * max(cpus, 1))
    size, extra = divmod(len(problems), parts)
    out, start = [], 0
    for k in range(parts):
        end = start + size + (k < extra)
        out.append(list(problems[start:end]))
        start = end
    return out


def _cluster_cpus() -> int:
    resources: dict[str, float] = ray.cluster_resources()  # type: ignore[no-untyped-call]
    return max(1, int(resources.get("CPU", 1)))


Submitted = list[tuple[range, Any]]
"""Each task's slice of the problem list and its ref."""


def _submit(
    problems: Sequence[SlotProblem], time_limit_s: float, shops_per_task: int | None, *, local: bool
) -> tuple[list[SlotProblem], Submitted]:
    """Split into chunks; with ``local`` the first chunk is kept for the caller and the rest go to Ray tasks."""
    remote = _remote_solve_chunk()
    parts = chunk(problems, shops_per_task, _cluster_cpus())
    kept = parts.pop(0) if local and parts else []
    out: Submitted = []
    start = len(kept)
    for part in parts:
        packed = pickle.dumps(part, protocol=5)
        out.append((range(start, start + len(part)), remote.remote(packed, time_limit_s)))
        start += len(part)
    return kept, out


def _collect(
    problems: Sequence[SlotProblem],
    submitted: Submitted,
    outcomes: dict[Any, list[SlotResult] | BaseException],
    local: tuple[int, Sequence[SlotResult] | None],
) -> MultiShopResult:
    """Gather what finished by the deadline (``outcomes`` by ref); ``local`` is the caller's chunk.

    ``local`` is the caller's chunk size and its results, or None if it was late.
    Tasks without an outcome are cancelled and their shops reported timed out.
    """
    results: list[SlotResult | None] = [None] * len(problems)
    timed_out: list[str] = []
    kept, mine = local
    if mine is None:
        timed_out.extend(p.shop_id for p in problems[:kept])
    else:
        results[:kept] = mine
    failed: dict[str, str] = {}
    for indices, ref in submitted:
        if ref not in outcomes:
            ray.cancel(ref)
            timed_out.extend(problems[i].shop_id for i in indices)
            continue
        outcome = outcomes[ref]
        if isinstance(outcome, BaseException):
            failed.update({problems[i].shop_id: repr(outcome) for i in indices})
            continue
        for i, result in zip(indices, outcome, strict=True):
            results[i] = result
    return MultiShopResult(results=tuple(results), timed_out=tuple(timed_out), failed=failed)


def _unpack(packed: bytes) -> list[SlotResult]:
    results: list[SlotResult] = pickle.loads(packed)
    return results


async def solve_shops_async(
    problems: Sequence[SlotProblem],
    *,
    deadline_s: float = DEFAULT_DEADLINE_S,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    shops_per_task: int | None = None,
    local: bool = True,
) -> MultiShopResult:
    """Solve every shop's problem in Ray tasks; shops late past ``deadline_s`` are reported timed out.

    With ``local`` (the default) the caller's chunk is solved in a worker
    thread while the tasks solve the others: that chunk pays no task
    overhead and no pickling. Awaits the refs, so it is safe on an event
    loop. Needs an initialized Ray (the composition root calls ``ray.init``).
    """
    started = time.monotonic()
    kept, submitted = _submit(problems, time_limit_s, shops_per_task, local=local)
    mine = asyncio.ensure_future(asyncio.to_thread(solve_chunk, kept, time_limit_s))
    futures = {asyncio.ensure_future(_await(ref)): ref for _, ref in submitted}
    outcomes: dict[Any, list[SlotResult] | BaseException] = {}
    if futures:
        done, _ = await asyncio.wait(futures, timeout=deadline_s)
        for fut in done:
            outcomes[futures[fut]] = fut.result()
        for fut in futures:
            if fut not in done:
                fut.cancel()
    # The caller's chunk is bounded by each solve's own CP-SAT time limit; late, it counts as timed out.
    own: list[SlotResult] | None = await mine
    if time.monotonic() - started > deadline_s:
        own = None
    return _collect(problems, submitted, outcomes, (len(kept), own))


async def _await(ref: Any) -> list[SlotResult] | BaseException:
    try:
        return _unpack(await ref)
    except Exception as exc:
        return exc


class RaySolveRunner:
    """Solves a list of shops' problems in Ray tasks (the coordinator's ``SolveRunner``).

    ``solve`` returns one entry per problem, in order: its result, or None
    when the shop missed ``deadline_s`` or its task failed.
    """

    def __init__(self, *, deadline_s: float = DEFAULT_DEADLINE_S, shops_per_task: int | None = None) -> None:
        self.deadline_s = deadline_s
        self.shops_per_task = shops_per_task

    async def solve(self, problems: Sequence[SlotProblem], time_limit_s: float) -> list[SlotResult | None]:
        outcome = await solve_shops_async(
            problems,
            deadline_s=max(self.deadline_s, time_limit_s),
            time_limit_s=time_limit_s,
            shops_per_task=self.shops_per_task,
        )
        return list(outcome.results)
