"""Upstream ``pkg/credentials`` tests that define what lands in the pod:
``service_account_credentials_test.go`` (the builder tables: S3 from secret annotations, secret
data, the storage-secret annotation, IRSA; GCS; legacy and current Azure; Azure storage key;
HDFS; ``CreateStorageSpecSecretEnvs`` 13 cases), ``s3/utils_test.go`` (``BuildS3EnvVars``, 13),
``azure/azure_secret_test.go`` (7), ``https`` (3), ``hf`` (3), ``ms`` (3), ``gcs`` and ``hdfs``
(1 each). Upstream builds a Knative Configuration around the container; here the container
and the pod spec's volumes are asserted whole."""

from __future__ import annotations

import json
from typing import Any

import pytest

from apis.serving.v1beta1.configmap import S3Config
from controllers.storage.credentials import azure, gcs, hdfs, hf, https, ms
from controllers.storage.credentials.s3 import build_s3_env_vars
from controllers.webhooks.pod import PodMutationError
from tests.unit.test_pod_support import (
    builder,
    credential_config,
    secret,
    secret_ref,
    service_account,
)

#: upstream's ``configMap`` in service_account_credentials_test.go
CONFIG = credential_config(
    json.dumps(
        {
            "storageSecretNameAnnotation": "serving.kserve.io/storageSecretName",
            "storageSpecSecretName": "storage-secret",
            "gcs": {"gcsCredentialFileName": "gcloud-application-credentials.json"},
            "s3": {
                "s3AccessKeyIDName": "awsAccessKeyID",
                "s3SecretAccessKeyName": "awsSecretAccessKey",
                "s3Endpoint": "s3.amazonaws.com",
                "s3UseHttps": "1",
                "s3Region": "us-east-2",
                "s3VerifySSL": "1",
                "s3UseVirtualBucket": "",
                "s3UseAnonymousCredential": "false",
                "s3CABundleConfigMap": "",
                "s3CABundle": "",
            },
        }
    )
)
KEYS = ["awsAccessKeyID", "awsSecretAccessKey"]


def e(name: str, value: str) -> dict[str, str]:
    return {"name": name, "value": value}


def s3_env(secret_name: str, https_: bool) -> list[dict[str, Any]]:
    return [
        secret_ref("AWS_ACCESS_KEY_ID", secret_name, "awsAccessKeyID"),
        secret_ref("AWS_SECRET_ACCESS_KEY", secret_name, "awsSecretAccessKey"),
        e("S3_USE_HTTPS", "1" if https_ else "0"),
        e("S3_ENDPOINT", "s3.aws.com"),
        e("AWS_ENDPOINT_URL", ("https://" if https_ else "http://") + "s3.aws.com"),
        e("S3_VERIFY_SSL", "1" if https_ else "0"),
        e("awsAnonymousCredential", "false"),
        e("AWS_DEFAULT_REGION", "us-east-2"),
    ]


_ANNOTATED = secret("s3-secret", KEYS, {"serving.kserve.io/s3-endpoint": "s3.aws.com"})
_ANNOTATED_PROTO = secret(
    "s3-secret-with-protocol",
    KEYS,
    {"serving.kserve.io/s3-endpoint": "http://s3.aws.com", "serving.kserve.io/s3-verifyssl": "0"},
)
_DATA = secret("s3-secret", {**dict.fromkeys(KEYS, ""), "S3_ENDPOINT": "s3.aws.com"})
_DATA_PROTO = secret(
    "s3-secret-with-protocol",
    {**dict.fromkeys(KEYS, ""), "S3_ENDPOINT": "http://s3.aws.com", "S3_VERIFY_SSL": "0"},
)
_IRSA = "eks.amazonaws.com/role-arn"

