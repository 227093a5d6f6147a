"""The Standard-mode Deployment(s) of a component (upstream
``reconcilers/deployment/deployment_reconciler.go``: ``createRawDeployment`` and helpers).

Generic over "component meta + extension + pod spec", so the InferenceGraph router uses the
same builder. Pure: inputs are copied, never modified (upstream mutates the pod spec and the
component's label map in place; see :func:`with_raw_app_label` for the consequence on the
other objects).

What we set and why it matters for compare-then-apply:

- pod and container fields that the API server would default identically anyway
  (``dnsPolicy``, ``restartPolicy``, ``terminationGracePeriodSeconds``, ``schedulerName``,
  ``terminationMessagePath``/``Policy``, ``revisionHistoryLimit``, ``progressDeadlineSeconds``,
  the default strategy) are set because upstream's Go structs send them; harmless.
- ``imagePullPolicy: IfNotPresent`` is *not* what the server would pick for ``:latest``
  images (``Always``), so it must be set, as upstream does.
- ``replicas`` is set only for autoscaler class ``none`` (and on the multi-node worker), so
  server-side apply never owns it when an HPA or KEDA scales the Deployment. Upstream
  achieves the same by leaving it out of its patch.
- GPU quantities are written in Go's canonical form (``resource.MustParse(x).String()``),
  which is also what the API server stores.
"""

from __future__ import annotations

from collections.abc import Sequence

from lightkube.models import apps_v1, core_v1, meta_v1
from lightkube.resources.apps_v1 import Deployment

from apis.serving.constants import (
    APP_LABEL,
    AUTOSCALER_CLASS_ANNOTATION,
    DEFAULT_GPU_RESOURCE_TYPES,
    INFERENCE_SERVICE_CONTAINER,
    TRANSFORMER_CONTAINER,
    WORKER_CONTAINER,
    AutoscalerClass,
    raw_service_label,
)
from apis.serving.v1beta1.component import ComponentExtensionSpec
from apis.serving.v1beta1.configmap import DeployConfig
from apis.serving.validation import canonical_quantity, gpu_resource_types_with_annotation
from runtime.quantity import parse_quantity

from .multinode import (
    RAY_NODE_COUNT_ENV,
    REQUEST_GPU_COUNT_ENV,
    get_raw_worker_service_label,
    string_to_int32,
)
from .utils import deep_copy, get_env_var_value, object_meta

__all__ = [
    "DEFAULT_PROGRESS_DEADLINE_SECONDS",
    "DEFAULT_READINESS_PORT",
    "DEFAULT_REVISION_HISTORY_LIMIT",
    "DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS",
    "add_gpu_resource_to_deployment",
    "apply_rollout_strategy_from_configmap",
    "create_raw_default_deployment",
    "create_raw_deployment",
    "create_raw_worker_deployment",
    "set_default_deployment_spec",
    "set_default_pod_spec",
    "with_raw_app_label",
]

DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS = 30
"""``corev1.DefaultTerminationGracePeriodSeconds``."""
DEFAULT_READINESS_PORT = 8080
"""Port of the default TCP readiness probe when the container declares none."""
DEFAULT_REVISION_HISTORY_LIMIT = 10
DEFAULT_PROGRESS_DEADLINE_SECONDS = 600
_DEFAULT_MAX_SURGE = "25%"
_DEFAULT_MAX_UNAVAILABLE = "25%"
_ROLLING_UPDATE = "RollingUpdate"


def with_raw_app_label(meta: meta_v1.ObjectMeta) -> meta_v1.ObjectMeta:
    """A copy of ``meta`` with label ``app: isvc.<name>``.

    Upstream's Deployment builder writes this label into the component's label map, which
    the HPA, KEDA ScaledObject and Services built for the same component share (Go maps are
    references), so all of them end up carrying it. Pass the result of this function to those
    builders to get the same objects (:func:`controllers.reconcilers.raw.build_raw_kube_objects`
    does)."""
    labels = dict(meta.labels or {})
    labels[APP_LABEL] = raw_service_label(meta.name or "")
    return object_meta(meta, labels=labels)


def _readiness_probe(port: int) -> core_v1.Probe:
    return core_v1.Probe(
        tcpSocket=core_v1.TCPSocketAction(port=port),
        timeoutSeconds=1,
        periodSeconds=10,
        successThreshold=1,
        failureThreshold=3,
    )


