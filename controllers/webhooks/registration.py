"""Registering KServe's admission webhooks on a manager (upstream ``cmd/manager/main.go`` and
``cmd/localmodel/main.go``)::

    server = webhook_server_for(mgr, port=9443, tls_options=TLSOptions(...))  # optional
    hooks = setup_webhooks(mgr)

(``server_from_flags(mgr, args)`` makes the server from ``kserve-manager``'s flags.)

registers, on the manager's webhook server:

==================================================================  =========================
path                                                                handler
==================================================================  =========================
``/mutate-pods``                                                    :class:`PodMutator`
``/mutate-serving-kserve-io-v1beta1-inferenceservice``              InferenceService defaults
``/validate-serving-kserve-io-v1beta1-inferenceservice``            InferenceService rules
``/validate-serving-kserve-io-v1alpha1-servingruntime``             ServingRuntime
``/validate-serving-kserve-io-v1alpha1-clusterservingruntime``      ClusterServingRuntime
``/validate-serving-kserve-io-v1alpha1-trainedmodel``               TrainedModel
``/validate-serving-kserve-io-v1alpha1-inferencegraph``             InferenceGraph
``/validate-serving-kserve-io-v1alpha1-localmodelcache``            LocalModelCache
``/validate-serving-kserve-io-v1alpha1-localmodelnamespacecache``   LocalModelNamespaceCache
==================================================================  =========================

and, with ``health_checks``, a ``webhook`` check on ``/healthz`` and ``/readyz`` (upstream
adds the webhook server's started-checker to both). Every handler reads through the
manager's cached client; :data:`WEBHOOK_READS` lists what they read (for RBAC). A
non-leader runnable starts those informers when the manager starts (so the first request
does not wait for a list) and feeds Nodes and Pods to the GPU capacity tracker, if the
manager may list and watch them (checked once with a SelfSubjectAccessReview; without the
permission the GPU warnings are off, nothing else changes).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from lightkube.resources.core_v1 import ConfigMap, Node, Pod

from apis.serving.v1alpha1 import (
    ClusterServingRuntime,
    InferenceGraph,
    LocalModelCache,
    LocalModelNamespaceCache,
    LocalModelNodeGroup,
    ServingRuntime,
    TrainedModel,
)
from apis.serving.v1beta1 import InferenceService
from controllers.config import ConfigSource
from controllers.webhooks.gpu_capacity import GpuCapacity
from controllers.webhooks.inferencegraph import InferenceGraphValidator
from controllers.webhooks.inferenceservice import (
    InferenceServiceDefaulter,
    InferenceServiceValidator,
)
from controllers.webhooks.localmodelcache import (
    LocalModelCacheValidator,
    LocalModelNamespaceCacheValidator,
)
from controllers.webhooks.pods import MUTATE_PODS_PATH, PodMutator
from controllers.webhooks.servingruntime import (
    ClusterServingRuntimeValidator,
    ServingRuntimeValidator,
)
from controllers.webhooks.trainedmodel import TrainedModelValidator
from runtime.manager import RunnableFunc
from runtime.restmapper import NoKindMatchError
from runtime.webhook import (
    DEFAULT_CERT_DIR,
    DEFAULT_PORT,
    Admission,
    DefaulterHandler,
    DevCertificates,
    TLSOptions,
    WebhookBuilder,
    WebhookServer,
    webhook_server_for,
)

__all__ = [
    "MUTATING_CONFIGURATIONS",
    "SERVICE_NAME",
    "VALIDATING_CONFIGURATIONS",
    "WEBHOOK_READS",
    "KServeWebhooks",
    "server_from_flags",
    "setup_webhooks",
]

log = logging.getLogger(__name__)

WEBHOOK_READS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("", "v1", "configmaps", ("get", "list", "watch")),
    ("", "v1", "nodes", ("list", "watch")),
    ("", "v1", "pods", ("list", "watch")),
    ("serving.kserve.io", "v1beta1", "inferenceservices", ("get", "list", "watch")),
    ("serving.kserve.io", "v1alpha1", "servingruntimes", ("list", "watch")),
    ("serving.kserve.io", "v1alpha1", "clusterservingruntimes", ("list", "watch")),
    ("serving.kserve.io", "v1alpha1", "localmodelcaches", ("list", "watch")),
    ("serving.kserve.io", "v1alpha1", "localmodelnamespacecaches", ("list", "watch")),
    ("serving.kserve.io", "v1alpha1", "localmodelnodegroups", ("list", "watch")),
    ("authorization.k8s.io", "v1", "selfsubjectaccessreviews", ("create",)),
)
"""(group, version, resource, verbs) the handlers read from the cache, besides the pod
mutator's ``controllers.webhooks.pod.CONTEXT_READS``."""