SA_CASES = {
    # TestS3CredentialBuilder
    "Build s3 secrets envs": (
        service_account("default", ["s3-secret"]),
        [_ANNOTATED],
        None,
        s3_env("s3-secret", True),
        None,
        None,
    ),
    "Build s3 secrets envs with protocol": (
        service_account("default-with-protocol", ["s3-secret-with-protocol"]),
        [_ANNOTATED_PROTO],
        None,
        s3_env("s3-secret-with-protocol", False),
        None,
        None,
    ),
    # TestS3CredentialBuilderWithSecretData
    "Build s3 secrets data envs": (
        service_account("default", ["s3-secret"]),
        [_DATA],
        None,
        s3_env("s3-secret", True),
        None,
        None,
    ),
    "Build s3 secrets data envs with protocol": (
        service_account("default-with-protocol", ["s3-secret-with-protocol"]),
        [_DATA_PROTO],
        None,
        s3_env("s3-secret-with-protocol", False),
        None,
        None,
    ),
    # TestS3CredentialBuilderWithStorageSecret(Data): the annotation names the Secret
    "storage secret annotation: s3 secrets envs": (
        service_account("default"),
        [_ANNOTATED],
        "s3-secret",
        s3_env("s3-secret", True),
        None,
        None,
    ),
    "storage secret annotation: with protocol": (
        service_account("default-with-protocol"),
        [_ANNOTATED_PROTO],
        "s3-secret-with-protocol",
        s3_env("s3-secret-with-protocol", False),
        None,
        None,
    ),
    "storage secret annotation: secret data envs": (
        service_account("default"),
        [_DATA],
        "s3-secret",
        s3_env("s3-secret", True),
        None,
        None,
    ),
    "storage secret annotation: secret data envs with protocol": (
        service_account("default-with-protocol"),
        [_DATA_PROTO],
        "s3-secret-with-protocol",
        s3_env("s3-secret-with-protocol", False),
        None,
        None,
    ),
    # TestS3ServiceAccountCredentialBuilder (IRSA)
    "Build s3 service account envs": (
        service_account(
            "default",
            annotations={
                "serving.kserve.io/s3-endpoint": "s3.aws.com",
                "serving.kserve.io/s3-useanoncredential": "true",
                _IRSA: "arn:aws:iam::123456789012:role/s3access",
            },
        ),
        [],
        None,
        [
            e("S3_USE_HTTPS", "1"),
            e("S3_ENDPOINT", "s3.aws.com"),
            e("AWS_ENDPOINT_URL", "https://s3.aws.com"),
            e("S3_VERIFY_SSL", "1"),
            e("awsAnonymousCredential", "true"),
            e("AWS_DEFAULT_REGION", "us-east-2"),
        ],
        None,
        None,
    ),
    "Build s3 service account envs with protocol": (
        service_account(
            "default-with-protocol",
            annotations={
                "serving.kserve.io/s3-endpoint": "http://s3.aws.com",
                "serving.kserve.io/s3-useanoncredential": "true",
                _IRSA: "arn:aws:iam::123456789012:role/s3access",
                "serving.kserve.io/s3-verifyssl": "0",
            },
        ),
        [],
        None,
        [
            e("S3_USE_HTTPS", "0"),
            e("S3_ENDPOINT", "s3.aws.com"),
            e("AWS_ENDPOINT_URL", "http://s3.aws.com"),
            e("S3_VERIFY_SSL", "0"),
            e("awsAnonymousCredential", "true"),
            e("AWS_DEFAULT_REGION", "us-east-2"),
        ],
        None,
        None,
    ),
    # TestGCSCredentialBuilder
    "Build gcs secrets volume": (
        service_account("default", ["user-gcp-sa"]),
        [secret("user-gcp-sa", ["gcloud-application-credentials.json"])],
        None,
        [e("GOOGLE_APPLICATION_CREDENTIALS", "/var/secrets/gcloud-application-credentials.json")],
        [{"name": "user-gcp-sa", "mountPath": "/var/secrets/", "readOnly": True}],
        [{"name": "user-gcp-sa", "secret": {"secretName": "user-gcp-sa"}}],
    ),
    # TestLegacyAzureCredentialBuilder
    "Custom legacy Azure Secret": (
        service_account("custom-sa", ["az-custom-secret"]),
        [
            secret(
                "az-custom-secret",
                ["AZ_SUBSCRIPTION_ID", "AZ_TENANT_ID", "AZ_CLIENT_ID", "AZ_CLIENT_SECRET"],
            )
        ],
        None,
        [
            secret_ref("AZURE_SUBSCRIPTION_ID", "az-custom-secret", "AZ_SUBSCRIPTION_ID"),
            secret_ref("AZURE_TENANT_ID", "az-custom-secret", "AZ_TENANT_ID"),
            secret_ref("AZURE_CLIENT_ID", "az-custom-secret", "AZ_CLIENT_ID"),
            secret_ref("AZURE_CLIENT_SECRET", "az-custom-secret", "AZ_CLIENT_SECRET"),
        ],
        None,
        None,
    ),
    # TestHdfsCredentialBuilder
    "Custom HDFS Secret": (
        service_account("custom-sa", ["hdfs-custom-secret"]),
        [
            secret(
                "hdfs-custom-secret",
                {
                    "HDFS_NAMENODE": "https://testdomain:port",
                    "HDFS_ROOTPATH": "/",
                    "KERBEROS_PRINCIPAL": "account@REALM",
                    "KERBEROS_KEYTAB": "AAA=",
                },
            )
        ],
        None,
        None,
        [{"name": "hdfs-secrets", "mountPath": "/var/secrets/kserve-hdfscreds", "readOnly": True}],
        [{"name": "hdfs-secrets", "secret": {"secretName": "hdfs-custom-secret"}}],
    ),
    # TestAzureCredentialBuilder
    "Custom Azure Secret": (
        service_account("custom-sa", ["az-custom-secret"]),
        [
            secret(
                "az-custom-secret",
                [
                    "AZURE_SUBSCRIPTION_ID",
                    "AZURE_TENANT_ID",
                    "AZURE_CLIENT_ID",
                    "AZURE_CLIENT_SECRET",
                    "AZURE_STORAGE_ACCESS_KEY",
                ],
            )
        ],
        None,
        [
            secret_ref(k, "az-custom-secret", k)
            for k in (
                "AZURE_SUBSCRIPTION_ID",
                "AZURE_TENANT_ID",
                "AZURE_CLIENT_ID",
                "AZURE_CLIENT_SECRET",
                "AZURE_STORAGE_ACCESS_KEY",
            )
        ],
        None,
        None,
    ),
    # TestAzureStorageAccessKeyCredentialBuilder
    "Custom Azure storage access key Secret": (
        service_account("custom-sa", ["az-custom-secret"]),
        [secret("az-custom-secret", ["AZURE_STORAGE_ACCESS_KEY"])],
        None,
        [secret_ref("AZURE_STORAGE_ACCESS_KEY", "az-custom-secret", "AZURE_STORAGE_ACCESS_KEY")],
        None,
        None,
    ),
    # beyond upstream's tables
    "HTTPS headers Secret": (
        service_account("default", ["web"]),
        [secret("web", {"https-host": "example.com", "headers": "a: b"})],
        None,
        [e("example.com-headers", "a: b")],
        None,
        None,
    ),
    "Hugging Face token Secret": (
        service_account("default", ["hf"]),
        [secret("hf", ["HF_TOKEN"])],
        None,
        [secret_ref("HF_TOKEN", "hf", "HF_TOKEN")],
        None,
        None,
    ),
    "unsupported Secret is skipped": (
        service_account("default", ["other"]),
        [secret("other", ["token"])],
        None,
        None,
        None,
        None,
    ),
}


