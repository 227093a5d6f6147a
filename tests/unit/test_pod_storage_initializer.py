"""Upstream ``pkg/webhook/admission/pod/storage_initializer_injector_test.go``, ported as table
tests asserting whole pods (upstream compares ``pod.Spec``; we compare the whole pod, so the
metadata is checked too). The OCI/modelcar functions of that file are in ``test_pod_oci.py``.

Upstream reads ServiceAccounts, Secrets and ClusterStorageContainers from an envtest
apiserver; here they are the JSON objects the pure credential builder / CSC matcher get."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from apis.serving.v1alpha1 import get_storage_key
from apis.serving.v1beta1.configmap import (
    InferenceServiceConfigError,
    StorageInitializerConfig,
    parse_inferenceservice_config,
)
from controllers.storage.container_merge import merge_container_with_patch
from controllers.storage.storage_container import (
    check_storage_initializer_config,
    get_container_spec_for_storage_uri,
    get_storage_container_spec,
)
from controllers.storage.storage_initializer import (
    StorageInitializerParams,
    StorageUri,
    common_storage_initialization,
)
from controllers.storage.utils import (
    add_or_replace_env,
    apply_confidential_container_config,
    get_container,
    parse_pvc_uri,
)
from controllers.webhooks.pod import PodMutationError
from controllers.webhooks.pod.istio import set_istio_cni_security_context
from tests.unit.test_pod_support import (
    CREDENTIALS_JSON,
    HF_ENV,
    KSERVE,
    MODELS,
    PROVISION_MOUNT_RO,
    PROVISION_MOUNT_RW,
    PROVISION_VOLUME,
    READONLY,
    SI,
    SI_CONFIG,
    SI_IMAGE,
    SRC,
    TRANSFORMER,
    builder,
    container,
    credential_config,
    csc,
    inject,
    pod,
    secret,
    secret_ref,
    service_account,
    si_container,
)

SPEC = "internal.serving.kserve.io/storage-spec"
SPEC_PARAM = "internal.serving.kserve.io/storage-spec-param"
SPEC_KEY = "internal.serving.kserve.io/storage-spec-key"
PVC_MOUNT = {
    "name": "kserve-pvc-source",
    "mountPath": MODELS,
    "subPath": "some/path/on/pvc",
    "readOnly": True,
}
PVC_VOLUME = {"name": "kserve-pvc-source", "persistentVolumeClaim": {"claimName": "mypvcname"}}


def expected(p: dict[str, Any], **spec: Any) -> dict[str, Any]:
    """``p`` with its spec fields replaced."""
    out = copy.deepcopy(p)
    out["spec"].update(spec)
    return out


# ---------------------------------------------------------------------------------------------
# TestStorageInitializerInjector (8 cases)
# ---------------------------------------------------------------------------------------------

_GS = pod({SRC: "gs://foo"})
_GS_INJECTED = dict(
    containers=[container(KSERVE, volumeMounts=[PROVISION_MOUNT_RO])],
    initContainers=[si_container(["gs://foo", MODELS])],
    volumes=[PROVISION_VOLUME],
)
_RW = pod({SRC: "gs://foo", READONLY: "false"})
_RO = pod({SRC: "gs://foo", READONLY: "true"})
_PVC = pod({SRC: "pvc://mypvcname/some/path/on/pvc"})
_STORAGE_SPEC = pod(
    {
        SRC: "<scheme-placeholder>://foo/bar",
        SPEC: "true",
        SPEC_PARAM: '{"type": "s3", "bucket": "my-bucket"}',
    },
    namespace="default",
)
_ALREADY = pod({SRC: "gs://foo"}, initContainers=[container(SI)])

INJECTOR_CASES = {
    "MissingAnnotations": (pod({}), pod({})),
    "AlreadyInjected": (_ALREADY, copy.deepcopy(_ALREADY)),
    "StorageInitializerInjected": (_GS, expected(_GS, **_GS_INJECTED)),
    "StorageInitializerInjectedReadOnlyUnset": (_GS, expected(_GS, **_GS_INJECTED)),
    "StorageInitializerInjectedReadOnlyFalse": (
        _RW,
        expected(
            _RW,
            containers=[container(KSERVE, volumeMounts=[PROVISION_MOUNT_RW])],
            initContainers=[si_container(["gs://foo", MODELS])],
            volumes=[PROVISION_VOLUME],
        ),
    ),
    "StorageInitializerInjectedReadOnlyTrue": (_RO, expected(_RO, **_GS_INJECTED)),
    "StorageInitializerInjectedAndMountsPvc": (
        _PVC,
        expected(
            _PVC, containers=[container(KSERVE, volumeMounts=[PVC_MOUNT])], volumes=[PVC_VOLUME]
        ),
    ),
    "StorageSpecInjected": (
        _STORAGE_SPEC,
        expected(
            _STORAGE_SPEC,
            containers=[container(KSERVE, volumeMounts=[PROVISION_MOUNT_RO])],
            initContainers=[
                si_container(
                    ["s3://my-bucket/foo/bar", MODELS],
                    [
                        {
                            "name": "STORAGE_OVERRIDE_CONFIG",
                            "value": '{"bucket":"my-bucket","type":"s3"}',
                        },
                        *HF_ENV,
                    ],
                )
            ],
            volumes=[PROVISION_VOLUME],
        ),
    ),
}


@pytest.mark.parametrize(("original", "want"), INJECTOR_CASES.values(), ids=INJECTOR_CASES.keys())
def test_storage_initializer_injector(original: dict[str, Any], want: dict[str, Any]) -> None:
    assert inject(copy.deepcopy(original)) == want


def test_storage_initializer_failure_missing_user_container() -> None:
    p = pod({SRC: "pvc://mypvcname/some/path/on/pvc"}, [container("random-container")])
    with pytest.raises(PodMutationError) as err:
        inject(p)
    assert str(err.value).startswith("Invalid configuration: cannot find container")
    assert err.value.field == "spec.containers"


# ---------------------------------------------------------------------------------------------
# TestCustomSpecStorageUriInjection (3 cases)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "want"),
    [
        pytest.param(
            [{"name": "STORAGE_URI", "value": "pvc://mypvcname/some/path/on/pvc"}],
            [{"name": "STORAGE_URI", "value": MODELS}],
            id="CustomSpecStorageUriSet",
        ),
        pytest.param(
            [{"name": "STORAGE_URI"}], [{"name": "STORAGE_URI"}], id="CustomSpecStorageUriEmpty"
        ),
        pytest.param(
            [{"name": "TestRandom", "value": "val"}],
            [{"name": "TestRandom", "value": "val"}],
            id="CustomSpecStorageUriNotSet",
        ),
    ],
)
def test_custom_spec_storage_uri_injection(env: list[Any], want: list[Any]) -> None:
    p = pod({SRC: "pvc://mypvcname/some/path/on/pvc"}, [container(KSERVE, env=env)])
    out = inject(p)
    assert out["spec"]["containers"] == [container(KSERVE, env=want, volumeMounts=[PVC_MOUNT])]


# ---------------------------------------------------------------------------------------------
# TestCredentialInjection (4 cases)
# ---------------------------------------------------------------------------------------------


def _make_pod() -> dict[str, Any]:
    return pod({SRC: "gs://foo"}, name="test", namespace="default")


_AWS_KEYS = [
    secret_ref("AWS_ACCESS_KEY_ID", "s3-secret", "awsAccessKeyID"),
    secret_ref("AWS_SECRET_ACCESS_KEY", "s3-secret", "awsSecretAccessKey"),
]
_S3_SECRET = secret(
    "s3-secret",
    ["awsAccessKeyID", "awsSecretAccessKey"],
    {"serving.kserve.io/s3-endpoint": "s3.aws.com"},
)
_STORAGE_CONFIG_JSON = '{"type": "s3", "bucket": "my-bucket", "region": "na"}'
_SPEC_POD = {
    SRC: "<scheme-placeholder>://foo/bar",
    SPEC: "true",
    SPEC_PARAM: '{"some-param": "some-val"}',
}

CREDENTIAL_CASES = {
    "Test s3 secrets injection": (
        service_account("default", ["s3-secret"]),
        _S3_SECRET,
        _make_pod(),
        [
            *_AWS_KEYS,
            {"name": "S3_ENDPOINT", "value": "s3.aws.com"},
            {"name": "AWS_ENDPOINT_URL", "value": "https://s3.aws.com"},
            *HF_ENV,
        ],
        [PROVISION_MOUNT_RW],
        [PROVISION_VOLUME],
        ["gs://foo", MODELS],
    ),
    "Test GCS secrets injection": (
        service_account("default", ["user-gcp-sa"]),
        secret("user-gcp-sa", ["gcloud-application-credentials.json"]),
        _make_pod(),
        [
            {
                "name": "GOOGLE_APPLICATION_CREDENTIALS",
                "value": "/var/secrets/gcloud-application-credentials.json",
            },
            *HF_ENV,
        ],
        [
            PROVISION_MOUNT_RW,
            {"name": "user-gcp-sa", "mountPath": "/var/secrets/", "readOnly": True},
        ],
        [PROVISION_VOLUME, {"name": "user-gcp-sa", "secret": {"secretName": "user-gcp-sa"}}],
        ["gs://foo", MODELS],
    ),
    "TestStorageSpecSecretInjection": (
        service_account("default"),
        secret("storage-config", {"my-storage": _STORAGE_CONFIG_JSON}),
        pod({**_SPEC_POD, SPEC_KEY: "my-storage"}, namespace="default"),
        [
            secret_ref("STORAGE_CONFIG", "storage-config", "my-storage"),
            {"name": "STORAGE_OVERRIDE_CONFIG", "value": '{"some-param":"some-val"}'},
            *HF_ENV,
        ],
        [PROVISION_MOUNT_RW],
        [PROVISION_VOLUME],
        ["s3://my-bucket/foo/bar", MODELS],
    ),
    "TestStorageSpecDefaultSecretInjection": (
        service_account("default"),
        secret("storage-config", {"default": _STORAGE_CONFIG_JSON}),
        pod(_SPEC_POD, namespace="default"),
        [
            secret_ref("STORAGE_CONFIG", "storage-config", "default"),
            {"name": "STORAGE_OVERRIDE_CONFIG", "value": '{"some-param":"some-val"}'},
            *HF_ENV,
        ],
        [PROVISION_MOUNT_RW],
        [PROVISION_VOLUME],
        ["s3://my-bucket/foo/bar", MODELS],
    ),
}


@pytest.mark.parametrize(
    ("sa", "sec", "original", "env", "mounts", "vols", "args"),
    CREDENTIAL_CASES.values(),
    ids=CREDENTIAL_CASES.keys(),
)
def test_credential_injection(
    sa: Any, sec: Any, original: Any, env: Any, mounts: Any, vols: Any, args: Any
) -> None:
    creds = builder(credential_config(CREDENTIALS_JSON), [sa], [sec])
    out = inject(copy.deepcopy(original), creds=creds)
    assert out == expected(
        original,
        containers=[container(KSERVE, volumeMounts=[PROVISION_MOUNT_RO])],
        initContainers=[si_container(args, env, mounts)],
        volumes=vols,
    )


# ---------------------------------------------------------------------------------------------
# TestStorageInitializerConfigmap, TestGetStorageInitializerConfigs, TestParsePvcURI
# ---------------------------------------------------------------------------------------------


def test_storage_initializer_configmap_image() -> None:
    config = SI_CONFIG.model_copy(update={"image": "kserve/storage-initializer@sha256:xxx"})
    out = inject(pod({SRC: "gs://foo"}), config)
    assert out == expected(
        _GS,
        containers=[container(KSERVE, volumeMounts=[PROVISION_MOUNT_RO])],
        initContainers=[
            si_container(["gs://foo", MODELS], image="kserve/storage-initializer@sha256:xxx")
        ],
        volumes=[PROVISION_VOLUME],
    )


_CFG = {
    "Image": "gcr.io/kserve/storage-initializer:latest",
    "CpuRequest": "100m",
    "CpuLimit": "1",
    "MemoryRequest": "200Mi",
    "MemoryLimit": "1Gi",
    "CaBundleConfigMapName": "",
    "CaBundleVolumeMountPath": "/etc/ssl/custom-certs",
}


@pytest.mark.parametrize(
    ("doc", "modelcar", "bad_field"),
    [
        pytest.param(
            {**_CFG, "CpuModelcar": "100m", "MemoryModelcar": "50Mi"},
            ("100m", "50Mi"),
            None,
            id="Valid Storage Initializer Config",
        ),
        pytest.param(
            {**_CFG, "MemoryRequest": "200MC", "CpuModelcar": "100m", "MemoryModelcar": "50Mi"},
            ("100m", "50Mi"),
            "memoryRequest",
            id="Invalid Resource Value",
        ),
        pytest.param(
            {**_CFG, "CpuModelcar": "", "MemoryModelcar": ""},
            ("", ""),
            None,
            id="Empty Modelcar Fields Should Not Cause Validation Error",
        ),
        pytest.param(
            _CFG, ("", ""), None, id="Missing Modelcar Fields Should Not Cause Validation Error"
        ),
        pytest.param(
            {**_CFG, "CpuModelcar": "invalid", "MemoryModelcar": "50Mi"},
            ("invalid", "50Mi"),
            "cpuModelcar",
            id="Invalid Non-Empty Modelcar Fields Should Cause Validation Error",
        ),
    ],
)
def test_get_storage_initializer_configs(
    doc: dict[str, str], modelcar: tuple[str, str], bad_field: str | None
) -> None:
    """Upstream parses and checks in one call; here the ConfigMap parser refuses a bad key up
    front (naming it), and the mutator's own check (for a config built otherwise) gives
    upstream's message."""
    decoded = StorageInitializerConfig.model_validate(doc)
    assert (decoded.image, decoded.cpu_request, decoded.memory_limit) == (
        "gcr.io/kserve/storage-initializer:latest",
        "100m",
        "1Gi",
    )
    assert (decoded.cpu_modelcar, decoded.memory_modelcar) == modelcar
    assert decoded.ca_bundle_volume_mount_path == "/etc/ssl/custom-certs"
    if bad_field is None:
        check_storage_initializer_config(decoded)
        parse_inferenceservice_config({"storageInitializer": json.dumps(doc)})
        return
    with pytest.raises(PodMutationError) as err:
        check_storage_initializer_config(decoded)
    assert str(err.value) == (
        f'failed to parse resource configuration for "storageInitializer"."{bad_field}": '
        "quantities must match the regular expression "
        "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )
    with pytest.raises(InferenceServiceConfigError) as perr:
        parse_inferenceservice_config({"storageInitializer": json.dumps(doc)})
    assert (perr.value.key, perr.value.field) == ("storageInitializer", bad_field)


@pytest.mark.parametrize(
    ("uri", "name", "path"),
    [("pvc://test/model/model1", "test", "model/model1"), ("pvc://test", "test", "")],
    ids=["Valid PVC URI", "Valid PVC URI with Shortest Path"],
)
def test_parse_pvc_uri(uri: str, name: str, path: str) -> None:
    assert parse_pvc_uri(uri) == (name, path)


# ---------------------------------------------------------------------------------------------
# TestCaBundleConfigMapVolumeMountInStorageInitializer (6 cases)
# ---------------------------------------------------------------------------------------------

_CA_CONFIG = StorageInitializerConfig(
    image=SI_IMAGE, cpuRequest="100m", cpuLimit="1", memoryRequest="200Mi", memoryLimit="1Gi"
)


def _ca_volume(name: str) -> dict[str, Any]:
    return {"name": "cabundle-cert", "configMap": {"name": name}}


def _ca_mount(path: str = "/etc/ssl/custom-certs") -> dict[str, Any]:
    return {"name": "cabundle-cert", "mountPath": path, "readOnly": True}


def _ca_env(name: str, path: str = "/etc/ssl/custom-certs") -> list[dict[str, Any]]:
    return [
        {"name": "CA_BUNDLE_CONFIGMAP_NAME", "value": name},
        {"name": "CA_BUNDLE_VOLUME_MOUNT_POINT", "value": path},
    ]


CA_CASES = {
    "DoNotMountWithCaBundleConfigMapVolumeWhenCaBundleConfigMapNameNotSet": (
        SI_CONFIG,
        {},
        [*_AWS_KEYS, *HF_ENV],
        [PROVISION_MOUNT_RW],
        [PROVISION_VOLUME],
    ),
    "MountsCaBundleConfigMapVolumeWhenCaBundleConfigMapNameSet": (
        _CA_CONFIG.model_copy(update={"ca_bundle_config_map_name": "custom-certs"}),
        {},
        [*_AWS_KEYS, *_ca_env("global-ca-bundle"), *HF_ENV],
        [PROVISION_MOUNT_RW, _ca_mount()],
        [PROVISION_VOLUME, _ca_volume("global-ca-bundle")],
    ),
    "MountsCaBundleConfigMapVolumeByAnnotation": (
        _CA_CONFIG,
        {"serving.kserve.io/s3-cabundle-configmap": "cabundle-annotation"},
        [
            *_AWS_KEYS,
            {"name": "AWS_CA_BUNDLE_CONFIGMAP", "value": "cabundle-annotation"},
            *_ca_env("cabundle-annotation"),
            *HF_ENV,
        ],
        [PROVISION_MOUNT_RW, _ca_mount()],
        [PROVISION_VOLUME, _ca_volume("cabundle-annotation")],
    ),
    "MountsCaBundleConfigMapVolumeByAnnotationInstreadOfConfigMap": (
        _CA_CONFIG.model_copy(update={"ca_bundle_config_map_name": "custom-certs"}),
        {"serving.kserve.io/s3-cabundle-configmap": "cabundle-annotation"},
        [
            *_AWS_KEYS,
            {"name": "AWS_CA_BUNDLE_CONFIGMAP", "value": "cabundle-annotation"},
            *_ca_env("cabundle-annotation"),
            *HF_ENV,
        ],
        [PROVISION_MOUNT_RW, _ca_mount()],
        [PROVISION_VOLUME, _ca_volume("cabundle-annotation")],
    ),
    "DoNotSetMountsCaBundleConfigMapVolumePathByAnnotationIfCaBundleConfigMapNameDidNotSet": (
        SI_CONFIG,
        {"serving.kserve.io/s3-cabundle": "/path/to/ca.crt"},
        [*_AWS_KEYS, {"name": "AWS_CA_BUNDLE", "value": "/path/to/ca.crt"}, *HF_ENV],
        [PROVISION_MOUNT_RW],
        [PROVISION_VOLUME],
    ),
    "SetMountsCaBundleConfigMapVolumePathByAnnotationInstreadOfConfigMap": (
        _CA_CONFIG.model_copy(
            update={
                "ca_bundle_config_map_name": "custom-certs",
                "ca_bundle_volume_mount_path": "/path/to",
            }
        ),
        {"serving.kserve.io/s3-cabundle": "/annotation/path/to/annotation-ca.crt"},
        [
            *_AWS_KEYS,
            {"name": "AWS_CA_BUNDLE", "value": "/annotation/path/to/annotation-ca.crt"},
            *_ca_env("global-ca-bundle", "/annotation/path/to"),
            *HF_ENV,
        ],
        [PROVISION_MOUNT_RW, _ca_mount("/annotation/path/to")],
        [PROVISION_VOLUME, _ca_volume("global-ca-bundle")],
    ),
}


@pytest.mark.parametrize(
    ("config", "secret_annotations", "env", "mounts", "vols"),
    CA_CASES.values(),
    ids=CA_CASES.keys(),
)
def test_ca_bundle_config_map_volume_mount(
    config: StorageInitializerConfig,
    secret_annotations: dict[str, str],
    env: Any,
    mounts: Any,
    vols: Any,
) -> None:
    sec = secret("s3-secret", ["awsAccessKeyID", "awsSecretAccessKey"], secret_annotations)
    creds = builder(
        credential_config(CREDENTIALS_JSON), [service_account("default", ["s3-secret"])], [sec]
    )
    original = _make_pod()
    image = config.image or SI_IMAGE
    assert inject(copy.deepcopy(original), config, creds) == expected(
        original,
        containers=[container(KSERVE, volumeMounts=[PROVISION_MOUNT_RO])],
        initContainers=[si_container(["gs://foo", MODELS], env, mounts, image=image)],
        volumes=vols,
    )


def test_ca_bundle_keeps_configured_name_in_kserve_namespace() -> None:
    """Inside the manager's namespace the configured ConfigMap is used (not global-ca-bundle)."""
    config = _CA_CONFIG.model_copy(update={"ca_bundle_config_map_name": "custom-certs"})
    out = inject(pod({SRC: "gs://foo"}, namespace="kserve"), config)
    assert out["spec"]["volumes"] == [PROVISION_VOLUME, _ca_volume("custom-certs")]
    assert _ca_env("custom-certs")[0] in out["spec"]["initContainers"][0]["env"]


# ---------------------------------------------------------------------------------------------
# TestDirectVolumeMountForPvc (4), TestTransformerCollocation (3)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("annotations", "mount"),
    [
        pytest.param(
            {SRC: "pvc://mypvcname/some/path/on/pvc"},
            PVC_MOUNT,
            id="StorageInitializerNotInjectedAndMountsPvcViaVolumeMount",
        ),
        pytest.param(
            {SRC: "pvc://mypvcname"},
            {"name": "kserve-pvc-source", "mountPath": MODELS, "readOnly": True},
            id="StorageInitializerNotInjectedAndMountsPvcViaVolumeMountShortestPath",
        ),
        pytest.param(
            {SRC: "pvc://mypvcname/some/path/on/pvc", READONLY: "false"},
            {"name": "kserve-pvc-source", "mountPath": MODELS, "subPath": "some/path/on/pvc"},
            id="StorageInitializerNotInjectedAndMountsPvcViaVolumeMountReadOnlyFalse",
        ),
        pytest.param(
            {SRC: "pvc://mypvcname/some/path/on/pvc", READONLY: "true"},
            PVC_MOUNT,
            id="StorageInitializerNotInjectedAndMountsPvcViaVolumeMountReadOnlyTrue",
        ),
    ],
)
def test_direct_volume_mount_for_pvc(annotations: dict[str, str], mount: dict[str, Any]) -> None:
    original = pod(annotations)
    out = inject(copy.deepcopy(original), StorageInitializerConfig())
    assert out == expected(
        original, containers=[container(KSERVE, volumeMounts=[mount])], volumes=[PVC_VOLUME]
    )


