"""``mutate_pod`` and ``build_context``: upstream ``mutator_test.go`` (``TestMutator_Handle``'s
two cases, ``TestInjectModelcarGate``'s three), the refusals the mutator makes before any step,
the steps together in upstream's order, idempotency of every step (the apiserver reinvokes the
webhook; a second mutation must change nothing), and the cached reads of ``build_context`` on
the fake client."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from lightkube.core.exceptions import ApiError
from lightkube.models import meta_v1

from apis.serving.v1alpha1 import ClusterStorageContainer
from apis.serving.v1beta1 import InferenceService
from apis.serving.v1beta1.component import LoggerSpec
from controllers.webhooks.pod import (
    CONTEXT_READS,
    PodMutationContext,
    PodMutationError,
    build_context,
    check_pod_shape,
    mutate_pod,
)
from runtime.testing.fake_client import FakeClient
from tests.unit.test_pod_support import (
    HF_ENV,
    KSERVE,
    MODELS,
    PROVISION_MOUNT_RO,
    PROVISION_MOUNT_RW,
    PROVISION_VOLUME,
    SRC,
    container,
    csc,
    mutator_config,
    pod,
    secret,
    secret_ref,
    service_account,
)

ISVC = "serving.kserve.io/inferenceservice"
METRIC_DEFAULTS = {
    "serving.kserve.io/enable-metric-aggregation": "",
    "serving.kserve.io/enable-prometheus-scraping": "",
}
CONFIG = mutator_config()
SI_RES = {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "100m", "memory": "100Mi"}}


def ctx(config: Any = CONFIG, **kw: Any) -> PodMutationContext:
    kw.setdefault("namespace", "default")
    return PodMutationContext(config=config, **kw)


def isvc_pod(
    annotations: dict[str, str] | None = None, containers: list[Any] | None = None, **spec: Any
) -> dict[str, Any]:
    p = pod(annotations, containers, labels={ISVC: ""}, **spec)
    p["apiVersion"], p["kind"] = "v1", "Pod"
    return p


# ---------------------------------------------------------------------------------------------
# TestMutator_Handle (2), TestInjectModelcarGate (3)
# ---------------------------------------------------------------------------------------------


def test_should_not_mutate_non_isvc_pods() -> None:
    original = {"apiVersion": "v1", "kind": "Pod", "metadata": {}, "spec": {}}
    out = mutate_pod(original, ctx())
    assert out is original  # no patch at all
    assert original == {"apiVersion": "v1", "kind": "Pod", "metadata": {}, "spec": {}}


def test_should_mutate_isvc_pods() -> None:
    """Upstream's patch: add both metric annotations (empty) and the request's namespace."""
    original = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"labels": {ISVC: ""}},
        "spec": {"containers": [{"name": KSERVE}]},
    }
    snapshot = copy.deepcopy(original)
    out = mutate_pod(original, ctx())
    assert original == snapshot  # the input is not modified
    assert out == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"labels": {ISVC: ""}, "annotations": METRIC_DEFAULTS, "namespace": "default"},
        "spec": {"containers": [{"name": KSERVE}]},
    }


@pytest.mark.parametrize(
    ("extra", "registered"),
    [
        pytest.param(
            {"enableOciModelSupport": True, "enableModelcar": False},
            True,
            id="EnableOciModelSupport only: InjectModelcar registered",
        ),
        pytest.param(
            {"enableModelcar": True},
            True,
            id="EnableOciImageSource only (legacy enableModelcar): InjectModelcar registered",
        ),
        pytest.param({}, False, id="all OCI fields false: InjectModelcar NOT registered"),
    ],
)
def test_inject_modelcar_gate(extra: dict[str, Any], registered: bool) -> None:
    si = json.loads(mutator_config().storage_initializer.model_dump_json(by_alias=True))
    config = mutator_config(storageInitializer={**si, **extra})
    out = mutate_pod(isvc_pod({SRC: "oci://myrepo/mymodelimage"}), ctx(config))
    names = [c["name"] for c in out["spec"]["containers"]]
    assert names == ([KSERVE, "modelcar"] if registered else [KSERVE])
    # OCI disabled: the storage-initializer downloads oci:// itself (upstream behaviour)
    inits = [c["name"] for c in out["spec"].get("initContainers", [])]
    assert inits == (["modelcar-init"] if registered else ["storage-initializer"])


# ---------------------------------------------------------------------------------------------
# refusals before the steps (upstream reads each config key and fails the request)
# ---------------------------------------------------------------------------------------------

_FMT = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"


@pytest.mark.parametrize(
    ("missing", "message", "field"),
    [
        (
            "storageInitializer",
            'failed to parse resource configuration for "storageInitializer"."memoryRequest": '
            + _FMT,
            "storageInitializer.memoryRequest",
        ),
        (
            "logger",
            f'Failed to parse resource configuration for "logger": "{_FMT}"',
            "logger.memoryRequest",
        ),
        (
            "batcher",
            f'Failed to parse resource configuration for "batcher": "{_FMT}"',
            "batcher.memoryRequest",
        ),
        (
            "agent",
            f'failed to parse resource configuration for "agent": {_FMT}',
            "agent.memoryRequest",
        ),
    ],
)
def test_missing_config_key_refuses_like_upstream(missing: str, message: str, field: str) -> None:
    from apis.serving.v1beta1.configmap import parse_inferenceservice_config
    from tests.unit.test_pod_support import MUTATOR_CONFIG_DATA

    data = {k: v for k, v in MUTATOR_CONFIG_DATA.items() if k != missing}
    config = parse_inferenceservice_config(data)
    with pytest.raises(PodMutationError) as err:
        mutate_pod(isvc_pod(), ctx(config))
    assert (str(err.value), err.value.field) == (message, field)
    # pods KServe does not own are never refused
    assert mutate_pod({"metadata": {}, "spec": {}}, ctx(config)) == {"metadata": {}, "spec": {}}


def test_invalid_oci_model_mode_is_refused() -> None:
    config = CONFIG.model_copy(deep=True)
    config.storage_initializer.oci_model_mode = "sideways"
    with pytest.raises(
        PodMutationError, match=r'^invalid "storageInitializer"\.ociModelMode "sideways"'
    ):
        mutate_pod(isvc_pod(), ctx(config))


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"metadata": {"labels": {ISVC: 1}}}, "pod.metadata.labels"),
        (
            {"metadata": {"labels": {ISVC: ""}}, "spec": {"containers": {"name": "x"}}},
            "pod.spec.containers",
        ),
        (
            {"metadata": {"labels": {ISVC: ""}}, "spec": {"containers": [{"name": 3}]}},
            "pod.spec.containers[0].name",
        ),
        (
            {
                "metadata": {"labels": {ISVC: ""}},
                "spec": {"containers": [{"env": [{"name": "a", "value": 1}]}]},
            },
            "pod.spec.containers[0].env[0].value",
        ),
        (
            {"metadata": {"labels": {ISVC: ""}}, "spec": {"containers": [None]}},
            "pod.spec.containers[0]",
        ),
        (["not", "a", "pod"], "pod"),
    ],
)
def test_malformed_pod_is_refused_naming_the_field(bad: Any, field: str) -> None:
    with pytest.raises(PodMutationError) as err:
        mutate_pod(bad, ctx())
    assert err.value.field == field
    assert str(err.value).startswith(field + ":")


def test_well_formed_pod_passes_the_shape_check() -> None:
    check_pod_shape(
        isvc_pod(
            {SRC: "gs://x"},
            [
                container(
                    KSERVE,
                    env=[{"name": "A", "valueFrom": {}}],
                    resources={"limits": {"nvidia.com/gpu": "1"}},
                )
            ],
        )
    )


# ---------------------------------------------------------------------------------------------
# the steps together, in upstream's order
# ---------------------------------------------------------------------------------------------


def test_all_steps_in_upstream_order() -> None:
    """GKE selector, storage-initializer with S3 credentials, Istio UID, agent with logger
    (copies queue-proxy's env before metrics aggregation adds to it), metrics annotations."""
    annotations = {
        SRC: "s3://bucket/model",
        "serving.kserve.io/gke-accelerator": "nvidia-l4",
        "sidecar.istio.io/interceptionMode": "REDIRECT",
        "sidecar.istio.io/status": '{"containers": ["istio-proxy"]}',
        "internal.serving.kserve.io/logger": "true",
        "serving.kserve.io/enable-metric-aggregation": "true",
    }
    original = isvc_pod(
        annotations,
        [
            container(KSERVE, resources={"limits": {"nvidia.com/gpu": "1"}}),
            container("queue-proxy", env=[{"name": "USER_PORT", "value": "8080"}]),
            container("istio-proxy", securityContext={"runAsUser": 1337}),
        ],
        serviceAccountName="sa",
    )
    sas = {"sa": service_account("sa", ["s3"])}
    secrets = {"s3": secret("s3", ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])}
    config = mutator_config(
        credentials={
            "s3": {
                "s3AccessKeyIDName": "AWS_ACCESS_KEY_ID",
                "s3SecretAccessKeyName": "AWS_SECRET_ACCESS_KEY",
            }
        }
    )
    c = ctx(config, service_accounts=sas, secrets=secrets)
    out = mutate_pod(original, c)
    keys = [
        secret_ref("AWS_ACCESS_KEY_ID", "s3", "AWS_ACCESS_KEY_ID"),
        secret_ref("AWS_SECRET_ACCESS_KEY", "s3", "AWS_SECRET_ACCESS_KEY"),
    ]
    agent_args = [
        "--log-url",
        "http://default-broker",
        "--source-uri",
        "",
        "--log-mode",
        "all",
        "--inference-service",
        "",
        "--namespace",
        "default",
        "--endpoint",
        "",
        "--component",
        "",
        "--logger-tls-skip-verify",
        "false",
        "--component-port",
        "8080",
    ]
    assert out == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "labels": {ISVC: ""},
            "annotations": {**annotations, "serving.kserve.io/enable-prometheus-scraping": ""},
            "namespace": "default",
        },
        "spec": {
            "serviceAccountName": "sa",
            "nodeSelector": {"cloud.google.com/gke-accelerator": "nvidia-l4"},
            "containers": [
                container(
                    KSERVE,
                    resources={"limits": {"nvidia.com/gpu": "1"}},
                    volumeMounts=[PROVISION_MOUNT_RO],
                ),
                container(
                    "queue-proxy",
                    env=[
                        {"name": "USER_PORT", "value": "9081"},
                        {"name": "KSERVE_CONTAINER_PROMETHEUS_METRICS_PORT", "value": "8080"},
                        {"name": "KSERVE_CONTAINER_PROMETHEUS_METRICS_PATH", "value": "/metrics"},
                        {"name": "AGGREGATE_PROMETHEUS_METRICS_PORT", "value": "9088"},
                    ],
                    ports=[{"name": "aggr-metric", "containerPort": 9088, "protocol": "TCP"}],
                ),
                container("istio-proxy", securityContext={"runAsUser": 1337}),
                {
                    "name": "agent",
                    "image": "kserve/agent:latest",
                    "args": agent_args,
                    "resources": SI_RES,
                    "ports": [{"name": "agent-port", "containerPort": 9081, "protocol": "TCP"}],
                    "env": [{"name": "USER_PORT", "value": "8080"}, *keys],
                    "readinessProbe": {
                        "httpGet": {
                            "path": "/",
                            "port": 9081,
                            "scheme": "HTTP",
                            "httpHeaders": [{"name": "K-Network-Probe", "value": "queue"}],
                        }
                    },
                },
            ],
            "initContainers": [
                {
                    "name": "storage-initializer",
                    "image": "kserve/storage-initializer:latest",
                    "args": ["s3://bucket/model", MODELS],
                    "resources": SI_RES,
                    "terminationMessagePolicy": "FallbackToLogsOnError",
                    "volumeMounts": [PROVISION_MOUNT_RW],
                    "env": [*keys, *HF_ENV],
                    "securityContext": {"runAsUser": 1337},
                }
            ],
            "volumes": [PROVISION_VOLUME],
        },
    }
    assert mutate_pod(out, c) == out