@pytest.mark.parametrize(
    ("sa", "secrets", "annotated", "env", "mounts", "vols"), SA_CASES.values(), ids=SA_CASES.keys()
)
def test_create_secret_volume_and_env(
    sa: Any, secrets: list[Any], annotated: str | None, env: Any, mounts: Any, vols: Any
) -> None:
    c: dict[str, Any] = {}
    spec: dict[str, Any] = {}
    annotations = {"serving.kserve.io/storageSecretName": annotated} if annotated else {}
    builder(CONFIG, [sa], secrets).create_secret_volume_and_env(
        annotations, sa["metadata"]["name"], c, spec
    )
    want: dict[str, Any] = {"env": env or []}
    if mounts:
        want["volumeMounts"] = mounts
    assert c == want
    assert spec == ({"volumes": vols} if vols else {})


def test_missing_service_account_is_skipped_and_missing_secret_refused() -> None:
    c: dict[str, Any] = {}
    builder(CONFIG).create_secret_volume_and_env({}, "nobody", c, {})
    assert c == {}
    with pytest.raises(PodMutationError, match=r'^secrets "gone" not found$'):
        builder(CONFIG, [service_account("default", ["gone"])]).create_secret_volume_and_env(
            {}, "", c, {}
        )


def test_irsa_envs_then_secret_envs_merged() -> None:
    """MergeEnvs: a secret's S3 setting replaces the IRSA one's value in place."""
    sa = service_account(
        "default", ["s3-secret"], {_IRSA: "arn", "serving.kserve.io/s3-endpoint": "irsa.example"}
    )
    c: dict[str, Any] = {}
    builder(CONFIG, [sa], [_ANNOTATED]).create_secret_volume_and_env({}, "default", c, {})
    assert c["env"] == [
        e("S3_USE_HTTPS", "1"),
        e("S3_ENDPOINT", "s3.aws.com"),
        e("AWS_ENDPOINT_URL", "https://s3.aws.com"),
        e("S3_VERIFY_SSL", "1"),
        e("awsAnonymousCredential", "false"),
        e("AWS_DEFAULT_REGION", "us-east-2"),
        secret_ref("AWS_ACCESS_KEY_ID", "s3-secret", "awsAccessKeyID"),
        secret_ref("AWS_SECRET_ACCESS_KEY", "s3-secret", "awsSecretAccessKey"),
    ]