MUTATING_CONFIGURATIONS = ("inferenceservice.serving.kserve.io",)
VALIDATING_CONFIGURATIONS = (
    "inferenceservice.serving.kserve.io",
    "trainedmodel.serving.kserve.io",
    "inferencegraph.serving.kserve.io",
    "clusterservingruntime.serving.kserve.io",
    "servingruntime.serving.kserve.io",
    "localmodelcache.serving.kserve.io",
    "localmodelnamespacecache.serving.kserve.io",
)
"""The WebhookConfiguration names in ``config/webhook`` (for the dev mode's ``caBundle``
patch: ``DevCertificates(client, mutating=..., validating=...)``)."""

SERVICE_NAME = "kserve-webhook-server-service"
"""The webhook Service of ``config/webhook``."""

_WARM = (InferenceService, ServingRuntime, ClusterServingRuntime, LocalModelCache,
         LocalModelNamespaceCache, LocalModelNodeGroup)


@dataclass
class KServeWebhooks:
    """What :func:`setup_webhooks` registered."""

    server: WebhookServer
    config: ConfigSource
    paths: list[str] = field(default_factory=list)
    capacity: GpuCapacity | None = None


def server_from_flags(mgr: Any, args: Any = None) -> WebhookServer:
    """The manager's webhook server from ``kserve-manager``'s flags (defaults without
    ``args``). ``--dev-webhook-certs`` makes a CA and serving certificate (for 127.0.0.1,
    localhost and the Service's DNS names) and patches ``caBundle`` and a
    ``https://<host>:<port>`` URL into the shipped configurations: for a local API server
    that cannot reach a Service."""
    from controllers.config import kserve_namespace

    def flag(name: str, default: Any) -> Any:
        value = getattr(args, name, None) if args is not None else None
        return default if value in (None, "") else value

    host = flag("webhook_host", None)
    dev = None
    if flag("dev_webhook_certs", False):
        ns = kserve_namespace()
        dev = DevCertificates(
            mgr.client,
            hosts=["127.0.0.1", "localhost", f"{SERVICE_NAME}.{ns}.svc",
                   f"{SERVICE_NAME}.{ns}.svc.cluster.local"],
            mutating=MUTATING_CONFIGURATIONS, validating=VALIDATING_CONFIGURATIONS,
            url_host=host if host not in (None, "0.0.0.0", "::") else "127.0.0.1",
        )
    return webhook_server_for(
        mgr,
        host=host,
        port=int(flag("webhook_port", DEFAULT_PORT)),
        cert_dir=flag("webhook_cert_dir", DEFAULT_CERT_DIR),
        tls_options=TLSOptions(flag("tls_min_version", ""), flag("tls_cipher_suites", "")),
        dev=dev,
    )


