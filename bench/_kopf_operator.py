"""bench_kopf's trivial controller written with kopf (the peer), and what both sides share.

For every ConfigMap labelled ``bench-kopf=parent``, make sure a child ConfigMap
``<name>-child`` exists in the same namespace, labelled ``bench-kopf=child``, owned by the
parent (controller owner reference), with the parent's data: one server-side apply through
lightkube, the same request our framework's side sends. kopf's own bookkeeping (the
``kopf.zalando.org/last-handled-configuration`` annotation patched onto every parent) comes on
top: that is what using kopf costs.

``event`` mode is the same controller as a bare ``@kopf.on.event`` handler: kopf calls it for
every watch event (the initial listing included) and persists nothing (no annotation, no
progress storage), so the comparison with it is kopf's event machinery without its
bookkeeping.

Run as a child process by ``bench/bench_kopf.py``:

    KUBECONFIG=... python -m bench._kopf_operator <namespace> [change|event]

kopf itself is imported only there, so ``child_of`` can be shared with our side without
loading kopf into our process.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Mapping
from typing import Any, cast

PARENT_LABEL = {"bench-kopf": "parent"}
CHILD_LABEL = {"bench-kopf": "child"}
FIELD_MANAGER = "bench-kopf"


def child_of(name: str, namespace: str, uid: str, data: Mapping[str, str] | None) -> dict[str, Any]:
    """The desired child of parent ConfigMap ``namespace/name`` (an apply body)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": f"{name}-child",
            "namespace": namespace,
            "labels": dict(CHILD_LABEL),
            "ownerReferences": [{
                "apiVersion": "v1", "kind": "ConfigMap", "name": name, "uid": uid,
                "controller": True, "blockOwnerDeletion": True,
            }],
        },
        "data": dict(data or {}),
    }


def main(namespace: str, mode: str = "change") -> None:
    import kopf
    from lightkube import AsyncClient
    from lightkube.resources.core_v1 import ConfigMap

    state: dict[str, AsyncClient] = {}

    @kopf.on.startup()
    async def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.posting.enabled = False  # no Events: our side writes none either
        state["client"] = AsyncClient(field_manager=FIELD_MANAGER)  # from $KUBECONFIG

    async def ensure_child(body: kopf.Body, name: str, namespace: str | None,
                           **_: Any) -> None:
        child = child_of(name, namespace or "", body.metadata.uid or "", body.get("data"))
        await state["client"].apply(cast(ConfigMap, ConfigMap.from_dict(child)), force=True)

    if mode == "change":  # change detection: kopf stores the last handled state per object
        kopf.on.resume("configmaps", labels=PARENT_LABEL)(ensure_child)
        kopf.on.create("configmaps", labels=PARENT_LABEL)(ensure_child)
    elif mode == "event":  # every watch event, nothing persisted

        async def on_event(type: str | None, body: kopf.Body, **kw: Any) -> None:
            if type != "DELETED":
                await ensure_child(body=body, **kw)

        kopf.on.event("configmaps", labels=PARENT_LABEL)(on_event)
    else:
        raise SystemExit(f"unknown mode {mode!r}")

    logging.basicConfig(level=logging.WARNING)
    asyncio.run(kopf.operator(standalone=True, namespaces=[namespace]))


if __name__ == "__main__":
    main(*sys.argv[1:3])