# ---------------------------------------------------------------------------------------------
# TestCredentialBuilder_CreateStorageSpecSecretEnvs (13)
# ---------------------------------------------------------------------------------------------

_MINIO = (
    '{\n      "type": "s3",\n      "access_key_id": "minio",\n'
    '      "secret_access_key": "minio123",\n'
    '      "endpoint_url": "http://minio-service.kubeflow:9000",\n      "bucket": "test-bucket",\n'
    '      "region": "us-south"\n    }'
)
_HDFS = (
    '{\n      "type": "hdfs",\n      "access_key_id": "hdfs34",\n'
    '      "secret_access_key": "hdfs123",\n'
    '      "endpoint_url": "http://hdfs-service.kubeflow",\n     "region": "us-south"\n    }'
)
_ARGS = ["s3://test-bucket/models/", "/mnt/models/"]
_PLACEHOLDER = ["<scheme-placeholder>://models/example-model/", "/mnt/models/"]


def _spec_env(key: str, override: str) -> list[dict[str, Any]]:
    return [
        secret_ref("STORAGE_CONFIG", "storage-secret", key),
        e("STORAGE_OVERRIDE_CONFIG", override),
    ]


SPEC_CASES = {
    "fail on storage secret name is empty": (
        secret("test-secret", {}),
        "",
        {},
        _ARGS,
        None,
        "unable to determine storage type",
    ),
    "storage spec with empty override params": (
        secret("storage-secret", {"minio": _MINIO}),
        "minio",
        {"type": "", "bucket": ""},
        _ARGS,
        (_ARGS, _spec_env("minio", '{"bucket":"","type":""}')),
        None,
    ),
    "simple storage spec": (
        secret("storage-secret", {"minio": _MINIO}),
        "minio",
        {"type": "s3", "bucket": "test-bucket"},
        _ARGS,
        (_ARGS, _spec_env("minio", '{"bucket":"test-bucket","type":"s3"}')),
        None,
    ),
    "wrong storage key": (
        secret("storage-secret", {"minio": _MINIO}),
        "wrong-key",
        {"type": "s3", "bucket": "test-bucket"},
        _ARGS,
        None,
        "specified storage key wrong-key not found in storage secret storage-secret",
    ),
    "default storage key": (
        secret("storage-secret", {"default_s3": _MINIO}),
        "",
        {"type": "s3", "bucket": "test-bucket"},
        _ARGS,
        (_ARGS, _spec_env("default_s3", '{"bucket":"test-bucket","type":"s3"}')),
        None,
    ),
    "default storage key with empty storage type": (
        secret("storage-secret", {"default": _MINIO}),
        "",
        {"type": "", "bucket": "test-bucket"},
        _ARGS,
        (_ARGS, _spec_env("default", '{"bucket":"test-bucket","type":""}')),
        None,
    ),
    "storage spec with uri scheme placeholder": (
        secret("storage-secret", {"minio": _MINIO}),
        "minio",
        {"type": "s3", "bucket": "test-bucket"},
        _PLACEHOLDER,
        (
            ["s3://test-bucket/models/example-model/", "/mnt/models/"],
            _spec_env("minio", '{"bucket":"test-bucket","type":"s3"}'),
        ),
        None,
    ),
    "hdfs with uri scheme placeholder": (
        secret("storage-secret", {"hdfs": _HDFS}),
        "hdfs",
        {"type": "hdfs", "bucket": ""},
        _PLACEHOLDER,
        (
            ["hdfs://models/example-model/", "/mnt/models/"],
            _spec_env("hdfs", '{"bucket":"","type":"hdfs"}'),
        ),
        None,
    ),
    "unsupported storage type": (
        secret("storage-secret", {"minio": _MINIO.replace('"s3"', '"gs"')}),
        "minio",
        {"type": "", "bucket": "test-bucket"},
        _ARGS,
        None,
        r"storage type must be one of \[s3, hdfs, webhdfs\]. storage type \[gs\] is not supported",
    ),
    "secret data with syntax error": (
        secret("storage-secret", {"minio": "{\n   {" + _MINIO[1:]}),
        "minio",
        {"type": "", "bucket": "test-bucket"},
        _ARGS,
        None,
        "invalid json encountered in key minio of storage secret storage-secret",
    ),
    "fail on storage type is empty": (
        secret("storage-secret", {"minio": _MINIO.replace('"s3"', '""')}),
        "minio",
        {"type": "", "bucket": "test-bucket"},
        _ARGS,
        None,
        "storage type must be one of",
    ),
    "fail on bucket is empty on s3 storage": (
        secret("storage-secret", {"minio": _MINIO.replace('"test-bucket"', '""')}),
        "minio",
        {"type": "s3", "bucket": ""},
        _PLACEHOLDER,
        None,
        r"format \[s3\] requires a bucket but one wasn't found in storage data or parameters",
    ),
    "missing storage secret with a key": (
        secret("other", {}),
        "minio",
        {"type": "s3"},
        _ARGS,
        None,
        'can\'t read storage secret storage-secret: secrets "storage-secret" not found',
    ),
}


