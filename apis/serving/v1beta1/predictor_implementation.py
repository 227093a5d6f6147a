"""Typed accessors of a predictor (upstream ``predictor.go`` ``GetImplementation(s)``,
``predictor_custom.go``, ``GetStorageUri``/``GetStorageSpec``/``GetProtocol`` of each
implementation, ``GetConfidentialSpecFromPredictor``, the protocol ordering of
``predictor_model.go``/``constants.go`` and ``utils.IsMMSPredictor``).

Pure functions over the Pydantic types; nothing here mutates its input.
"""

from __future__ import annotations

from dataclasses import dataclass

from lightkube.models import core_v1

from apis.serving.constants import INFERENCE_SERVICE_CONTAINER, TRANSFORMER_CONTAINER

from .podspec import PodSpec
from .predictor import FRAMEWORK_FIELDS, PredictorSpec
from .predictor_extension import ConfidentialSpec, ModelStorageSpec, PredictorExtensionSpec
from .predictor_model import (
    PROTOCOL_GRPC_V1,
    PROTOCOL_GRPC_V2,
    PROTOCOL_UNKNOWN,
    PROTOCOL_V1,
    PROTOCOL_V2,
    ModelFormat,
    ModelSpec,
    ProtocolVersion,
    protocol_sort_key,
    protocol_version_int,
    protocol_version_priority,
    protocol_version_string,
    sort_protocols,
)

__all__ = [
    "CUSTOM",
    "IMPLEMENTATION_ORDER",
    "MULTI_MODEL_SERVER_ENV",
    "PROTOCOL_ENV",
    "PROTOCOL_GRPC_V1",
    "PROTOCOL_GRPC_V2",
    "PROTOCOL_UNKNOWN",
    "PROTOCOL_V1",
    "PROTOCOL_V2",
    "STORAGE_URI_ENV",
    "PredictorImplementation",
    "ProtocolVersion",
    "get_confidential_spec",
    "get_model_format",
    "get_predictor_implementation",
    "get_predictor_implementations",
    "get_predictor_protocol",
    "get_predictor_storage_spec",
    "get_predictor_storage_uri",
    "is_mms_predictor",
    "protocol_sort_key",
    "protocol_version_int",
    "protocol_version_priority",
    "protocol_version_string",
    "sort_protocols",
]

STORAGE_URI_ENV = "STORAGE_URI"
"""``constants.CustomSpecStorageUriEnvVarKey``: a custom container's model location."""
PROTOCOL_ENV = "PROTOCOL"
"""``constants.CustomSpecProtocolEnvVarKey``: a custom container's protocol."""
MULTI_MODEL_SERVER_ENV = "MULTI_MODEL_SERVER"
"""``constants.CustomSpecMultiModelServerEnvVarKey``: a custom container serves many models."""

CUSTOM = "custom"
"""``PredictorImplementation.kind`` of a custom-container predictor."""

IMPLEMENTATION_ORDER: tuple[str, ...] = (
    "xgboost",
    "pytorch",
    "triton",
    "sklearn",
    "tensorflow",
    "onnx",
    "pmml",
    "lightgbm",
    "paddle",
    "huggingface",
    "model",
)
"""``PredictorSpec.GetImplementations`` order (field names; also the JSON names)."""


def _env_value(container: core_v1.Container, name: str) -> str | None:
    for env in container.env or []:
        if env.name == name:
            return env.value or ""
    return None


@dataclass(frozen=True)
class PredictorImplementation:
    """One implementation of a predictor (upstream ``ComponentImplementation``).

    ``kind`` is the field name of the framework or ``model`` (``spec`` is that spec), or
    :data:`CUSTOM` for custom containers (``pod_spec`` holds the predictor's pod fields)."""

    kind: str
    spec: PredictorExtensionSpec | None = None
    pod_spec: PodSpec | None = None

    @property
    def is_custom(self) -> bool:
        return self.kind == CUSTOM

    def storage_uri(self) -> str | None:
        """``GetStorageUri``: the framework/model ``storageUri``; for a custom predictor the
        ``STORAGE_URI`` env of its ``kserve-container`` (None without one)."""
        if self.spec is not None:
            return self.spec.storage_uri
        for container in (self.pod_spec.containers if self.pod_spec else None) or []:
            if container.name == INFERENCE_SERVICE_CONTAINER:
                return _env_value(container, STORAGE_URI_ENV)
        return None

    def storage_spec(self) -> ModelStorageSpec | None:
        """``GetStorageSpec``: ``storage`` of a framework/model (a custom predictor has none)."""
        return self.spec.storage if self.spec is not None else None

    def protocol(self) -> str:
        """``GetProtocol``. Framework/model: ``protocolVersion`` or v1. Custom: the ``PROTOCOL``
        env of a ``transformer-container`` if there is one (else v1), otherwise that of the
        first container (else v1)."""
        if self.spec is not None:
            if self.spec.protocol_version is not None:
                return self.spec.protocol_version
            return PROTOCOL_V1
        containers = (self.pod_spec.containers if self.pod_spec else None) or []
        for container in containers:
            if container.name == TRANSFORMER_CONTAINER:
                value = _env_value(container, PROTOCOL_ENV)
                return PROTOCOL_V1 if value is None else value
        if containers:
            value = _env_value(containers[0], PROTOCOL_ENV)
            if value is not None:
                return value
        return PROTOCOL_V1

    def container(self) -> core_v1.Container | None:
        """``GetContainer`` of a predictor: the inline container of a framework/model; for a
        custom predictor its ``kserve-container`` (None if it has none)."""
        if self.spec is not None:
            return self.spec.container()
        for container in (self.pod_spec.containers if self.pod_spec else None) or []:
            if container.name == INFERENCE_SERVICE_CONTAINER:
                return container
        return None