_STORAGE_URI_PVC = [{"name": "STORAGE_URI", "value": "pvc://mypvcname/some/path/on/pvc"}]
_STORAGE_URI_MODELS = [{"name": "STORAGE_URI", "value": MODELS}]


@pytest.mark.parametrize(
    ("config", "transformer"),
    [
        pytest.param(SI_CONFIG, True, id="Transformer collocation with pvc"),
        pytest.param(
            StorageInitializerConfig(), True, id="Transformer collocation with pvc direct mount"
        ),
        pytest.param(SI_CONFIG, False, id="No collocation"),
    ],
)
def test_transformer_collocation(config: StorageInitializerConfig, transformer: bool) -> None:
    containers = [container(KSERVE, env=_STORAGE_URI_PVC)]
    if transformer:
        containers.append(container(TRANSFORMER, image="test/image:latest"))
    original = pod({SRC: "pvc://mypvcname/some/path/on/pvc"}, containers)
    want = [container(KSERVE, env=_STORAGE_URI_MODELS, volumeMounts=[PVC_MOUNT])]
    if transformer:
        want.append(container(TRANSFORMER, image="test/image:latest", volumeMounts=[PVC_MOUNT]))
    out = inject(copy.deepcopy(original), config)
    assert out == expected(original, containers=want, volumes=[PVC_VOLUME])


