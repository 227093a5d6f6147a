"""``storage_uri_utils.go``: storage URI matching shared by the local model caches."""

from __future__ import annotations

__all__ = ["match_storage_uri"]


def match_storage_uri(cached_uri: str, storage_uri: str) -> bool:
    """Whether ``storage_uri`` equals ``cached_uri`` or is a subdirectory of it
    (trailing slashes ignored), as upstream ``MatchStorageURI``."""
    cached = cached_uri.removesuffix("/")
    storage = storage_uri.removesuffix("/")
    if not storage.startswith(cached):
        return False
    return len(storage) == len(cached) or storage[len(cached)] == "/"