@pytest.mark.parametrize(
    ("sec", "key", "params", "args", "want", "error"), SPEC_CASES.values(), ids=SPEC_CASES.keys()
)
def test_create_storage_spec_secret_envs(
    sec: Any, key: str, params: dict[str, str], args: list[str], want: Any, error: str | None
) -> None:
    c: dict[str, Any] = {
        "name": "init-container",
        "image": "kserve/init-container:latest",
        "args": list(args),
    }
    b = builder(CONFIG, [], [sec])
    if error is not None:
        with pytest.raises(PodMutationError, match=error):
            b.create_storage_spec_secret_envs({}, key, params, c)
        return
    b.create_storage_spec_secret_envs({}, key, params, c)
    assert c == {
        "name": "init-container",
        "image": "kserve/init-container:latest",
        "args": want[0],
        "env": want[1],
    }


def test_storage_spec_cabundle_configmap_from_storage_data() -> None:
    sec = secret(
        "storage-secret", {"k": '{"type": "s3", "bucket": "b", "cabundle_configmap": "my-ca"}'}
    )
    c: dict[str, Any] = {"args": ["<scheme-placeholder>://m", "/mnt/models"]}
    builder(CONFIG, [], [sec]).create_storage_spec_secret_envs({}, "k", None, c)
    assert c == {
        "args": ["s3://b/m", "/mnt/models"],
        "env": [
            e("AWS_CA_BUNDLE_CONFIGMAP", "my-ca"),
            secret_ref("STORAGE_CONFIG", "storage-secret", "k"),
        ],
    }


# ---------------------------------------------------------------------------------------------
# s3/utils_test.go TestBuildS3EnvVars (13)
# ---------------------------------------------------------------------------------------------

