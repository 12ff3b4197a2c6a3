"""The floor of `operator_bench`: what N PhotoStorages cost the control plane itself.

The same children the operator would make (its own pure builders), applied straight to the
apiserver by server-side apply from one client (the operator's `KubeClient`, logged in as
its ServiceAccount), wave by wave as `children.py` orders them, with as many PhotoStorages
being applied at once as the operator has workers. Between the waves it waits, without
holding a worker, for what the operator waits for: the ResourceQuota counted, the migration
Job succeeded; and it is done when both Deployments are complete as `health` reads them,
which is what the operator's Ready needs. Every wait is seen through a watch, not a poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp

from photostore.operator.builders import build_children
from photostore.operator.builders.api import COMPONENT as API
from photostore.operator.builders.common import child_name
from photostore.operator.builders.jobs import migration_name
from photostore.operator.builders.processor import COMPONENT as PROCESSOR
from photostore.operator.builders.quota import quota_name
from photostore.operator.children import AFTER_MIGRATION, WORKLOADS, wave_of
from photostore.operator.health import assess_deployment
from photostore.operator.kube import ApiError, KubeClient
from photostore.operator.login import Login
from photostore.operator.migration import migration_state
from photostore.operator.spec import PhotoStorage, parse

Obj = dict[str, Any]
Check = Callable[[Obj], bool]
ObjKey = tuple[str, str]  # (namespace, name)
T = TypeVar("T")


class Watch:
    """One cluster-wide list+watch of a kind, kept for the namespaces of one bench run.

    `wait(key, check, within)` returns once the object at `key` passes `check`."""

    def __init__(self, session: aiohttp.ClientSession, login: Login, path: str, prefix: str):
        self._session = session
        self._login = login
        self._path = path
        self._prefix = prefix
        self.objects: dict[ObjKey, Obj] = {}
        self._waiters: dict[ObjKey, list[tuple[Check, asyncio.Future[Obj]]]] = defaultdict(list)
        self._synced = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def _headers(self) -> dict[str, str]:
        token = self._login.token()
        bearer = {"Authorization": f"Bearer {token}"} if token else {}
        return {"Accept": "application/json", **bearer}

    async def start(self, within: float = 30) -> None:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self._synced.wait(), within)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _seen(self, obj: Obj, deleted: bool = False) -> None:
        meta = obj["metadata"]
        namespace = meta.get("namespace", "")
        if not namespace.startswith(self._prefix):
            return
        key = (namespace, meta["name"])
        if deleted:
            self.objects.pop(key, None)
            return
        self.objects[key] = obj
        waiting = self._waiters.get(key)
        if not waiting:
            return
        still = []
        for check, future in waiting:
            if future.done():
                continue
            if check(obj):
                future.set_result(obj)
            else:
                still.append((check, future))
        self._waiters[key] = still

    async def _list(self) -> str:
        async with self._session.get(
            self._login.server.rstrip("/") + self._path, headers=self._headers()
        ) as response:
            response.raise_for_status()
            listing = await response.json()
        for item in listing.get("items") or []:
            self._seen(item)
        return str(listing["metadata"]["resourceVersion"])

    async def _run(self) -> None:
        """List and watch, starting over after a refusal (429 under load) or a lost stream."""
        while True:
            try:
                await self._follow()
            except (aiohttp.ClientError, TimeoutError, ValueError):
                await asyncio.sleep(1)

    async def _follow(self) -> None:
        version = await self._list()
        self._synced.set()
        while True:
            params = {
                "watch": "1",
                "resourceVersion": version,
                "allowWatchBookmarks": "true",
                "timeoutSeconds": "240",
            }
            async with self._session.get(
                self._login.server.rstrip("/") + self._path,
                params=params,
                headers=self._headers(),
                timeout=aiohttp.ClientTimeout(total=None, sock_read=300),
            ) as response:
                if response.status == 410:
                    version = await self._list()
                    continue
                response.raise_for_status()
                buffer = b""
                async for chunk in response.content.iter_any():
                    buffer += chunk
                    *lines, buffer = buffer.split(b"\n")
                    for line in lines:
                        if not line.strip():
                            continue
                        event = json.loads(line)
                        if event["type"] == "ERROR":
                            version = await self._list()
                            break
                        version = event["object"]["metadata"]["resourceVersion"]
                        if event["type"] != "BOOKMARK":
                            self._seen(event["object"], deleted=event["type"] == "DELETED")

    async def wait(self, key: ObjKey, check: Check, within: float) -> Obj:
        """The object at `key` once `check` passes; TimeoutError after `within` seconds."""
        obj = self.objects.get(key)
        if obj is not None and check(obj):
            return obj
        future: asyncio.Future[Obj] = asyncio.get_running_loop().create_future()
        self._waiters[key].append((check, future))
        try:
            return await asyncio.wait_for(future, within)
        except TimeoutError as error:
            last = self.objects.get(key)
            status = json.dumps((last or {}).get("status"))[:300]
            message = f"{self._path} {key}: not there after {within}s ({status})"
            raise TimeoutError(message) from error


async def patiently(call: Callable[[], Awaitable[T]], attempts: int = 30) -> T:
    """`call()`, again after half a second while the apiserver sheds load with a 429."""
    for _ in range(attempts - 1):
        try:
            return await call()
        except ApiError as error:
            if error.status != 429:
                raise
        except aiohttp.ClientResponseError as error:
            if error.status != 429:
                raise
        await asyncio.sleep(0.5)
    return await call()


def quota_counted(quota: Obj) -> bool:
    return bool((quota.get("status") or {}).get("hard") == quota["spec"]["hard"])


def job_succeeded(job: Obj) -> bool:
    return migration_state(job, []).done


def deployment_complete(deployment: Obj) -> bool:
    return assess_deployment(deployment).complete


class Floor:
    """Apply the children of PhotoStorages straight to the apiserver, and time their readiness."""

    PATHS = {
        "quota": "/api/v1/resourcequotas",
        "job": "/apis/batch/v1/jobs",
        "deployment": "/apis/apps/v1/deployments",
    }

    def __init__(self, login: Login, prefix: str, workers: int, timeout: float) -> None:
        self._login = login
        self._prefix = prefix
        self._workers = asyncio.Semaphore(workers)
        self._timeout = timeout
        self.kube = KubeClient(login)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=login.ssl_context(), limit=8)
        )
        self._watches = {k: Watch(self._session, login, p, prefix) for k, p in self.PATHS.items()}

    async def __aenter__(self) -> Floor:
        await asyncio.gather(*(w.start() for w in self._watches.values()))
        return self

    async def __aexit__(self, *_: object) -> None:
        await asyncio.gather(*(w.stop() for w in self._watches.values()))
        await self._session.close()
        await self.kube.close()

    async def _apply(self, obj: Obj) -> None:
        await patiently(lambda: self.kube.apply(obj))

    async def _apply_wave(self, wave: list[Obj]) -> None:
        async with self._workers:  # as one of the operator's workers applies one wave
            await asyncio.gather(*(self._apply(obj) for obj in wave))

    async def ready(self, body: Obj) -> float:
        """Apply the children of one created PhotoStorage; monotonic time it is ready at."""
        ps: PhotoStorage = parse(body)
        wanted = build_children(ps)
        waves = sorted({wave_of(o["kind"]) for o in wanted})
        ns = ps.namespace
        for number in waves:
            wave = [o for o in wanted if wave_of(o["kind"]) == number]
            if number == WORKLOADS and ps.spec.quota.enabled:
                quota = (ns, quota_name(ps))
                await self._watches["quota"].wait(quota, quota_counted, self._timeout)
            if number == AFTER_MIGRATION:
                job = (ns, migration_name(ps))
                await self._watches["job"].wait(job, job_succeeded, self._timeout)
            await self._apply_wave(wave)
        await asyncio.gather(
            *(
                self._watches["deployment"].wait(
                    (ns, child_name(ps, component)), deployment_complete, self._timeout
                )
                for component in (API, PROCESSOR)
            )
        )
        return time.monotonic()
