"""``pkg/webhook/admission/pod/mutator.go``: the pod mutator (``/mutate-pods``).

:func:`mutate_pod` is pure: the pod's JSON and a :class:`PodMutationContext` (everything
upstream would GET from the API server, read from the manager's cache by
:func:`build_context`) in, the mutated pod out. Steps in upstream's order:

1. GKE accelerator node selector;
2. storage-initializer (``storage_initializer``);
3. Istio CNI UID of the storage-initializer (``istio``);
4. the agent sidecar: puller, batcher, logger (``agent``);
5. metrics aggregation and Prometheus scrape annotations (``metrics_aggregate``);
6. OCI models: modelcar, ImageVolume, fetch (``oci``), when the config enables OCI.

It is idempotent: mutating a mutated pod returns it unchanged, so the apiserver's
reinvocation (``reinvocationPolicy: IfNeeded``) changes nothing. For that, step 3 runs again
after step 6 (an ``oci+fetch://`` storage-initializer exists only after step 6; upstream gives
it the Istio UID only when the apiserver reinvokes the webhook). Refusals are
:class:`PodMutationError` with upstream's message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lightkube.resources.core_v1 import Secret, ServiceAccount

from apis.serving.constants import (
    AGENT_SHOULD_INJECT_ANNOTATION,
    BATCHER_ANNOTATION,
    DEFAULT_KSERVE_NAMESPACE,
    INFERENCE_SERVICE_POD_LABEL,
    LOGGER_ANNOTATION,
    STORAGE_INITIALIZER_SOURCE_URI_ANNOTATION,
    STORAGE_SPEC_ANNOTATION,
)
from apis.serving.v1alpha1 import ClusterStorageContainer
from apis.serving.v1beta1 import InferenceService
from apis.serving.v1beta1.component import LoggerSpec
from apis.serving.v1beta1.configmap import InferenceServiceConfig
from controllers.storage.credentials import CredentialBuilder
from controllers.storage.credentials.reads import (
    Reader,
    get_or_none,
    read_objects,
    secret_names,
)
from controllers.storage.oci import resolve_oci_model_mode
from controllers.storage.storage_container import check_storage_initializer_config
from controllers.storage.utils import JsonDict, PodMutationError, string_map
from controllers.webhooks.pod.accelerator import inject_gke_accelerator_selector
from controllers.webhooks.pod.agent import check_resource_config, get_logger_config, inject_agent
from controllers.webhooks.pod.istio import set_istio_cni_security_context
from controllers.webhooks.pod.metrics_aggregate import inject_metrics_aggregator
from controllers.webhooks.pod.storage_initializer import (
    inject_modelcar,
    inject_storage_initializer,
)

__all__ = [
    "CONTEXT_READS",
    "PodMutationContext",
    "Reader",
    "build_context",
    "check_pod_shape",
    "mutate_pod",
    "need_mutate",
]


CONTEXT_READS: tuple[tuple[str, str, str, str], ...] = (
    ("", "v1", "serviceaccounts", "get"),
    ("", "v1", "secrets", "get"),
    ("serving.kserve.io", "v1alpha1", "clusterstoragecontainers", "list"),
    ("serving.kserve.io", "v1beta1", "inferenceservices", "get"),
)
"""(group, version, resource, verb) of every read :func:`build_context` makes: the pod's
and the logger's ServiceAccounts, the Secrets they list (or the one the storage-secret
annotation names) and the storage-spec Secret, all in the pod's namespace; every
ClusterStorageContainer; the pod's InferenceService (for its predictor logger). Served
from the cache, each needs list and watch as well (RBAC)."""


@dataclass(frozen=True)
class PodMutationContext:
    """Everything the mutator reads besides the pod (upstream GETs these per request).

    ``service_accounts`` and ``secrets`` hold JSON objects of the pod's namespace by name;
    one that is absent counts as NotFound (a missing ServiceAccount is skipped, a missing
    Secret it lists is a refusal, as upstream). ``storage_containers`` are all
    ClusterStorageContainers (order does not matter: matched by name order, as the API lists
    them). ``isvc_logger`` is the pod's InferenceService's ``spec.predictor.logger``.
    """

    config: InferenceServiceConfig
    """The parsed ``inferenceservice-config``."""
    namespace: str
    """The admission request's namespace (upstream writes it into the pod)."""
    kserve_namespace: str = DEFAULT_KSERVE_NAMESPACE
    """The manager's namespace (``POD_NAMESPACE``): the CA bundle ConfigMap keeps its
    configured name there, elsewhere it is ``global-ca-bundle``."""
    storage_containers: tuple[ClusterStorageContainer, ...] = ()
    service_accounts: Mapping[str, JsonDict] = field(default_factory=dict)
    secrets: Mapping[str, JsonDict] = field(default_factory=dict)
    isvc_logger: LoggerSpec | None = None


