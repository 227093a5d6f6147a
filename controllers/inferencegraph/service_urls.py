"""``serviceName`` steps resolved to the InferenceService's address (upstream ``controller.go``'s
loop over the steps, ``inferenceservice/utils`` ``GetPredictorEndpoint`` and
``GetModelName``).

A step naming an InferenceService gets ``serviceUrl = status.address.url + path`` (unless the
user set ``serviceUrl``), where the path is ``/v1/models/<model>:predict`` or
``/v2/models/<model>/infer`` by protocol: the transformer's when there is one, else the
predictor's (for ``model.runtime``, the first of v1/v2 among the runtime's
``protocolVersions``), and none for a multi-model predictor. The model name comes from
``--model_name`` in the transformer's or predictor's args, ``MLSERVER_MODEL_NAME``, else the
InferenceService's name.

Pure: the InferenceServices and the runtimes' protocol lists are looked up by the caller and
passed in. Upstream stops at the first unresolvable step with an error (and retries with
backoff); here every problem is reported (:class:`StepProblem`), in the order of the sorted
node names and then the steps, so the controller can write one condition naming them all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from apis.serving.constants import predict_path
from apis.serving.v1alpha1.inference_graph import InferenceGraphSpec
from apis.serving.v1beta1.inference_service import InferenceService
from apis.serving.v1beta1.predictor_implementation import (
    PROTOCOL_ENV,
    PROTOCOL_V1,
    PROTOCOL_V2,
    get_predictor_implementation,
    is_mms_predictor,
)
from apis.serving.v1beta1.predictor_model import ModelSpec

__all__ = [
    "ARGUMENT_MODEL_NAME",
    "MLSERVER_MODEL_NAME_ENV",
    "REASON_ISVC_NOT_FOUND",
    "REASON_ISVC_NOT_READY",
    "REASON_RUNTIME_NOT_FOUND",
    "REASON_RUNTIME_PROTOCOL",
    "EndpointError",
    "StepProblem",
    "get_model_name",
    "get_predictor_endpoint",
    "model_runtime_name",
    "referenced_service_names",
    "resolve_service_urls",
]

ARGUMENT_MODEL_NAME = "--model_name"
"""``constants.ArgumentModelName``."""
MLSERVER_MODEL_NAME_ENV = "MLSERVER_MODEL_NAME"
"""``constants.MLServerModelNameEnv``."""

REASON_ISVC_NOT_FOUND = "InferenceServiceNotFound"
REASON_ISVC_NOT_READY = "InferenceServiceNotReady"
REASON_RUNTIME_NOT_FOUND = "ServingRuntimeNotFound"
REASON_RUNTIME_PROTOCOL = "ServingRuntimeProtocolUnsupported"


class EndpointError(ValueError):
    """An InferenceService whose endpoint cannot be used yet (``reason`` is one of the
    ``REASON_*`` constants)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class StepProblem:
    """A ``serviceName`` step that could not be resolved."""

    node: str
    step: int
    service_name: str
    reason: str
    message: str


def _model_name_from_args(args: Sequence[str] | None) -> str:
    """``getModelNameFromArgs``: ``--model_name=<m>`` or ``--model_name <m>`` (the last
    occurrence wins; a following value starting with ``--`` is not a value)."""
    args = list(args or [])
    name = ""
    for i, arg in enumerate(args):
        if arg.startswith(ARGUMENT_MODEL_NAME):
            parts = arg.split("=")
            if len(parts) == 2:
                name = parts[1]
            if i + 1 < len(args) and not args[i + 1].startswith("--"):
                name = args[i + 1]
    return name


def get_model_name(isvc: InferenceService) -> str:
    """``GetModelName``: from the transformer's first container args, else the predictor
    ``model``'s ``MLSERVER_MODEL_NAME`` env or args, else the first predictor container's
    args; else the InferenceService's name."""
    assert isvc.metadata is not None and isvc.spec is not None
    spec = isvc.spec
    if spec.transformer is not None and spec.transformer.containers:
        name = _model_name_from_args(spec.transformer.containers[0].args)
        if name:
            return name
    predictor = spec.predictor
    if predictor.model is not None:
        for env in predictor.model.env or []:
            if env.name == MLSERVER_MODEL_NAME_ENV:
                return env.value or ""
        name = _model_name_from_args(predictor.model.args)
        if name:
            return name
    elif predictor.containers:
        name = _model_name_from_args(predictor.containers[0].args)
        if name:
            return name
    return isvc.metadata.name or ""


