"""Which PhotoStorage manages a namespace (`namespace_owner`), listed only when a
PhotoStorage came to the namespace or left it since the last list, as the watch tells."""

from __future__ import annotations

from photostore.operator.children import PHOTOSTORAGE
from photostore.operator.namespace_owner import manager_of
from photostore.operator.spec import KIND
from photostore.operator.state import KeptManager, Operator
from photostore.operator.workqueue import Key


async def namespace_manager(op: Operator, key: Key) -> str | None:
    """The name of the PhotoStorage that manages `key`'s namespace. What the last list found
    is trusted only when it named `key` itself: a refused one lists on every pass, so a
    namespace freed while the watch was away is still handed on."""
    namespace, name = key
    changes = op.photostorage_changes.get(namespace, 0)
    kept = op.managers.get(namespace)
    if kept is not None and kept.changes == changes and kept.manager == name:
        return name
    listed = await op.kube.list(PHOTOSTORAGE.api_version, KIND, namespace)
    names = frozenset(p["metadata"]["name"] for p in listed)
    op.managers[namespace] = KeptManager(changes, names, manager_of(listed))
    return op.managers[namespace].manager
