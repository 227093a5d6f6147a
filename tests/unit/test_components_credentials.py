"""Storage credentials on the controller's ``storageUris`` path: ``credential_injector`` (the
pod mutator's CredentialBuilder as the components' CredentialInjector), the predictor built
with it, and ``storage_credentials`` (the cached reads it is built over)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from lightkube.models import core_v1

from apis.serving.v1beta1 import InferenceService, StorageSpec
from apis.serving.v1beta1.configmap import parse_inferenceservice_config
from controllers.inferenceservice.components import ComponentError, CredentialContext
from controllers.inferenceservice.components.predictor import build_predictor
from controllers.inferenceservice.components.storage import (
    credential_injector,
    inject_storage_uris,
    storage_spec_params,
)
from controllers.inferenceservice.credentials import storage_credentials
from runtime.testing.fake_client import FakeClient
from tests.unit.test_components_storage import HF_ENV, KC, SI, init, uris
from tests.unit.test_pod_support import (
    builder,
    credential_config,
    secret,
    secret_ref,
    service_account,
)

J = dict[str, Any]
S3_DATA = {"awsAccessKeyID": "id", "awsSecretAccessKey": "key"}
S3_ENV = [
    secret_ref("AWS_ACCESS_KEY_ID", "s3", "awsAccessKeyID"),
    secret_ref("AWS_SECRET_ACCESS_KEY", "s3", "awsSecretAccessKey"),
]
ANNOTATION = "serving.kserve.io/storageSecretName"
CREDENTIALS = credential_config(json.dumps({"storageSecretNameAnnotation": ANNOTATION}))
STORAGE_CONFIG = secret(
    "storage-config", {"k": '{"type":"s3","bucket":"b"}', "default": '{"type":"hdfs"}'}
)


def ctx(
    sa: str = "default", annotations: J | None = None, spec: J | None = None
) -> CredentialContext:
    return CredentialContext(
        namespace="default",
        annotations=annotations or {},
        service_account_name=sa,
        storage_spec=None if spec is None else StorageSpec.model_validate(spec),
    )


def run(inject: Any, c: CredentialContext, args: list[str] | None = None) -> tuple[J, list[J]]:
    container = core_v1.Container(name="storage-initializer", args=args or ["s3://b/m", "/m"])
    out, volumes = inject(container, [core_v1.Volume(name="mnt-models")], c)
    return out.to_dict(), [v.to_dict() for v in volumes]


@pytest.mark.parametrize(
    ("sas", "secrets", "context", "env", "volumes"),
    [
        pytest.param(
            [service_account("sa", ["s3"])],
            [secret("s3", S3_DATA)],
            ctx("sa"),
            S3_ENV,
            ["mnt-models"],
            id="service account with an s3 secret",
        ),
        pytest.param(
            [service_account("default", ["gcs"])],
            [secret("gcs", ["gcloud-application-credentials.json"])],
            ctx(),
            [
                {
                    "name": "GOOGLE_APPLICATION_CREDENTIALS",
                    "value": "/var/secrets/gcloud-application-credentials.json",
                }
            ],
            ["mnt-models", "user-gcp-sa"],
            id="gcs secret: a volume for the pod",
        ),
        pytest.param(
            [service_account("sa", ["s3"])],
            [secret("s3", S3_DATA), secret("hf", ["HF_TOKEN"])],
            ctx("sa", {ANNOTATION: "hf"}),
            [secret_ref("HF_TOKEN", "hf", "HF_TOKEN")],
            ["mnt-models"],
            id="the storage-secret annotation names the secret",
        ),
        pytest.param(
            [],
            [],
            ctx("missing"),
            None,
            ["mnt-models"],
            id="no service account: nothing (as upstream)",
        ),
        pytest.param(
            [service_account("sa", ["s3"])],
            [secret("s3", S3_DATA), STORAGE_CONFIG],
            ctx("sa", spec={"key": "k"}),
            S3_ENV,
            ["mnt-models"],
            id="storage key without parameters: the service account's secrets",
        ),
        pytest.param(
            [service_account("sa", ["s3"])],
            [secret("s3", S3_DATA), STORAGE_CONFIG],
            ctx("sa", spec={"key": "k", "parameters": {"region": "eu"}}),
            [
                {
                    "name": "STORAGE_CONFIG",
                    "valueFrom": {"secretKeyRef": {"name": "storage-config", "key": "k"}},
                },
                {"name": "STORAGE_OVERRIDE_CONFIG", "value": '{"region":"eu"}'},
            ],
            ["mnt-models"],
            id="storage key and parameters: the storage-config secret",
        ),
    ],
)
def test_credential_injector(
    sas: list[J],
    secrets: list[J],
    context: CredentialContext,
    env: list[J] | None,
    volumes: list[str],
) -> None:
    out, vols = run(credential_injector(builder(CREDENTIALS, sas, secrets)), context)
    assert out.get("env") == env
    assert [v["name"] for v in vols] == volumes
    assert out["args"] == ["s3://b/m", "/m"]


def test_credential_injector_rewrites_placeholder_args() -> None:
    inject = credential_injector(builder(secrets=[STORAGE_CONFIG]))
    out, _ = run(
        inject,
        ctx(spec={"key": "k", "parameters": {}}),
        args=["<scheme-placeholder>://path/m", "/mnt/models"],
    )
    assert out["args"] == ["s3://b/path/m", "/mnt/models"]


@pytest.mark.parametrize(
    ("sas", "secrets", "context", "message"),
    [
        ([service_account("sa", ["gone"])], [], ctx("sa"), 'secrets "gone" not found'),
        (
            [],
            [],
            ctx(spec={"key": "k", "parameters": {}}),
            "can't read storage secret storage-config",
        ),
    ],
    ids=["listed secret missing", "storage-config missing"],
)
def test_credential_injector_errors(
    sas: list[J], secrets: list[J], context: CredentialContext, message: str
) -> None:
    with pytest.raises(ComponentError, match=message):
        run(credential_injector(builder(sas=sas, secrets=secrets)), context)


@pytest.mark.parametrize(
    ("spec", "selects"),
    [
        (None, False),
        ({"key": "k"}, False),
        ({"parameters": {"type": "s3"}}, False),
        ({"key": "k", "parameters": {}}, True),
    ],
)
def test_storage_spec_params(spec: J | None, selects: bool) -> None:
    parsed = None if spec is None else StorageSpec.model_validate(spec)
    assert (storage_spec_params(parsed) is not None) is selects


def test_storage_uris_get_the_service_account_s3_credentials() -> None:
    """The whole path: storageUris, a ServiceAccount with an S3 secret (endpoint and CA
    bundle annotations), the CA bundle ConfigMap the secret names mounted."""
    s3 = secret(
        "s3",
        S3_DATA,
        {
            "serving.kserve.io/s3-endpoint": "minio:9000",
            "serving.kserve.io/s3-cabundle-configmap": "s3-ca",
        },
    )
    inject = credential_injector(builder(sas=[service_account("sa", ["s3"])], secrets=[s3]))
    out = inject_storage_uris(
        {"containers": [KC], "serviceAccountName": "sa"},
        uris(("s3://b/m", "/mnt/models")),
        config=SI,
        annotations={},
        namespace="user",
        credentials=inject,
    )
    assert out["initContainers"] == [
        init(
            ["s3://b/m", "/mnt/models"],
            env=[
                *S3_ENV,
                {"name": "S3_ENDPOINT", "value": "minio:9000"},
                {"name": "AWS_ENDPOINT_URL", "value": "https://minio:9000"},
                {"name": "AWS_CA_BUNDLE_CONFIGMAP", "value": "s3-ca"},
                {"name": "CA_BUNDLE_CONFIGMAP_NAME", "value": "s3-ca"},
                {"name": "CA_BUNDLE_VOLUME_MOUNT_POINT", "value": "/etc/ssl/custom-certs"},
                *HF_ENV,
            ],
            volumeMounts=[
                {"name": "mnt-models", "mountPath": "/mnt/models"},
                {"name": "cabundle-cert", "mountPath": "/etc/ssl/custom-certs", "readOnly": True},
            ],
        )
    ]
    assert out["volumes"] == [
        {"name": "mnt-models", "emptyDir": {}},
        {"name": "cabundle-cert", "configMap": {"name": "s3-ca"}},
    ]


# ---------------------------------------------------------------------------------------------
# storage_credentials: the reads
# ---------------------------------------------------------------------------------------------

CONFIG = parse_inferenceservice_config(
    {
        "storageInitializer": json.dumps(
            {
                "image": "kserve/storage-initializer:v1",
                "cpuRequest": "100m",
                "cpuLimit": "1",
                "memoryRequest": "100Mi",
                "memoryLimit": "1Gi",
            }
        ),
        "credentials": json.dumps({"storageSecretNameAnnotation": ANNOTATION}),
    }
)


def isvc(predictor: J, annotations: J | None = None, **spec: Any) -> InferenceService:
    meta: J = {"name": "m", "namespace": "default"}
    if annotations:
        meta["annotations"] = annotations
    return InferenceService.model_validate(
        {"metadata": meta, "spec": {"predictor": predictor, **spec}}
    )


PREDICTOR = {
    "containers": [{"name": "kserve-container", "image": "srv:1"}],
    "storageUris": [{"uri": "s3://b/m", "mountPath": "/mnt/models"}],
}


def reads(client: FakeClient) -> list[tuple[str, str]]:
    return [(r.verb, f"{r.kind}/{r.name}") for r in client.requests]


@pytest.mark.anyio
async def test_storage_credentials_reads_nothing_without_storage_uris() -> None:
    client = FakeClient(service_account("default", ["s3"]))
    obj = isvc({"containers": [{"name": "kserve-container", "image": "srv:1"}]})
    assert await storage_credentials(client, obj, CONFIG) is None
    assert client.requests == []


@pytest.mark.anyio
async def test_storage_credentials_reads_the_service_accounts_and_their_secrets() -> None:
    client = FakeClient(
        service_account("sa", ["s3"]),
        service_account("tr-sa", ["hf", "gone"]),
        secret("s3", S3_DATA),
        secret("hf", ["HF_TOKEN"]),
        secret("named", ["HF_TOKEN"]),
        secret("unrelated", ["x"]),
    )
    obj = isvc(
        {**PREDICTOR, "serviceAccountName": "sa"},
        annotations={ANNOTATION: "named"},
        transformer={
            "serviceAccountName": "tr-sa",
            "containers": [{"name": "transformer-container", "image": "t:1"}],
            "storageUris": [{"uri": "s3://b/t", "mountPath": "/mnt/t"}],
        },
    )
    inject = await storage_credentials(client, obj, CONFIG)
    assert inject is not None
    assert reads(client) == [
        ("get", "ServiceAccount/sa"),
        ("get", "ServiceAccount/tr-sa"),
        ("get", "Secret/s3"),
        ("get", "Secret/hf"),
        ("get", "Secret/gone"),
        ("get", "Secret/named"),
    ]
    out, _ = run(inject, ctx("sa"))
    assert out["env"] == S3_ENV


@pytest.mark.anyio
async def test_storage_credentials_reads_the_storage_spec_secret() -> None:
    client = FakeClient(STORAGE_CONFIG)
    obj = isvc(
        {
            "model": {
                "modelFormat": {"name": "sklearn"},
                "storage": {"key": "k", "parameters": {"type": "s3", "bucket": "b"}},
            },
            "storageUris": [{"uri": "<scheme-placeholder>://m", "mountPath": "/mnt/models"}],
        }
    )
    inject = await storage_credentials(client, obj, CONFIG)
    assert inject is not None
    assert reads(client) == [("get", "ServiceAccount/default"), ("get", "Secret/storage-config")]


@pytest.mark.anyio
async def test_build_predictor_with_the_cached_credentials() -> None:
    """What the reconcile does: read, then the pure build."""
    client = FakeClient(service_account("sa", ["s3"]), secret("s3", S3_DATA))
    obj = isvc({**PREDICTOR, "serviceAccountName": "sa"})
    inject = await storage_credentials(client, obj, CONFIG)
    pod = build_predictor(obj, CONFIG, None, credentials=inject).pod_spec.to_dict()
    (si,) = pod["initContainers"]
    assert si["name"] == "storage-initializer"
    assert si["args"] == ["s3://b/m", "/mnt/models"]
    assert si["env"] == [*S3_ENV, *HF_ENV]
