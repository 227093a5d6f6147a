"""The typed ``inferenceservice-config`` ConfigMap.

Mirrors upstream ``pkg/apis/serving/v1beta1/configmap.go`` plus the config structs that live
elsewhere upstream but are read from the same ConfigMap (``pkg/types/config.go``
StorageInitializerConfig, ``pkg/credentials`` CredentialConfig, ``pkg/webhook/admission/pod``
AgentConfig / LoggerConfig / BatcherConfig / MetricsAggregator, the InferenceGraph controller's
RouterConfig).

Every key of ``data`` holds a JSON document. :func:`parse_inferenceservice_config` decodes all of
them with Go's ``encoding/json`` semantics (unknown fields ignored, field names matched
case-insensitively, ``null`` leaves the zero value, no type coercion) and applies the defaults
and checks upstream applies when it reads each key. Where upstream panics on a malformed key
(storageInitializer, logger, batcher, agent, router, metricsAggregator) we raise
:class:`InferenceServiceConfigError` instead, naming the key and the field inside it.

Missing keys give upstream's zero values (Go structs), plus the few code defaults upstream
applies regardless (ingress domain template, ingress domain, URL scheme, model-based routing
header and mode). Resource quantities are checked only for keys that are present: upstream
checks them when it uses a key, and a missing key then fails at use time in upstream too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)

from apis.serving.constants import (
    DEFAULT_GPU_RESOURCE_TYPES,
    INFERENCESERVICE_CONFIG_MAP_NAME,
    KNATIVE_VISIBILITY_LABEL,
    SERVICE_ANNOTATION_DISALLOWED_LIST,
    DeploymentModeType,
)
from apis.serving.validation import is_quantity, parse_quantity

__all__ = [
    "BUILTIN_SERVICE_ANNOTATION_DISALLOWED_LIST",
    "BUILTIN_SERVICE_LABEL_DISALLOWED_LIST",
    "DEFAULT_DOMAIN_TEMPLATE",
    "DEFAULT_GPU_RESOURCE_TYPES",
    "DEFAULT_INGRESS_DOMAIN",
    "DEFAULT_MODEL_BASED_ROUTING_HEADER_NAME",
    "DEFAULT_MODEL_BASED_ROUTING_MODE",
    "DEFAULT_URL_SCHEME",
    "INFERENCESERVICE_CONFIG_MAP_NAME",
    "AgentConfig",
    "AutoscalerConfig",
    "BatcherConfig",
    "CredentialConfig",
    "DeployConfig",
    "DeploymentRolloutStrategy",
    "ExplainerConfig",
    "ExplainersConfig",
    "GCSConfig",
    "InferenceServiceConfig",
    "InferenceServiceConfigError",
    "InferenceServicesConfig",
    "IngressConfig",
    "LastGoodConfig",
    "LocalModelConfig",
    "LoggerConfig",
    "LoggerStorageConfig",
    "MetricsAggregatorConfig",
    "MultiNodeConfig",
    "OtelCollectorConfig",
    "ResourceConfig",
    "RolloutSpec",
    "RouterConfig",
    "S3Config",
    "SecurityConfig",
    "ServiceConfig",
    "StorageInitializerConfig",
    "is_dns1123_label",
    "is_quantity",
    "parse_inferenceservice_config",
    "parse_quantity",
]


DEFAULT_DOMAIN_TEMPLATE = "{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}"
DEFAULT_INGRESS_DOMAIN = "example.com"
DEFAULT_URL_SCHEME = "http"
DEFAULT_MODEL_BASED_ROUTING_HEADER_NAME = "X-Gateway-Model-Name"
DEFAULT_MODEL_BASED_ROUTING_MODE = "enabled"

#: ``constants.ServiceAnnotationDisallowedList`` (prepended when key ``inferenceService`` exists).
BUILTIN_SERVICE_ANNOTATION_DISALLOWED_LIST = SERVICE_ANNOTATION_DISALLOWED_LIST
#: ``constants.RevisionTemplateLabelDisallowedList``.
BUILTIN_SERVICE_LABEL_DISALLOWED_LIST: tuple[str, ...] = (KNATIVE_VISIBILITY_LABEL,)

# ---------------------------------------------------------------------------------------------
# helpers: quantities, DNS labels, Go templates
# ---------------------------------------------------------------------------------------------

_DNS1123_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def is_dns1123_label(value: str) -> bool:
    """``k8s.io/apimachinery/pkg/util/validation.IsDNS1123Label`` (no errors means True)."""
    return len(value) <= 63 and _DNS1123_LABEL_RE.fullmatch(value) is not None


def _action_end(text: str, pos: int) -> int:
    """Index of the ``}}`` closing the action whose body starts at ``pos`` (-1 if none),
    skipping Go string, raw-string and character literals and ``/* */`` comments, which may
    hold braces."""
    body = text[pos:].lstrip(" ")
    if body.startswith("- "):
        body = body[2:].lstrip(" ")
    if body.startswith("/*"):
        close = text.find("*/", pos)
        return -1 if close < 0 else text.find("}}", close + 2)
    i = pos
    while i < len(text):
        if text.startswith("}}", i):
            return i
        quote = text[i]
        if quote in "\"'`":
            i += 1
            while i < len(text) and text[i] != quote:
                if text[i] == "\\" and quote != "`":
                    i += 1
                i += 1
        i += 1
    return -1


def _check_go_template(text: str) -> str | None:
    """A light ``text/template`` parse check: every ``{{`` action is closed and not empty.
    Error text or None. As in Go, a ``}}`` outside an action is literal text."""
    pos = 0
    while True:
        start = text.find("{{", pos)
        if start < 0:
            return None
        end = _action_end(text, start + 2)
        if end < 0:
            return "unclosed action"
        if not text[start + 2 : end].strip(" -"):
            return "missing value for command"
        pos = end + 2


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------


class InferenceServiceConfigError(ValueError):
    """A malformed ``inferenceservice-config`` key: ``key`` is the ConfigMap data key,
    ``field`` the dotted camelCase path inside its JSON (``""`` for the document itself)."""

    def __init__(self, key: str, field: str, reason: str) -> None:
        self.key = key
        self.field = field
        self.reason = reason
        where = f"key {key!r}" + (f", field {field!r}" if field else "")
        super().__init__(f"invalid {INFERENCESERVICE_CONFIG_MAP_NAME} {where}: {reason}")


# ---------------------------------------------------------------------------------------------
# base model with Go encoding/json decoding semantics
# ---------------------------------------------------------------------------------------------


class _GoJSON(BaseModel):
    """Base for config structs: decode like Go's ``json.Unmarshal`` into a struct."""

    model_config = ConfigDict(
        populate_by_name=True,
        extra="ignore",
        use_attribute_docstrings=True,
        validate_default=False,
        frozen=False,
    )

    @model_validator(mode="before")
    @classmethod
    def _go_decode(cls, data: Any) -> Any:
        if data is None:
            return {}
        if not isinstance(data, dict):
            kind = "array" if isinstance(data, list) else type(data).__name__
            if isinstance(data, str):
                kind = "string"
            elif isinstance(data, bool):
                kind = "bool"
            elif isinstance(data, int | float):
                kind = "number"
            raise ValueError(f"cannot unmarshal {kind} into an object")
        # Go matches JSON names to struct fields case-insensitively, exact match preferred;
        # explicit null leaves the zero value.
        by_alias: dict[str, str] = {}
        for name, field in cls.model_fields.items():
            alias = field.alias or name
            by_alias[alias.lower()] = alias
        exact = {f.alias or n for n, f in cls.model_fields.items()}
        out: dict[str, Any] = {}
        for key, value in data.items():
            if not isinstance(key, str):
                continue
            target = key if key in exact else by_alias.get(key.lower())
            if target is None or value is None:
                continue
            if target in out and key != target:
                # an exact-case key elsewhere in the document wins over a folded one
                continue
            out[target] = value
        return out