def test_fetch_init_container_gets_the_istio_uid_in_one_pass() -> None:
    """Deliberate difference: the Istio step runs again after the OCI step, so an
    ``oci+fetch://`` storage-initializer has the sidecar's UID at once (upstream only after a
    reinvocation), and mutating twice changes nothing."""
    si = json.loads(CONFIG.storage_initializer.model_dump_json(by_alias=True))
    config = mutator_config(storageInitializer={**si, "enableOciModelSupport": True})
    original = isvc_pod(
        {SRC: "oci+fetch://registry.io/m:1", "serving.kserve.io/storage-initializer-uid": "2000"}
    )
    out = mutate_pod(original, ctx(config))
    assert out["spec"]["initContainers"][0]["name"] == "storage-initializer"
    assert out["spec"]["initContainers"][0]["securityContext"] == {"runAsUser": 2000}
    assert mutate_pod(out, ctx(config)) == out


def test_isvc_logger_spec_overrides_logger_config() -> None:
    logger = LoggerSpec.model_validate(
        {
            "storage": {"path": "/logs", "parameters": {"format": "json"}},
            "marshallerUrl": "http://m",
            "batchSize": 5,
            "batchInterval": "1s",
        }
    )
    out = mutate_pod(
        isvc_pod({"internal.serving.kserve.io/logger": "true"}), ctx(isvc_logger=logger)
    )
    args = out["spec"]["containers"][1]["args"]
    assert args[14:26] == [
        "--log-store-path",
        "/logs",
        "--log-store-format",
        "json",
        "--log-marshaller-url",
        "http://m",
        "--log-batch-size",
        "5",
        "--log-batch-interval",
        "1s",
        "--logger-tls-skip-verify",
        "false",
    ]


