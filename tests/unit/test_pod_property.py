"""Property test of the pod mutator: for generated pods (annotations, labels, containers, init
containers, volumes drawn from the values the injectors react to, plus malformed fields) and
generated configs, ``mutate_pod`` either refuses with a :class:`PodMutationError` carrying a
message, or returns a pod that a second mutation leaves unchanged (the apiserver's
reinvocation); the input is never modified."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from apis.serving.v1beta1.component import LoggerSpec
from controllers.webhooks.pod import PodMutationContext, PodMutationError, mutate_pod
from tests.unit.test_pod_support import (
    MUTATOR_CONFIG_DATA,
    csc,
    mutator_config,
    secret,
    service_account,
)

I = "internal.serving.kserve.io/"  # noqa: E741
S = "serving.kserve.io/"
SRC = I + "storage-initializer-sourceuri"

URIS = [
    "gs://b/m",
    "s3://b/m",
    "pvc://claim/p/q",
    "pvc://claim",
    "oci://r/m:1",
    "oci+native://r/m:1",
    "oci+fetch://r/m:1",
    "oci+modelcar://r/m:1",
    "hf://org/m",
    "<scheme-placeholder>://p",
    "https://h/x",
    "",
    "custom://x",
    "s3://m/sub",
    "oci://r/m:1",
    "oci+fetch://r/m:1",
]
#: annotations grouped by the step that reads them; each group is switched on independently,
#: so that the steps' interactions (which a second mutation would expose) are common
FEATURES: list[dict[str, list[str]]] = [
    {
        I + "storage-spec": ["true", "false"],
        I + "storage-spec-param": [
            '{"type":"s3","bucket":"b"}',
            '{"type":"hdfs"}',
            "{}",
            "null",
            "{bad",
            '{"a":1}',
            '{"type":"gs"}',
            "[]",
        ],
        I + "storage-spec-key": ["", "k", "missing"],
    },
    {I + "storage-container-name": ["c-hf", "c-disabled", "nope", ""]},
    {"storage.kserve.io/readonly": ["false", "true", "x"]},
    {
        I + "logger": ["true"],
        I + "logger-sink-url": ["http://sink"],
        I + "logger-mode": ["all", "request"],
        I + "logger-metadata-headers": ["A,B"],
        I + "logger-metadata-annotations": ["foo,bar", ""],
        "foo": ["1"],
    },
    {
        I + "agent": ["true"],
        I + "configVolumeName": ["mc"],
        I + "modelDir": ["/mnt/models"],
        I + "configMountPath": ["/mnt/configs"],
    },
    {
        I + "batcher": ["true"],
        I + "batcher-max-batchsize": ["8"],
        I + "batcher-max-latency": ["100"],
    },
    {S + "gke-accelerator": ["nvidia-l4"]},
    {I + "localmodel-sourceuri": ["s3://m", "gs://b"], I + "localmodel-pvc-name": ["cache-pvc"]},
    {
        "sidecar.istio.io/interceptionMode": ["REDIRECT", "REDIRECT", "TPROXY"],
        "sidecar.istio.io/status": [
            '{"containers":["istio-proxy"]}',
            '{"containers":["istio-proxy"]}',
            '{"containers":[]}',
            "{}",
            "not json",
            "[1]",
            '{"containers":[1]}',
        ],
    },
    {S + "storage-initializer-uid": ["1000", "1000", "abc", "-1"]},
    {
        S + "enable-metric-aggregation": ["true", "false", ""],
        S + "enable-prometheus-scraping": ["true", "false"],
        "prometheus.kserve.io/port": ["8081"],
    },
    {
        I + "confidential-enabled": ["true", "false"],
        I + "confidential-resource-id": ["kbs:///a/b/c"],
    },
    {S + "storageSecretName": ["s3", "gone"]},
]
CONTAINER_NAMES = [
    "kserve-container",
    "transformer-container",
    "worker-container",
    "queue-proxy",
    "istio-proxy",
    "agent",
    "modelcar",
    "other",
]

_ENV: list[dict[str, Any]] = [
    {"name": "STORAGE_URI", "value": "s3://x"},
    {"name": "STORAGE_URI"},
    {"name": "USER_PORT", "value": "8080"},
    {"name": "MODEL_INIT_MODE", "value": "sync"},
    {
        "name": "KSERVE_CONTAINER_PROMETHEUS_METRICS_PORT",
        "valueFrom": {"fieldRef": {"fieldPath": "x"}},
    },
    {"name": "HF_TOKEN", "value": "t"},
]
env_vars = st.lists(st.sampled_from(_ENV), max_size=3, unique_by=lambda e: str(e["name"]))
probes = st.sampled_from(
    [
        None,
        {"tcpSocket": {"port": 8080}, "timeoutSeconds": 1},
        {"httpGet": {"path": "/ready", "port": 8080, "scheme": "HTTP"}},
        {"exec": {"command": ["true"]}},
    ]
)


@st.composite
def containers(draw: Any) -> dict[str, Any]:
    c: dict[str, Any] = {"name": draw(st.sampled_from(CONTAINER_NAMES))}
    if draw(st.booleans()):
        c["env"] = draw(env_vars)
    if draw(st.booleans()):
        c["ports"] = [{"name": "p", "containerPort": draw(st.sampled_from([80, 8080, 9081]))}]
    probe = draw(probes)
    if probe is not None:
        c["readinessProbe"] = probe
    if draw(st.booleans()):
        c["resources"] = {"limits": {"nvidia.com/gpu": "1"}}
    if draw(st.booleans()):
        c["securityContext"] = {"runAsUser": draw(st.sampled_from([0, 1337, 501]))}
    if draw(st.booleans()):
        c["volumeMounts"] = [
            {
                "name": draw(st.sampled_from(["kserve-provision-location", "mnt-models", "x"])),
                "mountPath": draw(st.sampled_from(["/mnt/models", "/mnt", "/x"])),
            }
        ]
    return c


MALFORMED = [
    ("metadata", {"labels": {S + "inferenceservice": 5}}),
    ("containers", "not-a-list"),
    ("env", [{"name": "A", "value": 3}]),
    ("ports", [{"containerPort": "80"}]),
    ("securityContext", {"runAsUser": "root"}),
]


@st.composite
def pods(draw: Any) -> dict[str, Any]:
    annotations: dict[str, str] = {}
    for feature in FEATURES:
        if draw(st.sampled_from([True, False, False])):
            for key in draw(st.lists(st.sampled_from(sorted(feature)), min_size=1, unique=True)):
                annotations[key] = draw(st.sampled_from(feature[key]))
    if draw(st.sampled_from([True] * 7 + [False] * 3)):  # most pods carry a storage URI
        annotations[SRC] = draw(st.sampled_from(URIS))
    labels: dict[str, str] = {}
    if draw(st.sampled_from([True] * 9 + [False])):
        labels[S + "inferenceservice"] = draw(st.sampled_from(["m", ""]))
    if I + "localmodel-sourceuri" in annotations or draw(st.sampled_from([False] * 9 + [True])):
        labels[I + "localmodel"] = "cache"
    least = draw(st.sampled_from([1] * 9 + [0]))
    conts = draw(st.lists(containers(), min_size=least, max_size=4, unique_by=lambda c: c["name"]))
    if conts and draw(
        st.sampled_from([True] * 4 + [False])
    ):  # usually a model server container first
        conts[0]["name"] = "kserve-container"
        conts[:] = [conts[0], *(c for c in conts[1:] if c["name"] != "kserve-container")]
    spec: dict[str, Any] = {"containers": conts}
    inits = draw(
        st.lists(
            st.sampled_from(
                [
                    {"name": "storage-initializer", "image": "x"},
                    {"name": "istio-init"},
                    {"name": "modelcar-init"},
                ]
            ),
            max_size=2,
            unique_by=lambda c: c["name"],
        )
    )
    if inits:
        spec["initContainers"] = inits
    if draw(st.booleans()):
        spec["serviceAccountName"] = draw(
            st.sampled_from(["sa", "sa-missing-secret", "nobody", ""])
        )
    if draw(st.booleans()):
        spec["imagePullSecrets"] = [{"name": "reg"}]
    if draw(st.booleans()):
        spec["volumes"] = [
            {
                "name": draw(
                    st.sampled_from(["kserve-provision-location", "cabundle-cert", "model-dir"])
                ),
                "emptyDir": {},
            }
        ]
    if draw(st.booleans()):
        spec["nodeSelector"] = {"zone": "a"}
    meta: dict[str, Any] = {"annotations": annotations, "labels": labels}
    if draw(st.booleans()):
        meta["name"] = "p-1"
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}
    if draw(st.sampled_from([False] * 19 + [True])):  # a malformed field now and then
        where, value = draw(st.sampled_from(MALFORMED))
        if where == "metadata":
            pod["metadata"] = value
        elif where == "containers":
            spec["containers"] = value
        elif conts:
            conts[0][where] = value
    return pod


_SI = json.loads(MUTATOR_CONFIG_DATA["storageInitializer"])
CONFIGS = [
    mutator_config(),
    mutator_config(storageInitializer={**_SI, "enableModelcar": True, "uidModelcar": 1010}),
    mutator_config(storageInitializer={**_SI, "ociModelMode": "native"}),
    mutator_config(
        storageInitializer={
            **_SI,
            "ociModelMode": "fetch",
            "caBundleConfigMapName": "ca",
            "ociInsecureRegistry": True,
        }
    ),
    mutator_config(
        storageInitializer={**_SI, "caBundleConfigMapName": "ca"},
        credentials={"storageSecretNameAnnotation": S + "storageSecretName"},
        metricsAggregator={"enableMetricAggregation": "true", "enablePrometheusScraping": "true"},
        logger={
            **json.loads(MUTATOR_CONFIG_DATA["logger"]),
            "caBundle": "lb",
            "caCertFile": "c.crt",
            "storage": {"path": "/l"},
        },
    ),
]
CSCS = (
    csc(
        "c-hf",
        {
            "name": "storage-initializer",
            "image": "hf:1",
            "env": [{"name": "HF_TOKEN", "value": "x"}],
        },
        [{"prefix": "hf://"}],
    ),
    csc(
        "c-disabled",
        {"name": "storage-initializer", "image": "d:1"},
        [{"prefix": "hf://"}],
        disabled=True,
    ),
    csc("c-custom", {"name": "custom-name", "image": "c:1"}, [{"regex": "^custom://"}]),
)
SAS = {
    "sa": service_account(
        "sa", ["s3", "gcs", "hf", "web", "hdfs"], {"eks.amazonaws.com/role-arn": "arn"}
    ),
    "sa-missing-secret": service_account("sa-missing-secret", ["gone"]),
    "default": service_account("default", ["azure"]),
    "logger-sa": service_account("logger-sa", ["hf"]),
}
SECRETS = {
    "s3": secret(
        "s3", ["awsAccessKeyID", "awsSecretAccessKey"], {S + "s3-cabundle-configmap": "cm"}
    ),
    "gcs": secret("gcs", ["gcloud-application-credentials.json"]),
    "hf": secret("hf", ["HF_TOKEN"]),
    "web": secret("web", {"https-host": "h", "headers": "a: b"}),
    "hdfs": secret("hdfs", ["HDFS_NAMENODE"]),
    "azure": secret("azure", ["AZURE_CLIENT_ID"]),
    "storage-config": secret(
        "storage-config",
        {
            "k": '{"type":"s3","bucket":"b"}',
            "default": '{"type":"hdfs"}',
            "default_s3": '{"bucket":"c"}',
        },
    ),
}


@st.composite
def contexts(draw: Any) -> PodMutationContext:
    logger = draw(
        st.sampled_from(
            [None, LoggerSpec(), LoggerSpec.model_validate({"storage": {"path": "/x"}})]
        )
    )
    return PodMutationContext(
        config=draw(st.sampled_from(CONFIGS)),
        namespace=draw(st.sampled_from(["default", "kserve"])),
        storage_containers=CSCS if draw(st.booleans()) else (),
        service_accounts=SAS,
        secrets=SECRETS,
        isvc_logger=logger,
    )


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pods(), contexts())
def test_mutate_is_idempotent_or_refuses(pod: dict[str, Any], ctx: PodMutationContext) -> None:
    before = copy.deepcopy(pod)
    try:
        once = mutate_pod(pod, ctx)
    except PodMutationError as err:
        event("refused: " + str(err).split(":")[0][:40])
        assert str(err)
        assert pod == before
        return
    assert pod == before
    event("mutated" if once is not pod else "not a KServe pod")
    assert mutate_pod(once, ctx) == once
    json.dumps(once)  # still plain JSON