class ResourceConfig(_GoJSON):
    """CPU and memory requests/limits as Kubernetes quantity strings (``ResourceConfig``)."""

    cpu_limit: StrictStr = Field(default="", alias="cpuLimit")
    """CPU limit, e.g. ``"1"``."""
    memory_limit: StrictStr = Field(default="", alias="memoryLimit")
    """Memory limit, e.g. ``"2Gi"``."""
    cpu_request: StrictStr = Field(default="", alias="cpuRequest")
    """CPU request, e.g. ``"1"``."""
    memory_request: StrictStr = Field(default="", alias="memoryRequest")
    """Memory request, e.g. ``"2Gi"``."""


class ExplainerConfig(_GoJSON):
    """One explainer's image configuration."""

    container_image: StrictStr = Field(default="", alias="image")
    """Explainer container image name (without tag)."""
    default_image_version: StrictStr = Field(default="", alias="defaultImageVersion")
    """Default explainer image tag, used when ``runtimeVersion`` is not set."""


class ExplainersConfig(_GoJSON):
    """The ``explainers`` key."""

    art_explainer: ExplainerConfig = Field(default_factory=ExplainerConfig, alias="art")
    """The ART (Adversarial Robustness Toolbox) explainer."""


class InferenceServicesConfig(_GoJSON):
    """The ``inferenceService`` key (upstream ``InferenceServicesConfig``; it also carries the
    parsed ``explainers`` key, as upstream)."""

    explainers: ExplainersConfig = Field(default_factory=ExplainersConfig, alias="explainers")
    """Explainer configurations (from the ``explainers`` key)."""
    service_annotation_disallowed_list: list[StrictStr] | None = Field(
        default=None, alias="serviceAnnotationDisallowedList"
    )
    """Annotations never propagated to Knative revisions / workloads. When the key exists the
    built-in list is prepended (upstream ``constants.ServiceAnnotationDisallowedList``)."""
    service_label_disallowed_list: list[StrictStr] | None = Field(
        default=None, alias="serviceLabelDisallowedList"
    )
    """Labels never propagated to Knative revisions. When the key exists the built-in list
    (``networking.knative.dev/visibility``) is prepended."""
    resource: ResourceConfig = Field(default_factory=ResourceConfig, alias="resource")
    """Default resources for transformer/explainer/custom containers that set none."""