def _transformer_protocol(isvc: InferenceService) -> str:
    """``CustomTransformer.GetProtocol``: the ``PROTOCOL`` env of the first container, else
    v1."""
    assert isvc.spec is not None and isvc.spec.transformer is not None
    containers = isvc.spec.transformer.containers or []
    for env in (containers[0].env or []) if containers else []:
        if env.name == PROTOCOL_ENV:
            return env.value or ""
    return PROTOCOL_V1


def model_runtime_name(isvc: InferenceService) -> str | None:
    """The runtime named by ``predictor.model.runtime`` when the endpoint's protocol depends
    on it (no transformer, not multi-model), else None: the caller looks it up."""
    assert isvc.spec is not None
    predictor = isvc.spec.predictor
    if isvc.spec.transformer is not None or is_mms_predictor(predictor):
        return None
    impl = get_predictor_implementation(predictor)
    if impl is None or not isinstance(impl.spec, ModelSpec):
        return None
    return impl.spec.runtime


def get_predictor_endpoint(
    isvc: InferenceService, runtime_protocols: Mapping[str, Sequence[str] | None] | None = None
) -> str:
    """``GetPredictorEndpoint``: ``status.address.url`` plus the predict path. Raises
    :class:`EndpointError` while the InferenceService has no address, when its runtime is
    unknown (``runtime_protocols[name]`` is None or absent) or supports neither v1 nor v2."""
    assert isvc.metadata is not None and isvc.spec is not None
    name = isvc.metadata.name or ""
    status = isvc.status
    address = status.address.url if status is not None and status.address is not None else None
    if not address:
        raise EndpointError(REASON_ISVC_NOT_READY, f"service {name} is not ready")
    model = get_model_name(isvc)
    protocol: str | None = None
    if isvc.spec.transformer is not None:
        protocol = _transformer_protocol(isvc)
    elif not is_mms_predictor(isvc.spec.predictor):
        impl = get_predictor_implementation(isvc.spec.predictor)
        protocol = impl.protocol() if impl is not None else PROTOCOL_V1
        runtime = model_runtime_name(isvc)
        if runtime is not None:
            versions = (runtime_protocols or {}).get(runtime)
            if versions is None:
                raise EndpointError(
                    REASON_RUNTIME_NOT_FOUND,
                    f"No ServingRuntimes or ClusterServingRuntimes with the name: {runtime}",
                )
            if versions:
                chosen = next((v for v in versions if v in (PROTOCOL_V1, PROTOCOL_V2)), None)
                if chosen is None:
                    raise EndpointError(
                        REASON_RUNTIME_PROTOCOL,
                        "the runtime does not support a protocol compatible with Inference "
                        "Graphs",
                    )
                protocol = chosen
    path = predict_path(model, protocol) if protocol in (PROTOCOL_V1, PROTOCOL_V2) else ""
    return address + path


def referenced_service_names(spec: InferenceGraphSpec | None) -> list[str]:
    """The InferenceServices the graph's ``serviceName`` steps name, sorted, unique (the
    controller's field index on graphs)."""
    names: set[str] = set()
    for router in (spec.nodes if spec is not None else {}).values():
        for step in router.steps or []:
            if step.service_name:
                names.add(step.service_name)
    return sorted(names)


def resolve_service_urls(
    spec: InferenceGraphSpec,
    isvcs: Mapping[str, InferenceService],
    runtime_protocols: Mapping[str, Sequence[str] | None] | None = None,
) -> tuple[InferenceGraphSpec, list[StepProblem]]:
    """A copy of ``spec`` where every ``serviceName`` step without ``serviceUrl`` has it
    filled from ``isvcs`` (name -> InferenceService; absent = not found), and the problems
    with the steps that could not be resolved."""
    out = spec.model_copy(deep=True)
    problems: list[StepProblem] = []
    for node in sorted(out.nodes):
        for i, step in enumerate(out.nodes[node].steps or []):
            name = step.service_name
            if not name:
                continue
            isvc = isvcs.get(name)
            if isvc is None:
                # upstream checks existence even when serviceUrl is set
                problems.append(StepProblem(node, i, name, REASON_ISVC_NOT_FOUND,
                                            f'InferenceService "{name}" not found'))
                continue
            if step.service_url:
                continue
            try:
                step.service_url = get_predictor_endpoint(isvc, runtime_protocols)
            except EndpointError as e:
                problems.append(StepProblem(node, i, name, e.reason, str(e)))
    return out, problems
