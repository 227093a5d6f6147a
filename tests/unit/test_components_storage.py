"""storageUris injection (pod.CommonStorageInitialization as the controller calls it), storage
URI validation and ClusterStorageContainer lookup. Full pod specs."""

from __future__ import annotations

from typing import Any

import pytest
from lightkube.models import core_v1

from apis.serving.v1alpha1 import ClusterStorageContainer
from apis.serving.v1beta1 import StorageSpec, StorageUri
from apis.serving.v1beta1.configmap import parse_inferenceservice_config
from controllers.inferenceservice.components import ComponentError, CredentialContext
from controllers.inferenceservice.components.storage import (
    get_storage_container_spec,
    inject_storage_uris,
    validate_storage_uri,
)
from controllers.storage.oci import parse_oci_scheme
from controllers.storage.utils import (
    create_init_container_with_config as create_init_container,
)
from controllers.storage.utils import (
    get_volume_name_from_path as volume_name_from_path,
)
from controllers.storage.utils import parse_pvc_uri

J = dict[str, Any]
BASE_SI = {
    "image": "kserve/storage-initializer:v1",
    "cpuRequest": "100m",
    "cpuLimit": "1",
    "memoryRequest": "100Mi",
    "memoryLimit": "1Gi",
}


def si_config(**extra: Any) -> Any:
    import json

    return parse_inferenceservice_config(
        {"storageInitializer": json.dumps({**BASE_SI, **extra})}
    ).storage_initializer


SI = si_config()
INIT_RES = {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "100m", "memory": "100Mi"}}
HF_ENV = [
    {"name": "HF_HUB_ENABLE_HF_TRANSFER", "value": "1"},
    {"name": "HF_XET_HIGH_PERFORMANCE", "value": "1"},
    {"name": "HF_XET_NUM_CONCURRENT_RANGE_GETS", "value": "8"},
]


def uris(*pairs: tuple[str, str]) -> list[StorageUri]:
    return [StorageUri.model_validate({"uri": u, "mountPath": p}) for u, p in pairs]


def init(
    args: list[str], mount: str = "/mnt/models", env: list[J] | None = None, **extra: Any
) -> J:
    return {
        "name": "storage-initializer",
        "image": "kserve/storage-initializer:v1",
        "args": args,
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "resources": INIT_RES,
        "volumeMounts": [{"name": volume_name_from_path(mount), "mountPath": mount}],
        "env": HF_ENV if env is None else env,
        **extra,
    }


KC = {"name": "kserve-container", "image": "srv:1"}
TC = {"name": "transformer-container", "image": "tr:1"}