def get_predictor_implementations(predictor: PredictorSpec) -> list[PredictorImplementation]:
    """``PredictorSpec.GetImplementations``: the frameworks/model that are set, in upstream's
    order, then a custom implementation per container named ``kserve-container`` (or one if
    containers exist and nothing else was found)."""
    impls = [
        PredictorImplementation(kind=name, spec=getattr(predictor, name))
        for name in IMPLEMENTATION_ORDER
        if getattr(predictor, name) is not None
    ]
    containers = predictor.containers or []
    if containers:
        for container in containers:
            if container.name == INFERENCE_SERVICE_CONTAINER:
                impls.append(PredictorImplementation(kind=CUSTOM, pod_spec=predictor))
        if not impls:
            impls.append(PredictorImplementation(kind=CUSTOM, pod_spec=predictor))
    return impls


def get_predictor_implementation(predictor: PredictorSpec) -> PredictorImplementation | None:
    """``PredictorSpec.GetImplementation``: the first implementation (None when there is none;
    upstream indexes an empty list there, validation rejects such a predictor)."""
    impls = get_predictor_implementations(predictor)
    return impls[0] if impls else None


def get_predictor_storage_uri(predictor: PredictorSpec) -> str | None:
    """``GetImplementation().GetStorageUri()``."""
    impl = get_predictor_implementation(predictor)
    return impl.storage_uri() if impl is not None else None


def get_predictor_storage_spec(predictor: PredictorSpec) -> ModelStorageSpec | None:
    """``GetImplementation().GetStorageSpec()``."""
    impl = get_predictor_implementation(predictor)
    return impl.storage_spec() if impl is not None else None


def get_predictor_protocol(predictor: PredictorSpec) -> str:
    """``GetImplementation().GetProtocol()`` (v1 without an implementation)."""
    impl = get_predictor_implementation(predictor)
    return impl.protocol() if impl is not None else PROTOCOL_V1


def get_model_format(predictor: PredictorSpec) -> ModelFormat | None:
    """The model format served: ``model.modelFormat``, or a framework's name (no version) for
    a predictor the defaulting webhook has not converted; None for custom containers."""
    impl = get_predictor_implementation(predictor)
    if impl is None or impl.spec is None:
        return None
    if isinstance(impl.spec, ModelSpec):
        return impl.spec.model_format
    return ModelFormat(name=impl.kind)


def get_confidential_spec(predictor: PredictorSpec) -> ConfidentialSpec | None:
    """``GetConfidentialSpecFromPredictor``: ``confidential`` of the first framework set
    (sklearn, xgboost, tensorflow, pytorch, triton, onnx, huggingface, pmml, lightgbm,
    paddle) or of ``model``."""
    for name in FRAMEWORK_FIELDS:
        spec: PredictorExtensionSpec | None = getattr(predictor, name)
        if spec is not None:
            return spec.confidential
    return None


def is_mms_predictor(predictor: PredictorSpec) -> bool:
    """``utils.IsMMSPredictor``: a custom predictor whose first container has
    ``MULTI_MODEL_SERVER=true``; otherwise a predictor with no storageUri, no ``storage``
    and no ``storageUris`` (never a HuggingFace one, which may load a model id)."""
    containers = predictor.containers or []
    if containers:
        return any(
            env.name == MULTI_MODEL_SERVER_ENV and env.value == "true"
            for env in containers[0].env or []
        )
    impl = get_predictor_implementation(predictor)
    if impl is None:
        return False
    if predictor.huggingface is not None:
        return False
    if predictor.model is not None:
        fmt = predictor.model.model_format
        if (fmt.name if fmt is not None else "") == "huggingface":
            return False
    return impl.storage_uri() is None and impl.storage_spec() is None and not predictor.storage_uris