def need_mutate(pod: Mapping[str, Any]) -> bool:
    """``needMutate``: only pods labelled ``serving.kserve.io/inferenceservice``."""
    meta = pod.get("metadata")
    labels = meta.get("labels") if isinstance(meta, dict) else None
    return isinstance(labels, dict) and INFERENCE_SERVICE_POD_LABEL in labels


# ---------------------------------------------------------------------------------------------
# the shape of the fields the injectors read (upstream decodes into typed structs first)
# ---------------------------------------------------------------------------------------------

_STR = "string"
_INT = "integer"
_MAP = "map of strings"

_ENV = {"name": _STR, "value": _STR, "valueFrom": {}}
_PORT = {"name": _STR, "containerPort": _INT, "protocol": _STR}
_MOUNT = {"name": _STR, "mountPath": _STR, "subPath": _STR}
_PROBE = {
    "httpGet": {
        "path": _STR,
        "scheme": _STR,
        "host": _STR,
        "httpHeaders": [{"name": _STR, "value": _STR}],
    },
    "tcpSocket": {"host": _STR},
    "exec": {"command": [_STR]},
}
_CONTAINER = {
    "name": _STR,
    "image": _STR,
    "args": [_STR],
    "env": [_ENV],
    "ports": [_PORT],
    "volumeMounts": [_MOUNT],
    "resources": {"limits": {}, "requests": {}},
    "securityContext": {"runAsUser": _INT},
    "readinessProbe": _PROBE,
}
_POD = {
    "metadata": {"name": _STR, "namespace": _STR, "labels": _MAP, "annotations": _MAP},
    "spec": {
        "containers": [_CONTAINER],
        "initContainers": [_CONTAINER],
        "volumes": [{"name": _STR}],
        "serviceAccountName": _STR,
        "nodeSelector": _MAP,
        "imagePullSecrets": [{"name": _STR}],
    },
}


def _check(value: Any, schema: Any, path: str) -> None:
    if value is None:
        return
    if schema == _STR:
        ok = isinstance(value, str)
    elif schema == _INT:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif schema == _MAP:
        ok = isinstance(value, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        )
    elif isinstance(schema, list):
        ok = isinstance(value, list)
        if ok:
            for i, item in enumerate(value):
                if item is None:
                    raise PodMutationError(f"{path}[{i}]: must not be null", f"{path}[{i}]")
                _check(item, schema[0], f"{path}[{i}]")
    else:
        ok = isinstance(value, dict)
        if ok:
            for key, sub in schema.items():
                _check(value.get(key), sub, f"{path}.{key}")
    if not ok:
        what = (
            schema if isinstance(schema, str) else "list" if isinstance(schema, list) else "object"
        )
        raise PodMutationError(
            f"{path}: expected {'an' if what[0] in 'aeiou' else 'a'} {what}", path
        )


def check_pod_shape(pod: Any) -> None:
    """Refuse a pod whose fields the mutator reads have the wrong JSON type (upstream's
    decode into ``corev1.Pod`` answers 400 for those), naming the field."""
    if not isinstance(pod, dict):
        raise PodMutationError("pod: expected an object", "pod")
    _check(pod, _POD, "pod")


# ---------------------------------------------------------------------------------------------
# mutate
# ---------------------------------------------------------------------------------------------


def _json_copy(value: Any) -> Any:
    """A deep copy of plain JSON (several times faster than ``copy.deepcopy``)."""
    if isinstance(value, dict):
        return {k: _json_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_copy(v) for v in value]
    return value