@pytest.mark.parametrize(
    ("pod", "storage", "annotations", "expected"),
    [
        # one download: emptyDir at the path, read-only for the server, writable for the init
        (
            {"containers": [KC]},
            uris(("s3://b/m", "/mnt/models")),
            {},
            {
                "containers": [
                    {
                        **KC,
                        "volumeMounts": [
                            {"name": "mnt-models", "mountPath": "/mnt/models", "readOnly": True}
                        ],
                    }
                ],
                "volumes": [{"name": "mnt-models", "emptyDir": {}}],
                "initContainers": [init(["s3://b/m", "/mnt/models"])],
            },
        ),
        # several downloads share one emptyDir at the common parent; readonly "false"
        (
            {"containers": [KC, TC]},
            uris(("s3://b/base", "/mnt/models/base"), ("gs://c/lora", "/mnt/models/adapters/lora")),
            {"storage.kserve.io/readonly": "false"},
            {
                "containers": [
                    {**KC, "volumeMounts": [{"name": "mnt-models", "mountPath": "/mnt/models"}]},
                    {**TC, "volumeMounts": [{"name": "mnt-models", "mountPath": "/mnt/models"}]},
                ],
                "volumes": [{"name": "mnt-models", "emptyDir": {}}],
                "initContainers": [
                    init(
                        [
                            "s3://b/base",
                            "/mnt/models/base",
                            "gs://c/lora",
                            "/mnt/models/adapters/lora",
                        ]
                    )
                ],
            },
        ),
        # PVCs are mounted directly (volume named after the mount path; sub-path ignored)
        (
            {"containers": [KC]},
            uris(("pvc://claim/some/dir", "/mnt/models/base"), ("s3://b/lora", "/mnt/lora")),
            {},
            {
                "containers": [
                    {
                        **KC,
                        "volumeMounts": [
                            {
                                "name": "mnt-models-base",
                                "mountPath": "/mnt/models/base",
                                "readOnly": True,
                            },
                            {"name": "mnt-lora", "mountPath": "/mnt/lora", "readOnly": True},
                        ],
                    }
                ],
                "volumes": [
                    {"name": "mnt-models-base", "persistentVolumeClaim": {"claimName": "claim"}},
                    {"name": "mnt-lora", "emptyDir": {}},
                ],
                "initContainers": [init(["s3://b/lora", "/mnt/lora"], mount="/mnt/lora")],
            },
        ),
        # PVC only: no init container
        (
            {"containers": [KC]},
            uris(("pvc://claim", "/mnt/models")),
            {},
            {
                "containers": [
                    {
                        **KC,
                        "volumeMounts": [
                            {"name": "mnt-models", "mountPath": "/mnt/models", "readOnly": True}
                        ],
                    }
                ],
                "volumes": [
                    {"name": "mnt-models", "persistentVolumeClaim": {"claimName": "claim"}}
                ],
            },
        ),
        # a worker pod (no kserve-container) gets it on the worker-container
        (
            {"containers": [{"name": "worker-container"}]},
            uris(("hf://org/m", "/mnt/models")),
            {},
            {
                "containers": [
                    {
                        "name": "worker-container",
                        "volumeMounts": [
                            {"name": "mnt-models", "mountPath": "/mnt/models", "readOnly": True}
                        ],
                    }
                ],
                "volumes": [{"name": "mnt-models", "emptyDir": {}}],
                "initContainers": [init(["hf://org/m", "/mnt/models"])],
            },
        ),
        # the agent is injected (multi-model): nothing
        (
            {"containers": [KC]},
            uris(("s3://b/m", "/mnt/models")),
            {"internal.serving.kserve.io/agent": "true"},
            {"containers": [KC]},
        ),
        # a storage-initializer exists already: nothing
        (
            {"containers": [KC], "initContainers": [{"name": "storage-initializer"}]},
            uris(("s3://b/m", "/mnt/models")),
            {},
            {"containers": [KC], "initContainers": [{"name": "storage-initializer"}]},
        ),
        # confidential serving: env on the init container
        (
            {"containers": [KC]},
            uris(("s3://b/m", "/mnt/models")),
            {
                "internal.serving.kserve.io/confidential-enabled": "true",
                "internal.serving.kserve.io/confidential-resource-id": "kbs:///a/b/c",
            },
            {
                "containers": [
                    {
                        **KC,
                        "volumeMounts": [
                            {"name": "mnt-models", "mountPath": "/mnt/models", "readOnly": True}
                        ],
                    }
                ],
                "volumes": [{"name": "mnt-models", "emptyDir": {}}],
                "initContainers": [
                    init(
                        ["s3://b/m", "/mnt/models"],
                        env=[
                            *HF_ENV,
                            {"name": "CONFIDENTIAL_ENABLED", "value": "true"},
                            {"name": "CONFIDENTIAL_RESOURCE_ID", "value": "kbs:///a/b/c"},
                        ],
                    )
                ],
            },
        ),
    ],
    ids=[
        "single",
        "common-parent",
        "pvc-and-download",
        "pvc-only",
        "worker",
        "agent",
        "init-present",
        "confidential",
    ],
)
def test_inject_storage_uris(
    pod: J, storage: list[StorageUri], annotations: J, expected: J
) -> None:
    before = repr(pod)
    assert (
        inject_storage_uris(pod, storage, config=SI, annotations=annotations, namespace="ns")
        == expected
    )
    assert repr(pod) == before


