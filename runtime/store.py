"""The informer's store: encoded objects keyed ``namespace/name``, with indexes
(client-go's ``Indexer`` over a ``ThreadSafeStore``, minus the threads).

Store format: **JSON bytes**, decoded on every read. Measured (``bench/bench_cache.py``,
10k ConfigMaps of ~1.2 KB with 10 data keys, on envtest; Python 3.11, msgspec 0.22, heap
measured with tracemalloc after the initial sync):

=================================== ============== ==============================
held as                              bytes/object   cost of a private copy
=================================== ============== ==============================
JSON ``bytes`` (chosen), whole cache 1,430          decode on read: ~3.6 us/get
  of which the JSON itself           1,254
lightkube model (msgspec Struct)     2,624          ``copy.deepcopy``: ~24 us
plain ``dict``                       ~3,060         ``copy.deepcopy``: more
=================================== ============== ==============================

(The bytes are copied out of a reused encode buffer: ``msgspec.json.encode`` hands back its
growth buffer, which measured 1,876 bytes allocated per 1,254-byte object.) A metadata-only
Secret costs ~400 bytes; the initial sync of 10k ConfigMaps takes ~0.5 s and a ``list`` of
all 10k (fresh objects) ~33 ms.

So the encoded form is both half the memory of the most compact decoded form and makes the
"caller may mutate what it read" guarantee (controller-runtime deep-copies on every read)
cheaper than a deep copy would be: **every** ``get``/``list`` returns freshly decoded objects
the caller owns and may mutate. A (re)list reaches the store already in this form: the
reflector encodes each item as its page arrives and :meth:`Store.replace_encoded` adopts those
bytes (an unchanged object keeps its stored copy), so the list is never held decoded (that
cost a manager started with 10k ConfigMaps + 10k Secrets ~30 MB of RSS, see
``bench/bench_manager.py``). Index keys are computed when an object is stored, and label
matching decodes only ``metadata`` (msgspec skips the rest). The store is a plain dict keyed
``namespace/name`` (cluster scoped: ``name``); there are no threads, so no locks: it is only
touched from the event loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import msgspec

from runtime.codec import encode_exact

__all__ = [
    "ALL_NAMESPACES_INDEX_PREFIX",
    "NAMESPACE_INDEX",
    "IndexFunc",
    "Store",
    "field_index_name",
    "key_namespace",
    "object_key",
    "object_key_name",
    "object_labels",
    "resource_version",
]

log = logging.getLogger(__name__)

NAMESPACE_INDEX = "namespace"
"""client-go's ``cache.NamespaceIndex``: always present."""
ALL_NAMESPACES_INDEX_PREFIX = "__all_namespaces"
"""controller-runtime's key prefix for field-index values regardless of namespace."""

IndexFunc = Callable[[dict[str, Any]], list[str]]
"""A store index function: a cached object (its JSON dict) -> the index values."""


def field_index_name(field_name: str) -> str:
    """controller-runtime's ``FieldIndexName``: ``field:<name>``."""
    return f"field:{field_name}"


def object_key(obj: Mapping[str, Any]) -> str:
    """client-go's ``MetaNamespaceKeyFunc``: ``namespace/name``, or ``name`` when cluster
    scoped."""
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    name = meta.get("name") or ""
    return f"{ns}/{name}" if ns else str(name)


def key_namespace(key: str) -> str:
    ns, sep, _ = key.partition("/")
    return ns if sep else ""




class _Meta(msgspec.Struct):
    """Just enough of an object to match selectors without decoding it all."""

    resourceVersion: str | None = None
    labels: dict[str, str] | None = None


class _MetaOnly(msgspec.Struct):
    metadata: _Meta = msgspec.field(default_factory=_Meta)


_meta_decoder = msgspec.json.Decoder(_MetaOnly)


