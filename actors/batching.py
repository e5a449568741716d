"""Coalescing commands into batches: one Ray call carries everything queued meanwhile.

A Ray actor call costs far more than a calendar check (about a millisecond of
CPU against microseconds), so under load a host is sent whatever commands
piled up while its previous batches were in flight: a Nagle-style batcher.
With nothing in flight a command leaves at the next turn of the event loop,
so a lone caller pays no extra latency.

A batch carries many callers' commands, so it runs in a context of its own,
not in that of the caller who happened to submit first: Ray attributes a
call to the task whose context makes it, and Ray Serve cancels a request's
calls (``ray.cancel(recursive=True)``) when its client times out or goes
away. Inheriting that request's context, one client's timeout cancelled
its neighbours' holds and views, and they answered 500.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Sequence

from actors.commands import Envelope, Outcome

SendBatch = Callable[[Sequence[Envelope]], Awaitable[list[Outcome]]]


class Batcher:
    """Sends commands for one host in batches, with at most ``max_in_flight`` batches outstanding."""

    def __init__(self, send: SendBatch, *, max_in_flight: int = 2, max_batch: int = 256) -> None:
        self._send = send
        self._max_in_flight = max_in_flight
        self._max_batch = max_batch
        self._pending: list[tuple[Envelope, asyncio.Future[Outcome]]] = []
        self._in_flight = 0
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, envelope: Envelope) -> Outcome:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()
        self._pending.append((envelope, future))
        if not self._scheduled:
            # Next turn of the loop: commands submitted in this turn (e.g. a
            # technician hold and a bay hold gathered together) leave together.
            self._scheduled = True
            loop.call_soon(self._pump, context=contextvars.Context())
        return await future

    def _pump(self) -> None:
        self._scheduled = False
        while self._pending and self._in_flight < self._max_in_flight:
            batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch :]
            self._in_flight += 1
            task = asyncio.get_running_loop().create_task(self._run(batch), context=contextvars.Context())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: list[tuple[Envelope, asyncio.Future[Outcome]]]) -> None:
        try:
            outcomes = await self._send([env for env, _ in batch])
        except BaseException as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
        else:
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if not future.done():
                    future.set_result(outcome)
        finally:
            self._in_flight -= 1
            if self._pending:
                self._pump()