class MultiNodeConfig(_GoJSON):
    """The ``multiNode`` key."""

    custom_gpu_resource_type_list: list[StrictStr] = Field(
        default_factory=list, alias="customGPUResourceTypeList"
    )
    """Extra GPU resource names, added to the built-in nvidia/amd/intel/gaudi list."""

    @property
    def gpu_resource_types(self) -> list[str]:
        """Custom GPU types followed by upstream's default list."""
        return [*self.custom_gpu_resource_type_list, *DEFAULT_GPU_RESOURCE_TYPES]


class IngressConfig(_GoJSON):
    """The ``ingress`` key."""

    enable_gateway_api: StrictBool = Field(default=False, alias="enableGatewayApi")
    """Use Gateway API HTTPRoutes (Standard mode) instead of an Ingress."""
    kserve_ingress_gateway: StrictStr = Field(default="", alias="kserveIngressGateway")
    """Gateway for HTTPRoutes, ``<namespace>/<name>``; required with ``enableGatewayApi``."""
    ingress_gateway: StrictStr = Field(default="", alias="ingressGateway")
    """Knative/Istio ingress gateway ``<namespace>/<name>``; required when the key exists."""
    knative_local_gateway_service: StrictStr = Field(default="", alias="knativeLocalGatewayService")
    """Knative local gateway service host; defaults to ``localGatewayService``."""
    local_gateway: StrictStr = Field(default="", alias="localGateway")
    """Istio local gateway ``<namespace>/<name>``."""
    local_gateway_service_name: StrictStr = Field(default="", alias="localGatewayService")
    """Local gateway service host name."""
    ingress_domain: StrictStr = Field(default="", alias="ingressDomain")
    """Ingress domain; ``example.com`` when empty."""
    ingress_class_name: StrictStr | None = Field(default=None, alias="ingressClassName")
    """IngressClass of the Standard-mode Ingress."""
    additional_ingress_domains: list[StrictStr] | None = Field(
        default=None, alias="additionalIngressDomains"
    )
    """Extra domains for the top-level route hosts."""
    domain_template: StrictStr = Field(default="", alias="domainTemplate")
    """Go template for host names (vars Name, Namespace, IngressDomain, Annotations, Labels)."""
    url_scheme: StrictStr = Field(default="", alias="urlScheme")
    """Scheme of ``status.url``; ``http`` when empty."""
    enable_llm_inference_service_tls: StrictBool = Field(
        default=False, alias="enableLLMInferenceServiceTLS"
    )
    """LLMInferenceService only: TLS between gateway and workloads."""
    disable_istio_virtual_host: StrictBool = Field(default=False, alias="disableIstioVirtualHost")
    """Do not create the Istio VirtualService (Knative mode)."""
    path_template: StrictStr = Field(default="", alias="pathTemplate")
    """Go template for path-based routing (vars Name, Namespace); needs ``ingressDomain``."""
    disable_ingress_creation: StrictBool = Field(default=False, alias="disableIngressCreation")
    """Create no Ingress/HTTPRoute/VirtualService at all."""
    disable_http_route_timeout: StrictBool = Field(default=False, alias="disableHTTPRouteTimeout")
    """Omit ``timeouts.request`` on HTTPRoutes."""
    model_based_routing_header_name: StrictStr = Field(
        default="", alias="modelBasedRoutingHeaderName"
    )
    """LLMInferenceService only: model-based routing header; ``X-Gateway-Model-Name`` when empty."""
    model_based_routing_mode: StrictStr = Field(default="", alias="modelBasedRoutingMode")
    """LLMInferenceService only: model-based routing mode; ``enabled`` when empty."""


class RolloutSpec(_GoJSON):
    """Default rolling-update parameters."""

    max_surge: StrictStr = Field(default="", alias="maxSurge")
    """Pods above the desired count during an update (number or percentage)."""
    max_unavailable: StrictStr = Field(default="", alias="maxUnavailable")
    """Pods that may be unavailable during an update (number or percentage)."""


class DeploymentRolloutStrategy(_GoJSON):
    """Rollout strategy defaults for Standard-mode Deployments."""

    default_rollout: RolloutSpec | None = Field(default=None, alias="defaultRollout")
    """The default rollout configuration."""


DeploymentModeName = Literal["Knative", "Standard", "ModelMesh", ""]


class DeployConfig(_GoJSON):
    """The ``deploy`` key."""

    default_deployment_mode: StrictStr = Field(default="", alias="defaultDeploymentMode")
    """Default deployment mode: Knative, Standard or ModelMesh (legacy Serverless and
    RawDeployment are converted). Required when the key exists."""
    deployment_rollout_strategy: DeploymentRolloutStrategy | None = Field(
        default=None, alias="deploymentRolloutStrategy"
    )
    """Rollout strategy defaults, applied when the default mode is Standard."""