def test_ca_bundle_outside_and_inside_the_kserve_namespace() -> None:
    cfg = si_config(caBundleConfigMapName="my-ca", caBundleVolumeMountPath="/certs")
    out = inject_storage_uris(
        {"containers": [KC]},
        uris(("s3://b/m", "/mnt/models")),
        config=cfg,
        annotations={},
        namespace="user",
    )
    assert out["volumes"] == [
        {"name": "mnt-models", "emptyDir": {}},
        {"name": "cabundle-cert", "configMap": {"name": "global-ca-bundle"}},
    ]
    assert out["initContainers"] == [
        init(
            ["s3://b/m", "/mnt/models"],
            env=[
                {"name": "CA_BUNDLE_CONFIGMAP_NAME", "value": "global-ca-bundle"},
                {"name": "CA_BUNDLE_VOLUME_MOUNT_POINT", "value": "/certs"},
                *HF_ENV,
            ],
            volumeMounts=[
                {"name": "mnt-models", "mountPath": "/mnt/models"},
                {"name": "cabundle-cert", "mountPath": "/certs", "readOnly": True},
            ],
        )
    ]
    inside = inject_storage_uris(
        {"containers": [KC]},
        uris(("s3://b/m", "/mnt/models")),
        config=si_config(caBundleConfigMapName="my-ca"),
        annotations={},
        namespace="kserve",
    )
    assert inside["volumes"][1] == {"name": "cabundle-cert", "configMap": {"name": "my-ca"}}
    assert inside["initContainers"][0]["env"][:2] == [
        {"name": "CA_BUNDLE_CONFIGMAP_NAME", "value": "my-ca"},
        {"name": "CA_BUNDLE_VOLUME_MOUNT_POINT", "value": "/etc/ssl/custom-certs"},
    ]


def test_credentials_hook_and_aws_ca_bundle_env() -> None:
    seen: list[CredentialContext] = []

    def creds(
        container: core_v1.Container, volumes: list[core_v1.Volume], ctx: CredentialContext
    ) -> tuple[core_v1.Container, list[core_v1.Volume]]:
        seen.append(ctx)
        container.env = [
            *(container.env or []),
            core_v1.EnvVar(name="AWS_ACCESS_KEY_ID", value="x"),
            core_v1.EnvVar(name="AWS_CA_BUNDLE_CONFIGMAP", value="s3-ca"),
            core_v1.EnvVar(name="AWS_CA_BUNDLE", value="/s3/certs/ca.crt"),
        ]
        return container, [
            *volumes,
            core_v1.Volume(name="secret", secret=core_v1.SecretVolumeSource(secretName="s")),
        ]

    spec = StorageSpec.model_validate({"key": "k"})
    out = inject_storage_uris(
        {"containers": [KC], "serviceAccountName": "sa"},
        uris(("s3://b/m", "/mnt/models")),
        config=SI,
        annotations={"a": "b"},
        namespace="ns",
        storage_spec=spec,
        credentials=creds,
    )
    assert seen == [
        CredentialContext(
            namespace="ns", annotations={"a": "b"}, service_account_name="sa", storage_spec=spec
        )
    ]
    assert [v["name"] for v in out["volumes"]] == ["mnt-models", "secret", "cabundle-cert"]
    assert out["volumes"][2] == {"name": "cabundle-cert", "configMap": {"name": "s3-ca"}}
    env = out["initContainers"][0]["env"]
    assert env[:5] == [
        {"name": "AWS_ACCESS_KEY_ID", "value": "x"},
        {"name": "AWS_CA_BUNDLE_CONFIGMAP", "value": "s3-ca"},
        {"name": "AWS_CA_BUNDLE", "value": "/s3/certs/ca.crt"},
        {"name": "CA_BUNDLE_CONFIGMAP_NAME", "value": "s3-ca"},
        {"name": "CA_BUNDLE_VOLUME_MOUNT_POINT", "value": "/s3/certs"},
    ]