class Store:
    """An indexed, thread-free store of encoded objects keyed ``namespace/name``.

    client-go's ``Indexer`` over a ``ThreadSafeStore``, minus the threads. The namespace index
    is always present and derived from the key; other indexers are functions of the object's
    JSON dict, evaluated when an object is stored (and on the previous version when it is
    replaced or removed, so no reverse map is kept)."""

    def __init__(self, indexers: Mapping[str, IndexFunc] | None = None) -> None:
        self._items: dict[str, bytes] = {}
        self._indexers: dict[str, IndexFunc] = dict(indexers or {})
        self._indices: dict[str, dict[str, set[str]]] = {NAMESPACE_INDEX: {}}
        for name in self._indexers:
            self._indices[name] = {}

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    # ------------------------------------------------------------- indexes

    def add_indexers(self, indexers: Mapping[str, IndexFunc]) -> None:
        """Add indexers, indexing what is already stored (allowed after start, as client-go)."""
        for name, fn in indexers.items():
            if name in self._indices:
                raise ValueError(f"indexer {name!r} already exists")
            self._indexers[name] = fn
            idx: dict[str, set[str]] = {}
            self._indices[name] = idx
            for key, raw in self._items.items():
                try:
                    values = fn(msgspec.json.decode(raw))
                except Exception:
                    log.exception("index function %r failed on %s; not indexed", name, key)
                    continue
                for v in values:
                    idx.setdefault(v, set()).add(key)

    @property
    def indexers(self) -> Mapping[str, IndexFunc]:
        return dict(self._indexers)

    def _index(self, key: str, obj: dict[str, Any] | None, add: bool) -> None:
        ns = key_namespace(key)
        ns_idx = self._indices[NAMESPACE_INDEX]
        if add:
            ns_idx.setdefault(ns, set()).add(key)
        else:
            keys = ns_idx.get(ns)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del ns_idx[ns]
        if obj is None or not self._indexers:
            return
        for name, fn in self._indexers.items():
            idx = self._indices[name]
            try:
                values = fn(obj)
            except Exception:
                log.exception("index function %r failed on %s; not indexed", name, key)
                continue
            for v in values:
                if add:
                    idx.setdefault(v, set()).add(key)
                else:
                    keys = idx.get(v)
                    if keys is not None:
                        keys.discard(key)
                        if not keys:
                            del idx[v]

    def _unindex(self, key: str, raw: bytes) -> None:
        self._index(key, msgspec.json.decode(raw) if self._indexers else None, add=False)

    # ------------------------------------------------------------- writes

    def put(self, obj: dict[str, Any]) -> tuple[str, bytes | None, bytes]:
        """Insert or replace ``obj``; returns ``(key, previous bytes or None, new bytes)``."""
        return self.put_encoded(object_key(obj), encode_exact(obj), obj)

    def put_encoded(
        self, key: str, raw: bytes, obj: dict[str, Any] | None = None
    ) -> tuple[str, bytes | None, bytes]:
        """Insert or replace an already encoded object (``raw`` is kept as is: it must be
        exact-size JSON, see :func:`~runtime.codec.encode_exact`); ``obj`` is its decoded
        form if the caller has it (for the indexers; decoded from ``raw`` otherwise).

        Returns ``(key, previous bytes or None, stored bytes)``. Bytes equal to what is
        stored (an unchanged object in a relist) keep the stored copy and its index
        entries."""
        old = self._items.get(key)
        if old is not None:
            if old == raw:
                return key, old, old
            self._unindex(key, old)
        self._items[key] = raw
        if self._indexers and obj is None:
            obj = msgspec.json.decode(raw)
        self._index(key, obj, add=True)
        return key, old, raw

    def remove(self, key: str) -> bytes | None:
        """Remove ``key``; returns what was stored, or None."""
        old = self._items.pop(key, None)
        if old is not None:
            self._unindex(key, old)
        return old

    def replace(
        self, objs: Iterable[dict[str, Any]], namespace: str | None = None
    ) -> tuple[list[tuple[str, bytes | None, bytes]], list[tuple[str, bytes]]]:
        """client-go's ``Replace``: the store's content in scope (``namespace``, or everything
        when None) becomes exactly ``objs``.

        Returns ``(upserts, deletes)``: ``(key, old, new)`` per listed object, and
        ``(key, last stored bytes)`` per object that was in scope but is not listed."""
        return self._drop_unlisted([self.put(o) for o in objs], namespace)

    def replace_encoded(
        self, items: Iterable[tuple[str, bytes]], namespace: str | None = None
    ) -> tuple[list[tuple[str, bytes | None, bytes]], list[tuple[str, bytes]]]:
        """:meth:`replace` with pre-encoded ``(key, bytes)`` items (see :meth:`put_encoded`):
        what a reflector's list hands over, so a 10k-object list is never held decoded."""
        return self._drop_unlisted(
            [self.put_encoded(key, raw) for key, raw in items], namespace
        )

    def _drop_unlisted(
        self, upserts: list[tuple[str, bytes | None, bytes]], namespace: str | None
    ) -> tuple[list[tuple[str, bytes | None, bytes]], list[tuple[str, bytes]]]:
        seen = {k for k, _, _ in upserts}
        if namespace is None:
            scope: Iterable[str] = list(self._items)
        else:
            scope = list(self._indices[NAMESPACE_INDEX].get(namespace, ()))
        deletes: list[tuple[str, bytes]] = []
        for key in scope:
            if key not in seen:
                old = self.remove(key)
                if old is not None:
                    deletes.append((key, old))
        return upserts, deletes

    # ------------------------------------------------------------- reads

    def get(self, key: str) -> bytes | None:
        return self._items.get(key)

    def keys(self) -> list[str]:
        return list(self._items)

    def items(self) -> Iterator[tuple[str, bytes]]:
        return iter(list(self._items.items()))

    def index_keys(self, index_name: str, value: str) -> set[str]:
        """client-go's ``IndexKeys``: the keys whose ``index_name`` values include ``value``."""
        idx = self._indices.get(index_name)
        if idx is None:
            raise KeyError(f"index {index_name!r} does not exist")
        return set(idx.get(value, ()))

    def by_index(self, index_name: str, value: str) -> list[bytes]:
        return [self._items[k] for k in self.index_keys(index_name, value)]

    def list_index_values(self, index_name: str) -> list[str]:
        return list(self._indices.get(index_name, {}))


def object_key_name(raw: bytes) -> str:
    obj = msgspec.json.decode(raw, type=_NameOnly)
    return obj.metadata.name


class _NameMeta(msgspec.Struct):
    name: str = ""


class _NameOnly(msgspec.Struct):
    metadata: _NameMeta = msgspec.field(default_factory=_NameMeta)


def resource_version(raw: bytes) -> str | None:
    """The stored object's resourceVersion (decodes only that)."""
    return _meta_decoder.decode(raw).metadata.resourceVersion




def object_labels(raw: bytes) -> dict[str, str] | None:
    """The stored object's labels (decodes only metadata)."""
    return _meta_decoder.decode(raw).metadata.labels