# ---------------------------------------------------------------------------------------------
# TestGetStorageContainerSpec (3), TestExplicitStorageContainerName (6),
# TestStorageContainerCRDInjection (2)
# ---------------------------------------------------------------------------------------------

# the CRD requires the container's name (upstream's Go tests leave it empty)
_CUSTOM_CONTAINER = {
    "name": SI,
    "image": "kserve/custom:latest",
    "resources": {"limits": {"memory": "200Mi"}},
    "securityContext": {"runAsNonRoot": True},
}
_S3_AZURE_CONTAINER = {"name": SI, "image": SI_IMAGE, "resources": {"limits": {"memory": "200Mi"}}}
_CSCS = (
    csc(
        "s3-azure",
        _S3_AZURE_CONTAINER,
        [{"prefix": "s3://"}, {"regex": "https://(.+?).blob.core.windows.net/(.+)"}],
    ),
    csc("custom", _CUSTOM_CONTAINER, [{"prefix": "custom://"}]),
)


@pytest.mark.parametrize(
    ("uri", "want"),
    [("s3://foo", _S3_AZURE_CONTAINER), ("custom://foo", _CUSTOM_CONTAINER), ("abc://", None)],
    ids=["s3", "custom", "nonExistent"],
)
def test_get_storage_container_spec(uri: str, want: dict[str, Any] | None) -> None:
    assert get_container_spec_for_storage_uri(uri, _CSCS) == want