# ---------------------------------------------------------------------------------------------
# idempotency of every step: mutate(mutate(p)) == mutate(p)
# ---------------------------------------------------------------------------------------------

_OCI_CONFIG = mutator_config(
    storageInitializer={
        **json.loads(CONFIG.storage_initializer.model_dump_json(by_alias=True)),
        "enableModelcar": True,
        "caBundleConfigMapName": "ca",
    }
)
_CSCS = (
    csc(
        "hf",
        {"name": "storage-initializer", "image": "hf:1", "env": [{"name": "X", "value": "1"}]},
        [{"prefix": "hf://"}],
    ),
)
_QP = container("queue-proxy", env=[{"name": "USER_PORT", "value": "8080"}])

IDEMPOTENCY = {
    "accelerator": (
        isvc_pod(
            {"serving.kserve.io/gke-accelerator": "a100"},
            [container(KSERVE, resources={"limits": {"nvidia.com/gpu": "2"}})],
        ),
        CONFIG,
    ),
    "storage: gs with credentials and CA bundle": (
        isvc_pod({SRC: "gs://b/m"}, serviceAccountName="sa"),
        _OCI_CONFIG,
    ),
    "storage: pvc": (
        isvc_pod(
            {SRC: "pvc://claim/path"},
            [
                container(KSERVE, env=[{"name": "STORAGE_URI", "value": "x"}]),
                container("transformer-container"),
            ],
        ),
        CONFIG,
    ),
    "storage: storage spec": (
        isvc_pod(
            {
                SRC: "<scheme-placeholder>://p",
                "internal.serving.kserve.io/storage-spec": "true",
                "internal.serving.kserve.io/storage-spec-param": '{"type":"s3","bucket":"b"}',
            }
        ),
        CONFIG,
    ),
    "storage: ClusterStorageContainer": (isvc_pod({SRC: "hf://org/model"}), CONFIG),
    "storage: local model": (
        isvc_pod(
            {
                SRC: "s3://m/x",
                "internal.serving.kserve.io/localmodel-sourceuri": "s3://m",
                "internal.serving.kserve.io/localmodel-pvc-name": "pvc-a",
            }
        ),
        CONFIG,
    ),
    "storage: worker container, readonly false": (
        isvc_pod(
            {SRC: "s3://m", "storage.kserve.io/readonly": "false"}, [container("worker-container")]
        ),
        CONFIG,
    ),
    "istio uid": (
        isvc_pod(
            {
                SRC: "s3://m",
                "sidecar.istio.io/interceptionMode": "REDIRECT",
                "sidecar.istio.io/status": '{"containers":["istio-proxy"]}',
            },
            [container(KSERVE), container("istio-proxy")],
        ),
        CONFIG,
    ),
    "agent: puller": (
        isvc_pod(
            {
                "internal.serving.kserve.io/agent": "true",
                "internal.serving.kserve.io/configVolumeName": "mc",
                "internal.serving.kserve.io/modelDir": "/mnt/models",
                "internal.serving.kserve.io/configMountPath": "/mnt/configs",
                SRC: "s3://m",
            }
        ),
        CONFIG,
    ),
    "agent: logger + batcher with queue-proxy": (
        isvc_pod(
            {
                "internal.serving.kserve.io/logger": "true",
                "internal.serving.kserve.io/batcher": "true",
            },
            [container(KSERVE), _QP],
        ),
        CONFIG,
    ),
    "metrics": (
        isvc_pod(
            {
                "serving.kserve.io/enable-metric-aggregation": "true",
                "serving.kserve.io/enable-prometheus-scraping": "true",
            },
            [container(KSERVE), _QP],
        ),
        CONFIG,
    ),
    "oci: modelcar with transformer": (
        isvc_pod({SRC: "oci://r/m:1"}, [container(KSERVE), container("transformer-container")]),
        _OCI_CONFIG,
    ),
    "oci: native": (isvc_pod({SRC: "oci+native://r/m:1"}), _OCI_CONFIG),
    "oci: fetch with pull secret": (
        isvc_pod({SRC: "oci+fetch://r/m:1"}, imagePullSecrets=[{"name": "reg"}]),
        _OCI_CONFIG,
    ),
}


