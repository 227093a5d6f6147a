"""Per-component workload builders (upstream ``pkg/controller/v1beta1/inferenceservice/
components``): pure functions from an InferenceService, the typed ``inferenceservice-config``
and (predictor) the selected ServingRuntime to a :class:`ComponentWorkload` the Standard-mode
object builders (:mod:`controllers.reconcilers.raw`) or a Knative Service take.

Runtime selection itself lives beside the types
(:func:`apis.serving.v1beta1.predictor_runtime_selection.select_runtime`). A reconcile::

    rt = select_runtime(model, namespace_runtimes, cluster_runtimes,
                        multi_node=predictor.worker_spec is not None)   # RuntimeSelectionError
    pred = build_predictor(isvc, config, rt, mode, storage_containers=cscs,
                           credentials=inject, ready_canaries=ready)    # ComponentError
    for canary in isvc.spec.canary or []:                               # Standard mode
        c = canary_inference_service(isvc, canary)
        c_rt = select_runtime(c.spec.predictor.model, ..., multi_node=False)
        build_canary_predictor(isvc, canary, config, c_rt, mode, ...)
    build_transformer(isvc, config, mode, isvc_labels_override=pred.isvc_labels)
    build_explainer(isvc, config, mode, isvc_labels_override=pred.isvc_labels)

(``select_runtime`` only for a ``predictor.model``; ``rt=None`` for custom containers.)"""

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