A = "serving.kserve.io/"
_ALL = [
    e("S3_USE_HTTPS", "0"),
    e("S3_ENDPOINT", "s3.aws.com"),
    e("AWS_ENDPOINT_URL", "http://s3.aws.com"),
    e("S3_VERIFY_SSL", "0"),
    e("awsAnonymousCredential", "true"),
    e("AWS_DEFAULT_REGION", "us-east-2"),
    e("S3_USER_VIRTUAL_BUCKET", "true"),
    e("S3_USE_ACCELERATE", "true"),
    e("AWS_CA_BUNDLE", "value"),
    e("AWS_CA_BUNDLE_CONFIGMAP", "value"),
]
_CFG_TAIL = [
    e("awsAnonymousCredential", "false"),
    e("S3_USER_VIRTUAL_BUCKET", "false"),
    e("S3_USE_ACCELERATE", "false"),
    e("AWS_CA_BUNDLE", "value-config"),
    e("AWS_CA_BUNDLE_CONFIGMAP", "value-config"),
]
_LOCAL_CFG = S3Config(
    s3Endpoint="s3.aws.com-config",
    s3UseVirtualBucket="false",
    s3UseAccelerate="false",
    s3UseAnonymousCredential="false",
    s3CABundleConfigMap="value-config",
    s3CABundle="value-config",
)
_MIXED_CFG = S3Config(
    s3Endpoint="s3.aws.com-config",
    s3Region="us-east-2-config",
    s3VerifySSL="1",
    s3UseVirtualBucket="false",
    s3UseAccelerate="false",
    s3UseAnonymousCredential="false",
    s3CABundleConfigMap="value-config",
    s3CABundle="value-config",
)


def _suffixed(suffix: str, verify: str = "0") -> list[dict[str, str]]:
    return [
        e("S3_ENDPOINT", "s3.aws.com-" + suffix),
        e("AWS_ENDPOINT_URL", "https://s3.aws.com-" + suffix),
        e("S3_VERIFY_SSL", verify),
        e("awsAnonymousCredential", "true"),
        e("AWS_DEFAULT_REGION", "us-east-2-" + suffix),
        e("S3_USER_VIRTUAL_BUCKET", "true"),
        e("S3_USE_ACCELERATE", "true"),
        e("AWS_CA_BUNDLE", "value-" + suffix),
        e("AWS_CA_BUNDLE_CONFIGMAP", "value-" + suffix),
    ]