@pytest.mark.parametrize(("original", "config"), IDEMPOTENCY.values(), ids=IDEMPOTENCY.keys())
def test_every_step_is_idempotent(original: dict[str, Any], config: Any) -> None:
    c = ctx(
        config,
        storage_containers=_CSCS,
        service_accounts={"sa": service_account("sa", ["gcs"])},
        secrets={"gcs": secret("gcs", ["gcloud-application-credentials.json"])},
    )
    if "local model" in str(original):
        original["metadata"]["labels"]["internal.serving.kserve.io/localmodel"] = "cache"
    once = mutate_pod(original, c)
    assert once != original  # the step did something
    assert mutate_pod(once, c) == once


# ---------------------------------------------------------------------------------------------
# build_context: what it reads, from the (fake) cached client
# ---------------------------------------------------------------------------------------------


def _typed(kind: Any, obj: dict[str, Any]) -> Any:
    return kind.model_validate(obj)


@pytest.mark.anyio
async def test_build_context_reads_only_what_the_pod_needs() -> None:
    isvc = _typed(
        InferenceService,
        {
            "apiVersion": "serving.kserve.io/v1beta1",
            "kind": "InferenceService",
            "metadata": {"name": "m", "namespace": "default"},
            "spec": {
                "predictor": {
                    "logger": {"storage": {"serviceAccountName": "log-sa"}},
                    "sklearn": {},
                }
            },
        },
    )
    storage_csc = _typed(
        ClusterStorageContainer,
        {
            "apiVersion": "serving.kserve.io/v1alpha1",
            "kind": "ClusterStorageContainer",
            "metadata": {"name": "c"},
            "spec": {
                "container": {"name": "storage-initializer", "image": "i"},
                "supportedUriFormats": [{"prefix": "s3://"}],
            },
        },
    )
    client = FakeClient(
        isvc,
        storage_csc,
        service_account("sa", ["s3"]),
        service_account("log-sa", ["hf"]),
        service_account("unrelated", ["x"]),
        secret("s3", ["awsSecretAccessKey", "awsAccessKeyID"]),
        secret("hf", ["HF_TOKEN"]),
        secret("x", ["y"]),
    )
    p = isvc_pod(
        {SRC: "s3://b/m", "internal.serving.kserve.io/logger": "true"}, serviceAccountName="sa"
    )
    p["metadata"]["labels"][ISVC] = "m"
    c = await build_context(client, p, CONFIG, namespace="default", kserve_namespace="kserve")
    assert [(r.verb, r.kind, r.name) for r in client.requests] == [
        ("list", "ClusterStorageContainer", None),
        ("get", "InferenceService", "m"),
        ("get", "ServiceAccount", "sa"),
        ("get", "ServiceAccount", "log-sa"),
        ("get", "Secret", "s3"),
        ("get", "Secret", "hf"),
    ]
    assert sorted(c.service_accounts) == ["log-sa", "sa"]
    assert sorted(c.secrets) == ["hf", "s3"]
    assert [x.metadata.name for x in c.storage_containers if x.metadata] == ["c"]
    assert c.isvc_logger is not None and c.isvc_logger.storage is not None
    out = mutate_pod(p, c)
    agent = out["spec"]["containers"][1]
    assert [e["name"] for e in agent["env"]] == [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "HF_TOKEN",
    ]
    assert [k[2] for k in CONTEXT_READS] == [
        "serviceaccounts",
        "secrets",
        "clusterstoragecontainers",
        "inferenceservices",
    ]