def set_default_pod_spec(pod_spec: core_v1.PodSpec) -> core_v1.PodSpec:
    """``setDefaultPodSpec``: a copy of ``pod_spec`` with the pod defaults upstream sets
    (dnsPolicy ClusterFirst, restartPolicy Always, terminationGracePeriodSeconds 30,
    securityContext {}, schedulerName default-scheduler), per container terminationMessagePath
    ``/dev/termination-log``, terminationMessagePolicy File, imagePullPolicy IfNotPresent, and
    for ``kserve-container``/``transformer-container`` without a readiness probe a TCP probe on
    the first container port (else 8080): timeout 1, period 10, success 1, failure 3."""
    spec = deep_copy(pod_spec)
    if not spec.dnsPolicy:
        spec.dnsPolicy = "ClusterFirst"
    if not spec.restartPolicy:
        spec.restartPolicy = "Always"
    if spec.terminationGracePeriodSeconds is None:
        spec.terminationGracePeriodSeconds = DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS
    if spec.securityContext is None:
        spec.securityContext = core_v1.PodSecurityContext()
    if not spec.schedulerName:
        spec.schedulerName = "default-scheduler"
    for container in spec.containers or []:
        if not container.terminationMessagePath:
            container.terminationMessagePath = "/dev/termination-log"
        if not container.terminationMessagePolicy:
            container.terminationMessagePolicy = "File"
        if not container.imagePullPolicy:
            container.imagePullPolicy = "IfNotPresent"
        if (
            container.name in (INFERENCE_SERVICE_CONTAINER, TRANSFORMER_CONTAINER)
            and container.readinessProbe is None
        ):
            port = container.ports[0].containerPort if container.ports else DEFAULT_READINESS_PORT
            container.readinessProbe = _readiness_probe(port)
    return spec


def set_default_deployment_spec(spec: apps_v1.DeploymentSpec) -> apps_v1.DeploymentSpec:
    """``setDefaultDeploymentSpec``: a copy with strategy RollingUpdate (25% surge, 25%
    unavailable when the rolling update is unset), revisionHistoryLimit 10 and
    progressDeadlineSeconds 600 where unset."""
    out = deep_copy(spec)
    strategy = out.strategy or apps_v1.DeploymentStrategy()
    if not strategy.type:
        strategy.type = _ROLLING_UPDATE
    if strategy.type == _ROLLING_UPDATE and strategy.rollingUpdate is None:
        strategy.rollingUpdate = apps_v1.RollingUpdateDeployment(
            maxUnavailable=_DEFAULT_MAX_UNAVAILABLE, maxSurge=_DEFAULT_MAX_SURGE
        )
    out.strategy = strategy
    if out.revisionHistoryLimit is None:
        out.revisionHistoryLimit = DEFAULT_REVISION_HISTORY_LIMIT
    if out.progressDeadlineSeconds is None:
        out.progressDeadlineSeconds = DEFAULT_PROGRESS_DEADLINE_SECONDS
    return out


def apply_rollout_strategy_from_configmap(
    spec: apps_v1.DeploymentSpec, deploy_config: DeployConfig | None
) -> apps_v1.DeploymentSpec:
    """``applyRolloutStrategyFromConfigmap``: when ``deploy.defaultDeploymentMode`` is
    ``Standard`` and ``deploy.deploymentRolloutStrategy.defaultRollout`` is set, a copy with a
    RollingUpdate strategy whose maxSurge/maxUnavailable come from it (each only when
    non-empty; a number of pods as an integer). Otherwise ``spec`` unchanged."""
    if deploy_config is None or deploy_config.default_deployment_mode != "Standard":
        return spec
    strategy_cfg = deploy_config.deployment_rollout_strategy
    if strategy_cfg is None or strategy_cfg.default_rollout is None:
        return spec
    rollout = strategy_cfg.default_rollout
    out = deep_copy(spec)
    strategy = out.strategy or apps_v1.DeploymentStrategy()
    strategy.type = _ROLLING_UPDATE
    if strategy.rollingUpdate is None:
        strategy.rollingUpdate = apps_v1.RollingUpdateDeployment()
    if rollout.max_surge:
        strategy.rollingUpdate.maxSurge = _int_or_string(rollout.max_surge)
    if rollout.max_unavailable:
        strategy.rollingUpdate.maxUnavailable = _int_or_string(rollout.max_unavailable)
    out.strategy = strategy
    return out


def _int_or_string(value: str) -> int | str:
    """``intstr.Parse``: ``"1"`` is one pod, ``"25%"`` a share. Upstream keeps every value a
    string, so ``"1"`` makes the Deployment invalid (a fix, see docs/compatibility.md)."""
    return int(value) if value.isdigit() else value


