"""Choosing the ServingRuntime of a ``predictor.model`` (upstream
``components/predictor.go:reconcileModel`` and ``utils.GetServingRuntime``; the runtime-name
server types of ``constants.GetServerTypeFromRuntimeName``).

Pure: the caller passes the ServingRuntimes of the InferenceService's namespace and the
ClusterServingRuntimes it has cached. A spec the runtimes cannot serve raises
:class:`RuntimeSelectionError` carrying the model-status reason and message upstream writes
(``modelStatus.transitionStatus: InvalidSpec`` + ``lastFailureInfo``).

Deliberate difference: after auto-selection upstream looks the chosen name up again
(namespace first), so a ClusterServingRuntime chosen while a same-named (disabled or
non-matching) ServingRuntime exists in the namespace is reported as that ServingRuntime and
takes its annotations. Here the chosen runtime is reported as what it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from apis.serving.constants import (
    MESSAGE_NO_SUPPORTING_RUNTIME,
    MESSAGE_RUNTIME_DISABLED,
    MESSAGE_RUNTIME_FORMAT_UNSUPPORTED,
    MESSAGE_RUNTIME_NOT_RECOGNIZED,
    MESSAGE_RUNTIME_PROTOCOL_UNSUPPORTED,
    SERVER_TYPE_ANNOTATION,
)
from apis.serving.v1alpha1.servingruntime_types import (
    ClusterServingRuntime,
    ServingRuntime,
    ServingRuntimeSpec,
)

from .inference_service_defaults import RUNTIME_NAME_SERVER_TYPES
from .inference_service_status import FailureReason
from .predictor_model import (
    PROTOCOL_V1,
    PROTOCOL_V2,
    ModelSpec,
    SupportedRuntime,
    get_supporting_runtimes,
    protocol_version_priority,
    protocol_version_string,
    runtime_supports_model,
)

__all__ = [
    "RUNTIME_NAME_SERVER_TYPES",
    "RuntimeSelectionError",
    "SelectedRuntime",
    "get_serving_runtime",
    "resolve_protocol_version",
    "select_runtime",
    "server_type_for_defaults",
    "server_type_for_image",
]

_SERVER_PROTOCOL_DEFAULTS = {
    "mlserver": PROTOCOL_V2,
    "tritonserver": PROTOCOL_V2,
    "torchserve": PROTOCOL_V1,
}
"""``SetMlServerDefaults``/``SetTritonDefaults``/``SetTorchServeDefaults``: the protocol
each sets when the predictor has none."""

INVALID_SPEC = "InvalidSpec"
"""``v1beta1.InvalidSpec``: the model transition status of every selection failure."""


class RuntimeSelectionError(ValueError):
    """No usable runtime. ``reason`` and ``message`` are the ``lastFailureInfo`` upstream
    writes (``transition_status`` InvalidSpec); ``str(error)`` is upstream's error text."""

    transition_status = INVALID_SPEC

    def __init__(self, reason: FailureReason, message: str, error: str) -> None:
        super().__init__(error)
        self.reason: FailureReason = reason
        self.message = message

    # the attribute names of ``controllers.inferenceservice.components.ComponentError``, so a
    # reconcile handles both the same way
    @property
    def failure_reason(self) -> str:
        return self.reason

    @property
    def failure_message(self) -> str:
        return self.message

    @property
    def condition_reason(self) -> None:
        return None


@dataclass(frozen=True)
class SelectedRuntime:
    """The runtime a predictor runs on."""

    name: str
    """``status.servingRuntimeName`` or ``status.clusterServingRuntimeName``."""
    cluster_scoped: bool
    """True: a ClusterServingRuntime (``status.clusterServingRuntimeName``)."""
    spec: ServingRuntimeSpec
    annotations: Mapping[str, str] = field(default_factory=dict)
    """The runtime object's ``metadata.annotations`` (server type, ...)."""
    protocol_version: str = PROTOCOL_V1
    """The predictor's protocol once resolved: its own ``protocolVersion``, else the server
    type's default (mlserver/tritonserver v2, torchserve v1), else the runtime's lowest
    ``protocolVersions`` entry (``""`` when the runtime lists none, as upstream)."""
    server_type: str = ""
    """:func:`server_type_for_defaults` of this runtime (``""`` when unknown)."""


def get_serving_runtime(
    name: str,
    namespace_runtimes: Iterable[ServingRuntime],
    cluster_runtimes: Iterable[ClusterServingRuntime],
) -> SupportedRuntime | None:
    """``GetServingRuntime``: the ServingRuntime ``name`` of the namespace, else the
    ClusterServingRuntime ``name``, else None. The spec may be disabled or unsuitable."""
    for cluster, runtimes in (
        (False, namespace_runtimes),
        (True, cluster_runtimes),
    ):
        for rt in runtimes:
            meta = rt.metadata
            if meta is not None and meta.name == name:
                return SupportedRuntime(
                    name=name,
                    spec=rt.spec or ServingRuntimeSpec(containers=[]),
                    cluster_scoped=cluster,
                    annotations=dict(meta.annotations or {}),
                )
    return None