_EXPLICIT = (
    csc(
        "default",
        {
            "name": SI,
            "image": SI_IMAGE,
            "resources": {
                "requests": {"memory": "100Mi", "cpu": "100m"},
                "limits": {"memory": "1Gi", "cpu": "1"},
            },
        },
        [{"prefix": "gs://"}, {"prefix": "s3://"}, {"prefix": "hf://"}],
    ),
    csc(
        "hf-custom",
        {
            "name": SI,
            "image": "kserve/hf-custom:latest",
            "resources": {"requests": {"memory": "2Gi"}, "limits": {"memory": "4Gi"}},
            "env": [{"name": "HF_TOKEN", "value": "test-token"}],
        },
        [{"prefix": "hf://"}],
    ),
    csc(
        "disabled-csc",
        {"name": SI, "image": "kserve/disabled:latest"},
        [{"prefix": "hf://"}],
        disabled=True,
    ),
    csc("s3-only", {"name": SI, "image": "kserve/s3-only:latest"}, [{"prefix": "s3://"}]),
    csc(
        "download-job",
        {"name": SI, "image": "kserve/download-job:latest"},
        [{"prefix": "hf://"}],
        workloadType="localModelDownloadJob",
    ),
)


@pytest.mark.parametrize(
    ("name", "image", "error"),
    [
        pytest.param(
            None,
            SI_IMAGE,
            None,
            id="auto-match returns first alphabetical CSC when name not specified",
        ),
        pytest.param(
            "hf-custom", "kserve/hf-custom:latest", None, id="explicit name returns the correct CSC"
        ),
        pytest.param(
            "does-not-exist",
            None,
            'ClusterStorageContainer "does-not-exist" not found',
            id="explicit name for non-existent CSC returns error",
        ),
        pytest.param(
            "disabled-csc",
            None,
            'ClusterStorageContainer "disabled-csc" is disabled',
            id="explicit name for disabled CSC returns error",
        ),
        pytest.param(
            "s3-only",
            None,
            'ClusterStorageContainer "s3-only" does not support storageUri "hf://my-model"',
            id="explicit name for CSC that does not support the URI returns error",
        ),
        pytest.param(
            "download-job",
            None,
            'ClusterStorageContainer "download-job" has workloadType "localModelDownloadJob"; '
            'explicit selection requires "initContainer"',
            id="explicit name for CSC with wrong workloadType returns error",
        ),
    ],
)
def test_explicit_storage_container_name(
    name: str | None, image: str | None, error: str | None
) -> None:
    # the listing order must not matter: upstream's apiserver lists by name
    cscs = tuple(reversed(_EXPLICIT))
    if error is not None:
        with pytest.raises(PodMutationError, match="^" + re.escape(error) + "$"):
            get_storage_container_spec("hf://my-model", name, cscs)
        return
    spec = get_storage_container_spec("hf://my-model", name, cscs)
    assert spec is not None
    assert spec.container.image == image
    if name == "hf-custom":
        assert spec.container.resources is not None
        assert spec.container.resources.requests == {"memory": "2Gi"}


def test_explicit_storage_container_name_through_the_injector() -> None:
    """The annotation selects the CSC; its container is merged over the init container."""
    original = pod(
        {SRC: "hf://my-model", "internal.serving.kserve.io/storage-container-name": "hf-custom"}
    )
    out = inject(copy.deepcopy(original), cscs=_EXPLICIT)
    init = si_container(
        ["hf://my-model", MODELS],
        [{"name": "HF_TOKEN", "value": "test-token"}, *HF_ENV],
        image="kserve/hf-custom:latest",
        resources={
            "limits": {"cpu": "1", "memory": "4Gi"},
            "requests": {"cpu": "100m", "memory": "2Gi"},
        },
    )
    assert out == expected(
        original,
        containers=[container(KSERVE, volumeMounts=[PROVISION_MOUNT_RO])],
        initContainers=[init],
        volumes=[PROVISION_VOLUME],
    )


