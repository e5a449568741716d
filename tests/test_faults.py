"""The test proxy itself: it forwards bytes, and an outage cuts both sides and then recovers."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest

from tests.faults import TcpProxy

TIMEOUT_S = 5.0


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server: _EchoServer = self.server  # type: ignore[assignment]
        try:
            while data := self.request.recv(65536):
                self.request.sendall(data)
        except OSError:
            pass
        server.ended.release()


class _EchoServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Echo)
        self.ended = threading.Semaphore(0)
        """Released once per upstream connection that ended (closed or reset)."""


@pytest.fixture
def echo() -> Iterator[_EchoServer]:
    server = _EchoServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def proxy(echo: _EchoServer) -> Iterator[TcpProxy]:
    host, port = echo.server_address[:2]
    with TcpProxy((str(host), int(port))) as p:
        yield p


def _connect(proxy: TcpProxy) -> socket.socket:
    return socket.create_connection(proxy.address, timeout=TIMEOUT_S)


def _echoes(sock: socket.socket, payload: bytes) -> bytes:
    sock.sendall(payload)
    got = b""
    while len(got) < len(payload):
        chunk = sock.recv(65536)
        if not chunk:
            break
        got += chunk
    return got


def _is_cut(sock: socket.socket) -> bool:
    """True when the connection is dead: reset, or closed on its first read or write."""
    try:
        sock.sendall(b"ping")
        return sock.recv(16) == b""
    except OSError:
        return True


def _refused(proxy: TcpProxy) -> bool:
    """True when a new connection is refused, reset on arrival, or closed unused."""
    try:
        sock = _connect(proxy)
    except OSError:
        return True
    with sock:
        return _is_cut(sock)


def test_bytes_flow_both_ways_through_the_proxy(proxy: TcpProxy) -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB: more than one socket buffer, so back-pressure plays
    with _connect(proxy) as a, _connect(proxy) as b:
        assert _echoes(a, b"hello") == b"hello"
        assert _echoes(b, payload) == payload
        assert _echoes(a, b"again") == b"again"


def test_an_outage_resets_both_sides_refuses_new_connections_and_then_recovers(
    proxy: TcpProxy, echo: _EchoServer
) -> None:
    with _connect(proxy) as before:
        assert _echoes(before, b"up") == b"up"

        back = proxy.outage(1.0)

        assert _is_cut(before)
        assert echo.ended.acquire(timeout=TIMEOUT_S), "the server side of the connection was not cut"
    assert proxy.cut == 2  # the client's side and the server's side
    assert _refused(proxy) or back.done()  # unless this slow run already reached the end of the outage
    back.result(timeout=TIMEOUT_S)
    with _connect(proxy) as after:
        assert _echoes(after, b"back") == b"back"
