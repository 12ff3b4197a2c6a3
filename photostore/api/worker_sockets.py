"""Listening sockets for `photostore api --workers N`: one per worker, balanced by the kernel.

uvicorn's workers share one listening socket, and a worker's event loop (libuv) accepts
every connection waiting when it wakes. Whichever worker is awake takes nearly all of a
burst of new connections and keeps them for as long as they live: in bench-api one of two
workers held 30 of 32 keep-alive connections and served them from one core while the other
idled. Here the supervisor's socket is only bound, never listening, with SO_REUSEPORT, and
each worker, as it receives that socket, binds one of its own to the same address instead.
The kernel then spreads new connections over the workers' sockets by a hash of their
addresses, as a Service spreads them over replicas.
"""

from __future__ import annotations

import socket
from typing import Any


def _bind_shared(sock: socket.socket, address: Any) -> None:
    """Bind `sock` to `address`, which other sockets of this user may bind too."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except BaseException:
        sock.close()
        raise


def bind_shared_port(family: socket.AddressFamily, address: Any) -> socket.socket:
    """A worker's own TCP socket on the supervisor's address (uvicorn makes it listen)."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    _bind_shared(sock, address)
    return sock


class WorkerSocket(socket.socket):
    """The supervisor's bound socket; a worker process that unpickles it gets its own.

    uvicorn hands its sockets to each worker it starts (and restarts) by pickling them:
    this one pickles as its address, and unpickles as a new socket bound to it.
    """

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        return bind_shared_port, (self.family, self.getsockname())


def supervisor_socket(host: str, port: int) -> WorkerSocket:
    """Bound to (host, port), not listening: the workers' sockets get every connection."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = WorkerSocket(family, socket.SOCK_STREAM)
    _bind_shared(sock, (host, port))
    return sock