_CRD_CSCS = (
    csc(
        "custom",
        {"name": SI, "image": SI_IMAGE, "resources": {"limits": {"memory": "200Mi"}}},
        [{"prefix": "custom://"}],
    ),
    csc(
        "s3-azure",
        {
            "name": SI,
            "image": SI_IMAGE,
            "resources": {"limits": {"memory": "500Mi"}},
            "env": [{"name": "name", "value": "value"}],
        },
        [{"prefix": "s3://"}, {"regex": "https://(.+?).blob.core.windows.net/(.+)"}],
    ),
)


@pytest.mark.parametrize(
    ("uri", "init"),
    [
        pytest.param(
            "s3://foo",
            si_container(
                ["s3://foo", MODELS],
                [{"name": "name", "value": "value"}, *HF_ENV],
                resources={
                    "limits": {"cpu": "1", "memory": "500Mi"},
                    "requests": {"cpu": "100m", "memory": "200Mi"},
                },
            ),
            id="s3",
        ),
        pytest.param(
            "https://foo",
            si_container(["https://foo", MODELS]),
            id="Default config if storage uri not matched in CRs",
        ),
    ],
)
def test_storage_container_crd_injection(uri: str, init: dict[str, Any]) -> None:
    original = pod({SRC: uri})
    out = inject(copy.deepcopy(original), cscs=_CRD_CSCS)
    assert out == expected(
        original,
        containers=[container(KSERVE, volumeMounts=[PROVISION_MOUNT_RO])],
        initContainers=[init],
        volumes=[PROVISION_VOLUME],
    )


def test_csc_with_another_container_name_keeps_storage_initializer_name() -> None:
    """Deliberate fix (docs/compatibility.md): the webhook's init container keeps its name
    after a CSC named otherwise is merged, so a reinvocation does not inject a second one."""
    cscs = (csc("renamer", {"name": "custom-downloader", "image": "x/y:1"}, [{"prefix": "s3://"}]),)
    once = inject(pod({SRC: "s3://bucket/m"}), cscs=cscs)
    assert [c["name"] for c in once["spec"]["initContainers"]] == [SI]
    assert once["spec"]["initContainers"][0]["image"] == "x/y:1"
    assert inject(copy.deepcopy(once), cscs=cscs) == once


# ---------------------------------------------------------------------------------------------
# TestAddOrReplaceEnv (3), TestGetContainerWithName (2)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("c", "key", "value", "want"),
    [
        pytest.param(
            {},
            "TEST_KEY",
            "test_value",
            [{"name": "TEST_KEY", "value": "test_value"}],
            id="nil env array",
        ),
        pytest.param(
            {"env": [{"name": "EXISTING_KEY", "value": "existing_value"}]},
            "TEST_KEY",
            "test_value",
            [
                {"name": "EXISTING_KEY", "value": "existing_value"},
                {"name": "TEST_KEY", "value": "test_value"},
            ],
            id="env array without key",
        ),
        pytest.param(
            {"env": [{"name": "TEST_KEY", "value": "old_value"}]},
            "TEST_KEY",
            "new_value",
            [{"name": "TEST_KEY", "value": "new_value"}],
            id="env array with existing key",
        ),
    ],
)
def test_add_or_replace_env(c: dict[str, Any], key: str, value: str, want: list[Any]) -> None:
    add_or_replace_env(c, key, value)
    assert c["env"] == want


@pytest.mark.parametrize(
    ("seek", "found"), [("container-1", True), ("non-existent-container", False)]
)
def test_get_container_with_name(seek: str, found: bool) -> None:
    spec = {"containers": [{"name": "container-1"}, {"name": "container-2"}]}
    got = get_container(spec, seek)
    assert (got == {"name": seek}) if found else got is None


# ---------------------------------------------------------------------------------------------
# TestStorageInitializerUIDForIstioCNI (9 cases)
# ---------------------------------------------------------------------------------------------

_ISTIO_STATUS = "sidecar.istio.io/status"
_ISTIO_MODE = "sidecar.istio.io/interceptionMode"
_SIDECAR_501 = container("istio-sidecar", securityContext={"runAsUser": 501})


@pytest.mark.parametrize(
    ("annotations", "sidecar", "istio_init", "uid"),
    [
        pytest.param(
            {_ISTIO_STATUS: '{"containers": ["istio-sidecar"]}', _ISTIO_MODE: "REDIRECT"},
            _SIDECAR_501,
            False,
            501,
            id="StorageInitializerCniUidSet",
        ),
        pytest.param(
            {_ISTIO_STATUS: '{"containers": ["istio-sidecar"]}', _ISTIO_MODE: "REDIRECT"},
            container("istio-sidecar"),
            False,
            1337,
            id="StorageInitializerCniUidDefault",
        ),
        pytest.param(
            {_ISTIO_STATUS: '{"containers": ["istio-sidecar"]}', _ISTIO_MODE: "REDIRECT"},
            _SIDECAR_501,
            True,
            None,
            id="StorageInitializerUidNotSetIfIstioInitPresent",
        ),
        pytest.param(
            {_ISTIO_STATUS: '{"containers": ["istio-sidecar"]}', _ISTIO_MODE: "REDIRECT"},
            None,
            False,
            None,
            id="StorageInitializerUidNotSetIfProxyMissing",
        ),
        pytest.param(
            {_ISTIO_STATUS: '{"containers": []}', _ISTIO_MODE: "REDIRECT"},
            _SIDECAR_501,
            False,
            None,
            id="StorageInitializerUidNotSetIfProxyNameMissing",
        ),
        pytest.param(
            {_ISTIO_STATUS: "{}", _ISTIO_MODE: "REDIRECT"},
            _SIDECAR_501,
            False,
            None,
            id="StorageInitializerUidNotSetIfIstioStatusBlank",
        ),
        pytest.param(
            {_ISTIO_STATUS: '{"containers": ["istio-sidecar"]}', _ISTIO_MODE: "OTHER_REDIRECT"},
            _SIDECAR_501,
            False,
            None,
            id="StorageInitializerUidNotSetIfInterceptModeNotRedirect",
        ),
        pytest.param(
            {_ISTIO_STATUS: '{"containers": ["istio-sidecar"]}'},
            _SIDECAR_501,
            False,
            None,
            id="StorageInitializerUidNotSetIfInterceptModeMissing",
        ),
        pytest.param(
            {_ISTIO_MODE: "REDIRECT"},
            _SIDECAR_501,
            False,
            None,
            id="StorageInitializerUidNotSetIfIstioStatusMissing",
        ),
        pytest.param(
            {_ISTIO_STATUS: '{"containers": []}', _ISTIO_MODE: "REDIRECT"},
            _SIDECAR_501,
            False,
            None,
            id="StorageInitializerUidNotSetIfIstioStatusEmpty",
        ),
        pytest.param(
            {"serving.kserve.io/storage-initializer-uid": "1000"},
            _SIDECAR_501,
            False,
            1000,
            id="UID annotation overrides (upstream IstioSidecarUIDAnnotationKey)",
        ),
        pytest.param(
            {
                "serving.kserve.io/storage-initializer-uid": "x",
                _ISTIO_MODE: "REDIRECT",
                _ISTIO_STATUS: '{"containers": ["istio-sidecar"]}',
            },
            _SIDECAR_501,
            False,
            None,
            id="UID annotation that is not an integer: nothing set",
        ),
    ],
)
def test_storage_initializer_uid_for_istio_cni(
    annotations: dict[str, str], sidecar: dict[str, Any] | None, istio_init: bool, uid: int | None
) -> None:
    containers = [container(KSERVE)] + ([sidecar] if sidecar else [])
    inits = [container("istio-init")] if istio_init else []
    extra: dict[str, Any] = {"initContainers": inits} if inits else {}
    original = pod({SRC: "gs://foo", **annotations}, containers, **extra)
    out = inject(copy.deepcopy(original))
    set_istio_cni_security_context(out)
    init = si_container(["gs://foo", MODELS])
    if uid is not None:
        init["securityContext"] = {"runAsUser": uid}
    assert out == expected(
        original,
        containers=[
            container(KSERVE, volumeMounts=[PROVISION_MOUNT_RO]),
            *([sidecar] if sidecar else []),
        ],
        initContainers=[*inits, init],
        volumes=[PROVISION_VOLUME],
    )