def server_type_for_defaults(runtime_name: str | None, annotations: Mapping[str, str]) -> str:
    """``SetRuntimeDefaults``' server type: the ``serving.kserve.io/server-type`` annotation
    when present (even empty), else the built-in runtime name's."""
    if SERVER_TYPE_ANNOTATION in annotations:
        return annotations[SERVER_TYPE_ANNOTATION]
    return RUNTIME_NAME_SERVER_TYPES.get(runtime_name or "", "")


def server_type_for_image(runtime_name: str | None, annotations: Mapping[str, str]) -> str:
    """``UpdateImageTag``'s server type: the annotation when non-empty, else the built-in
    runtime name's."""
    value = annotations.get(SERVER_TYPE_ANNOTATION, "")
    if value:
        return value
    return RUNTIME_NAME_SERVER_TYPES.get(runtime_name or "", "")


def resolve_protocol_version(
    protocol_version: str | None, server_type: str, spec: ServingRuntimeSpec
) -> str:
    """The predictor's protocol after ``SetRuntimeDefaults`` and reconcileModel's default:
    ``protocol_version`` if set, else the server type's default, else the runtime's lowest
    protocol (``GetProtocolVersionPriority``; ``""`` for a runtime without protocols)."""
    if protocol_version is not None:
        return protocol_version
    if server_type in _SERVER_PROTOCOL_DEFAULTS:
        return _SERVER_PROTOCOL_DEFAULTS[server_type]
    return protocol_version_string(protocol_version_priority(spec.protocol_versions))


def _selected(rt: SupportedRuntime, model: ModelSpec) -> SelectedRuntime:
    server_type = server_type_for_defaults(rt.name, rt.annotations)
    return SelectedRuntime(
        name=rt.name,
        cluster_scoped=rt.cluster_scoped,
        spec=rt.spec,
        annotations=dict(rt.annotations),
        protocol_version=resolve_protocol_version(model.protocol_version, server_type, rt.spec),
        server_type=server_type,
    )


def select_runtime(
    model: ModelSpec,
    namespace_runtimes: Iterable[ServingRuntime],
    cluster_runtimes: Iterable[ClusterServingRuntime],
    *,
    multi_node: bool = False,
) -> SelectedRuntime:
    """The runtime for ``model`` (§2.6), or :class:`RuntimeSelectionError`.

    Explicit ``model.runtime``: that ServingRuntime of the namespace, else that
    ClusterServingRuntime; not found -> RuntimeNotRecognized; disabled -> RuntimeDisabled;
    the predictor's ``protocolVersion`` (when set) not supported, or its format not listed
    (autoSelect irrelevant) -> NoSupportingRuntime. Otherwise the first of
    :func:`~apis.serving.v1beta1.predictor_model.get_supporting_runtimes` (single-model
    runtimes; with a ``workerSpec`` exactly when ``multi_node``), none -> NoSupportingRuntime.
    """
    name = model.runtime
    if name is not None:
        rt = get_serving_runtime(name, namespace_runtimes, cluster_runtimes)
        if rt is None:
            raise RuntimeSelectionError(
                "RuntimeNotRecognized",
                MESSAGE_RUNTIME_NOT_RECOGNIZED,
                f"No ServingRuntimes or ClusterServingRuntimes with the name: {name}",
            )
        if rt.spec.is_disabled():
            raise RuntimeSelectionError(
                "RuntimeDisabled",
                MESSAGE_RUNTIME_DISABLED,
                f"specified runtime {name} is disabled",
            )
        if model.protocol_version is not None and not rt.spec.is_protocol_version_supported(
            model.protocol_version
        ):
            raise RuntimeSelectionError(
                "NoSupportingRuntime",
                MESSAGE_RUNTIME_PROTOCOL_UNSUPPORTED,
                f"specified runtime {name} does not support specified protocol version",
            )
        if not runtime_supports_model(model, rt.spec):
            raise RuntimeSelectionError(
                "NoSupportingRuntime",
                MESSAGE_RUNTIME_FORMAT_UNSUPPORTED,
                f"specified runtime {name} does not support specified framework/version",
            )
        return _selected(rt, model)
    runtimes = get_supporting_runtimes(
        model, namespace_runtimes, cluster_runtimes, multi_node=multi_node
    )
    if not runtimes:
        fmt = model.model_format
        shown = (
            f"{{{fmt.name} {fmt.version if fmt.version is not None else '<nil>'}}}"
            if fmt is not None
            else "{ <nil>}"
        )
        raise RuntimeSelectionError(
            "NoSupportingRuntime",
            MESSAGE_NO_SUPPORTING_RUNTIME,
            f"no runtime found to support predictor with model type: {shown}",
        )
    return _selected(runtimes[0], model)
