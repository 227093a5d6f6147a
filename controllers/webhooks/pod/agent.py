"""``pkg/webhook/admission/pod/agent_injector.go``: the ``agent`` sidecar (model puller,
request batcher and payload logger in one container, port 9081), injected when the pod
carries the puller, batcher or logger annotation.

The agent stands between queue-proxy (or the kubelet's probes) and the model server: it gets
queue-proxy's env (queue-proxy's ``USER_PORT`` then points at the agent), or, without
queue-proxy, the model server's HTTP/TCP readiness probe as ``SERVING_READINESS_PROBE``.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from apis.serving.constants import (
    AGENT_CONTAINER,
    AGENT_MODEL_CONFIG_MOUNT_PATH_ANNOTATION,
    AGENT_MODEL_CONFIG_VOLUME_NAME_ANNOTATION,
    AGENT_MODEL_DIR_ANNOTATION,
    AGENT_SHOULD_INJECT_ANNOTATION,
    BATCHER_ANNOTATION,
    BATCHER_MAX_BATCH_SIZE_ANNOTATION,
    BATCHER_MAX_LATENCY_ANNOTATION,
    COMPONENT_LABEL,
    DEFAULT_MOUNT_PATH,
    ENDPOINT_LABEL,
    INFERENCE_SERVICE_CONTAINER,
    INFERENCE_SERVICE_POD_LABEL,
    LOGGER_ANNOTATION,
    LOGGER_METADATA_ANNOTATIONS_ANNOTATION,
    LOGGER_METADATA_HEADERS_ANNOTATION,
    LOGGER_MODE_ANNOTATION,
    LOGGER_SINK_URL_ANNOTATION,
    MODEL_CONFIG_DIR,
    QUEUE_PROXY_CONTAINER,
    TRANSFORMER_CONTAINER,
)
from apis.serving.v1beta1.configmap import LoggerConfig, LoggerStorageConfig
from apis.serving.validation import go_quote
from controllers.storage.credentials import CredentialBuilder
from controllers.storage.utils import (
    JsonDict,
    PodMutationError,
    container_list,
    ensure_list,
    go_quantity_error,
    pod_spec,
    quantity,
    string_map,
    volume_mount,
    volume_mounts,
    volumes,
)

__all__ = [
    "AGENT_PORT",
    "LOGGER_CA_BUNDLE_VOLUME",
    "LOGGER_CA_CERT_MOUNT_PATH",
    "LOGGER_DEFAULT_SERVICE_ACCOUNT",
    "LOGGER_DEFAULT_STORAGE_KEY",
    "check_resource_config",
    "get_logger_config",
    "go_probe_json",
    "inject_agent",
]

AGENT_PORT = 9081
LOGGER_CA_BUNDLE_VOLUME = "agent-ca-bundle"
LOGGER_CA_CERT_MOUNT_PATH = "/etc/tls/logger"
LOGGER_DEFAULT_STORAGE_KEY = "credentials"
LOGGER_DEFAULT_SERVICE_ACCOUNT = "logger-sa"
LOGGER_FORMAT_KEY = "format"
MODEL_DIR_VOLUME = "model-dir"
MODEL_CONFIG_VOLUME = "model-config"
DEFAULT_COMPONENT_PORT = "8080"
SERVING_READINESS_PROBE_ENV = "SERVING_READINESS_PROBE"

# ---------------------------------------------------------------------------------------------
# configs
# ---------------------------------------------------------------------------------------------

_RESOURCE_FIELDS = (
    ("memoryRequest", "memory_request"),
    ("memoryLimit", "memory_limit"),
    ("cpuRequest", "cpu_request"),
    ("cpuLimit", "cpu_limit"),
)


def check_resource_config(key: str, config: Any) -> None:
    """The resource checks upstream makes when the mutator reads ``agent``, ``logger`` and
    ``batcher``: each request and limit must be a quantity (an absent key fails too).
    Messages as upstream's ``getAgentConfigs`` / ``getLoggerConfigs`` /
    ``getBatcherConfigs``."""
    for name, attr in _RESOURCE_FIELDS:
        err = go_quantity_error(getattr(config, attr))
        if err is None:
            continue
        if key == "agent":
            message = f'failed to parse resource configuration for "{key}": {err}'
        else:
            message = f'Failed to parse resource configuration for "{key}": {go_quote(err)}'
        raise PodMutationError(message, f"{key}.{name}")


def get_logger_config(config: LoggerConfig, isvc_logger: Any | None) -> LoggerConfig:
    """``getLoggerConfigs``: the ``logger`` key, with the InferenceService predictor's
    ``logger`` (a ``LoggerSpec``) replacing the storage and overriding marshaller URL and
    batching; storage key and ServiceAccount defaulted (``credentials``, ``logger-sa``)."""
    out = config.model_copy(deep=True)
    if isvc_logger is not None:
        storage = isvc_logger.storage
        out.store = (
            None
            if storage is None
            else LoggerStorageConfig(
                path=storage.path,
                parameters=dict(storage.parameters) if storage.parameters is not None else None,
                key=storage.storage_key,
                serviceAccountName=storage.service_account_name,
            )
        )
        if isvc_logger.marshaller_url is not None:
            out.marshaller_url = isvc_logger.marshaller_url
        if isvc_logger.batch_size is not None:
            out.batch_size = isvc_logger.batch_size
        if isvc_logger.batch_interval is not None:
            out.batch_interval = isvc_logger.batch_interval
    check_resource_config("logger", out)
    if out.store is not None:
        if not out.store.storage_key:
            out.store.storage_key = LOGGER_DEFAULT_STORAGE_KEY
        if not out.store.service_account_name:
            out.store.service_account_name = LOGGER_DEFAULT_SERVICE_ACCOUNT
    return out


# ---------------------------------------------------------------------------------------------
# Go's json.Marshal of a corev1.Probe (SERVING_READINESS_PROBE)
# ---------------------------------------------------------------------------------------------


def _go_int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _ordered(probe: JsonDict) -> JsonDict:
    """The probe with Go's field order and ``omitempty`` (unknown fields dropped, as Go's
    decode/encode round trip drops them)."""
    out: JsonDict = {}
    exec_ = probe.get("exec")
    if isinstance(exec_, dict):
        out["exec"] = {"command": exec_["command"]} if exec_.get("command") else {}
    http = probe.get("httpGet")
    if isinstance(http, dict):
        h: JsonDict = {}
        if http.get("path"):
            h["path"] = http["path"]
        h["port"] = http.get("port", 0)
        if http.get("host"):
            h["host"] = http["host"]
        if http.get("scheme"):
            h["scheme"] = http["scheme"]
        headers = http.get("httpHeaders")
        if headers:
            h["httpHeaders"] = [
                {"name": x.get("name", ""), "value": x.get("value", "")}
                for x in headers
                if isinstance(x, dict)
            ]
        out["httpGet"] = h
    tcp = probe.get("tcpSocket")
    if isinstance(tcp, dict):
        t: JsonDict = {"port": tcp.get("port", 0)}
        if tcp.get("host"):
            t["host"] = tcp["host"]
        out["tcpSocket"] = t
    grpc = probe.get("grpc")
    if isinstance(grpc, dict):
        out["grpc"] = {"port": _go_int(grpc.get("port")), "service": grpc.get("service")}
    for key in (
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ):
        if _go_int(probe.get(key)):
            out[key] = probe[key]
    if probe.get("terminationGracePeriodSeconds") is not None:
        out["terminationGracePeriodSeconds"] = probe["terminationGracePeriodSeconds"]
    return out


def go_probe_json(probe: JsonDict) -> str:
    """``json.Marshal(probe)`` exactly as upstream writes ``SERVING_READINESS_PROBE``."""
    text = json.dumps(_ordered(probe), separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# ---------------------------------------------------------------------------------------------
# the injector
# ---------------------------------------------------------------------------------------------


def _logger_args(
    pod: JsonDict, logger: LoggerConfig, annotations: dict[str, str], labels: dict[str, str]
) -> list[str]:
    meta = pod.get("metadata") or {}
    args = [
        "--log-url",
        annotations.get(LOGGER_SINK_URL_ANNOTATION, logger.default_url),
        "--source-uri",
        str(meta.get("name") or ""),
        "--log-mode",
        annotations.get(LOGGER_MODE_ANNOTATION, "all"),
        "--inference-service",
        labels.get(INFERENCE_SERVICE_POD_LABEL, ""),
        "--namespace",
        str(meta.get("namespace") or ""),
        "--endpoint",
        labels.get(ENDPOINT_LABEL, ""),
        "--component",
        labels.get(COMPONENT_LABEL, ""),
    ]
    store = logger.store
    if store is not None and store.path:
        args += ["--log-store-path", store.path]
    if store is not None and store.parameters and store.parameters.get(LOGGER_FORMAT_KEY):
        args += ["--log-store-format", store.parameters[LOGGER_FORMAT_KEY]]
    if logger.marshaller_url:
        args += ["--log-marshaller-url", logger.marshaller_url]
    if logger.batch_size > 0:
        args += ["--log-batch-size", str(logger.batch_size)]
    if logger.batch_interval:
        args += ["--log-batch-interval", logger.batch_interval]
    if LOGGER_METADATA_HEADERS_ANNOTATION in annotations:
        args += ["--metadata-headers", annotations[LOGGER_METADATA_HEADERS_ANNOTATION]]
    if LOGGER_METADATA_ANNOTATIONS_ANNOTATION in annotations:
        keys = annotations[LOGGER_METADATA_ANNOTATIONS_ANNOTATION].split(",")
        pairs = [f"{k}={annotations[k]}" for k in keys if k in annotations]
        args += ["--metadata-annotations", ",".join(pairs)]
    if logger.ca_cert_file:
        args += ["--logger-ca-cert-file", logger.ca_cert_file]
    args += ["--logger-tls-skip-verify", "true" if logger.tls_skip_verify else "false"]
    return args


def _container_port(c: JsonDict) -> str | None:
    ports = [p for p in (c.get("ports") or []) if isinstance(p, dict)]
    return str(ports[0].get("containerPort", 0)) if ports else None


def _mount_volume_to_container(spec: JsonDict, name: str, volume: JsonDict, path: str) -> None:
    """``mountVolumeToContainer``: add the volume (once) and mount it into every container
    called ``name``."""
    vols = volumes(spec)
    if not any(v.get("name") == volume["name"] for v in vols):
        vols.append(volume)
    for c in container_list(spec):
        if c.get("name") == name:
            volume_mounts(c).append(volume_mount(volume["name"], path))


def inject_agent(
    pod: JsonDict,
    agent: Any,
    logger: LoggerConfig,
    credentials: CredentialBuilder,
) -> None:
    """``InjectAgent``: add the ``agent`` container (``agent`` config for image and
    resources, ``logger`` the effective logger config) unless it is there already."""
    meta = pod.get("metadata") or {}
    annotations = dict(string_map(meta.get("annotations")))
    labels = dict(string_map(meta.get("labels")))
    inject_logger = LOGGER_ANNOTATION in annotations
    inject_puller = AGENT_SHOULD_INJECT_ANNOTATION in annotations
    inject_batcher = BATCHER_ANNOTATION in annotations
    if not (inject_logger or inject_puller or inject_batcher):
        return
    spec = pod_spec(pod)
    containers = container_list(spec)
    if any(c.get("name") == AGENT_CONTAINER for c in containers):
        return
    if not containers:
        raise PodMutationError("the agent needs the pod's first container", "spec.containers")

    args: list[str] = []
    if inject_puller:
        args.append("--enable-puller")
        if AGENT_MODEL_CONFIG_MOUNT_PATH_ANNOTATION in annotations:
            args += ["--config-dir", annotations[AGENT_MODEL_CONFIG_MOUNT_PATH_ANNOTATION]]
        if AGENT_MODEL_DIR_ANNOTATION in annotations:
            args += ["--model-dir", annotations[AGENT_MODEL_DIR_ANNOTATION]]
    if inject_batcher:
        args.append("--enable-batcher")
        if BATCHER_MAX_BATCH_SIZE_ANNOTATION in annotations:
            args += ["--max-batchsize", annotations[BATCHER_MAX_BATCH_SIZE_ANNOTATION]]
        if BATCHER_MAX_LATENCY_ANNOTATION in annotations:
            args += ["--max-latency", annotations[BATCHER_MAX_LATENCY_ANNOTATION]]
    if inject_logger:
        args += _logger_args(pod, logger, annotations, labels)

    agent_env: list[JsonDict] = []
    queue_proxy_env: list[Any] | None = None
    transformer: JsonDict | None = None
    component_port = DEFAULT_COMPONENT_PORT
    for c in containers:
        if c.get("name") == QUEUE_PROXY_CONTAINER:
            queue_proxy_env = [e for e in (c.get("env") or [])]
            agent_env = copy.deepcopy([e for e in queue_proxy_env if isinstance(e, dict)])
        if c.get("name") == TRANSFORMER_CONTAINER:
            transformer = c
        if c.get("name") == INFERENCE_SERVICE_CONTAINER:
            component_port = _container_port(c) or component_port
    if transformer is not None:
        component_port = _container_port(transformer) or DEFAULT_COMPONENT_PORT
    args += ["--component-port", component_port]

    probe_path = "/"
    if queue_proxy_env is None:
        probe = (transformer or containers[0]).get("readinessProbe")
        if isinstance(probe, dict) and (
            isinstance(probe.get("httpGet"), dict) or isinstance(probe.get("tcpSocket"), dict)
        ):
            agent_env.append({"name": SERVING_READINESS_PROBE_ENV, "value": go_probe_json(probe)})
            http = probe.get("httpGet")
            if isinstance(http, dict) and http.get("path"):
                probe_path = str(http["path"])
    else:
        for e in queue_proxy_env:
            if isinstance(e, dict) and e.get("name") == "USER_PORT":
                e["value"] = str(AGENT_PORT)

    container: JsonDict = {"name": AGENT_CONTAINER}
    if agent.image:
        container["image"] = agent.image
    container["args"] = args
    container["resources"] = {
        "limits": {
            "cpu": quantity(agent.cpu_limit, "agent.cpuLimit"),
            "memory": quantity(agent.memory_limit, "agent.memoryLimit"),
        },
        "requests": {
            "cpu": quantity(agent.cpu_request, "agent.cpuRequest"),
            "memory": quantity(agent.memory_request, "agent.memoryRequest"),
        },
    }
    container["ports"] = [{"name": "agent-port", "containerPort": AGENT_PORT, "protocol": "TCP"}]
    security_context = containers[0].get("securityContext")
    if isinstance(security_context, dict):
        container["securityContext"] = copy.deepcopy(security_context)
    if agent_env:
        container["env"] = agent_env
    container["readinessProbe"] = {
        "httpGet": {
            "path": probe_path,
            "port": AGENT_PORT,
            "scheme": "HTTP",
            "httpHeaders": [{"name": "K-Network-Probe", "value": "queue"}],
        }
    }
    if inject_logger and logger.ca_bundle:
        volumes(spec).append(
            {
                "name": LOGGER_CA_BUNDLE_VOLUME,
                "configMap": {"name": logger.ca_bundle, "optional": True},
            }
        )
        volume_mounts(container).append(
            volume_mount(LOGGER_CA_BUNDLE_VOLUME, LOGGER_CA_CERT_MOUNT_PATH, True)
        )
    credentials.create_secret_volume_and_env(
        annotations, str(spec.get("serviceAccountName") or ""), container, spec
    )
    if inject_logger and logger.store is not None:
        credentials.create_secret_volume_and_env(
            annotations,
            logger.store.service_account_name or LOGGER_DEFAULT_SERVICE_ACCOUNT,
            container,
            spec,
        )
    if not container.get("env"):
        container.pop("env", None)
    ensure_list(spec, "containers").append(container)

    if inject_puller:
        missing = f"can not find {AGENT_MODEL_CONFIG_VOLUME_NAME_ANNOTATION} label"
        if AGENT_MODEL_DIR_ANNOTATION not in annotations:
            raise PodMutationError(missing, f"metadata.annotations[{AGENT_MODEL_DIR_ANNOTATION}]")
        model_dir = {"name": MODEL_DIR_VOLUME, "emptyDir": {}}
        _mount_volume_to_container(spec, AGENT_CONTAINER, model_dir, DEFAULT_MOUNT_PATH)
        _mount_volume_to_container(spec, INFERENCE_SERVICE_CONTAINER, model_dir, DEFAULT_MOUNT_PATH)
        config_name = annotations.get(AGENT_MODEL_CONFIG_VOLUME_NAME_ANNOTATION)
        if config_name is None:
            raise PodMutationError(
                missing, f"metadata.annotations[{AGENT_MODEL_CONFIG_VOLUME_NAME_ANNOTATION}]"
            )
        model_config = {"name": MODEL_CONFIG_VOLUME, "configMap": {"name": config_name}}
        _mount_volume_to_container(spec, AGENT_CONTAINER, model_config, MODEL_CONFIG_DIR)