# ---------------------------------------------------------------------------------------------
# TestLocalModelPVC (4)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "source", "sub_path"),
    [
        pytest.param(
            "s3://foo", "s3://foo", "models/" + get_storage_key("s3://foo") + "/", id="basic"
        ),
        pytest.param(
            "s3://foo/",
            "s3://foo",
            "models/" + get_storage_key("s3://foo") + "/",
            id="extra / at the end",
        ),
        pytest.param(
            "s3://foo/model1",
            "s3://foo",
            "models/" + get_storage_key("s3://foo") + "/model1",
            id="subfolder",
        ),
        pytest.param(
            "s3://foo/model1",
            "s3://foo/",
            "models/" + get_storage_key("s3://foo/") + "/model1",
            id="subfolder2",
        ),
    ],
)
def test_local_model_pvc(uri: str, source: str, sub_path: str) -> None:
    original = pod(
        {
            SRC: uri,
            "internal.serving.kserve.io/localmodel-sourceuri": source,
            "internal.serving.kserve.io/localmodel-pvc-name": "model-h100",
        },
        labels={"internal.serving.kserve.io/localmodel": "bar"},
    )
    out = inject(copy.deepcopy(original), StorageInitializerConfig())
    mount = {
        "name": "kserve-pvc-source",
        "mountPath": MODELS,
        "subPath": sub_path,
        "readOnly": True,
    }
    assert out == expected(
        original,
        containers=[container(KSERVE, volumeMounts=[mount])],
        volumes=[
            {"name": "kserve-pvc-source", "persistentVolumeClaim": {"claimName": "model-h100"}}
        ],
    )


def test_local_model_pvc_annotation_missing() -> None:
    p = pod({SRC: "s3://foo"}, labels={"internal.serving.kserve.io/localmodel": "bar"})
    with pytest.raises(
        PodMutationError,
        match=r"^Annotation internal\.serving\.kserve\.io/localmodel-pvc-name not found$",
    ):
        inject(p)


# ---------------------------------------------------------------------------------------------
# TestCommonStorageInitialization (5), ...WithCustomStorageContainer, ...ErrorCases (4)
# ---------------------------------------------------------------------------------------------


def _spec(*containers: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"containers": list(containers), **extra}


def _user() -> dict[str, Any]:
    return container(
        KSERVE, image="test-image", env=[{"name": "STORAGE_URI", "value": "placeholder"}]
    )


def _params(
    spec: dict[str, Any], uris: list[tuple[str, str]], **kw: Any
) -> StorageInitializerParams:
    kw.setdefault("config", SI_CONFIG)
    kw.setdefault("credentials", builder())
    kw.setdefault("is_read_only", False)
    return StorageInitializerParams(
        namespace="default", storage_uris=[StorageUri(u, m) for u, m in uris], pod_spec=spec, **kw
    )


def _vol(name: str, claim: str | None = None) -> dict[str, Any]:
    return (
        {"name": name, "persistentVolumeClaim": {"claimName": claim}}
        if claim
        else {"name": name, "emptyDir": {}}
    )


COMMON_CASES = {
    "Multiple Cloud Storage URIs": (
        [("s3://bucket/model", "/mnt/models/base"), ("gs://bucket/adapter", "/mnt/models/adapter")],
        [{"name": "mnt-models", "mountPath": "/mnt/models"}],
        [_vol("mnt-models")],
        ["s3://bucket/model", "/mnt/models/base", "gs://bucket/adapter", "/mnt/models/adapter"],
        {"name": "mnt-models", "mountPath": "/mnt/models"},
    ),
    "Mixed PVC and Cloud Storage": (
        [
            ("pvc://model-pvc/model", "/mnt/models/model"),
            ("s3://bucket/adapter", "/mnt/models/adapter"),
        ],
        [
            {"name": "mnt-models-model", "mountPath": "/mnt/models/model"},
            {"name": "mnt-models-adapter", "mountPath": "/mnt/models/adapter"},
        ],
        [_vol("mnt-models-model", "model-pvc"), _vol("mnt-models-adapter")],
        ["s3://bucket/adapter", "/mnt/models/adapter"],
        {"name": "mnt-models-adapter", "mountPath": "/mnt/models/adapter"},
    ),
    "Multiple PVC URIs": (
        [
            ("pvc://model-pvc1/model1", "/mnt/models/model1"),
            ("pvc://model-pvc2/model2", "/mnt/models/model2"),
        ],
        [
            {"name": "mnt-models-model1", "mountPath": "/mnt/models/model1"},
            {"name": "mnt-models-model2", "mountPath": "/mnt/models/model2"},
        ],
        [_vol("mnt-models-model1", "model-pvc1"), _vol("mnt-models-model2", "model-pvc2")],
        None,
        None,
    ),
    "Three Storage URIs with Mixed Types": (
        [
            ("pvc://base-model/model", "/mnt/models/base"),
            ("s3://bucket/lora-adapter", "/mnt/models/lora"),
            ("gs://bucket/tokenizer", "/mnt/models/tokenizer"),
        ],
        [
            {"name": "mnt-models-base", "mountPath": "/mnt/models/base"},
            {"name": "mnt-models", "mountPath": "/mnt/models"},
        ],
        [_vol("mnt-models-base", "base-model"), _vol("mnt-models")],
        [
            "s3://bucket/lora-adapter",
            "/mnt/models/lora",
            "gs://bucket/tokenizer",
            "/mnt/models/tokenizer",
        ],
        {"name": "mnt-models", "mountPath": "/mnt/models"},
    ),
    "Empty Storage URIs": ([], None, None, None, None),
}


@pytest.mark.parametrize(
    ("uris", "mounts", "vols", "args", "init_mount"), COMMON_CASES.values(), ids=COMMON_CASES.keys()
)
def test_common_storage_initialization(
    uris: Any, mounts: Any, vols: Any, args: Any, init_mount: Any
) -> None:
    spec = _spec(_user())
    common_storage_initialization(_params(spec, uris))
    want_user = _user()
    if mounts is not None:
        want_user["volumeMounts"] = mounts
    want: dict[str, Any] = _spec(want_user)
    if vols is not None:
        want["volumes"] = vols
    if args is not None:
        want["initContainers"] = [si_container(args, mounts=[init_mount])]
    assert spec == want