S3_CASES = {
    "S3Endpoint": (
        {A + "s3-endpoint": "s3.aws.com"},
        None,
        S3Config(),
        [e("S3_ENDPOINT", "s3.aws.com"), e("AWS_ENDPOINT_URL", "https://s3.aws.com")],
    ),
    "AllAnnotations": (
        {
            A + "s3-endpoint": "s3.aws.com",
            A + "s3-region": "us-east-2",
            A + "s3-verifyssl": "0",
            A + "s3-usehttps": "0",
            A + "s3-usevirtualbucket": "true",
            A + "s3-useaccelerate": "true",
            A + "s3-useanoncredential": "true",
            A + "s3-cabundle": "value",
            A + "s3-cabundle-configmap": "value",
        },
        None,
        S3Config(),
        _ALL,
    ),
    "AllSecret": (
        {},
        {
            "S3_USE_HTTPS": "0",
            "S3_ENDPOINT": "s3.aws.com",
            "S3_VERIFY_SSL": "0",
            "awsAnonymousCredential": "true",
            "AWS_DEFAULT_REGION": "us-east-2",
            "S3_USER_VIRTUAL_BUCKET": "true",
            "S3_USE_ACCELERATE": "true",
            "AWS_CA_BUNDLE": "value",
            "AWS_CA_BUNDLE_CONFIGMAP": "value",
        },
        S3Config(),
        _ALL,
    ),
    "AllS3Config": (
        {},
        None,
        S3Config(
            s3Endpoint="s3.aws.com",
            s3UseHttps="0",
            s3Region="us-east-2",
            s3VerifySSL="0",
            s3UseVirtualBucket="true",
            s3UseAccelerate="true",
            s3UseAnonymousCredential="true",
            s3CABundleConfigMap="value",
            s3CABundle="value",
        ),
        _ALL,
    ),
    "AnnotationsSecretAndS3Config": (
        {
            A + "s3-endpoint": "s3.aws.com-annotation",
            A + "s3-region": "us-east-2-annotation",
            A + "s3-verifyssl": "0",
            A + "s3-usevirtualbucket": "true",
            A + "s3-useaccelerate": "true",
            A + "s3-useanoncredential": "true",
            A + "s3-cabundle": "value-annotation",
            A + "s3-cabundle-configmap": "value-annotation",
        },
        {
            "S3_ENDPOINT": "s3.aws.com-secret",
            "S3_VERIFY_SSL": "1",
            "awsAnonymousCredential": "false",
            "AWS_DEFAULT_REGION": "us-east-2-secret",
            "S3_USER_VIRTUAL_BUCKET": "false",
            "S3_USE_ACCELERATE": "false",
            "AWS_CA_BUNDLE": "value-secret",
            "AWS_CA_BUNDLE_CONFIGMAP": "value-secret",
        },
        _MIXED_CFG,
        _suffixed("annotation"),
    ),
    "SecretAndS3Config": (
        {},
        {
            "S3_ENDPOINT": "s3.aws.com-secret",
            "S3_VERIFY_SSL": "0",
            "awsAnonymousCredential": "true",
            "AWS_DEFAULT_REGION": "us-east-2-secret",
            "S3_USER_VIRTUAL_BUCKET": "true",
            "S3_USE_ACCELERATE": "true",
            "AWS_CA_BUNDLE": "value-secret",
            "AWS_CA_BUNDLE_CONFIGMAP": "value-secret",
        },
        _MIXED_CFG,
        _suffixed("secret"),
    ),
    "EndpointWithHttpsProtocol": (
        {A + "s3-endpoint": "https://s3.aws.com", A + "s3-verifyssl": "1", A + "s3-usehttps": "0"},
        None,
        S3Config(),
        [
            e("S3_USE_HTTPS", "1"),
            e("S3_ENDPOINT", "s3.aws.com"),
            e("AWS_ENDPOINT_URL", "https://s3.aws.com"),
            e("S3_VERIFY_SSL", "1"),
        ],
    ),
    "EndpointWithHttpProtocol": (
        {A + "s3-endpoint": "http://s3.aws.com", A + "s3-verifyssl": "0", A + "s3-usehttps": "1"},
        None,
        S3Config(),
        [
            e("S3_USE_HTTPS", "0"),
            e("S3_ENDPOINT", "s3.aws.com"),
            e("AWS_ENDPOINT_URL", "http://s3.aws.com"),
            e("S3_VERIFY_SSL", "0"),
        ],
    ),
    "LocalWithHttpProtocol": (
        {},
        {"S3_ENDPOINT": "http://localhost:9000", "S3_USE_HTTPS": "1"},
        _LOCAL_CFG,
        [
            e("S3_USE_HTTPS", "0"),
            e("S3_ENDPOINT", "localhost:9000"),
            e("AWS_ENDPOINT_URL", "http://localhost:9000"),
            *_CFG_TAIL,
        ],
    ),
    "LocalWithoutHttpProtocol": (
        {},
        {"S3_ENDPOINT": "localhost:9000", "S3_USE_HTTPS": "0"},
        _LOCAL_CFG,
        [
            e("S3_USE_HTTPS", "0"),
            e("S3_ENDPOINT", "localhost:9000"),
            e("AWS_ENDPOINT_URL", "http://localhost:9000"),
            *_CFG_TAIL,
        ],
    ),
    "LocalWithHttpsProtocol": (
        {},
        {"S3_ENDPOINT": "https://localhost:9000/path", "S3_USE_HTTPS": "0"},
        _LOCAL_CFG,
        [
            e("S3_USE_HTTPS", "1"),
            e("S3_ENDPOINT", "localhost:9000/path"),
            e("AWS_ENDPOINT_URL", "https://localhost:9000/path"),
            *_CFG_TAIL,
        ],
    ),
    "LocalWithoutHttpsProtocol": (
        {},
        {"S3_ENDPOINT": "localhost:9000/path", "S3_USE_HTTPS": "1"},
        _LOCAL_CFG,
        [
            e("S3_USE_HTTPS", "1"),
            e("S3_ENDPOINT", "localhost:9000/path"),
            e("AWS_ENDPOINT_URL", "https://localhost:9000/path"),
            *_CFG_TAIL,
        ],
    ),
    "NoConfig": ({}, None, S3Config(), []),
}


@pytest.mark.parametrize(
    ("annotations", "data", "config", "want"), S3_CASES.values(), ids=S3_CASES.keys()
)
def test_build_s3_env_vars(
    annotations: dict[str, str], data: dict[str, str] | None, config: S3Config, want: Any
) -> None:
    assert build_s3_env_vars(annotations, data, config) == want