class LocalModelConfig(_GoJSON):
    """The ``localModel`` key."""

    enabled: StrictBool = Field(default=False, alias="enabled")
    """Whether model caching on local node storage is enabled."""
    job_namespace: StrictStr = Field(default="", alias="jobNamespace")
    """Namespace of the download Jobs."""
    default_job_image: StrictStr = Field(default="", alias="defaultJobImage")
    """Image of the download Jobs when no ClusterStorageContainer matches."""
    fs_group: StrictInt | None = Field(default=None, alias="fsGroup")
    """fsGroup of the download Jobs."""
    job_ttl_seconds_after_finished: StrictInt | None = Field(
        default=None, alias="jobTTLSecondsAfterFinished"
    )
    """ttlSecondsAfterFinished of the download Jobs."""
    reconcilation_frequency_in_secs: StrictInt | None = Field(
        default=None, alias="reconcilationFrequencyInSecs"
    )
    """Node agent requeue period in seconds (upstream's spelling)."""
    disable_volume_management: StrictBool = Field(default=False, alias="disableVolumeManagement")
    """Do not manage per-namespace PV/PVCs for consumers of a cache."""


class SecurityConfig(_GoJSON):
    """The ``security`` key."""

    auto_mount_service_account_token: StrictBool = Field(
        default=False, alias="autoMountServiceAccountToken"
    )
    """When false (also when the key is missing, as upstream), the defaulter sets
    ``automountServiceAccountToken: false`` on components that leave it unset."""


class ServiceConfig(_GoJSON):
    """The ``service`` key."""

    service_cluster_ip_none: StrictBool = Field(default=False, alias="serviceClusterIPNone")
    """Standard-mode Services are headless (``clusterIP: None``)."""


class OtelCollectorConfig(_GoJSON):
    """The ``opentelemetryCollector`` key."""

    scrape_interval: StrictStr = Field(default="", alias="scrapeInterval")
    """Prometheus receiver scrape interval, e.g. ``5s``."""
    metric_receiver_endpoint: StrictStr = Field(default="", alias="metricReceiverEndpoint")
    """OTLP exporter endpoint."""
    metric_scaler_endpoint: StrictStr = Field(default="", alias="metricScalerEndpoint")
    """KEDA external scaler address for PodMetric triggers."""
    resource: ResourceConfig = Field(default_factory=ResourceConfig, alias="resource")
    """Resources of the collector sidecar."""


class AutoscalerConfig(_GoJSON):
    """The ``autoscaler`` key."""

    scale_up_stabilization_window_seconds: StrictStr = Field(
        default="", alias="scaleUpStabilizationWindowSeconds"
    )
    """KEDA HPA scale-up stabilization window (seconds, as a string)."""
    scale_down_stabilization_window_seconds: StrictStr = Field(
        default="", alias="scaleDownStabilizationWindowSeconds"
    )
    """KEDA HPA scale-down stabilization window (seconds, as a string)."""


class _ContainerResources(ResourceConfig):
    """The image and resources of the keys that configure a container (storage initializer,
    agent, logger, batcher, router)."""

    image: StrictStr = Field(default="", alias="image")
    """Container image."""


class StorageInitializerConfig(_ContainerResources):
    """The ``storageInitializer`` key (upstream ``pkg/types.StorageInitializerConfig``): the
    init container's image and resources, and the OCI (modelcar) settings."""

    cpu_modelcar: StrictStr = Field(default="", alias="cpuModelcar")
    """CPU of the modelcar sidecar."""
    ca_bundle_config_map_name: StrictStr = Field(default="", alias="caBundleConfigMapName")
    """ConfigMap holding ``cabundle.crt`` to copy into ISVC namespaces."""
    ca_bundle_volume_mount_path: StrictStr = Field(default="", alias="caBundleVolumeMountPath")
    """Mount path of the CA bundle in the init container."""
    memory_modelcar: StrictStr = Field(default="", alias="memoryModelcar")
    """Memory of the modelcar sidecar."""
    enable_oci_image_source: StrictBool = Field(default=False, alias="enableModelcar")
    """Legacy switch for OCI (modelcar) model storage."""
    uid_modelcar: StrictInt | None = Field(default=None, alias="uidModelcar")
    """runAsUser of the modelcar containers."""
    enable_oci_model_support: StrictBool = Field(default=False, alias="enableOciModelSupport")
    """Enables any OCI-backed model storage path (newer switch)."""
    oci_model_mode: StrictStr = Field(default="", alias="ociModelMode")
    """``modelcar``, ``native`` or ``fetch``; empty: modelcar if an enable flag is set."""
    oci_insecure_registry: StrictBool = Field(default=False, alias="ociInsecureRegistry")
    """Disable TLS verification for ``oci+fetch://`` pulls."""

    def resolve_oci_model_mode(self) -> str:
        """``types.ResolveOciModelMode``: explicit mode, else modelcar when enabled, else ""."""
        if self.oci_model_mode:
            return self.oci_model_mode
        if self.enable_oci_image_source or self.enable_oci_model_support:
            return "modelcar"
        return ""


