"""TrainedModel validation: upstream ``trainedmodel_webhook.go`` (§4.5)."""

from __future__ import annotations

import re
from typing import Any

from apis.serving.validation import (
    FieldError,
    as_dict,
    as_obj,
    canonical_quantity,
    malformed_guard,
    parse_quantity,
)

__all__ = [
    "STORAGE_URI_PROTOCOLS",
    "TM_NAME_FMT",
    "validate_trained_model",
    "validate_trained_model_update",
]

TM_NAME_FMT = "[a-zA-Z0-9_-]+"
_TM_NAME_RE = re.compile("^" + TM_NAME_FMT + r"\Z")  # \Z: Go's "$" (no trailing newline)
#: ``storage.GetAllProtocol()`` of the model agent: S3, GCS, HTTPS, HTTP.
STORAGE_URI_PROTOCOLS = ("s3://", "gs://", "https://", "http://")


@malformed_guard("apis.serving.v1alpha1:TrainedModel", decode_first=True)
def validate_trained_model(tm: Any) -> list[str]:
    """CREATE: name ``^[a-zA-Z0-9_-]+$`` and a storageUri the model agent can pull."""
    obj = as_dict(tm)
    name = as_obj(obj.get("metadata")).get("name") or ""
    if not _TM_NAME_RE.match(name):
        raise FieldError(
            "metadata.name",
            f'the Trained Model "{name}" is invalid: a Trained Model name must consist of '
            "alphanumeric characters, '_', or '-'. (e.g. \"my-Name\" or \"abc_123\", regex used "
            f"for validation is '^{TM_NAME_FMT}$')",
        )
    uri = as_obj(as_obj(obj.get("spec")).get("model")).get("storageUri") or ""
    if not uri.startswith(STORAGE_URI_PROTOCOLS):
        raise FieldError(
            "spec.model.storageUri",
            f'the Trained Model "{name}" storageUri field is invalid. The storage uri must start '
            f"with one of the prefixes: {', '.join(STORAGE_URI_PROTOCOLS)}. (the storage uri "
            f'given is "{uri}")',
        )
    return []


def _memory(obj: dict[str, Any]) -> Any:
    return as_obj(as_obj(obj.get("spec")).get("model")).get("memory")


def _text(q: Any) -> str:
    """Go's ``Quantity.String()`` (canonical form) for the message."""
    try:
        return canonical_quantity(q if q is not None else "0")
    except ValueError:
        return str(q)


def _same_quantity(a: Any, b: Any) -> bool:
    try:
        return parse_quantity(a if a is not None else "0") == parse_quantity(
            b if b is not None else "0"
        )
    except ValueError:
        return bool(a == b)


@malformed_guard("apis.serving.v1alpha1:TrainedModel", 2, decode_first=True)
def validate_trained_model_update(new: Any, old: Any) -> list[str]:
    """UPDATE: nothing for an object being deleted; else the CREATE rules, then
    ``spec.model.memory`` is immutable (compared as quantities: ``1Gi`` == ``1024Mi``)."""
    n, o = as_dict(new), as_dict(old)
    if as_obj(n.get("metadata")).get("deletionTimestamp") is not None:
        return []
    validate_trained_model(n)
    if not _same_quantity(_memory(n), _memory(o)):
        name = as_obj(n.get("metadata")).get("name") or ""
        raise FieldError(
            "spec.model.memory",
            f'the Trained Model "{name}" memory field is immutable. The memory was '
            f'"{_text(_memory(o))}" but it is updated to "{_text(_memory(n))}"',
        )
    return []
