"""A loopback TCP proxy that can cut the network between the app and its database.

    proxy = TcpProxy(upstream_port=5432).start()   # listens on 127.0.0.1:proxy.port
    proxy.cut("refuse")     # every open connection closed; new ones refused (RST)
    proxy.cut("blackhole")  # every open connection closed; new ones accepted, then never answered
    proxy.restore()         # forwards again, on the same port

The two ways a database goes away look different to a client, and the drill tries
both: a stopped server or a closed port refuses at once (the kernel answers the
SYN with RST: libpq fails in milliseconds), while a partitioned network or a hung
host answers nothing, and only the client's own timeout (libpq's `connect_timeout`)
ends the wait. On loopback a dropped SYN cannot be made without a firewall, so the
blackhole accepts the TCP connection and stays silent: the client waits the same way,
for the server's first byte of the start-up exchange.

Threads, not asyncio: the drill's load runs its own event loop, and a proxy that
shares none of it cannot be slowed by it. Each connection is two pump threads; the
limits (CONNECTIONS_MAX, CHUNK_BYTES) are named.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass, field
from typing import Literal

HOST = "127.0.0.1"
CHUNK_BYTES = 64 * 1024
CONNECTIONS_MAX = 256
ACCEPT_POLL_S = 0.2
BACKLOG = 64

CutMode = Literal["refuse", "blackhole"]


@dataclass
class ProxyCounts:
    """What the proxy saw: connections forwarded, closed by a cut, refused or blackholed."""

    forwarded: int = 0
    closed_by_cut: int = 0
    blackholed: int = 0
    cuts: list[str] = field(default_factory=list)


class TcpProxy:
    """Forwards 127.0.0.1:`port` to 127.0.0.1:`upstream_port` until cut."""

    def __init__(self, upstream_port: int, *, upstream_host: str = HOST, port: int = 0) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = port
        self.counts = ProxyCounts()
        self._mode: CutMode | None = None
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()  # every socket of a forwarded or held connection
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._stopped = threading.Event()

    # --- control ---------------------------------------------------------------------------

    def start(self) -> TcpProxy:
        self._listen()
        return self

    def cut(self, mode: CutMode = "refuse") -> int:
        """Close every open connection and refuse or blackhole new ones; returns how many were closed."""
        with self._lock:
            self._mode = mode
            self.counts.cuts.append(mode)
            closing = list(self._open)
            self._open.clear()
        for sock in closing:
            _close(sock)
        self.counts.closed_by_cut += len(closing)
        if mode == "refuse":
            self._stop_listening()
        return len(closing)

    def restore(self) -> None:
        """Forward again: the held (blackholed) connections are closed, new ones reach the database."""
        with self._lock:
            mode, self._mode = self._mode, None
            held = list(self._open)
            self._open.clear()
        if mode == "blackhole":
            for sock in held:
                _close(sock)
        else:
            with self._lock:
                self._open.update(held)
        if self._listener is None:
            self._listen()

    def stop(self) -> None:
        self._stopped.set()
        self._stop_listening()
        with self._lock:
            closing = list(self._open)
            self._open.clear()
        for sock in closing:
            _close(sock)

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # --- the listener and the pumps -----------------------------------------------------------

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, self.port))  # the same port again after a refusing cut
        listener.listen(BACKLOG)
        listener.settimeout(ACCEPT_POLL_S)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._acceptor = threading.Thread(
            target=self._accept, args=(listener,), name="tcp-proxy-accept", daemon=True
        )
        self._acceptor.start()

    def _stop_listening(self) -> None:
        listener, acceptor = self._listener, self._acceptor
        self._listener = self._acceptor = None
        if listener is not None:
            _close(listener)  # from now on the kernel refuses connections to the port
        if acceptor is not None:
            acceptor.join(timeout=ACCEPT_POLL_S * 10)

    def _accept(self, listener: socket.socket) -> None:
        while not self._stopped.is_set() and self._listener is listener:
            try:
                client, _address = listener.accept()
            except TimeoutError:
                continue
            except OSError:  # the listener was closed by a cut or stop
                return
            self._take(client)

    def _take(self, client: socket.socket) -> None:
        with self._lock:
            mode, crowded = self._mode, len(self._open) >= CONNECTIONS_MAX * 2
        if crowded:
            _close(client)
            return
        if mode == "blackhole":
            with self._lock:
                self._open.add(client)  # held open, never answered, until restore() or stop()
            self.counts.blackholed += 1
            return
        try:
            server = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            _close(client)
            return
        server.settimeout(None)
        with self._lock:
            self._open.update((client, server))
        self.counts.forwarded += 1
        for source, sink in ((client, server), (server, client)):
            threading.Thread(
                target=self._pump, args=(source, sink), name="tcp-proxy-pump", daemon=True
            ).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(CHUNK_BYTES):
                sink.sendall(chunk)
        except OSError:
            pass  # a cut closed one of the two: the connection is over
        finally:
            with self._lock:
                self._open.discard(source)
                self._open.discard(sink)
            _close(source)
            _close(sink)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