class S3Config(_GoJSON):
    """``credentials.s3``."""

    s3_access_key_id_name: StrictStr = Field(default="", alias="s3AccessKeyIDName")
    """Secret data key holding the access key id."""
    s3_secret_access_key_name: StrictStr = Field(default="", alias="s3SecretAccessKeyName")
    """Secret data key holding the secret access key."""
    s3_endpoint: StrictStr = Field(default="", alias="s3Endpoint")
    """Default S3 endpoint."""
    s3_use_https: StrictStr = Field(default="", alias="s3UseHttps")
    """Default ``S3_USE_HTTPS``."""
    s3_region: StrictStr = Field(default="", alias="s3Region")
    """Default region."""
    s3_verify_ssl: StrictStr = Field(default="", alias="s3VerifySSL")
    """Default ``S3_VERIFY_SSL``."""
    s3_use_virtual_bucket: StrictStr = Field(default="", alias="s3UseVirtualBucket")
    """Default ``S3_USER_VIRTUAL_BUCKET``."""
    s3_use_accelerate: StrictStr = Field(default="", alias="s3UseAccelerate")
    """Default ``S3_USE_ACCELERATE``."""
    s3_use_anonymous_credential: StrictStr = Field(default="", alias="s3UseAnonymousCredential")
    """Default anonymous-credential flag."""
    s3_ca_bundle_config_map: StrictStr = Field(default="", alias="s3CABundleConfigMap")
    """ConfigMap with a CA bundle for S3."""
    s3_ca_bundle: StrictStr = Field(default="", alias="s3CABundle")
    """Path of a CA bundle for S3."""


class GCSConfig(_GoJSON):
    """``credentials.gcs``."""

    gcs_credential_file_name: StrictStr = Field(default="", alias="gcsCredentialFileName")
    """Secret data key holding the GCP service-account JSON."""


class CredentialConfig(_GoJSON):
    """The ``credentials`` key."""

    s3: S3Config = Field(default_factory=S3Config, alias="s3")
    """S3 credential settings."""
    gcs: GCSConfig = Field(default_factory=GCSConfig, alias="gcs")
    """GCS credential settings."""
    storage_spec_secret_name: StrictStr = Field(default="", alias="storageSpecSecretName")
    """Secret for ``storage:`` specs; ``storage-config`` when empty."""
    storage_secret_name_annotation: StrictStr = Field(
        default="", alias="storageSecretNameAnnotation"
    )
    """Annotation naming a per-ISVC storage secret."""


class AgentConfig(_ContainerResources):
    """The ``agent`` key (model puller / agent sidecar)."""


class LoggerStorageConfig(_GoJSON):
    """``logger.storage`` (upstream ``v1beta1.LoggerStorageSpec``)."""

    path: StrictStr | None = Field(default=None, alias="path")
    """Path inside the storage."""
    parameters: dict[str, StrictStr] | None = Field(default=None, alias="parameters")
    """Storage parameters (override the secret's)."""
    storage_key: StrictStr | None = Field(default=None, alias="key")
    """Key in the storage secret; ``logger-storage`` default applied at use."""
    service_account_name: StrictStr | None = Field(default=None, alias="serviceAccountName")
    """Service account with the storage credentials; ``logger-sa`` default applied at use."""


class LoggerConfig(_ContainerResources):
    """The ``logger`` key."""

    default_url: StrictStr = Field(default="", alias="defaultUrl")
    """Default logger sink URL."""
    ca_bundle: StrictStr = Field(default="", alias="caBundle")
    """ConfigMap with the CA bundle of the sink."""
    ca_cert_file: StrictStr = Field(default="", alias="caCertFile")
    """CA certificate file name in that ConfigMap."""
    tls_skip_verify: StrictBool = Field(default=False, alias="tlsSkipVerify")
    """Skip TLS verification of the sink."""
    store: LoggerStorageConfig | None = Field(default=None, alias="storage")
    """Blob storage for logs."""
    marshaller_url: StrictStr = Field(default="", alias="marshallerUrl")
    """Log marshaller URL."""
    batch_size: StrictInt = Field(default=0, alias="batchSize")
    """Log batch size."""
    batch_interval: StrictStr = Field(default="", alias="batchInterval")
    """Log batch interval."""


class BatcherConfig(_ContainerResources):
    """The ``batcher`` key."""

    max_batch_size: StrictStr = Field(default="", alias="maxBatchSize")
    """Default maximum batch size (string)."""
    max_latency: StrictStr = Field(default="", alias="maxLatency")
    """Default maximum latency in ms (string)."""


class RouterConfig(_ContainerResources):
    """The ``router`` key (InferenceGraph router)."""

    headers: dict[str, list[StrictStr]] | None = Field(default=None, alias="headers")
    """Header operations; ``propagate`` lists headers passed to graph steps."""
    image_pull_policy: StrictStr = Field(default="", alias="imagePullPolicy")
    """imagePullPolicy of the router container."""
    image_pull_secrets: list[StrictStr] | None = Field(default=None, alias="imagePullSecrets")
    """Image pull secret names for the router pod."""


