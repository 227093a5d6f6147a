"""The framework-agnostic ``model`` predictor (upstream ``predictor_model.go``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum

from pydantic import Field

from apis.serving.v1alpha1.servingruntime_types import (
    ClusterServingRuntime,
    ServingRuntime,
    ServingRuntimeSpec,
    SupportedModelFormat,
)
from runtime.resource import KubeModel

from .predictor_extension import PredictorExtensionSpec

PROTOCOL_V1 = "v1"
"""``constants.ProtocolV1``."""
PROTOCOL_V2 = "v2"
"""``constants.ProtocolV2``."""
PROTOCOL_GRPC_V1 = "grpc-v1"
"""``constants.ProtocolGRPCV1``."""
PROTOCOL_GRPC_V2 = "grpc-v2"
"""``constants.ProtocolGRPCV2``."""
PROTOCOL_UNKNOWN = ""
"""``constants.ProtocolUnknown``."""


class ProtocolVersion(IntEnum):
    """``constants.ProtocolVersion``: the ordering runtimes are sorted by."""

    V1 = 1
    V2 = 2
    GRPC_V1 = 3
    GRPC_V2 = 4
    UNKNOWN = 5


_PROTOCOL_INTS = {
    PROTOCOL_V1: ProtocolVersion.V1,
    PROTOCOL_V2: ProtocolVersion.V2,
    PROTOCOL_GRPC_V1: ProtocolVersion.GRPC_V1,
    PROTOCOL_GRPC_V2: ProtocolVersion.GRPC_V2,
}
_PROTOCOL_STRINGS = {v: k for k, v in _PROTOCOL_INTS.items()}


def protocol_version_int(protocol: str | None) -> ProtocolVersion:
    """``constants.GetProtocolVersionInt``: anything but the four protocols is UNKNOWN."""
    return _PROTOCOL_INTS.get(protocol or "", ProtocolVersion.UNKNOWN)


def protocol_version_string(version: int) -> str:
    """``constants.GetProtocolVersionString``: ``""`` for UNKNOWN (or anything else)."""
    try:
        return _PROTOCOL_STRINGS.get(ProtocolVersion(version), PROTOCOL_UNKNOWN)
    except ValueError:
        return PROTOCOL_UNKNOWN


def protocol_version_priority(protocols: Sequence[str] | None) -> ProtocolVersion:
    """``GetProtocolVersionPriority``: the lowest protocol of a runtime's ``protocolVersions``
    (v1 < v2 < grpc-v1 < grpc-v2 < anything else); UNKNOWN when the list is empty."""
    if not protocols:
        return ProtocolVersion.UNKNOWN
    return min(protocol_version_int(p) for p in protocols)


def protocol_sort_key(protocol: str | None) -> int:
    """Sort key for one protocol: v1 < v2 < grpc-v1 < grpc-v2 < unset/unknown."""
    return int(protocol_version_int(protocol))


def sort_protocols(protocols: Iterable[str | None]) -> list[str | None]:
    """``protocols`` in protocol order (stable; unset and unknown ones last)."""
    return sorted(protocols, key=protocol_sort_key)


class ModelFormat(KubeModel):
    """A model format served by a runtime."""

    name: str = Field(alias="name")
    """Name of the model format."""
    version: str | None = Field(None, alias="version")
    """Version of the model format ("major", "major.minor" or "major.minor.patch"), used to check
    that a runtime supports the predictor."""


class ModelSpec(PredictorExtensionSpec):
    """Model spec for any arbitrary framework, served by a matching ServingRuntime.

    ``modelFormat`` is required by the CRD schema except under ``spec.predictor`` (KServe's yq
    strips it there), so the Python type accepts its absence; validation reports it."""

    __schema_required__ = ("modelFormat",)

    model_format: ModelFormat | None = Field(None, alias="modelFormat")
    """ModelFormat being served."""
    runtime: str | None = Field(None, alias="runtime")
    """Specific ClusterServingRuntime/ServingRuntime name to use for deployment."""


# ---------------------------------------------------------------------------------------------
# Which runtimes support a model (upstream ``predictor_model.go``: RuntimeSupportsModel,
# GetSupportingRuntimes and the sorts it uses). Pure: the caller passes the runtimes it listed.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SupportedRuntime:
    """``v1alpha1.SupportedRuntime``: a runtime that supports a model, with what selection
    needs to know about the object it came from."""

    name: str
    spec: ServingRuntimeSpec
    cluster_scoped: bool = False
    """True for a ClusterServingRuntime."""
    annotations: Mapping[str, str] = field(default_factory=dict)
    """The runtime object's ``metadata.annotations``."""


def model_protocol(model: ModelSpec) -> str:
    """``ModelSpec.GetProtocol``: ``protocolVersion`` or v1."""
    return model.protocol_version if model.protocol_version is not None else PROTOCOL_V1


