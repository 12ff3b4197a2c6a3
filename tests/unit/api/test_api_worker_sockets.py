"""`photostore api --workers N`: each worker listens on a socket of its own, on one port."""

from __future__ import annotations

import pickle
import socket

from photostore.api.worker_sockets import supervisor_socket


def test_a_worker_unpickles_the_supervisor_socket_as_its_own_socket_on_the_same_port() -> None:
    with supervisor_socket("127.0.0.1", 0) as parent:
        first = pickle.loads(pickle.dumps(parent))  # noqa: S301 - our own bytes
        second = pickle.loads(pickle.dumps(parent))  # noqa: S301
        with first, second:
            assert first.getsockname() == second.getsockname() == parent.getsockname()
            assert first.fileno() != parent.fileno() != second.fileno()
            assert first.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)
            assert not parent.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)


def test_connections_are_spread_over_the_workers_sockets() -> None:
    with supervisor_socket("127.0.0.1", 0) as parent:
        workers = [pickle.loads(pickle.dumps(parent)) for _ in range(2)]  # noqa: S301
        clients = []
        try:
            for sock in workers:
                sock.listen(64)
                sock.setblocking(False)
            for _ in range(40):
                clients.append(socket.create_connection(parent.getsockname()))
            accepted = []
            for sock in workers:
                count = 0
                while True:
                    try:
                        conn, _ = sock.accept()
                    except BlockingIOError:
                        break
                    conn.close()
                    count += 1
                accepted.append(count)
        finally:
            for client in clients:
                client.close()
            for sock in workers:
                sock.close()
    assert sum(accepted) == 40
    # A hash of 40 client ports: each socket gets some (all 40 on one: about 1e-12).
    assert min(accepted) > 0