def _csc(
    name: str,
    prefix: str,
    *,
    multi: bool | None = True,
    disabled: bool | None = None,
    workload: str | None = None,
    regex: str | None = None,
) -> ClusterStorageContainer:
    fmt: J = {"regex": regex} if regex else {"prefix": prefix}
    spec: J = {
        "container": {
            "name": "custom-init",
            "image": "ci:1",
            "env": [{"name": "X", "value": "1"}],
            "resources": {"limits": {"memory": "2Gi"}},
        },
        "supportedUriFormats": [fmt],
    }
    if multi is not None:
        spec["supportsMultiModelDownload"] = multi
    if workload is not None:
        spec["workloadType"] = workload
    obj: J = {"metadata": {"name": name}, "spec": spec}
    if disabled is not None:
        obj["disabled"] = disabled
    return ClusterStorageContainer.model_validate(obj)


def test_storage_container_customises_the_init_container() -> None:
    csc = _csc("mine", "custom://")
    out = inject_storage_uris(
        {"containers": [KC]},
        uris(("custom://x", "/mnt/models")),
        config=SI,
        annotations={},
        namespace="ns",
        storage_container=csc.spec,
    )
    assert out["initContainers"] == [
        {
            "name": "custom-init",
            "image": "ci:1",
            "args": ["custom://x", "/mnt/models"],
            "terminationMessagePolicy": "FallbackToLogsOnError",
            "resources": {
                "limits": {"cpu": "1", "memory": "2Gi"},
                "requests": {"cpu": "100m", "memory": "100Mi"},
            },
            "volumeMounts": [{"name": "mnt-models", "mountPath": "/mnt/models"}],
            "env": [{"name": "X", "value": "1"}, *HF_ENV],
        }
    ]
    with pytest.raises(ComponentError, match="does not support multi-model download"):
        inject_storage_uris(
            {"containers": [KC]},
            uris(("custom://x", "/mnt/models")),
            config=SI,
            annotations={},
            namespace="ns",
            storage_container=_csc("single", "custom://", multi=False).spec,
        )


