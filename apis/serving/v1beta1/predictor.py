"""PredictorSpec (upstream ``predictor.go``): exactly one framework, ``model`` or custom
containers, plus PodSpec overrides and the component extension."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from apis.serving.constants import DEFAULT_MOUNT_PATH
from runtime.resource import Default, KubeModel, ListType, MaxLength, MinItems, MinLength, Pattern

from .component import ComponentExtensionSpec
from .podspec import PodSpec
from .predictor_frameworks import (
    HuggingFaceRuntimeSpec,
    LightGBMSpec,
    ONNXRuntimeSpec,
    PaddleServerSpec,
    PMMLSpec,
    SKLearnSpec,
    TFServingSpec,
    TorchServeSpec,
    TritonSpec,
    XGBoostSpec,
)
from .predictor_model import ModelSpec


class StorageUri(KubeModel):
    """One model artifact location and where to mount it."""

    uri: Annotated[str, MinLength(1)] = Field(alias="uri")
    """URI of the model artifacts."""
    mount_path: Annotated[
        str | None, Default(DEFAULT_MOUNT_PATH), Pattern("^/.*"), MaxLength(255)
    ] = Field(None, alias="mountPath")
    """Path where the model will be mounted inside the container; defaults to /mnt/models."""


class WorkerSpec(PodSpec):
    """Worker pods for multi-node/multi-GPU serving."""

    pipeline_parallel_size: int | None = Field(None, alias="pipelineParallelSize")
    """Number of parallel workers; also the number of replicas in the worker set, each
    worker set being a scaling unit."""
    tensor_parallel_size: int | None = Field(None, alias="tensorParallelSize")
    """Number of GPUs to be used per node (degree of tensor parallelism)."""


StorageUris = Annotated[list[StorageUri] | None, ListType("atomic"), MinItems(1)]


class PredictorSpec(PodSpec, ComponentExtensionSpec):
    """The configuration for a predictor. The framework fields follow a "1-of" semantic:
    users must specify exactly one of them, ``model``, or custom ``containers``."""

    name: Annotated[str | None, Pattern("^[a-z]([-a-z0-9]*[a-z0-9])?$")] = Field(None, alias="name")
    """Optionally identifies this predictor variant: the Deployment and Service are then named
    {isvc}-{name}-predictor. Required in a canary entry."""
    sklearn: SKLearnSpec | None = Field(None, alias="sklearn")
    """Spec for SKLearn model server."""
    xgboost: XGBoostSpec | None = Field(None, alias="xgboost")
    """Spec for XGBoost model server."""
    tensorflow: TFServingSpec | None = Field(None, alias="tensorflow")
    """Spec for TFServing (https://github.com/tensorflow/serving)."""
    pytorch: TorchServeSpec | None = Field(None, alias="pytorch")
    """Spec for TorchServe (https://pytorch.org/serve)."""
    triton: TritonSpec | None = Field(None, alias="triton")
    """Spec for Triton Inference Server (https://github.com/triton-inference-server/server)."""
    onnx: ONNXRuntimeSpec | None = Field(None, alias="onnx")
    """Spec for ONNX runtime (https://github.com/microsoft/onnxruntime)."""
    huggingface: HuggingFaceRuntimeSpec | None = Field(None, alias="huggingface")
    """Spec for HuggingFace runtime (https://github.com/huggingface)."""
    pmml: PMMLSpec | None = Field(None, alias="pmml")
    """Spec for PMML (http://dmg.org/pmml/v4-1/GeneralStructure.html)."""
    lightgbm: LightGBMSpec | None = Field(None, alias="lightgbm")
    """Spec for LightGBM model server."""
    paddle: PaddleServerSpec | None = Field(None, alias="paddle")
    """Spec for Paddle model server (https://github.com/PaddlePaddle/Serving)."""
    model: ModelSpec | None = Field(None, alias="model")
    """Model spec for any arbitrary framework."""
    storage_uris: StorageUris = Field(None, alias="storageUris")
    """Spec for multiple storage uris."""
    storage_container_name: str | None = Field(None, alias="storageContainerName")
    """Name of the ClusterStorageContainer used to download model artifacts, instead of
    matching one by the storage URI scheme."""
    worker_spec: WorkerSpec | None = Field(None, alias="workerSpec")
    """WorkerSpec for enabling multi-node/multi-gpu."""

    def frameworks(self) -> dict[str, object]:
        """The implementations that are set (``sklearn``, ..., ``model``), by JSON name."""
        out: dict[str, object] = {}
        for key in FRAMEWORK_FIELDS:
            value = getattr(self, key)
            if value is not None:
                out[PredictorSpec.model_fields[key].alias or key] = value
        return out


FRAMEWORK_FIELDS = (
    "sklearn",
    "xgboost",
    "tensorflow",
    "pytorch",
    "triton",
    "onnx",
    "huggingface",
    "pmml",
    "lightgbm",
    "paddle",
    "model",
)