async def _allowed(client: Any, resource: str, verbs: tuple[str, ...]) -> bool:
    from lightkube.models.authorization_v1 import ResourceAttributes, SelfSubjectAccessReviewSpec
    from lightkube.resources.authorization_v1 import SelfSubjectAccessReview

    for verb in verbs:
        review = SelfSubjectAccessReview(spec=SelfSubjectAccessReviewSpec(
            resourceAttributes=ResourceAttributes(verb=verb, resource=resource)))
        try:
            got = await client.create(review)
        except Exception as err:
            log.info("cannot check RBAC for %s %s: %s", verb, resource, err)
            return False
        if not (got.status is not None and got.status.allowed):
            return False
    return True


def setup_webhooks(
    mgr: Any,
    *,
    server: WebhookServer | None = None,
    config: ConfigSource | None = None,
    namespace: str | None = None,
    inference_service: bool = True,
    serving_runtimes: bool = True,
    trained_model: bool = True,
    inference_graph: bool = True,
    local_model: bool = True,
    pod_mutator: bool = True,
    gpu_warnings: bool = True,
    health_checks: bool = True,
) -> KServeWebhooks:
    """Register KServe's webhooks (see the module docstring) on ``server`` (default: the
    manager's, :func:`~runtime.webhook.webhook_server_for`). ``config`` is the
    ``inferenceservice-config`` source shared with the controllers (default: a new one over
    ``mgr.client`` in ``namespace``, default ``$POD_NAMESPACE`` or ``kserve``)."""
    server = server if server is not None else webhook_server_for(mgr)
    client = mgr.client
    config = config if config is not None else ConfigSource(client, namespace)
    out = KServeWebhooks(server=server, config=config)
    warm: list[Any] = [ConfigMap]
    if pod_mutator:
        server.register(MUTATE_PODS_PATH,
                        Admission(DefaulterHandler(PodMutator(client, config, namespace))))
        out.paths.append(MUTATE_PODS_PATH)
    if serving_runtimes:
        out.paths += WebhookBuilder(server).for_(ClusterServingRuntime).with_validator(
            ClusterServingRuntimeValidator(client, config)).complete()
        out.paths += WebhookBuilder(server).for_(ServingRuntime).with_validator(
            ServingRuntimeValidator(client, config)).complete()
    if trained_model:
        out.paths += WebhookBuilder(server).for_(TrainedModel).with_validator(
            TrainedModelValidator()).complete()
    if inference_graph:
        out.paths += WebhookBuilder(server).for_(InferenceGraph).with_validator(
            InferenceGraphValidator()).complete()
    if inference_service:
        out.capacity = GpuCapacity() if gpu_warnings else None
        out.paths += (
            WebhookBuilder(server)
            .for_(InferenceService)
            .with_defaulter(InferenceServiceDefaulter(client, config))
            .with_validator(InferenceServiceValidator(config, out.capacity))
            .complete()
        )
    if local_model:
        out.paths += WebhookBuilder(server).for_(LocalModelCache).with_validator(
            LocalModelCacheValidator(client)).complete()
        out.paths += WebhookBuilder(server).for_(LocalModelNamespaceCache).with_validator(
            LocalModelNamespaceCacheValidator(client)).complete()
    warm += list(_WARM)
    if health_checks:
        mgr.add_healthz_check("webhook", server.started_checker)
        mgr.add_readyz_check("webhook", server.started_checker)

    async def start_informers(_stopping: Any) -> None:
        cache = mgr.cache
        for kind in warm:
            try:
                await cache.informer_for(kind)
            except NoKindMatchError:
                pass  # an optional CRD that is not installed: its webhook is never called
            except Exception as err:
                log.info("webhook informer for %s not started: %s", kind.__name__, err)
        capacity = out.capacity
        if capacity is None:
            return
        if await _allowed(client, "nodes", ("list", "watch")):
            capacity.attach_nodes(await cache.informer_for(Node))
        else:
            log.info("GPU capacity warnings are off: the manager may not list/watch nodes")
            return
        if await _allowed(client, "pods", ("list", "watch")):
            capacity.attach_pods(await cache.informer_for(Pod))

    mgr.add(RunnableFunc(start_informers, need_leader_election=False))
    return out