def test_oci_modelcar_native_and_fetch() -> None:
    modelcar = inject_storage_uris(
        {"containers": [KC, TC]},
        uris(("oci://reg/img:1", "/mnt/models")),
        config=si_config(enableModelcar=True, uidModelcar=1010),
        annotations={},
        namespace="ns",
    )
    res = {"limits": {"cpu": "10m", "memory": "15Mi"}, "requests": {"cpu": "10m", "memory": "15Mi"}}
    assert modelcar == {
        "containers": [
            {
                **KC,
                "env": [{"name": "MODEL_INIT_MODE", "value": "async"}],
                "volumeMounts": [{"name": "kserve-provision-location", "mountPath": "/mnt"}],
                "securityContext": {"runAsUser": 1010},
            },
            {
                **TC,
                "env": [{"name": "MODEL_INIT_MODE", "value": "async"}],
                "volumeMounts": [{"name": "kserve-provision-location", "mountPath": "/mnt"}],
                "securityContext": {"runAsUser": 1010},
            },
            {
                "name": "modelcar",
                "image": "reg/img:1",
                "volumeMounts": [{"name": "kserve-provision-location", "mountPath": "/mnt"}],
                "args": ["sh", "-c", "ln -sf /proc/$$$$/root/models /mnt/models && sleep infinity"],
                "resources": res,
                "terminationMessagePolicy": "FallbackToLogsOnError",
                "securityContext": {"runAsUser": 1010},
            },
        ],
        "volumes": [{"name": "kserve-provision-location", "emptyDir": {}}],
        "initContainers": [
            {
                "name": "modelcar-init",
                "image": "reg/img:1",
                "args": [
                    "sh",
                    "-c",
                    "echo 'Pre-fetching modelcar reg/img:1: ' && [ -d /models ] && "
                    '[ "$$(ls -A /models)" ] && echo \'OK ... Prefetched and valid (/models '
                    "exists)' || (echo 'NOK ... Prefetched but modelcar is invalid (/models "
                    "does not exist or is empty)' && exit 1)",
                ],
                "resources": res,
                "terminationMessagePolicy": "FallbackToLogsOnError",
            }
        ],
        "shareProcessNamespace": True,
    }
    native = inject_storage_uris(
        {"containers": [KC]},
        uris(("oci+native://reg/img:1", "/mnt/models")),
        config=SI,
        annotations={},
        namespace="ns",
    )
    assert native == {
        "containers": [
            {
                **KC,
                "volumeMounts": [
                    {
                        "name": "mnt-models",
                        "mountPath": "/mnt/models",
                        "subPath": "models",
                        "readOnly": True,
                    }
                ],
            }
        ],
        "volumes": [
            {
                "name": "mnt-models",
                "image": {"reference": "reg/img:1", "pullPolicy": "IfNotPresent"},
            }
        ],
    }
    fetch = inject_storage_uris(
        {"containers": [KC], "imagePullSecrets": [{"name": "regcred"}]},
        uris(("oci+fetch://reg/img:1", "/mnt/models")),
        config=si_config(ociInsecureRegistry=True),
        annotations={},
        namespace="ns",
    )
    assert fetch == {
        "containers": [
            {**KC, "volumeMounts": [{"name": "mnt-models", "mountPath": "/mnt/models"}]}
        ],
        "imagePullSecrets": [{"name": "regcred"}],
        "volumes": [
            {
                "name": "kserve-oci-fetch-docker-config",
                "secret": {
                    "secretName": "regcred",
                    "defaultMode": 256,
                    "items": [{"key": ".dockerconfigjson", "path": "config.json"}],
                },
            },
            {"name": "mnt-models", "emptyDir": {}},
        ],
        "initContainers": [
            {
                "name": "storage-initializer",
                "image": "kserve/storage-initializer:v1",
                "args": ["oci://reg/img:1", "/mnt/models"],
                "terminationMessagePolicy": "FallbackToLogsOnError",
                "resources": INIT_RES,
                "volumeMounts": [
                    {
                        "name": "kserve-oci-fetch-docker-config",
                        "mountPath": "/mnt/oci-fetch-auth",
                        "readOnly": True,
                    },
                    {"name": "mnt-models", "mountPath": "/mnt/models"},
                ],
                "env": [
                    {
                        "name": "KSERVE_OCI_DOCKER_CONFIG",
                        "value": "/mnt/oci-fetch-auth/config.json",
                    },
                    {"name": "KSERVE_OCI_INSECURE_REGISTRY", "value": "true"},
                ],
            }
        ],
    }


def test_oci_disabled_and_errors() -> None:
    # plain oci:// with OCI disabled in the config: skipped altogether (upstream never puts an
    # OCI-scheme URI on the download list)
    out = inject_storage_uris(
        {"containers": [KC]},
        uris(("oci://r/i", "/mnt/models")),
        config=SI,
        annotations={},
        namespace="ns",
    )
    assert out == {"containers": [KC]}
    with pytest.raises(ComponentError, match="share parent directory"):
        inject_storage_uris(
            {"containers": [KC]},
            uris(("oci://r/a", "/mnt/models/a"), ("oci://r/b", "/mnt/models/b")),
            config=si_config(ociModelMode="modelcar"),
            annotations={},
            namespace="ns",
        )
    with pytest.raises(ComponentError, match="more than once"):
        inject_storage_uris(
            {"containers": [KC]},
            uris(("oci+native://r/a", "/m/a"), ("oci+native://r/b", "/m/a")),
            config=si_config(ociModelMode="native"),
            annotations={},
            namespace="ns",
        )
    with pytest.raises(ComponentError, match="cannot find container"):
        inject_storage_uris(
            {"containers": [TC]},
            uris(("s3://b", "/mnt/models")),
            config=SI,
            annotations={},
            namespace="ns",
        )
    with pytest.raises(ComponentError, match="cpuLimit"):
        inject_storage_uris(
            {"containers": [KC]},
            uris(("s3://b", "/mnt/models")),
            config=parse_inferenceservice_config({}).storage_initializer,
            annotations={},
            namespace="ns",
        )


