"""Read-your-writes with read replicas: remember where each user's last write ended.

After a request that may have written (any method but GET, HEAD, OPTIONS) by an
authenticated user, and before its response starts, the primary's current WAL position
is stored as the user's (`{u:<user>}:wal`, only ever rising). Every later request reads it
back in the same script as its credential check (credentials.py), and a replica serves the
user's reads only once it has replayed that far (read_router.py).

Why a WAL position rather than pinning the user to the primary for a while: it is exact.
A pin must outlast the worst lag a replica may have while still used, so every writer
would read from the primary for that long, and a replica that catches up at once would
still be avoided; with the position, reads move back to a replica as soon as it has the
write, and a replica further behind is never used for that user, however long it takes.
It costs a write request one query on the primary and one Redis round trip, and nothing
when no replica is configured.

The position is stored before the response starts, so a client that saw the answer to its
write cannot read without it. If storing fails (Redis down) the write still answers as it
did; the user's reads may then see a replica that is up to the lag bound behind.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from photostore.api.deps import AUTH_USER_STATE, AuthUser
from photostore.api.services import Services

log = logging.getLogger(__name__)

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def record_write(services: Services, user: AuthUser) -> None:
    position = await services.reads.write_position()
    await services.credentials.record_write(user.id, position)


class WriteMarkMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in READ_ONLY_METHODS:
            await self.app(scope, receive, send)
            return
        services: Services = scope["app"].state.services
        if not services.reads.replicas:
            await self.app(scope, receive, send)
            return

        async def marking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state: dict[str, Any] = scope.get("state") or {}
                user = state.get(AUTH_USER_STATE)
                if isinstance(user, AuthUser):
                    try:
                        await record_write(services, user)
                    except Exception as exc:
                        log.warning("write position not recorded: %s", type(exc).__name__)
            await send(message)

        await self.app(scope, receive, marking_send)