def test_common_storage_initialization_with_custom_storage_container() -> None:
    custom = csc(
        "custom",
        {
            "name": "custom-multi-downloader",
            "image": "custom/storage-initializer:v1",
            "resources": {
                "limits": {"memory": "500Mi", "cpu": "2"},
                "requests": {"memory": "200Mi", "cpu": "500m"},
            },
            "env": [{"name": "CUSTOM_ENV", "value": "custom_value"}],
        },
        [{"prefix": "s3://"}],
        supportsMultiModelDownload=True,
    )
    spec = _spec(_user())
    uris = [
        ("s3://bucket/model1", "/mnt/models/model1"),
        ("gs://bucket/model2", "/mnt/models/model2"),
    ]
    common_storage_initialization(_params(spec, uris, storage_container_spec=custom.spec))
    want_user = _user()
    want_user["volumeMounts"] = [{"name": "mnt-models", "mountPath": "/mnt/models"}]
    init = si_container(
        ["s3://bucket/model1", "/mnt/models/model1", "gs://bucket/model2", "/mnt/models/model2"],
        [{"name": "CUSTOM_ENV", "value": "custom_value"}, *HF_ENV],
        [{"name": "mnt-models", "mountPath": "/mnt/models"}],
        image="custom/storage-initializer:v1",
        resources={
            "limits": {"cpu": "2", "memory": "500Mi"},
            "requests": {"cpu": "500m", "memory": "200Mi"},
        },
    )
    init["name"] = (
        "custom-multi-downloader"  # the storageUris path keeps the CSC's name, as upstream
    )
    assert spec == _spec(want_user, initContainers=[init], volumes=[_vol("mnt-models")])


@pytest.mark.parametrize(
    ("spec", "uris", "csc_spec", "annotations", "error"),
    [
        pytest.param(
            _spec(container("other-container", image="test")),
            [("s3://bucket/model", MODELS)],
            None,
            {},
            "cannot find container",
            id="Missing Required Container",
        ),
        pytest.param(
            _spec(container(KSERVE, image="test")),
            [
                ("s3://bucket/model1", "/mnt/models/model1"),
                ("s3://bucket/model2", "/mnt/models/model2"),
            ],
            csc(
                "c",
                {"name": "custom-storage"},
                [{"prefix": "s3://"}],
                supportsMultiModelDownload=False,
            ).spec,
            {},
            "does not support multi-model download",
            id="Multiple URIs Unsupported Storage Container",
        ),
        pytest.param(
            _spec(container(KSERVE, image="test")),
            [("s3://bucket/model", MODELS)],
            None,
            {"internal.serving.kserve.io/agent": "true"},
            None,
            id="Agent Already Injected",
        ),
        pytest.param(
            _spec(
                container(KSERVE, image="test"), initContainers=[container(SI, image="existing")]
            ),
            [("s3://bucket/model", MODELS)],
            None,
            {},
            None,
            id="Init Container Already Present",
        ),
    ],
)
def test_common_storage_initialization_error_cases(
    spec: Any, uris: Any, csc_spec: Any, annotations: Any, error: str | None
) -> None:
    spec = copy.deepcopy(spec)
    before = copy.deepcopy(spec)
    params = _params(spec, uris, storage_container_spec=csc_spec, annotations=annotations)
    if error is not None:
        with pytest.raises(PodMutationError, match=error):
            common_storage_initialization(params)
        return
    common_storage_initialization(params)
    assert spec == before  # skipped: nothing injected


# ---------------------------------------------------------------------------------------------
# HF env (3) and CA bundle env (2) defined by the user in the CSC; env merge (3); confidential (3)
# ---------------------------------------------------------------------------------------------

_HF_VALUE_FROM = {"configMapKeyRef": {"name": "hf-config", "key": "transfer-enabled"}}


@pytest.mark.parametrize(
    ("csc_env", "want_env"),
    [
        pytest.param(
            [{"name": "HF_HUB_ENABLE_HF_TRANSFER", "value": "0"}],
            [{"name": "HF_HUB_ENABLE_HF_TRANSFER", "value": "0"}, *HF_ENV[1:]],
            id="UserOverridesHFEnvVarWithValue",
        ),
        pytest.param(
            [{"name": "HF_HUB_ENABLE_HF_TRANSFER", "valueFrom": _HF_VALUE_FROM}],
            [{"name": "HF_HUB_ENABLE_HF_TRANSFER", "valueFrom": _HF_VALUE_FROM}, *HF_ENV[1:]],
            id="UserDefinesHFEnvVarWithValueFrom",
        ),
        pytest.param(None, HF_ENV, id="NoUserDefinedHFEnvVars"),
    ],
)
def test_storage_initializer_with_user_defined_hf_env_vars(csc_env: Any, want_env: Any) -> None:
    spec = _spec(container(KSERVE))
    storage_csc = (
        None
        if csc_env is None
        else csc("c", {"name": SI, "env": csc_env}, [{"prefix": "gs://"}]).spec
    )
    common_storage_initialization(
        _params(
            spec,
            [("gs://foo", MODELS)],
            is_legacy_uri=True,
            is_read_only=True,
            storage_container_spec=storage_csc,
        )
    )
    assert spec["initContainers"] == [si_container(["gs://foo", MODELS], want_env)]


_CA_DEFAULT_CONFIG = SI_CONFIG.model_copy(update={"ca_bundle_config_map_name": "default-ca-bundle"})
_CA_VALUE_FROM = {"configMapKeyRef": {"name": "ca-config", "key": "mount-path"}}


@pytest.mark.parametrize(
    ("csc_env", "want_env"),
    [
        pytest.param(
            [{"name": "CA_BUNDLE_CONFIGMAP_NAME", "value": "user-custom-ca-bundle"}],
            [
                {"name": "CA_BUNDLE_CONFIGMAP_NAME", "value": "user-custom-ca-bundle"},
                {"name": "CA_BUNDLE_VOLUME_MOUNT_POINT", "value": "/etc/ssl/custom-certs"},
                *HF_ENV,
            ],
            id="UserOverridesCABundleConfigMapNameWithValue",
        ),
        pytest.param(
            [{"name": "CA_BUNDLE_VOLUME_MOUNT_POINT", "valueFrom": _CA_VALUE_FROM}],
            [
                {"name": "CA_BUNDLE_VOLUME_MOUNT_POINT", "valueFrom": _CA_VALUE_FROM},
                {"name": "CA_BUNDLE_CONFIGMAP_NAME", "value": "global-ca-bundle"},
                *HF_ENV,
            ],
            id="UserDefinesCABundleEnvVarWithValueFrom",
        ),
    ],
)
def test_storage_initializer_with_user_defined_ca_bundle_env_vars(
    csc_env: Any, want_env: Any
) -> None:
    spec = _spec(container(KSERVE))
    storage_csc = csc("c", {"name": SI, "env": csc_env}, [{"prefix": "gs://"}]).spec
    common_storage_initialization(
        _params(
            spec,
            [("gs://foo", MODELS)],
            config=_CA_DEFAULT_CONFIG,
            is_legacy_uri=True,
            is_read_only=True,
            storage_container_spec=storage_csc,
        )
    )
    # the volume uses global-ca-bundle (namespace "default" is not the manager's)
    assert spec["initContainers"] == [
        si_container(["gs://foo", MODELS], want_env, [PROVISION_MOUNT_RW, _ca_mount()])
    ]
    assert spec["volumes"] == [PROVISION_VOLUME, _ca_volume("global-ca-bundle")]