class MetricsAggregatorConfig(_GoJSON):
    """The ``metricsAggregator`` key."""

    enable_metric_aggregation: StrictStr = Field(default="", alias="enableMetricAggregation")
    """Default of annotation ``serving.kserve.io/enable-metric-aggregation`` ("true"/"false")."""
    enable_prometheus_scraping: StrictStr = Field(default="", alias="enablePrometheusScraping")
    """Default of annotation ``serving.kserve.io/enable-prometheus-scraping``."""


class InferenceServiceConfig(BaseModel):
    """The whole ``inferenceservice-config`` ConfigMap, one attribute per data key."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    explainers: ExplainersConfig = Field(default_factory=ExplainersConfig)
    """``explainers``."""
    inference_service: InferenceServicesConfig = Field(default_factory=InferenceServicesConfig)
    """``inferenceService`` (with ``explainers`` folded in, as upstream)."""
    ingress: IngressConfig = Field(default_factory=IngressConfig)
    """``ingress``, with defaults applied."""
    deploy: DeployConfig = Field(default_factory=DeployConfig)
    """``deploy``, mode normalised."""
    local_model: LocalModelConfig = Field(default_factory=LocalModelConfig)
    """``localModel``."""
    security: SecurityConfig = Field(default_factory=SecurityConfig)
    """``security``."""
    service: ServiceConfig = Field(default_factory=ServiceConfig)
    """``service``."""
    multi_node: MultiNodeConfig = Field(default_factory=MultiNodeConfig)
    """``multiNode``."""
    opentelemetry_collector: OtelCollectorConfig = Field(default_factory=OtelCollectorConfig)
    """``opentelemetryCollector``."""
    autoscaler: AutoscalerConfig = Field(default_factory=AutoscalerConfig)
    """``autoscaler``."""
    storage_initializer: StorageInitializerConfig = Field(default_factory=StorageInitializerConfig)
    """``storageInitializer``."""
    credentials: CredentialConfig = Field(default_factory=CredentialConfig)
    """``credentials``."""
    logger: LoggerConfig = Field(default_factory=LoggerConfig)
    """``logger``."""
    batcher: BatcherConfig = Field(default_factory=BatcherConfig)
    """``batcher``."""
    agent: AgentConfig = Field(default_factory=AgentConfig)
    """``agent``."""
    router: RouterConfig = Field(default_factory=RouterConfig)
    """``router``."""
    metrics_aggregator: MetricsAggregatorConfig = Field(default_factory=MetricsAggregatorConfig)
    """``metricsAggregator``."""
    present_keys: frozenset[str] = Field(default_factory=frozenset)
    """The data keys that were present (upstream behaves differently for some missing keys)."""


# ---------------------------------------------------------------------------------------------
# parsing
# ---------------------------------------------------------------------------------------------

_KEYS: dict[str, tuple[str, type[_GoJSON]]] = {
    "explainers": ("explainers", ExplainersConfig),
    "ingress": ("ingress", IngressConfig),
    "deploy": ("deploy", DeployConfig),
    "localModel": ("local_model", LocalModelConfig),
    "security": ("security", SecurityConfig),
    "service": ("service", ServiceConfig),
    "multiNode": ("multi_node", MultiNodeConfig),
    "opentelemetryCollector": ("opentelemetry_collector", OtelCollectorConfig),
    "autoscaler": ("autoscaler", AutoscalerConfig),
    "storageInitializer": ("storage_initializer", StorageInitializerConfig),
    "credentials": ("credentials", CredentialConfig),
    "logger": ("logger", LoggerConfig),
    "batcher": ("batcher", BatcherConfig),
    "agent": ("agent", AgentConfig),
    "router": ("router", RouterConfig),
    "metricsAggregator": ("metrics_aggregator", MetricsAggregatorConfig),
    "inferenceService": ("inference_service", InferenceServicesConfig),
}


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


def _decode(key: str, raw: str, model: type[_GoJSON]) -> _GoJSON:
    try:
        doc = json.loads(raw)
    except (json.JSONDecodeError, TypeError) as exc:
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        where = (
            f" (line {exc.lineno} column {exc.colno})"
            if isinstance(exc, json.JSONDecodeError)
            else ""
        )
        raise InferenceServiceConfigError(key, "", f"not valid JSON: {msg}{where}") from None
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        # drop pydantic's internal markers such as "str" / "function-before[...]" from loc
        loc = tuple(
            p
            for p in err["loc"]
            if isinstance(p, int)
            or not p.startswith(("function-", "str", "int", "bool", "list", "dict"))
            or p in _ALL_ALIASES
        )
        raise InferenceServiceConfigError(key, _loc(loc), err["msg"]) from None


_ALL_ALIASES: set[str] = set()


def _collect_aliases(model: type[BaseModel]) -> None:
    for name, f in model.model_fields.items():
        _ALL_ALIASES.add(f.alias or name)
        ann = f.annotation
        for cand in getattr(ann, "__args__", ()) or (ann,):
            if isinstance(cand, type) and issubclass(cand, BaseModel):
                _collect_aliases(cand)
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            _collect_aliases(ann)


for _k, (_attr, _model) in _KEYS.items():
    _collect_aliases(_model)


def _check_quantities(
    key: str, cfg: _GoJSON, fields: tuple[str, ...], *, allow_empty: bool = False, prefix: str = ""
) -> None:
    dumped = cfg.model_dump(by_alias=True)
    for f in fields:
        value = dumped.get(f, "")
        if allow_empty and value == "":
            continue
        if not is_quantity(value):
            raise InferenceServiceConfigError(
                key,
                prefix + f,
                f"failed to parse resource quantity {value!r}: quantities must "
                "match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
            )


_LEGACY_MODES = {
    DeploymentModeType.LEGACY_SERVERLESS.value: DeploymentModeType.KNATIVE.value,
    DeploymentModeType.LEGACY_RAW_DEPLOYMENT.value: DeploymentModeType.STANDARD.value,
}
_MODES = (
    DeploymentModeType.KNATIVE.value,
    DeploymentModeType.STANDARD.value,
    DeploymentModeType.MODEL_MESH.value,
)


def _post_ingress(cfg: IngressConfig, present: bool) -> None:
    if present:
        if cfg.enable_gateway_api:
            gw = cfg.kserve_ingress_gateway
            if gw == "":
                raise InferenceServiceConfigError(
                    "ingress",
                    "kserveIngressGateway",
                    "invalid ingress config - kserveIngressGateway is required",
                )
            parts = gw.split("/")
            if len(parts) != 2:
                raise InferenceServiceConfigError(
                    "ingress",
                    "kserveIngressGateway",
                    "invalid ingress config - kserveIngressGateway should be in the format "
                    "<namespace>/<name>",
                )
            if not is_dns1123_label(parts[0]):
                raise InferenceServiceConfigError(
                    "ingress",
                    "kserveIngressGateway",
                    "invalid ingress config - kserveIngressGateway gateway namespace is invalid",
                )
            if not is_dns1123_label(parts[1]):
                raise InferenceServiceConfigError(
                    "ingress",
                    "kserveIngressGateway",
                    "invalid ingress config - kserveIngressGateway gateway name is invalid",
                )
        if cfg.ingress_gateway == "":
            raise InferenceServiceConfigError(
                "ingress", "ingressGateway", "invalid ingress config - ingressGateway is required"
            )
        if cfg.path_template != "":
            err = _check_go_template(cfg.path_template)
            if err is not None:
                raise InferenceServiceConfigError(
                    "ingress",
                    "pathTemplate",
                    f"invalid ingress config, unable to parse pathTemplate: {err}",
                )
            if cfg.ingress_domain == "":
                raise InferenceServiceConfigError(
                    "ingress",
                    "ingressDomain",
                    "invalid ingress config - ingressDomain is required if pathTemplate is given",
                )
        if cfg.knative_local_gateway_service == "":
            cfg.knative_local_gateway_service = cfg.local_gateway_service_name
    if cfg.domain_template == "":
        cfg.domain_template = DEFAULT_DOMAIN_TEMPLATE
    else:
        err = _check_go_template(cfg.domain_template)
        if err is not None:
            raise InferenceServiceConfigError(
                "ingress", "domainTemplate", f"unable to parse domainTemplate: {err}"
            )
    if cfg.ingress_domain == "":
        cfg.ingress_domain = DEFAULT_INGRESS_DOMAIN
    if cfg.url_scheme == "":
        cfg.url_scheme = DEFAULT_URL_SCHEME
    if cfg.model_based_routing_header_name == "":
        cfg.model_based_routing_header_name = DEFAULT_MODEL_BASED_ROUTING_HEADER_NAME
    if cfg.model_based_routing_mode == "":
        cfg.model_based_routing_mode = DEFAULT_MODEL_BASED_ROUTING_MODE


def _post_deploy(cfg: DeployConfig) -> None:
    mode = cfg.default_deployment_mode
    if mode == "":
        raise InferenceServiceConfigError(
            "deploy",
            "defaultDeploymentMode",
            "invalid deploy config, defaultDeploymentMode is required",
        )
    mode = _LEGACY_MODES.get(mode, mode)
    if mode not in _MODES:
        raise InferenceServiceConfigError(
            "deploy",
            "defaultDeploymentMode",
            f"invalid deployment mode {cfg.default_deployment_mode!r}. Supported modes are "
            "Knative, Standard and ModelMesh",
        )
    cfg.default_deployment_mode = mode


def parse_inferenceservice_config(data: Mapping[str, str] | None) -> InferenceServiceConfig:
    """Parse the ``data`` of the ``inferenceservice-config`` ConfigMap.

    Raises :class:`InferenceServiceConfigError` (a ``ValueError``) naming the key and the field
    for the first malformed key, in the ConfigMap's key order; never another exception.
    Unknown keys (``_example``, llmisvc keys, ...) are ignored.
    """
    data = dict(data or {})
    for key, value in data.items():
        if key in _KEYS and not isinstance(value, str):
            raise InferenceServiceConfigError(key, "", "value must be a string holding JSON")
    parsed: dict[str, Any] = {}
    present = frozenset(k for k in data if k in _KEYS)
    for key in data:
        if key not in _KEYS or key == "inferenceService":
            continue
        attr, model = _KEYS[key]
        parsed[attr] = _decode(key, data[key], model)

    explainers = parsed.get("explainers", ExplainersConfig())
    if "inferenceService" in data:
        isvc = _decode("inferenceService", data["inferenceService"], InferenceServicesConfig)
        assert isinstance(isvc, InferenceServicesConfig)
        # Go unmarshals this key into the struct already holding the ``explainers`` key:
        # fields the inferenceService document does not mention keep their values.
        isvc.explainers = _merged_explainers(data, explainers)
        isvc.service_annotation_disallowed_list = [
            *BUILTIN_SERVICE_ANNOTATION_DISALLOWED_LIST,
            *(isvc.service_annotation_disallowed_list or []),
        ]
        isvc.service_label_disallowed_list = [
            *BUILTIN_SERVICE_LABEL_DISALLOWED_LIST,
            *(isvc.service_label_disallowed_list or []),
        ]
        _check_quantities(
            "inferenceService",
            isvc.resource,
            ("cpuLimit", "memoryLimit", "cpuRequest", "memoryRequest"),
            allow_empty=True,
            prefix="resource.",
        )
    else:
        isvc = InferenceServicesConfig(explainers=explainers)
    parsed["inference_service"] = isvc

    ingress = parsed.setdefault("ingress", IngressConfig())
    _post_ingress(ingress, "ingress" in data)
    if "deploy" in data:
        _post_deploy(parsed["deploy"])
    for key in ("storageInitializer", "agent", "logger", "batcher", "router"):
        if key not in data:
            continue
        cfg = parsed[_KEYS[key][0]]
        fields = ("memoryRequest", "memoryLimit", "cpuRequest", "cpuLimit")
        _check_quantities(key, cfg, fields)
        if key == "storageInitializer":
            _check_quantities(key, cfg, ("cpuModelcar", "memoryModelcar"), allow_empty=True)
            mode = cfg.oci_model_mode
            if mode not in ("", "modelcar", "native", "fetch"):
                raise InferenceServiceConfigError(
                    key,
                    "ociModelMode",
                    f'invalid "storageInitializer".ociModelMode {mode!r}: must be one of '
                    '"modelcar", "native", "fetch"',
                )
    if "opentelemetryCollector" in data:
        _check_quantities(
            "opentelemetryCollector",
            parsed["opentelemetry_collector"].resource,
            ("cpuLimit", "memoryLimit", "cpuRequest", "memoryRequest"),
            allow_empty=True,
            prefix="resource.",
        )
    return InferenceServiceConfig(**parsed, present_keys=present)


def _json_object(raw: str | None) -> dict[str, Any]:
    try:
        doc = json.loads(raw) if raw is not None else None
    except json.JSONDecodeError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _get_folded(doc: dict[str, Any], key: str) -> Any:
    if key in doc:
        return doc[key]
    for k, v in doc.items():
        if isinstance(k, str) and k.lower() == key.lower():
            return v
    return None


def _deep_merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            if v is None:
                continue
            out[k] = _deep_merge(base.get(k), v)
        return out
    return over if over is not None else base


def _merged_explainers(data: Mapping[str, str], explainers: ExplainersConfig) -> ExplainersConfig:
    over = _get_folded(_json_object(data.get("inferenceService")), "explainers")
    if over is None:
        return explainers
    base = explainers.model_dump(by_alias=True)
    merged = _deep_merge(base, over)
    out = _decode("inferenceService", json.dumps(merged), ExplainersConfig)
    assert isinstance(out, ExplainersConfig)
    return out


class LastGoodConfig:
    """Holds the last ``inferenceservice-config`` that parsed (DESIGN: a malformed key is a
    clear error, and the manager keeps the last good config instead of crashing).

    ``update(data)`` parses; on success the new config becomes current and ``error`` is None;
    on failure the previous config stays current and ``error`` holds the
    :class:`InferenceServiceConfigError` (for an event/condition). Before the first good
    update, ``config`` is None.
    """

    def __init__(self) -> None:
        self.config: InferenceServiceConfig | None = None
        self.error: InferenceServiceConfigError | None = None

    def update(self, data: Mapping[str, str] | None) -> InferenceServiceConfig | None:
        """Parse ``data``; return the current (new or last good) config."""
        try:
            self.config = parse_inferenceservice_config(data)
            self.error = None
        except InferenceServiceConfigError as exc:
            self.error = exc
        return self.config
