"""The router container both deployment modes run (upstream ``controller.go`` ``RouterConfig``
/ ``getRouterConfigs``, ``knative_reconciler.go`` ``constructResourceRequirements``,
``raw_ig.go`` ``createInferenceGraphPodSpec``, ``constants.GetRouterReadinessProbe``).

Pure. The ``router`` key of ``inferenceservice-config`` arrives parsed
(:class:`~apis.serving.v1beta1.configmap.RouterConfig`); a missing key or an unparsable
quantity is :class:`RouterConfigError` (upstream fails the reconcile with the same message and
retries forever; the controller turns it into a condition and an event instead).
"""

from __future__ import annotations

from lightkube.models import core_v1

from apis.serving.v1alpha1.inference_graph import InferenceGraph, InferenceGraphSpec
from apis.serving.v1beta1.configmap import RouterConfig
from apis.serving.validation import is_quantity

from .graph_json import graph_json

__all__ = [
    "PROPAGATE_HEADERS_ENV",
    "ROUTER_PORT",
    "ROUTER_READINESS_ENDPOINT",
    "RouterConfigError",
    "check_router_config",
    "create_inference_graph_pod_spec",
    "router_container",
    "router_image_pull_secrets",
    "router_readiness_probe",
    "router_resources",
    "router_security_context",
]

PROPAGATE_HEADERS_ENV = "PROPAGATE_HEADERS"
"""``constants.RouterHeadersPropagateEnvVar``."""
ROUTER_PORT = 8080
"""``constants.RouterPort``."""
ROUTER_READINESS_ENDPOINT = "/readyz"
"""``constants.RouterReadinessEndpoint``."""


class RouterConfigError(ValueError):
    """The ``router`` config cannot build a router container (upstream's message)."""


def check_router_config(router: RouterConfig) -> None:
    """``getRouterConfigs``' check: the four resource fields must parse as quantities (an absent
    ``router`` key leaves them empty, which fails too, as upstream)."""
    for field, value in (
        ("memoryRequest", router.memory_request),
        ("memoryLimit", router.memory_limit),
        ("cpuRequest", router.cpu_request),
        ("cpuLimit", router.cpu_limit),
    ):
        if not is_quantity(value):
            raise RouterConfigError(
                "Failed to parse resource configuration for router: "
                '"quantities must match the regular expression '
                "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'\" "
                f"(inferenceservice-config router.{field} = {value!r})"
            )


def router_readiness_probe() -> core_v1.Probe:
    """``constants.GetRouterReadinessProbe``: GET /readyz on 8080, delay 5, timeout 2,
    period 5, success 1, failure 3."""
    return core_v1.Probe(
        httpGet=core_v1.HTTPGetAction(path=ROUTER_READINESS_ENDPOINT, port=ROUTER_PORT,
                                      scheme="HTTP"),
        initialDelaySeconds=5,
        timeoutSeconds=2,
        periodSeconds=5,
        successThreshold=1,
        failureThreshold=3,
    )


def router_security_context() -> core_v1.SecurityContext:
    """The router's restricted security context (no privilege, non-root, read-only root file
    system, all capabilities dropped)."""
    return core_v1.SecurityContext(
        privileged=False,
        runAsNonRoot=True,
        readOnlyRootFilesystem=True,
        allowPrivilegeEscalation=False,
        capabilities=core_v1.Capabilities(drop=["ALL"]),
    )


def _spec_resources_set(spec: InferenceGraphSpec) -> bool:
    r = spec.resources
    return r is not None and (r.limits is not None or r.requests is not None or bool(r.claims))


def router_resources(
    spec: InferenceGraphSpec, router: RouterConfig
) -> core_v1.ResourceRequirements:
    """``constructResourceRequirements``: the graph's ``resources`` (limits and requests only)
    when set, else the router config's cpu/memory limits and requests."""
    if _spec_resources_set(spec):
        assert spec.resources is not None
        return core_v1.ResourceRequirements(
            limits=dict(spec.resources.limits) if spec.resources.limits is not None else None,
            requests=dict(spec.resources.requests)
            if spec.resources.requests is not None
            else None,
        )
    return core_v1.ResourceRequirements(
        limits={"cpu": router.cpu_limit, "memory": router.memory_limit},
        requests={"cpu": router.cpu_request, "memory": router.memory_request},
    )


def router_image_pull_secrets(router: RouterConfig) -> list[core_v1.LocalObjectReference]:
    """``RouterConfig.GetImagePullSecrets``."""
    return [core_v1.LocalObjectReference(name=s) for s in router.image_pull_secrets or []]


def router_container(
    name: str | None, spec: InferenceGraphSpec, router: RouterConfig
) -> core_v1.Container:
    """The router container: image and pull policy from the config, ``--graph-json <spec>``,
    resources, readiness probe, security context and ``PROPAGATE_HEADERS`` (only when the
    config's ``headers`` has a ``propagate`` key). ``name`` None leaves it unnamed (Knative
    names it)."""
    propagate = (router.headers or {}).get("propagate")
    return core_v1.Container(
        name=name,  # type: ignore[arg-type]  # Knative's container has no name
        image=router.image or None,
        imagePullPolicy=router.image_pull_policy or None,
        args=["--graph-json", graph_json(spec)],
        env=[core_v1.EnvVar(name=PROPAGATE_HEADERS_ENV, value=",".join(propagate))]
        if propagate is not None
        else None,
        resources=router_resources(spec, router),
        readinessProbe=router_readiness_probe(),
        securityContext=router_security_context(),
    )


def create_inference_graph_pod_spec(
    graph: InferenceGraph, router: RouterConfig, spec: InferenceGraphSpec | None = None
) -> core_v1.PodSpec:
    """``createInferenceGraphPodSpec``: one router container named after the graph, the
    graph's affinity, tolerations, node selector, node name and service account, the
    config's image pull secrets, and no API token (the router never calls the API server).
    ``spec`` is the graph's spec with ``serviceUrl`` resolved (default: the graph's own)."""
    assert graph.metadata is not None
    spec = spec if spec is not None else graph.spec
    assert spec is not None
    return core_v1.PodSpec(
        containers=[router_container(graph.metadata.name, spec, router)],
        affinity=spec.affinity,
        automountServiceAccountToken=False,
        tolerations=spec.tolerations,
        imagePullSecrets=router_image_pull_secrets(router) or None,
        nodeSelector=spec.node_selector,
        nodeName=spec.node_name,
        serviceAccountName=spec.service_account_name,
    )