@pytest.mark.anyio
async def test_build_context_missing_objects_and_storage_spec_secret() -> None:
    client = FakeClient(secret("storage-config", {"k": '{"type":"s3","bucket":"b"}'}))
    p = isvc_pod(
        {
            SRC: "<scheme-placeholder>://m",
            "internal.serving.kserve.io/storage-spec": "true",
            "internal.serving.kserve.io/storage-spec-key": "k",
        }
    )
    c = await build_context(client, p, CONFIG, namespace="default")
    assert (dict(c.service_accounts), sorted(c.secrets)) == ({}, ["storage-config"])
    out = mutate_pod(p, c)
    assert out["spec"]["initContainers"][0]["args"] == ["s3://b/m", MODELS]


@pytest.mark.anyio
async def test_build_context_reads_nothing_for_plain_pods() -> None:
    client = FakeClient()
    await build_context(client, {"metadata": {}, "spec": {}}, CONFIG, namespace="default")
    await build_context(client, isvc_pod(), CONFIG, namespace="default")
    assert client.requests == []


@pytest.mark.anyio
async def test_build_context_propagates_other_read_errors() -> None:
    async def deny(request: Any) -> None:
        raise ApiError(status=meta_v1.Status(code=403, reason="Forbidden", message="no"))

    client = FakeClient(intercept=deny)
    with pytest.raises(ApiError):
        await build_context(client, isvc_pod({SRC: "s3://m"}), CONFIG, namespace="default")
