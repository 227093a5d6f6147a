"""serving.kserve.io/v1beta1: InferenceService and its component specs.

``from apis.serving.v1beta1 import InferenceService``; a manifest dict validates with
``InferenceService.model_validate(obj)`` and goes back with ``isvc.to_kube()``.
"""

from apis.knative import Addressable, Condition, TrafficTarget
from apis.serving import GROUP

from .component import (
    AutoScalingSpec,
    Batcher,
    ComponentExtensionSpec,
    LoggerSpec,
    LoggerStorageSpec,
    MetricsSpec,
    MetricTarget,
    StorageSpec,
)
from .container import ContainerFields
from .explainer import ARTExplainerSpec, ExplainerExtensionSpec, ExplainerSpec
from .inference_service import (
    VERSION,
    CanarySpec,
    InferenceService,
    InferenceServiceSpec,
)
from .inference_service_status import (
    CanaryStatus,
    ComponentStatusSpec,
    FailureInfo,
    InferenceServiceStatus,
    ModelCopies,
    ModelRevisionStates,
    ModelStatus,
)
from .podspec import PodSpec
from .predictor import FRAMEWORK_FIELDS, PredictorSpec, StorageUri, WorkerSpec
from .predictor_extension import ConfidentialSpec, ModelStorageSpec, PredictorExtensionSpec
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
from .predictor_model import ModelFormat, ModelSpec
from .transformer import TransformerSpec

__all__ = [
    "FRAMEWORK_FIELDS",
    "GROUP",
    "VERSION",
    "ARTExplainerSpec",
    "Addressable",
    "AutoScalingSpec",
    "Batcher",
    "CanarySpec",
    "CanaryStatus",
    "ComponentExtensionSpec",
    "ComponentStatusSpec",
    "Condition",
    "ConfidentialSpec",
    "ContainerFields",
    "ExplainerExtensionSpec",
    "ExplainerSpec",
    "FailureInfo",
    "HuggingFaceRuntimeSpec",
    "InferenceService",
    "InferenceServiceSpec",
    "InferenceServiceStatus",
    "LightGBMSpec",
    "LoggerSpec",
    "LoggerStorageSpec",
    "MetricTarget",
    "MetricsSpec",
    "ModelCopies",
    "ModelFormat",
    "ModelRevisionStates",
    "ModelSpec",
    "ModelStatus",
    "ModelStorageSpec",
    "ONNXRuntimeSpec",
    "PMMLSpec",
    "PaddleServerSpec",
    "PodSpec",
    "PredictorExtensionSpec",
    "PredictorSpec",
    "SKLearnSpec",
    "StorageSpec",
    "StorageUri",
    "TFServingSpec",
    "TorchServeSpec",
    "TrafficTarget",
    "TransformerSpec",
    "TritonSpec",
    "WorkerSpec",
    "XGBoostSpec",
]
