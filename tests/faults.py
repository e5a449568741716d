"""Faults for tests to inject: a TCP proxy that can play a server restart.

``TcpProxy`` forwards a loopback port to a server (PostgreSQL, say; over TCP
or a Unix socket) from a
thread of its own with its own event loop, so it keeps forwarding while the
test's loop is blocked by a sync fixture or not running at all. Its
``outage(seconds)`` does what a restart does to the clients: every proxied
connection is reset at once, on both sides (the server's backend sees its
client vanish and rolls back), and every new connection is reset on arrival
until ``seconds`` have passed; then the proxy forwards again.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import socket
import struct
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def _reset(transport: asyncio.BaseTransport) -> None:
    """Close with a TCP RST, not a FIN: the peer reads ``ConnectionResetError``, as from a dead server."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    if isinstance(transport, asyncio.WriteTransport):
        transport.abort()
    else:
        transport.close()


class _Side(asyncio.Protocol):
    """One end of a proxied connection: what it reads, its peer writes (with back-pressure both ways)."""

    def __init__(self, proxy: TcpProxy) -> None:
        self.proxy = proxy
        self.transport: asyncio.Transport | None = None
        self.peer: _Side | None = None
        self.pending: list[bytes] = []
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        peer = self.peer
        if peer is None or peer.transport is None:
            self.pending.append(data)  # the upstream connection is still being opened
        else:
            peer.transport.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.proxy._forget(self)
        if self.peer is not None and self.peer.transport is not None and not self.peer.closed:
            self.peer.transport.close()  # flushes what is buffered, then FIN

    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()

    def pair(self, peer: _Side) -> None:
        self.peer, peer.peer = peer, self
        for side in (self, peer):
            assert side.transport is not None and side.peer is not None and side.peer.transport is not None
            for chunk in side.pending:
                side.peer.transport.write(chunk)
            side.pending.clear()


class _Client(_Side):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if self.proxy._down:
            self.proxy.refused += 1
            _reset(transport)
            return
        self.proxy._track(self)
        self.proxy._loop.create_task(self._open_upstream())

    async def _open_upstream(self) -> None:
        loop = self.proxy._loop
        try:
            target = self.proxy.target
            if isinstance(target, str):
                _, upstream = await loop.create_unix_connection(lambda: _Side(self.proxy), target)
            else:
                _, upstream = await loop.create_connection(lambda: _Side(self.proxy), *target)
        except OSError:
            if self.transport is not None:
                _reset(self.transport)
            return
        if self.closed or self.proxy._down:  # the client left, or an outage began, while we connected
            _reset(upstream.transport)  # type: ignore[arg-type]
            return
        self.proxy._track(upstream)
        self.pair(upstream)


class TcpProxy:
    """Forwards ``127.0.0.1:<port>`` to ``target``; ``outage()`` plays a restart.

    ``target`` is ``(host, port)``, or the path of a Unix socket. Use as a
    context manager, or ``start()`` and ``close()``. Thread-safe: every method
    may be called from any thread.
    """

    def __init__(self, target: tuple[str, int] | str, *, host: str = "127.0.0.1") -> None:
        self.target = target
        self.host = host
        self.port = 0
        self.cut = 0
        """Connections reset by outages so far (both sides of a pair count)."""
        self.refused = 0
        """Connections reset on arrival because an outage was on."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._sides: set[_Side] = set()
        self._down = False

    def __enter__(self) -> TcpProxy:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> TcpProxy:
        self._thread.start()
        self._call(self._listen()).result(timeout=10)
        return self

    def close(self) -> None:
        if not self._thread.is_alive():
            return
        self._call(self._shutdown()).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    def outage(self, seconds: float) -> concurrent.futures.Future[None]:
        """Reset every proxied connection now and every new one for ``seconds``.

        Returns once the connections are cut; the future it returns completes
        when the proxy forwards again (``await asyncio.wrap_future(...)`` in a
        coroutine, ``.result()`` elsewhere).
        """
        return self._call(self._outage(seconds)).result(timeout=10)

    @property
    def open_connections(self) -> int:
        """Proxied connections alive now (each side counts)."""
        return self._call(self._count()).result(timeout=10)

    # -- on the proxy's own loop ------------------------------------------------

    def _call(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    async def _listen(self) -> None:
        self._server = await self._loop.create_server(lambda: _Client(self), self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _count(self) -> int:
        return len(self._sides)

    async def _outage(self, seconds: float) -> concurrent.futures.Future[None]:
        self._down = True
        for side in list(self._sides):
            if side.transport is not None:
                self.cut += 1
                _reset(side.transport)
        self._sides.clear()
        back: concurrent.futures.Future[None] = concurrent.futures.Future()

        def recover() -> None:
            self._down = False
            back.set_result(None)

        self._loop.call_later(seconds, recover)
        return back

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for side in list(self._sides):
            if side.transport is not None:
                _reset(side.transport)
        self._sides.clear()

    def _track(self, side: _Side) -> None:
        self._sides.add(side)

    def _forget(self, side: _Side) -> None:
        self._sides.discard(side)