def _secret_ref(name: str, key: str) -> dict[str, Any]:
    return {"secretKeyRef": {"name": name, "key": key}}


@pytest.mark.parametrize(
    ("target_env", "crd_env", "want"),
    [
        pytest.param(
            [
                {"name": "AWS_ACCESS_KEY_ID", "value": "literal-from-sa-secret"},
                {"name": "AWS_SECRET_ACCESS_KEY", "value": "literal-from-sa-secret"},
            ],
            [{"name": "AWS_ACCESS_KEY_ID", "valueFrom": _secret_ref("my-creds", "access-key")}],
            [
                {"name": "AWS_ACCESS_KEY_ID", "valueFrom": _secret_ref("my-creds", "access-key")},
                {"name": "AWS_SECRET_ACCESS_KEY", "value": "literal-from-sa-secret"},
            ],
            id="valueFrom overrides value on same name",
        ),
        pytest.param(
            [{"name": "AWS_ACCESS_KEY_ID", "valueFrom": _secret_ref("sa-creds", "access-key")}],
            [{"name": "AWS_ACCESS_KEY_ID", "value": "literal-override"}],
            [{"name": "AWS_ACCESS_KEY_ID", "value": "literal-override"}],
            id="value overrides valueFrom on same name",
        ),
        pytest.param(
            [
                {"name": "AWS_ACCESS_KEY_ID", "value": "literal-from-sa-secret"},
                {"name": "AWS_SECRET_ACCESS_KEY", "value": "literal-from-sa-secret"},
                {"name": "S3_ENDPOINT", "value": "https://s3.example.com"},
            ],
            [
                {"name": "CUSTOM_SECRET", "valueFrom": _secret_ref("custom-secret", "token")},
                {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            ],
            # apimachinery puts the patch's new items first (checked against v0.34.4)
            [
                {"name": "CUSTOM_SECRET", "valueFrom": _secret_ref("custom-secret", "token")},
                {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                {"name": "AWS_ACCESS_KEY_ID", "value": "literal-from-sa-secret"},
                {"name": "AWS_SECRET_ACCESS_KEY", "value": "literal-from-sa-secret"},
                {"name": "S3_ENDPOINT", "value": "https://s3.example.com"},
            ],
            id="disjoint env names with valueFrom in CRD",
        ),
    ],
)
def test_merge_container_specs_env_handling(target_env: Any, crd_env: Any, want: Any) -> None:
    target = {"name": SI, "image": SI_IMAGE, "env": target_env}
    merged = merge_container_with_patch(
        target, {"name": "custom-storage-initializer", "env": crd_env}
    )
    assert merged == {"name": "custom-storage-initializer", "image": SI_IMAGE, "env": want}
    assert not any("value" in e and "valueFrom" in e for e in merged["env"])


def _e(name: str, value: str) -> dict[str, str]:
    return {"name": name, "value": value}


@pytest.mark.parametrize(
    ("base", "overlay", "want"),
    [
        (
            {"name": "si", "env": [_e("A", "1"), _e("B", "2"), _e("S", "3")]},
            {"name": "x", "env": [_e("C", "c"), _e("P", "p")]},
            {
                "name": "x",
                "env": [_e("C", "c"), _e("P", "p"), _e("A", "1"), _e("B", "2"), _e("S", "3")],
            },
        ),
        (
            {"name": "si", "env": [_e("A", "1"), _e("B", "2"), _e("C", "3")]},
            {"env": [_e("C", "x"), _e("D", "4")], "args": ["z"]},
            {
                "name": "si",
                "args": ["z"],
                "env": [_e("A", "1"), _e("B", "2"), _e("C", "x"), _e("D", "4")],
            },
        ),
        (
            {"name": "si", "env": [_e("A", "1"), _e("B", "2"), _e("C", "3")]},
            {"env": [_e("D", "4"), _e("B", "x")]},
            {"name": "si", "env": [_e("D", "4"), _e("A", "1"), _e("B", "x"), _e("C", "3")]},
        ),
        (
            {
                "name": "si",
                "volumeMounts": [
                    {"name": "a", "mountPath": "/a"},
                    {"name": "b", "mountPath": "/b"},
                ],
            },
            {
                "volumeMounts": [
                    {"name": "c", "mountPath": "/b", "readOnly": True},
                    {"name": "d", "mountPath": "/d"},
                ]
            },
            {
                "name": "si",
                "volumeMounts": [
                    {"name": "a", "mountPath": "/a"},
                    {"name": "c", "mountPath": "/b", "readOnly": True},
                    {"name": "d", "mountPath": "/d"},
                ],
            },
        ),
        (
            {
                "name": "si",
                "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
                "args": ["a", "b"],
            },
            {
                "resources": {"limits": {"memory": "2Gi"}},
                "args": ["c"],
                "securityContext": {"runAsUser": 1},
            },
            {
                "name": "si",
                "resources": {"limits": {"cpu": "1", "memory": "2Gi"}},
                "args": ["c"],
                "securityContext": {"runAsUser": 1},
            },
        ),
    ],
)
def test_merge_container_order_follows_strategic_merge(base: Any, overlay: Any, want: Any) -> None:
    """Expected values printed by apimachinery v0.34.4's StrategicMergePatch on the same
    containers: patch items in patch order, base-only items woven in at their places, merge
    keys env/name and volumeMounts/mountPath, other lists replaced, maps merged."""
    assert merge_container_with_patch(base, overlay) == want


@pytest.mark.parametrize(
    ("annotations", "want_env"),
    [
        pytest.param({}, None, id="no confidential annotation"),
        pytest.param(
            {
                "internal.serving.kserve.io/confidential-enabled": "true",
                "internal.serving.kserve.io/confidential-resource-id": "kbs:///default/key/model-key",
            },
            [
                {"name": "CONFIDENTIAL_ENABLED", "value": "true"},
                {"name": "CONFIDENTIAL_RESOURCE_ID", "value": "kbs:///default/key/model-key"},
            ],
            id="confidential enabled sets env vars without swapping image",
        ),
        pytest.param(
            {"internal.serving.kserve.io/confidential-enabled": "true"},
            [{"name": "CONFIDENTIAL_ENABLED", "value": "true"}],
            id="confidential enabled without resourceId",
        ),
    ],
)
def test_apply_confidential_config(annotations: dict[str, str], want_env: Any) -> None:
    # upstream tests applyConfidentialConfig alone; here through the injector, whole pod
    original = pod({SRC: "gs://foo", **annotations})
    out = inject(copy.deepcopy(original))
    assert out["spec"]["initContainers"] == [
        si_container(["gs://foo", MODELS], [*HF_ENV, *(want_env or [])])
    ]
    bare = {"name": SI, "image": SI_IMAGE}
    if annotations:
        apply_confidential_container_config(
            bare, annotations.get("internal.serving.kserve.io/confidential-resource-id", "")
        )
        assert bare == {"name": SI, "image": SI_IMAGE, "env": want_env}