@pytest.mark.parametrize(
    ("uri", "ok"),
    [
        ("gs://b/m", True),
        ("s3://b", True),
        ("pvc://c/p", True),
        ("oci+fetch://r/i", True),
        ("hf://o/m", True),
        ("/abs/path", True),
        ("relative/path", True),
        ("https://acct.blob.core.windows.net/c/m", True),
        ("https://acct.blob.core.windows.net/", False),
        ("ftp://x", False),
        ("custom://x", True),  # served by a ClusterStorageContainer
    ],
)
def test_validate_storage_uri(uri: str, ok: bool) -> None:
    cscs = [_csc("c", "custom://")]
    if ok:
        validate_storage_uri(uri, cscs)
    else:
        with pytest.raises(
            ComponentError, match=r"^StorageURI not supported: storageUri, must be one of"
        ):
            validate_storage_uri(uri, cscs)


def test_get_storage_container_spec() -> None:
    cscs = [
        _csc("off", "s3://", disabled=True),
        _csc("job", "s3://", workload="localModelDownloadJob"),
        _csc("re", "", regex="^s3://special/"),
        _csc("s3", "s3://"),
    ]
    assert get_storage_container_spec("s3://special/x", None, cscs) is cscs[2].spec
    assert get_storage_container_spec("s3://other", None, cscs) is cscs[3].spec
    assert get_storage_container_spec("gs://x", None, cscs) is None
    assert get_storage_container_spec("s3://other", "s3", cscs) is cscs[3].spec
    for name, message in [
        ("missing", 'ClusterStorageContainer "missing" not found'),
        ("off", 'ClusterStorageContainer "off" is disabled'),
        (
            "job",
            'ClusterStorageContainer "job" has workloadType "localModelDownloadJob"; '
            'explicit selection requires "initContainer"',
        ),
        ("re", 'ClusterStorageContainer "re" does not support storageUri "s3://other"'),
    ]:
        with pytest.raises(ComponentError) as info:
            get_storage_container_spec("s3://other", name, cscs)
        assert str(info.value) == message


@pytest.mark.parametrize(
    ("uri", "parsed"),
    [
        ("oci+native://r/i:1", ("native", "oci://r/i:1", True)),
        ("oci+modelcar://r/i", ("modelcar", "oci://r/i", True)),
        ("oci://r/i", ("", "oci://r/i", True)),
        ("s3://b", ("", "s3://b", False)),
    ],
)
def test_parse_oci_scheme(uri: str, parsed: tuple[str, str, bool]) -> None:
    assert parse_oci_scheme(uri) == parsed


def test_small_helpers() -> None:
    assert parse_pvc_uri("pvc://claim/a/b") == ("claim", "a/b")
    assert parse_pvc_uri("pvc://claim") == ("claim", "")
    assert volume_name_from_path("/mnt/models/a/") == "mnt-models-a"
    assert create_init_container(SI, ["a", "b"])["resources"] == INIT_RES
    assert (
        create_init_container(si_config(image="", cpuLimit="1000m"), [])["image"]
        == "kserve/storage-initializer:latest"
    )
    assert (
        create_init_container(si_config(cpuLimit="1000m"), [])["resources"]["limits"]["cpu"] == "1"
    )