# ---------------------------------------------------------------------------------------------
# azure (7), https (3), hf (3), ms (3), gcs (1), hdfs (1)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "keys",
    [
        pytest.param(
            ["AZURE_SUBSCRIPTION_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"],
            id="AzureSecretEnvsWithClientSecret",
        ),
        pytest.param(
            [
                "AZURE_SUBSCRIPTION_ID",
                "AZURE_TENANT_ID",
                "AZURE_CLIENT_ID",
                "AZURE_STORAGE_ACCESS_KEY",
            ],
            id="AzureSecretEnvsWithStorageAccessKey",
        ),
        pytest.param(
            [
                "AZURE_SUBSCRIPTION_ID",
                "AZURE_TENANT_ID",
                "AZURE_CLIENT_ID",
                "AZURE_CLIENT_SECRET",
                "AZURE_STORAGE_ACCESS_KEY",
            ],
            id="AzureSecretEnvsWithClientSecretAndStorageAccessKey",
        ),
        pytest.param(
            [
                "AZURE_SUBSCRIPTION_ID",
                "AZURE_TENANT_ID",
                "AZURE_CLIENT_ID",
                "AZURE_STORAGE_ACCESS_KEY",
            ],
            id="AzureSecretEnvsWithoutClientSecret",
        ),
        pytest.param(
            ["AZURE_SUBSCRIPTION_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"],
            id="AzureSecretEnvsWithoutStorageAccessKey",
        ),
        pytest.param(
            ["AZURE_SUBSCRIPTION_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_ID"],
            id="AzureSecretEnvsWithoutClientSecretAndStorageAccessKey",
        ),
    ],
)
def test_azure_secret(keys: list[str]) -> None:
    assert azure.build_secret_envs(secret("azcreds", {k: k for k in keys})) == [
        secret_ref(k, "azcreds", k) for k in keys
    ]


def test_azure_tenant_id_is_always_referenced() -> None:
    assert azure.build_secret_envs(secret("azcreds", ["AZURE_CLIENT_ID"])) == [
        secret_ref("AZURE_TENANT_ID", "azcreds", "AZURE_TENANT_ID"),
        secret_ref("AZURE_CLIENT_ID", "azcreds", "AZURE_CLIENT_ID"),
    ]


def test_azure_storage_access_secret() -> None:
    assert azure.build_storage_access_key_secret_env(
        secret("azcreds", ["AZURE_STORAGE_ACCESS_KEY"])
    ) == [secret_ref("AZURE_STORAGE_ACCESS_KEY", "azcreds", "AZURE_STORAGE_ACCESS_KEY")]


@pytest.mark.parametrize(
    ("data", "want"),
    [
        pytest.param({"headers": "x"}, [], id="noUriHost"),
        pytest.param({"https-host": "example.com"}, [], id="noHeaders"),
        pytest.param(
            {"https-host": "example.com", "headers": '{"a": "b"}'},
            [e("example.com-headers", '{"a": "b"}')],
            id="secretEnvs",
        ),
    ],
)
def test_https_secret(data: dict[str, str], want: Any) -> None:
    assert https.build_secret_envs(secret("s", data)) == want


@pytest.mark.parametrize(
    ("module", "key"),
    [pytest.param(hf, "HF_TOKEN", id="hf"), pytest.param(ms, "MODELSCOPE_API_TOKEN", id="ms")],
)
def test_token_secrets(module: Any, key: str) -> None:
    assert module.build_secret_envs(secret("tok", {key: "t"})) == [secret_ref(key, "tok", key)]
    assert module.build_secret_envs(secret("tok", {"other": "t"})) == []
    assert module.build_secret_envs({"metadata": {"name": "tok"}}) == []


def test_gcs_and_hdfs_secret_volumes() -> None:
    assert gcs.build_secret_volume(secret("user-gcp-sa", ["x"])) == (
        {"name": "user-gcp-sa", "secret": {"secretName": "user-gcp-sa"}},
        {"name": "user-gcp-sa", "mountPath": "/var/secrets/", "readOnly": True},
    )
    assert hdfs.build_secret(secret("h", ["HDFS_NAMENODE"])) == (
        {"name": "hdfs-secrets", "secret": {"secretName": "h"}},
        {"name": "hdfs-secrets", "mountPath": "/var/secrets/kserve-hdfscreds", "readOnly": True},
    )
