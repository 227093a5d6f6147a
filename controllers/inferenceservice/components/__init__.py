"""Per-component workload builders (upstream ``pkg/controller/v1beta1/inferenceservice/
components``): pure functions from an InferenceService, the typed ``inferenceservice-config``
and (predictor) the selected ServingRuntime to a :class:`ComponentWorkload` the Standard-mode
object builders (:mod:`controllers.reconcilers.raw`) or a Knative Service take.

Runtime selection itself lives beside the types
(:func:`apis.serving.v1beta1.predictor_runtime_selection.select_runtime`)."""

from .canary import (
    adjust_stable_min_replicas,
    canary_inference_service,
    canary_predictor_spec,
    canary_ready_from_status,
    canary_replica_count,
)
from .component import ComponentError, ComponentPending, ComponentWorkload
from .explainer import build_explainer
from .predictor import build_canary_predictor, build_predictor
from .storage import CredentialContext, CredentialInjector
from .transformer import build_transformer

__all__ = [
    "ComponentError",
    "ComponentPending",
    "ComponentWorkload",
    "CredentialContext",
    "CredentialInjector",
    "adjust_stable_min_replicas",
    "build_canary_predictor",
    "build_explainer",
    "build_predictor",
    "build_transformer",
    "canary_inference_service",
    "canary_predictor_spec",
    "canary_ready_from_status",
    "canary_replica_count",
]