def _strategy(
    spec: apps_v1.DeploymentSpec,
    component_ext: ComponentExtensionSpec | None,
    deploy_config: DeployConfig | None,
) -> apps_v1.DeploymentSpec:
    if component_ext is not None and component_ext.deployment_strategy is not None:
        # the user's strategy is taken verbatim (no revisionHistoryLimit/progressDeadline
        # defaults either, exactly as upstream)
        out = deep_copy(spec)
        out.strategy = deep_copy(component_ext.deployment_strategy)
        return out
    return apply_rollout_strategy_from_configmap(set_default_deployment_spec(spec), deploy_config)


def _deployment(meta: meta_v1.ObjectMeta, app: str, pod_spec: core_v1.PodSpec) -> Deployment:
    labels = dict(meta.labels or {})
    labels[APP_LABEL] = app
    dep_meta = object_meta(meta, labels=labels)
    return Deployment(
        metadata=dep_meta,
        spec=apps_v1.DeploymentSpec(
            selector=meta_v1.LabelSelector(matchLabels={APP_LABEL: app}),
            template=core_v1.PodTemplateSpec(
                metadata=deep_copy(dep_meta), spec=set_default_pod_spec(pod_spec)
            ),
        ),
    )


def create_raw_default_deployment(
    component_meta: meta_v1.ObjectMeta,
    component_ext: ComponentExtensionSpec | None,
    pod_spec: core_v1.PodSpec,
    deploy_config: DeployConfig | None,
) -> Deployment:
    """``createRawDefaultDeployment``: Deployment ``<component>`` with labels + ``app:
    isvc.<component>`` on object and pod template (the template metadata also carries name,
    namespace and annotations, as upstream's), selector ``app``, the pod defaults of
    :func:`set_default_pod_spec`, the component's ``deploymentStrategy`` verbatim or the
    default/configmap strategy, and ``replicas = minReplicas`` only when annotation
    ``serving.kserve.io/autoscalerClass`` is ``none``."""
    deployment = _deployment(component_meta, raw_service_label(component_meta.name or ""), pod_spec)
    assert deployment.spec is not None
    deployment.spec = _strategy(deployment.spec, component_ext, deploy_config)
    annotations = component_meta.annotations or {}
    if (
        component_ext is not None
        and component_ext.min_replicas is not None
        and annotations.get(AUTOSCALER_CLASS_ANNOTATION) == AutoscalerClass.NONE
    ):
        deployment.spec.replicas = component_ext.min_replicas
    return deployment


def create_raw_worker_deployment(
    component_meta: meta_v1.ObjectMeta,
    component_ext: ComponentExtensionSpec | None,
    pod_spec: core_v1.PodSpec,
    predictor_name: str,
    replicas: int,
    deploy_config: DeployConfig | None,
) -> Deployment:
    """``createRawWorkerDeployment``: the multi-node worker Deployment (named by
    ``component_meta``, normally ``<isvc>-predictor-worker``) with ``app:
    isvc.<predictor_name>-worker``, the same strategy rules as the default Deployment but a
    RollingUpdate forced to maxUnavailable 0% / maxSurge 100% (old workers stay until new ones
    are ready), and ``replicas`` always set."""
    deployment = _deployment(component_meta, get_raw_worker_service_label(predictor_name), pod_spec)
    assert deployment.spec is not None
    spec = _strategy(deployment.spec, component_ext, deploy_config)
    if spec.strategy is not None and spec.strategy.type == _ROLLING_UPDATE:
        spec.strategy.rollingUpdate = apps_v1.RollingUpdateDeployment(
            maxUnavailable="0%", maxSurge="100%"
        )
    spec.replicas = replicas
    deployment.spec = spec
    return deployment


def _is_nonzero(qty: str | int | float) -> bool:
    try:
        return parse_quantity(qty) != 0
    except ValueError:
        return True


