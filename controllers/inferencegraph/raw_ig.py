"""Standard mode: the router's Deployment, Service and autoscaler (upstream ``raw_ig.go``:
``constructForRawDeployment``, ``handleInferenceGraphRawDeployment``; the objects come from
the InferenceService's shared builders via
:func:`controllers.reconcilers.raw.build_raw_kube_objects`, exactly as upstream feeds its
``RawKubeReconciler``). No Ingress or HTTPRoute: upstream creates none for graphs.

Pure: owner references are the reconciler's business.
"""

from __future__ import annotations

from lightkube.models import meta_v1

from apis.serving.constants import INFERENCE_GRAPH_LABEL
from apis.serving.v1alpha1.inference_graph import InferenceGraph, InferenceGraphSpec
from apis.serving.v1beta1.component import ComponentExtensionSpec
from apis.serving.v1beta1.configmap import InferenceServiceConfig
from controllers.reconcilers.ingress.domain import generate_domain_name
from controllers.reconcilers.raw import RawKubeObjects, build_raw_kube_objects

from .router import create_inference_graph_pod_spec

__all__ = ["build_raw_objects", "construct_for_raw_deployment", "raw_url"]


def construct_for_raw_deployment(
    graph: InferenceGraph,
) -> tuple[meta_v1.ObjectMeta, ComponentExtensionSpec]:
    """``constructForRawDeployment``: the component meta (graph name and namespace, its labels
    plus ``serving.kserve.io/inferencegraph: <graph>``, its annotations) and the extension
    (min/max replicas, scale target and metric)."""
    assert graph.metadata is not None
    meta = graph.metadata
    labels = dict(meta.labels or {})
    labels[INFERENCE_GRAPH_LABEL] = meta.name or ""
    spec = graph.spec or InferenceGraphSpec(nodes={})
    ext = ComponentExtensionSpec(
        minReplicas=spec.min_replicas,
        maxReplicas=spec.max_replicas,
        scaleTarget=spec.scale_target,
        scaleMetric=spec.scale_metric,
    )
    return (
        meta_v1.ObjectMeta(
            name=meta.name,
            namespace=meta.namespace,
            labels=labels,
            annotations=dict(meta.annotations or {}),
        ),
        ext,
    )


def build_raw_objects(
    graph: InferenceGraph, resolved: InferenceGraphSpec, config: InferenceServiceConfig
) -> RawKubeObjects:
    """The router's Deployment, Service and HPA/ScaledObject for ``graph``, whose spec with
    ``serviceUrl`` resolved is ``resolved``. Raises the shared builders' errors
    (``UnknownAutoscalerClassError`` for a bad ``serving.kserve.io/autoscalerClass``)."""
    meta, ext = construct_for_raw_deployment(graph)
    pod_spec = create_inference_graph_pod_spec(graph, config.router, resolved)
    return build_raw_kube_objects(meta, None, ext, pod_spec, None, config)


def raw_url(graph: InferenceGraph, config: InferenceServiceConfig) -> str:
    """``createRawURL``: ``http://`` + the domain template rendered for the graph
    (``<graph>-<namespace>.<ingressDomain>`` by default). Raises ``IngressError`` for a
    template that does not give a valid host."""
    assert graph.metadata is not None
    meta, _ = construct_for_raw_deployment(graph)
    return "http://" + generate_domain_name(meta.name or "", meta, config.ingress)
