"""The Kubernetes Ingress of a Standard-mode InferenceService when Gateway API is off
(upstream ``reconcilers/ingress/kube_ingress_reconciler.go``): one
``networking.k8s.io/v1`` Ingress ``<isvc>`` with a ``Prefix /`` rule on port 80 per host,
``ingressClassName`` from the config, the InferenceService as controller owner.

Rules, in upstream's order:

- transformer: [explainer host -> explainer (with an explainer)], top-level host ->
  transformer, transformer host -> transformer, predictor host -> predictor;
- explainer only: top-level host -> predictor, explainer host -> explainer, predictor host
  -> predictor;
- predictor only: top-level host -> predictor, predictor host -> predictor.

Deliberate differences (Appendix quirk 4; docs/compatibility.md):

- upstream sends the transformer host to the *predictor* Service and renders the explainer
  host from the *transformer* name (two rules for one host, the transformer unreachable by
  its own URL); here each component host goes to its own Service;
- upstream copies every InferenceService annotation, ``kubectl``'s last-applied
  configuration included; here the ``inferenceService`` disallowed list filters them, as for
  HTTPRoutes. The Ingress has no labels, as upstream.
"""

from __future__ import annotations

from typing import NamedTuple

from lightkube.models.meta_v1 import ObjectMeta
from lightkube.models.networking_v1 import (
    HTTPIngressPath,
    HTTPIngressRuleValue,
    IngressBackend,
    IngressRule,
    IngressServiceBackend,
    IngressSpec,
    ServiceBackendPort,
)
from lightkube.resources.core_v1 import Service
from lightkube.resources.networking_v1 import Ingress

from apis.knative import Condition
from apis.serving.constants import COMMON_DEFAULT_HTTP_PORT
from apis.serving.v1beta1.configmap import InferenceServicesConfig, IngressConfig
from apis.serving.v1beta1.inference_service import InferenceService
from runtime.client import set_controller_reference

from .domain import (
    explainer_service_name,
    filter_keys,
    generate_host,
    name_of,
    namespace_of,
    predictor_service_name,
    transformer_service_name,
)
from .status import (
    RoutingStatus,
    component_ready,
    ingress_condition,
    ingress_creation_disabled,
    ready_routing_status,
)

__all__ = ["IngressResult", "create_raw_ingress", "generate_rule", "kube_ingress_routing_status"]



class IngressResult(NamedTuple):
    """The Ingress, or (a component not Ready) none and the ``IngressReady`` False
    condition upstream sets instead."""

    ingress: Ingress | None
    condition: Condition | None = None


def generate_rule(
    host: str, service_name: str, path: str = "/", port: int = COMMON_DEFAULT_HTTP_PORT
) -> IngressRule:
    """``generateRule``: ``host`` -> ``service_name:port`` for paths under ``path``."""
    return IngressRule(
        host=host,
        http=HTTPIngressRuleValue(
            paths=[
                HTTPIngressPath(
                    path=path,
                    pathType="Prefix",
                    backend=IngressBackend(
                        service=IngressServiceBackend(
                            name=service_name, port=ServiceBackendPort(number=port)
                        )
                    ),
                )
            ]
        ),
    )


def _host(name: str, isvc: InferenceService, cfg: IngressConfig, what: str) -> str:
    return generate_host(name, isvc.metadata, cfg, f"failed creating {what} ingress host")


def create_raw_ingress(
    isvc: InferenceService,
    ingress_config: IngressConfig,
    isvc_config: InferenceServicesConfig,
) -> IngressResult:
    """``createRawIngress``: the desired Ingress once the predictor (and the transformer, or
    without one the explainer) is Ready; before that no Ingress and ``IngressReady`` False
    "<Component> ingress not created" (upstream then leaves url and address unset). The
    caller skips this when ingress creation is disabled or the InferenceService is stopped.
    Raises :class:`IngressError` for a host the domain template cannot make."""
    if not component_ready(isvc, "PredictorReady"):
        return IngressResult(None, ingress_condition("False", "Predictor ingress not created"))
    spec = isvc.spec
    assert spec is not None
    name, namespace = name_of(isvc), namespace_of(isvc)
    cfg = ingress_config
    predictor = predictor_service_name(name, spec.predictor.name)
    rules: list[IngressRule] = []
    if spec.transformer is not None:
        if not component_ready(isvc, "TransformerReady"):
            return IngressResult(
                None, ingress_condition("False", "Transformer ingress not created")
            )
        transformer = transformer_service_name(name)
        top = _host(name, isvc, cfg, "top level transformer")
        transformer_host = _host(transformer, isvc, cfg, "transformer")
        if spec.explainer is not None:
            explainer = explainer_service_name(name)
            rules.append(generate_rule(_host(explainer, isvc, cfg, "explainer"), explainer))
        rules.append(generate_rule(top, transformer))
        rules.append(generate_rule(transformer_host, transformer))
    elif spec.explainer is not None:
        if not component_ready(isvc, "ExplainerReady"):
            return IngressResult(None, ingress_condition("False", "Explainer ingress not created"))
        explainer = explainer_service_name(name)
        top = _host(name, isvc, cfg, "top level explainer")
        explainer_host = _host(explainer, isvc, cfg, "explainer")
        rules.append(generate_rule(top, predictor))
        rules.append(generate_rule(explainer_host, explainer))
    else:
        rules.append(generate_rule(_host(name, isvc, cfg, "top level predictor"), predictor))
    rules.append(generate_rule(_host(predictor, isvc, cfg, "predictor"), predictor))

    annotations = filter_keys(
        isvc.metadata.annotations if isvc.metadata is not None else None,
        isvc_config.service_annotation_disallowed_list,
    )
    ingress = Ingress(
        metadata=ObjectMeta(name=name, namespace=namespace, annotations=annotations or None),
        spec=IngressSpec(ingressClassName=cfg.ingress_class_name, rules=rules),
    )
    set_controller_reference(isvc, ingress)
    return IngressResult(ingress)


def kube_ingress_routing_status(
    isvc: InferenceService,
    ingress_config: IngressConfig,
    built: IngressResult | None,
    entry_service: Service | None,
) -> RoutingStatus:
    """The status half of upstream's ``RawIngressReconciler.Reconcile``: ``built`` is what
    :func:`create_raw_ingress` returned (``None`` when creation is disabled/cluster-local and
    nothing was built). A component not Ready leaves url/address as they are with its
    IngressReady False (no requeue: the component's own status change triggers the next
    reconcile); otherwise IngressReady True, url and address. A stopped InferenceService is
    the caller's (Ingress deleted, IngressReady False ``Stopped``)."""
    disabled = ingress_creation_disabled(isvc, ingress_config)
    if not disabled and built is not None and built.condition is not None:
        return RoutingStatus(built.condition)
    return ready_routing_status(isvc, ingress_config, entry_service)
