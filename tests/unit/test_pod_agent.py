"""Upstream ``pkg/webhook/admission/pod/agent_injector_test.go``, ported as table tests that
assert whole pods: ``TestAgentInjector``'s four tables (the scenarios with the plain logger
config, the same scenarios re-run with the TLS logger config — upstream runs them on the
already-mutated pods, so that run checks the injector leaves a mutated pod alone — the TLS
scenarios and the logger-storage scenarios), ``TestGetLoggerConfigs``,
``TestGetAgentConfigs`` and ``TestReadinessProbeInheritance``."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from apis.serving.v1beta1.component import LoggerSpec
from apis.serving.v1beta1.configmap import AgentConfig, LoggerConfig, LoggerStorageConfig
from controllers.webhooks.pod import PodMutationError
from controllers.webhooks.pod.agent import (
    check_resource_config,
    get_logger_config,
    go_probe_json,
    inject_agent,
)
from tests.unit.test_pod_support import KSERVE, builder, container, pod, service_account

AGENT_CONFIG = AgentConfig(
    image="gcr.io/kserve/agent:latest",
    cpuRequest="100m",
    cpuLimit="1",
    memoryRequest="200Mi",
    memoryLimit="1Gi",
)
LOGGER_CONFIG = LoggerConfig(image="gcr.io/kserve/agent:latest", defaultUrl="http://httpbin.org/")
LOGGER_TLS_CONFIG = LoggerConfig(
    image="gcr.io/kserve/agent:latest",
    defaultUrl="https://httpbin.org/",
    caBundle="kserve-tls-bundle",
    caCertFile="ca.crt",
    tlsSkipVerify=True,
)
STORAGE_PARAMETERS = {"type": "s3", "region": "us-west-2", "format": "json"}
LOGGER_STORAGE_CONFIG = LoggerConfig(
    image="gcr.io/kserve/agent:latest",
    defaultUrl="http://httpbin.org/",
    storage=LoggerStorageConfig(
        path="/logger",
        parameters=STORAGE_PARAMETERS,
        key="logger-credentials",
        serviceAccountName="logger-sa",
    ),
)
AGENT_RESOURCES = {
    "limits": {"cpu": "1", "memory": "1Gi"},
    "requests": {"cpu": "100m", "memory": "200Mi"},
}

TCP_PROBE = {
    "tcpSocket": {"port": 8080},
    "timeoutSeconds": 1,
    "periodSeconds": 10,
    "successThreshold": 1,
    "failureThreshold": 3,
}
TCP_PROBE_JSON = (
    '{"tcpSocket":{"port":8080},"timeoutSeconds":1,"periodSeconds":10,"successThreshold":1,'
    '"failureThreshold":3}'
)
PROBE_ENV = [{"name": "SERVING_READINESS_PROBE", "value": TCP_PROBE_JSON}]
LABELS = {
    "serving.kserve.io/inferenceservice": "sklearn",
    "model": "sklearn",
    "endpoint": "default",
    "component": "predictor",
}
PULLER = {
    "internal.serving.kserve.io/agent": "true",
    "internal.serving.kserve.io/configVolumeName": "modelconfig-deployment-0",
    "internal.serving.kserve.io/modelDir": "/mnt/models",
    "internal.serving.kserve.io/configMountPath": "/mnt/configs",
}
LOGGER = {
    "internal.serving.kserve.io/logger": "true",
    "internal.serving.kserve.io/logger-sink-url": "http://httpbin.org/",
    "internal.serving.kserve.io/logger-mode": "all",
}
PULLER_ARGS = ["--enable-puller", "--config-dir", "/mnt/configs", "--model-dir", "/mnt/models"]
PULLER_MOUNTS = [
    {"name": "model-dir", "mountPath": "/mnt/models"},
    {"name": "model-config", "mountPath": "/mnt/configs"},
]
PULLER_VOLUMES = [
    {"name": "model-dir", "emptyDir": {}},
    {"name": "model-config", "configMap": {"name": "modelconfig-deployment-0"}},
]


def logger_args(url: str = "http://httpbin.org/", *extra: str) -> list[str]:
    return [
        "--log-url",
        url,
        "--source-uri",
        "deployment",
        "--log-mode",
        "all",
        "--inference-service",
        "sklearn",
        "--namespace",
        "default",
        "--endpoint",
        "default",
        "--component",
        "predictor",
        *extra,
    ]


def agent(
    args: list[str],
    env: list[Any] | None = None,
    mounts: list[Any] | None = None,
    probe_path: str = "/",
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": "agent",
        "image": "gcr.io/kserve/agent:latest",
        "args": args,
        "resources": AGENT_RESOURCES,
        "ports": [{"name": "agent-port", "containerPort": 9081, "protocol": "TCP"}],
        "readinessProbe": {
            "httpGet": {
                "path": probe_path,
                "port": 9081,
                "scheme": "HTTP",
                "httpHeaders": [{"name": "K-Network-Probe", "value": "queue"}],
            }
        },
    }
    if env:
        out["env"] = env
    if mounts:
        out["volumeMounts"] = mounts
    return out


def agent_pod(
    annotations: dict[str, str] | None, containers: list[Any], **spec: Any
) -> dict[str, Any]:
    return pod(
        annotations,
        containers,
        labels=LABELS if annotations else None,
        name="deployment",
        namespace="default" if annotations else None,
        **spec,
    )


def sklearn(
    probe: dict[str, Any] | None = TCP_PROBE, name: str = "sklearn", **fields: Any
) -> dict[str, Any]:
    return container(name, **({"readinessProbe": probe} if probe else {}), **fields)


QUEUE_PROXY = container("queue-proxy", env=PROBE_ENV)
_ALREADY = agent_pod(
    PULLER,
    [sklearn(), agent(PULLER_ARGS, PROBE_ENV, PULLER_MOUNTS)],
    serviceAccountName="sa",
    volumes=PULLER_VOLUMES,
)


def _with(p: dict[str, Any], **spec: Any) -> dict[str, Any]:
    out = copy.deepcopy(p)
    out["spec"].update(spec)
    return out


_ADD_AGENT = agent_pod(PULLER, [sklearn()], serviceAccountName="sa")
_ADD_LOGGER = agent_pod(LOGGER, [sklearn(), QUEUE_PROXY])
_META_HEADERS = agent_pod(
    {**LOGGER, "internal.serving.kserve.io/logger-metadata-headers": "Foo,Bar"},
    [sklearn(), QUEUE_PROXY],
)
_META_ANNOTATIONS = agent_pod(
    {
        **LOGGER,
        "internal.serving.kserve.io/logger-metadata-annotations": "Foo,Fizz",
        "Foo": "Bar",
        "Fizz": "Buzz",
    },
    [sklearn(), QUEUE_PROXY],
)
_BATCHER = agent_pod(
    {
        "internal.serving.kserve.io/batcher": "true",
        "internal.serving.kserve.io/batcher-max-latency": "100",
        "internal.serving.kserve.io/batcher-max-batchsize": "30",
    },
    [sklearn(), QUEUE_PROXY],
)
_DEFAULT_LOGGER = agent_pod(
    {"internal.serving.kserve.io/logger": "true"}, [sklearn(name=KSERVE), QUEUE_PROXY]
)
_USER_PORT_ENV = [*PROBE_ENV, {"name": "USER_PORT", "value": "8080"}]
_USER_PORT = agent_pod(
    {"internal.serving.kserve.io/logger": "true"},
    [sklearn(name=KSERVE), container("queue-proxy", env=_USER_PORT_ENV)],
)
_PORTED = agent_pod(
    PULLER,
    [sklearn(name=KSERVE, ports=[{"name": "serving-port", "containerPort": 80}])],
    serviceAccountName="sa",
)
_HTTP_PROBE = {
    "httpGet": {"path": "/v1/health/ready", "port": 8080, "scheme": "HTTP"},
    "timeoutSeconds": 1,
    "periodSeconds": 10,
    "successThreshold": 1,
    "failureThreshold": 3,
}
_HTTP = agent_pod(PULLER, [sklearn(_HTTP_PROBE)], serviceAccountName="sa")
_PLAIN = agent_pod(None, [sklearn(None)])
_TAIL = ["--logger-tls-skip-verify", "false", "--component-port", "8080"]

SCENARIOS = {
    "AddAgent": (
        _ADD_AGENT,
        _with(
            _ADD_AGENT,
            containers=[
                sklearn(),
                agent([*PULLER_ARGS, "--component-port", "8080"], PROBE_ENV, PULLER_MOUNTS),
            ],
            volumes=PULLER_VOLUMES,
        ),
    ),
    "DoNotAddAgent": (_PLAIN, _PLAIN),
    "AddLogger": (
        _ADD_LOGGER,
        _with(
            _ADD_LOGGER,
            containers=[sklearn(), QUEUE_PROXY, agent([*logger_args(), *_TAIL], PROBE_ENV)],
        ),
    ),
    "AddLoggerWithMetadata": (
        _META_HEADERS,
        _with(
            _META_HEADERS,
            containers=[
                sklearn(),
                QUEUE_PROXY,
                agent([*logger_args(), "--metadata-headers", "Foo,Bar", *_TAIL], PROBE_ENV),
            ],
        ),
    ),
    "AddLoggerWithAnnotation": (
        _META_ANNOTATIONS,
        _with(
            _META_ANNOTATIONS,
            containers=[
                sklearn(),
                QUEUE_PROXY,
                agent(
                    [*logger_args(), "--metadata-annotations", "Foo=Bar,Fizz=Buzz", *_TAIL],
                    PROBE_ENV,
                ),
            ],
        ),
    ),
    "DoNotAddLogger": (_PLAIN, _PLAIN),
    "AddBatcher": (
        _BATCHER,
        _with(
            _BATCHER,
            containers=[
                sklearn(),
                QUEUE_PROXY,
                agent(
                    [
                        "--enable-batcher",
                        "--max-batchsize",
                        "30",
                        "--max-latency",
                        "100",
                        "--component-port",
                        "8080",
                    ],
                    PROBE_ENV,
                ),
            ],
        ),
    ),
    "DoNotAddBatcher": (_PLAIN, _PLAIN),
    "AgentAlreadyInjected": (_ALREADY, _ALREADY),
    "DefaultLoggerConfig": (
        _DEFAULT_LOGGER,
        _with(
            _DEFAULT_LOGGER,
            containers=[
                sklearn(name=KSERVE),
                QUEUE_PROXY,
                agent([*logger_args(), *_TAIL], PROBE_ENV),
            ],
        ),
    ),
    "QueueProxyUserPortProvided": (
        _USER_PORT,
        _with(
            _USER_PORT,
            containers=[
                sklearn(name=KSERVE),
                container("queue-proxy", env=[*PROBE_ENV, {"name": "USER_PORT", "value": "9081"}]),
                agent([*logger_args(), *_TAIL], _USER_PORT_ENV),
            ],
        ),
    ),
    "KserveContainer has port": (
        _PORTED,
        _with(
            _PORTED,
            containers=[
                sklearn(
                    name=KSERVE,
                    ports=[{"name": "serving-port", "containerPort": 80}],
                    volumeMounts=[{"name": "model-dir", "mountPath": "/mnt/models"}],
                ),
                agent([*PULLER_ARGS, "--component-port", "80"], PROBE_ENV, PULLER_MOUNTS),
            ],
            volumes=PULLER_VOLUMES,
        ),
    ),
}

TLS_SCENARIOS = {
    "AddLogger": (
        agent_pod(
            {**LOGGER, "internal.serving.kserve.io/logger-sink-url": "https://httpbin.org/"},
            [sklearn(), QUEUE_PROXY],
        ),
        [
            sklearn(),
            QUEUE_PROXY,
            agent(
                [
                    *logger_args("https://httpbin.org/"),
                    "--logger-ca-cert-file",
                    "ca.crt",
                    "--logger-tls-skip-verify",
                    "true",
                    "--component-port",
                    "8080",
                ],
                PROBE_ENV,
                [{"name": "agent-ca-bundle", "mountPath": "/etc/tls/logger", "readOnly": True}],
            ),
        ],
        [{"name": "agent-ca-bundle", "configMap": {"name": "kserve-tls-bundle", "optional": True}}],
    ),
}

STORAGE_SCENARIOS = {
    "AddLoggerWithStorage": (
        _ADD_LOGGER,
        [
            sklearn(),
            QUEUE_PROXY,
            agent(
                [
                    *logger_args(),
                    "--log-store-path",
                    "/logger",
                    "--log-store-format",
                    "json",
                    *_TAIL,
                ],
                PROBE_ENV,
            ),
        ],
        None,
    ),
    "AddAgentWithHTTPGetReadinessProbe": (
        _HTTP,
        [
            sklearn(_HTTP_PROBE),
            agent(
                [*PULLER_ARGS, "--component-port", "8080"],
                [
                    {
                        "name": "SERVING_READINESS_PROBE",
                        "value": '{"httpGet":{"path":"/v1/health/ready","port":8080,'
                        '"scheme":"HTTP"},"timeoutSeconds":1,"periodSeconds":10,'
                        '"successThreshold":1,"failureThreshold":3}',
                    }
                ],
                PULLER_MOUNTS,
                probe_path="/v1/health/ready",
            ),
        ],
        PULLER_VOLUMES,
    ),
}


@pytest.mark.parametrize(("original", "want"), SCENARIOS.values(), ids=SCENARIOS.keys())
def test_agent_injector(original: dict[str, Any], want: dict[str, Any]) -> None:
    out = copy.deepcopy(original)
    inject_agent(out, AGENT_CONFIG, LOGGER_CONFIG, builder())
    assert out == want
    # upstream's second table: the same (now mutated) pods with the TLS logger config
    again = copy.deepcopy(out)
    inject_agent(again, AGENT_CONFIG, LOGGER_TLS_CONFIG, builder())
    assert again == want


@pytest.mark.parametrize(
    ("original", "containers", "vols"), TLS_SCENARIOS.values(), ids=TLS_SCENARIOS.keys()
)
def test_agent_injector_tls(
    original: dict[str, Any], containers: list[Any], vols: list[Any]
) -> None:
    out = copy.deepcopy(original)
    inject_agent(out, AGENT_CONFIG, LOGGER_TLS_CONFIG, builder())
    assert out == _with(original, containers=containers, volumes=vols)


@pytest.mark.parametrize(
    ("original", "containers", "vols"), STORAGE_SCENARIOS.values(), ids=STORAGE_SCENARIOS.keys()
)
def test_agent_injector_logger_storage(
    original: dict[str, Any], containers: list[Any], vols: Any
) -> None:
    out = copy.deepcopy(original)
    inject_agent(
        out,
        AGENT_CONFIG,
        get_logger_config(
            LOGGER_STORAGE_CONFIG.model_copy(
                update={
                    "cpu_request": "1",
                    "cpu_limit": "1",
                    "memory_request": "1Gi",
                    "memory_limit": "1Gi",
                }
            ),
            None,
        ),
        builder(),
    )
    want = _with(original, containers=containers)
    if vols is not None:
        want["spec"]["volumes"] = vols
    assert out == want


def test_agent_credentials_from_pod_and_logger_service_accounts() -> None:
    """Beyond upstream's tables (its ServiceAccounts never exist there): the agent gets the
    pod ServiceAccount's and the logger ServiceAccount's credentials, in that order."""
    from tests.unit.test_pod_support import secret

    creds = builder(
        None,
        [service_account("sa", ["hf"]), service_account("logger-sa", ["https-creds"])],
        [
            secret("hf", {"HF_TOKEN": "t"}),
            secret("https-creds", {"https-host": "example.com", "headers": "a: b"}),
        ],
    )
    out = agent_pod(LOGGER, [sklearn(), QUEUE_PROXY], serviceAccountName="sa")
    logger = get_logger_config(
        LOGGER_STORAGE_CONFIG.model_copy(
            update={
                "cpu_request": "1",
                "cpu_limit": "1",
                "memory_request": "1Gi",
                "memory_limit": "1Gi",
            }
        ),
        None,
    )
    inject_agent(out, AGENT_CONFIG, logger, creds)
    assert out["spec"]["containers"][2]["env"] == [
        *PROBE_ENV,
        {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf", "key": "HF_TOKEN"}}},
        {"name": "example.com-headers", "value": "a: b"},
    ]


def test_agent_puller_without_model_dir_annotation_is_refused() -> None:
    p = agent_pod({"internal.serving.kserve.io/agent": "true"}, [sklearn()])
    with pytest.raises(
        PodMutationError,
        match=r"^can not find internal\.serving\.kserve\.io/configVolumeName label$",
    ):
        inject_agent(p, AGENT_CONFIG, LOGGER_CONFIG, builder())


def test_agent_uses_transformer_port_and_probe() -> None:
    transformer = container(
        "transformer-container",
        ports=[{"containerPort": 8081}],
        readinessProbe={"httpGet": {"path": "/t", "port": 8081}},
    )
    p = agent_pod(
        {"internal.serving.kserve.io/batcher": "true"}, [sklearn(name=KSERVE), transformer]
    )
    inject_agent(p, AGENT_CONFIG, LOGGER_CONFIG, builder())
    assert p["spec"]["containers"][2] == agent(
        ["--enable-batcher", "--component-port", "8081"],
        [{"name": "SERVING_READINESS_PROBE", "value": '{"httpGet":{"path":"/t","port":8081}}'}],
        probe_path="/t",
    )


# ---------------------------------------------------------------------------------------------
# TestGetLoggerConfigs (5), TestGetAgentConfigs (2)
# ---------------------------------------------------------------------------------------------

_LOGGER_KEY = LoggerConfig.model_validate(
    {
        "Image": "gcr.io/kfserving/logger:latest",
        "CpuRequest": "100m",
        "CpuLimit": "1",
        "MemoryRequest": "200Mi",
        "MemoryLimit": "1Gi",
    }
)


def _isvc_logger(storage: dict[str, Any] | None) -> LoggerSpec:
    return LoggerSpec.model_validate(
        {
            "url": "s3://bucket/logger",
            "mode": "all",
            **({"storage": storage} if storage is not None else {}),
        }
    )


_STORE = {"path": "/logger", "parameters": STORAGE_PARAMETERS, "key": "logger-credentials"}


@pytest.mark.parametrize(
    ("isvc", "store"),
    [
        pytest.param(_isvc_logger(None), None, id="Logger storage nil"),
        pytest.param(
            _isvc_logger(_STORE),
            {**_STORE, "serviceAccountName": "logger-sa"},
            id="Logger storage service account nil",
        ),
        pytest.param(
            _isvc_logger({**_STORE, "serviceAccountName": "logger-service-account-name"}),
            {**_STORE, "serviceAccountName": "logger-service-account-name"},
            id="Logger storage service account set",
        ),
        pytest.param(
            _isvc_logger({**_STORE, "serviceAccountName": "logger-service-account-name"}),
            {**_STORE, "serviceAccountName": "logger-service-account-name"},
            id="Valid Logger Config",
        ),
        pytest.param(
            _isvc_logger({"path": "/logger"}),
            {"path": "/logger", "key": "credentials", "serviceAccountName": "logger-sa"},
            id="storage key and ServiceAccount defaulted",
        ),
    ],
)
def test_get_logger_configs(isvc: LoggerSpec, store: dict[str, Any] | None) -> None:
    got = get_logger_config(_LOGGER_KEY, isvc)
    assert (got.image, got.cpu_request, got.cpu_limit, got.memory_request, got.memory_limit) == (
        "gcr.io/kfserving/logger:latest",
        "100m",
        "1",
        "200Mi",
        "1Gi",
    )
    assert (got.store.model_dump(by_alias=True, exclude_none=True) if got.store else None) == store
    assert _LOGGER_KEY.store is None  # the ConfigMap's config is not modified


@pytest.mark.parametrize("key", ["logger", "agent", "batcher"])
def test_invalid_resource_value(key: str) -> None:
    bad = AgentConfig(
        image="x", cpuRequest="100m", cpuLimit="1", memoryRequest="200mc", memoryLimit="1Gi"
    )
    err = (
        "quantities must match the regular expression "
        "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )
    want = (
        f'failed to parse resource configuration for "agent": {err}'
        if key == "agent"
        else f'Failed to parse resource configuration for "{key}": "{err}"'
    )
    with pytest.raises(PodMutationError) as exc:
        if key == "logger":
            get_logger_config(LoggerConfig(**bad.model_dump(by_alias=True)), None)
        else:
            check_resource_config(key, bad)
    assert str(exc.value) == want
    assert exc.value.field == f"{key}.memoryRequest"


def test_valid_agent_config() -> None:
    cfg = AgentConfig.model_validate(
        {
            "Image": "gcr.io/kfserving/agent:latest",
            "CpuRequest": "100m",
            "CpuLimit": "1",
            "MemoryRequest": "200Mi",
            "MemoryLimit": "1Gi",
        }
    )
    check_resource_config("agent", cfg)
    assert (cfg.image, cfg.memory_request) == ("gcr.io/kfserving/agent:latest", "200Mi")


# ---------------------------------------------------------------------------------------------
# TestReadinessProbeInheritance (3)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("probe", "env"),
    [
        pytest.param(
            {"httpGet": {"path": "/ready", "port": 8080, "scheme": "HTTP"}},
            '{"httpGet":{"path":"/ready","port":8080,"scheme":"HTTP"}}',
            id="HTTPGet Readiness Probe",
        ),
        pytest.param(
            {"tcpSocket": {"port": 8080}},
            '{"tcpSocket":{"port":8080}}',
            id="TCPSocket Readiness Probe",
        ),
        pytest.param({"exec": {"command": ["echo", "hello"]}}, None, id="Exec Readiness Probe"),
    ],
)
def test_readiness_probe_inheritance(probe: dict[str, Any], env: str | None) -> None:
    """Upstream's table checks a test-local marshaller that writes zero timeouts; ours checks
    the injector itself, whose value is Go's ``json.Marshal(corev1.Probe)`` (zeros omitted)."""
    p = agent_pod(
        {"internal.serving.kserve.io/batcher": "true"},
        [container("test-container", readinessProbe=probe)],
    )
    inject_agent(p, AGENT_CONFIG, LOGGER_CONFIG, builder())
    got = p["spec"]["containers"][1].get("env")
    assert got == ([{"name": "SERVING_READINESS_PROBE", "value": env}] if env else None)


def test_go_probe_json_field_order_and_escaping() -> None:
    probe = {
        "failureThreshold": 2,
        "httpGet": {
            "httpHeaders": [{"value": "<a&b>", "name": "X"}],
            "scheme": "HTTP",
            "host": "h",
            "port": "http",
            "path": "/p",
        },
        "initialDelaySeconds": 0,
        "terminationGracePeriodSeconds": 5,
        "unknownField": 1,
    }
    assert go_probe_json(probe) == (
        '{"httpGet":{"path":"/p","port":"http","host":"h","scheme":"HTTP","httpHeaders":[{"name":"X",'
        '"value":"\\u003ca\\u0026b\\u003e"}]},"failureThreshold":2,"terminationGracePeriodSeconds":5}'
    )