def mutate_pod(pod: JsonDict, ctx: PodMutationContext) -> JsonDict:
    """The mutated pod (a new object; ``pod`` is not modified). A pod without the
    ``serving.kserve.io/inferenceservice`` label is returned as is. Raises
    :class:`PodMutationError` (message as upstream's) to refuse the pod."""
    check_pod_shape(pod)
    if not need_mutate(pod):
        return pod
    out: JsonDict = _json_copy(pod)
    if ctx.namespace:
        if not isinstance(out.get("metadata"), dict):
            out["metadata"] = {}
        out["metadata"]["namespace"] = ctx.namespace
    cfg = ctx.config
    storage = cfg.storage_initializer
    check_storage_initializer_config(storage)
    logger = get_logger_config(cfg.logger, ctx.isvc_logger)
    check_resource_config("batcher", cfg.batcher)
    check_resource_config("agent", cfg.agent)
    credentials = CredentialBuilder(
        cfg.credentials, service_accounts=ctx.service_accounts, secrets=ctx.secrets
    )
    inject_gke_accelerator_selector(out)
    inject_storage_initializer(
        out, storage, credentials, ctx.storage_containers, ctx.kserve_namespace
    )
    set_istio_cni_security_context(out)
    inject_agent(out, cfg.agent, logger, credentials)
    inject_metrics_aggregator(out, cfg.metrics_aggregator)
    if resolve_oci_model_mode(storage):
        inject_modelcar(out, storage, ctx.kserve_namespace)
        set_istio_cni_security_context(out)
    return out


# ---------------------------------------------------------------------------------------------
# build_context: the cached reads
# ---------------------------------------------------------------------------------------------


async def build_context(
    reader: Reader,
    pod: JsonDict,
    config: InferenceServiceConfig,
    *,
    namespace: str,
    kserve_namespace: str = DEFAULT_KSERVE_NAMESPACE,
) -> PodMutationContext:
    """Read what :func:`mutate_pod` needs for ``pod`` through ``reader`` (the manager's
    cached client), only what this pod's annotations make necessary; see
    :data:`CONTEXT_READS` for the kinds. NotFound is recorded as absence; other read errors
    propagate."""
    ctx = PodMutationContext(config=config, namespace=namespace, kserve_namespace=kserve_namespace)
    if not isinstance(pod, dict) or not need_mutate(pod):
        return ctx
    meta = pod.get("metadata") or {}
    annotations = string_map(meta.get("annotations"))
    labels = string_map(meta.get("labels"))
    spec = pod.get("spec") if isinstance(pod.get("spec"), dict) else {}
    assert isinstance(spec, dict)
    has_source = STORAGE_INITIALIZER_SOURCE_URI_ANNOTATION in annotations
    wants_agent = any(
        k in annotations
        for k in (LOGGER_ANNOTATION, AGENT_SHOULD_INJECT_ANNOTATION, BATCHER_ANNOTATION)
    )

    storage_containers: tuple[ClusterStorageContainer, ...] = ()
    if has_source:
        storage_containers = tuple(await reader.list(ClusterStorageContainer))

    isvc_logger: LoggerSpec | None = None
    if LOGGER_ANNOTATION in annotations:
        isvc_name = labels[INFERENCE_SERVICE_POD_LABEL]
        isvc = await get_or_none(reader, InferenceService, isvc_name, namespace)
        if isvc is not None and isvc.spec is not None and isvc.spec.predictor is not None:
            isvc_logger = isvc.spec.predictor.logger

    sa_names: list[str] = []
    if has_source or wants_agent:
        sa = spec.get("serviceAccountName")
        sa_names.append(sa if isinstance(sa, str) and sa else "default")
    if LOGGER_ANNOTATION in annotations:
        try:
            store = get_logger_config(config.logger, isvc_logger).store
        except PodMutationError:
            store = None  # mutate_pod refuses the pod with this error
        if store is not None and store.service_account_name:
            sa_names.append(store.service_account_name)
    service_accounts = await read_objects(reader, ServiceAccount, namespace, sa_names)
    creds = CredentialBuilder(config.credentials, service_accounts={}, secrets={})
    names = secret_names(
        config.credentials.storage_secret_name_annotation,
        annotations,
        service_accounts.values(),
    )
    if has_source and annotations.get(STORAGE_SPEC_ANNOTATION) == "true":
        names.append(creds.storage_spec_secret_name(annotations))
    secrets = await read_objects(reader, Secret, namespace, names)

    return PodMutationContext(
        config=config,
        namespace=namespace,
        kserve_namespace=kserve_namespace,
        storage_containers=storage_containers,
        service_accounts=service_accounts,
        secrets=secrets,
        isvc_logger=isvc_logger,
    )