def add_gpu_resource_to_deployment(
    deployment: Deployment,
    target_container_name: str,
    gpu_count: str,
    types: Sequence[str] = DEFAULT_GPU_RESOURCE_TYPES,
) -> Deployment:
    """``addGPUResourceToDeployment``: a copy whose container ``target_container_name`` has
    ``gpu_count`` as limit and request of its GPU resource: the first of ``types`` (plus the
    pod template's ``serving.kserve.io/gpu-resource-types``) with a non-zero limit or request,
    else ``nvidia.com/gpu``.

    Raises ``ValueError`` for a malformed GPU-types annotation (upstream's message) or a
    ``gpu_count`` that is not a quantity (upstream panics)."""
    out = deep_copy(deployment)
    assert out.spec is not None
    template_meta = out.spec.template.metadata
    all_types = gpu_resource_types_with_annotation(
        template_meta.annotations if template_meta else None, types
    )
    try:
        qty = canonical_quantity(gpu_count)
    except ValueError:
        raise ValueError(
            f"invalid {REQUEST_GPU_COUNT_ENV} {gpu_count!r} for container "
            f"{target_container_name}: not a quantity"
        ) from None
    for container in (out.spec.template.spec.containers if out.spec.template.spec else None) or []:
        if container.name != target_container_name:
            continue
        resources = container.resources or core_v1.ResourceRequirements()
        limits = dict(resources.limits or {})
        requests = dict(resources.requests or {})
        gpu_type = "nvidia.com/gpu"
        for t in all_types:
            if (t in limits and _is_nonzero(limits[t])) or (
                t in requests and _is_nonzero(requests[t])
            ):
                gpu_type = t
                break
        limits[gpu_type] = qty
        requests[gpu_type] = qty
        resources.limits = limits
        resources.requests = requests
        container.resources = resources
        break
    return out


def _container_env(pod_spec: core_v1.PodSpec, name: str) -> list[core_v1.EnvVar] | None:
    for container in pod_spec.containers or []:
        if container.name == name:
            return container.env or []
    return None


def create_raw_deployment(
    component_meta: meta_v1.ObjectMeta,
    worker_component_meta: meta_v1.ObjectMeta | None,
    component_ext: ComponentExtensionSpec | None,
    pod_spec: core_v1.PodSpec,
    worker_pod_spec: core_v1.PodSpec | None,
    deploy_config: DeployConfig | None,
    types: Sequence[str] = DEFAULT_GPU_RESOURCE_TYPES,
) -> list[Deployment]:
    """``createRawDeployment``: ``[default]``, or ``[head, worker]`` when ``worker_pod_spec``
    is given (multi-node).

    Multi-node: worker replicas = ``RAY_NODE_COUNT`` of the head's ``kserve-container`` minus 1
    (0 when unset); the head's and the worker's ``REQUEST_GPU_COUNT`` become their GPU limit
    and request (:func:`add_gpu_resource_to_deployment`). ``types`` is the process-wide GPU
    list (:func:`controllers.reconcilers.multinode.gpu_resource_types`).

    Raises ``ValueError`` naming the env var when ``RAY_NODE_COUNT`` is not an int32 (upstream
    logs and creates ``replicas: -1``, which the API server refuses) or ``REQUEST_GPU_COUNT``
    is missing or not a quantity (upstream panics), and for a malformed GPU-types annotation.
    """
    deployments = [
        create_raw_default_deployment(component_meta, component_ext, pod_spec, deploy_config)
    ]
    if worker_pod_spec is None:
        return deployments

    worker_replicas = 0
    head_gpus: str | None = None
    head_env = _container_env(pod_spec, INFERENCE_SERVICE_CONTAINER)
    if head_env is not None:
        value, found = get_env_var_value(head_env, RAY_NODE_COUNT_ENV)
        if found:
            try:
                worker_replicas = string_to_int32(value) - 1
            except ValueError as err:
                raise ValueError(
                    f"invalid {RAY_NODE_COUNT_ENV} of container {INFERENCE_SERVICE_CONTAINER}: "
                    f"{err}"
                ) from None
        value, found = get_env_var_value(head_env, REQUEST_GPU_COUNT_ENV)
        if found:
            head_gpus = value
    worker_gpus: str | None = None
    worker_env = _container_env(worker_pod_spec, WORKER_CONTAINER)
    if worker_env is not None:
        value, found = get_env_var_value(worker_env, REQUEST_GPU_COUNT_ENV)
        if found:
            worker_gpus = value

    # upstream parses REQUEST_GPU_COUNT only when the target container exists
    if head_env is not None:
        deployments[0] = add_gpu_resource_to_deployment(
            deployments[0],
            INFERENCE_SERVICE_CONTAINER,
            _required(head_gpus, INFERENCE_SERVICE_CONTAINER),
            types,
        )
    worker = create_raw_worker_deployment(
        worker_component_meta or meta_v1.ObjectMeta(),
        component_ext,
        worker_pod_spec,
        component_meta.name or "",
        worker_replicas,
        deploy_config,
    )
    if worker_env is not None:
        worker = add_gpu_resource_to_deployment(
            worker, WORKER_CONTAINER, _required(worker_gpus, WORKER_CONTAINER), types
        )
    deployments.append(worker)
    return deployments


def _required(gpu_count: str | None, container: str) -> str:
    if gpu_count is None:
        raise ValueError(f"multi-node container {container} has no {REQUEST_GPU_COUNT_ENV} env var")
    return gpu_count