def model_format_label(model: ModelSpec) -> str:
    """``getModelFormatLabel``: ``mt:<name>`` or ``mt:<name>:<version>``."""
    fmt = model.model_format
    name = fmt.name if fmt is not None else ""
    version = fmt.version if fmt is not None else None
    return f"mt:{name}:{version}" if version is not None else f"mt:{name}"


def runtime_model_format_labels(
    model: ModelSpec, formats: Sequence[SupportedModelFormat] | None
) -> frozenset[str]:
    """``getServingRuntimeSupportedModelFormatLabelSet``: ``mt:<name>`` and
    ``mt:<name>:<version>`` of each supported format; without an explicit ``model.runtime``
    only the formats with ``autoSelect: true`` count."""
    labels: set[str] = set()
    for f in formats or []:
        if model.runtime is not None or f.is_auto_select_enabled():
            labels.add("mt:" + f.name)
            if f.version is not None:
                labels.add(f"mt:{f.name}:{f.version}")
    return frozenset(labels)


def runtime_supports_model(model: ModelSpec, spec: ServingRuntimeSpec) -> bool:
    """``RuntimeSupportsModel``: the runtime lists the model's format (and its version when the
    model names one; a model without a version matches any version)."""
    return model_format_label(model) in runtime_model_format_labels(
        model, spec.supported_model_formats
    )


_EPOCH = datetime(1, 1, 1, tzinfo=UTC)


def _created(obj: ServingRuntime | ClusterServingRuntime) -> datetime:
    ts = obj.metadata.creationTimestamp if obj.metadata is not None else None
    if ts is None:
        return _EPOCH
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def sort_serving_runtimes(
    runtimes: Iterable[ServingRuntime | ClusterServingRuntime],
) -> list[ServingRuntime | ClusterServingRuntime]:
    """``sortServingRuntimeList`` / ``sortClusterServingRuntimeList``: by lowest supported
    protocol (v1 < v2 < grpc-v1 < grpc-v2 < none), then newest ``creationTimestamp``
    first, then name."""

    def key(rt: ServingRuntime | ClusterServingRuntime) -> tuple[int, float, str]:
        spec = rt.spec or ServingRuntimeSpec(containers=[])
        created = _created(rt)
        name = (rt.metadata.name if rt.metadata is not None else None) or ""
        return (protocol_version_priority(spec.protocol_versions), -created.timestamp(), name)

    return sorted(runtimes, key=key)


def sort_supported_runtimes_by_priority(
    runtimes: Sequence[SupportedRuntime], model_format: ModelFormat | None
) -> list[SupportedRuntime]:
    """``sortSupportedRuntimeByPriority``: stable; the format's ``priority`` descending, a
    runtime with a priority before one without, ties keep their order."""
    name = model_format.name if model_format is not None else ""

    def key(rt: SupportedRuntime) -> tuple[int, int]:
        p = rt.spec.get_priority(name)
        return (0, -p) if p is not None else (1, 0)

    return sorted(runtimes, key=key)


def get_supporting_runtimes(
    model: ModelSpec,
    namespace_runtimes: Iterable[ServingRuntime],
    cluster_runtimes: Iterable[ClusterServingRuntime],
    *,
    multi_model: bool = False,
    multi_node: bool = False,
) -> list[SupportedRuntime]:
    """``GetSupportingRuntimes``: the runtimes that can serve ``model``, best first.

    ``namespace_runtimes`` are the ServingRuntimes of the InferenceService's namespace,
    ``cluster_runtimes`` the ClusterServingRuntimes (empty when the CRD is absent). A runtime
    qualifies when it is not disabled, its ``multiModel`` equals ``multi_model``, it lists the
    model format (autoSelect formats only, without an explicit ``model.runtime``), supports
    the model's protocol (default v1; a runtime without ``protocolVersions`` supports all) and
    has a ``workerSpec`` exactly when ``multi_node``. Namespace runtimes come first; each group
    is sorted by :func:`sort_serving_runtimes`, then stably by format priority."""
    protocol = model_protocol(model)

    def qualifying(
        runtimes: Iterable[ServingRuntime | ClusterServingRuntime], cluster: bool
    ) -> list[SupportedRuntime]:
        out: list[SupportedRuntime] = []
        for rt in sort_serving_runtimes(runtimes):
            spec = rt.spec
            if spec is None:
                continue
            if (
                not spec.is_disabled()
                and spec.is_multi_model_runtime() == multi_model
                and runtime_supports_model(model, spec)
                and spec.is_protocol_version_supported(protocol)
                and spec.is_multi_node_runtime() == multi_node
            ):
                meta = rt.metadata
                out.append(
                    SupportedRuntime(
                        name=(meta.name if meta is not None else None) or "",
                        spec=spec,
                        cluster_scoped=cluster,
                        annotations=dict((meta.annotations if meta is not None else None) or {}),
                    )
                )
        return sort_supported_runtimes_by_priority(out, model.model_format)

    return qualifying(namespace_runtimes, False) + qualifying(cluster_runtimes, True)
