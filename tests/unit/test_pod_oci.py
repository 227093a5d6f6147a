"""OCI model storage: the modelcar/native functions of upstream's
``storage_initializer_injector_test.go`` (``TestInjectModelcar``, ``TestModelcarVolumeMounts``,
``TestModelcarIdempotency``, ``TestStorageInitializerInjectorWithModelcarConfig``,
``TestInjectModelcarMultiNode``, ``TestCommonStorageInitializationWithOciURI``,
``TestInjectModelcarOciNative``, ``TestCommonStorageInitializationWithOciNativeURI``,
``TestCommonStorageInitializationSkipsOciNativeURI``) and ``oci_fetch_test.go``, asserting whole
pods where upstream checks pieces."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from apis.serving.v1beta1.configmap import StorageInitializerConfig
from controllers.storage.oci import (
    configure_oci_fetch_to_container,
    parse_oci_scheme,
    shell_quote,
    validate_oci_mount_paths,
)
from controllers.storage.storage_initializer import (
    StorageInitializerParams,
    StorageUri,
    common_storage_initialization,
)
from controllers.webhooks.pod import PodMutationError
from controllers.webhooks.pod.storage_initializer import inject_modelcar
from tests.unit.test_pod_support import (
    KSERVE,
    MODELS,
    PROVISION,
    RESOURCES,
    SI,
    SRC,
    TRANSFORMER,
    WORKER,
    container,
    pod,
)

IMAGE = "myrepo/mymodelimage"
EMPTY = StorageInitializerConfig()
MODELCAR_RES = {
    "limits": {"cpu": "10m", "memory": "15Mi"},
    "requests": {"cpu": "10m", "memory": "15Mi"},
}
MNT_MOUNT = {"name": PROVISION, "mountPath": "/mnt"}
ASYNC = [{"name": "MODEL_INIT_MODE", "value": "async"}]


def modelcar(
    image: str = IMAGE, resources: dict[str, Any] = MODELCAR_RES, **extra: Any
) -> dict[str, Any]:
    return {
        "name": "modelcar",
        "image": image,
        "args": ["sh", "-c", "ln -sf /proc/$$$$/root/models /mnt/models && sleep infinity"],
        "resources": resources,
        "volumeMounts": [MNT_MOUNT],
        "terminationMessagePolicy": "FallbackToLogsOnError",
        **extra,
    }


def modelcar_init(image: str = IMAGE, resources: dict[str, Any] = MODELCAR_RES) -> dict[str, Any]:
    return {
        "name": "modelcar-init",
        "image": image,
        "args": [
            "sh",
            "-c",
            f"echo 'Pre-fetching modelcar {image}: ' && [ -d /models ] && "
            '[ "$$(ls -A /models)" ] && '
            "echo 'OK ... Prefetched and valid (/models exists)' || "
            "(echo 'NOK ... Prefetched but modelcar is "
            "invalid (/models does not exist or is empty)' && exit 1)",
        ],
        "resources": resources,
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }


def modelcar_pod(*names: str) -> dict[str, Any]:
    return pod({SRC: "oci://" + IMAGE}, [container(n) for n in (names or (KSERVE,))])


def injected(names: tuple[str, ...], targets: tuple[str, ...], **fields: Any) -> dict[str, Any]:
    p = modelcar_pod(*names)
    p["spec"] = {
        "containers": [
            container(n, env=ASYNC, volumeMounts=[MNT_MOUNT], **fields)
            if n in targets
            else container(n)
            for n in names
        ]
        + [
            modelcar(
                **(
                    {"securityContext": fields["securityContext"]}
                    if "securityContext" in fields
                    else {}
                )
            )
        ],
        "volumes": [{"name": PROVISION, "emptyDir": {}}],
        "initContainers": [modelcar_init()],
        "shareProcessNamespace": True,
    }
    return p


# ---------------------------------------------------------------------------------------------
# TestInjectModelcar (3), TestModelcarVolumeMounts (2), TestModelcarIdempotency,
# TestStorageInitializerInjectorWithModelcarConfig (3), TestInjectModelcarMultiNode (4)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "original",
    [
        pytest.param({"metadata": {}, "spec": {}}, id="annotation key is not set"),
        pytest.param(pod({SRC: "s3://bla/blub"}, []), id="srcURI does not start with OciURIPrefix"),
    ],
)
def test_inject_modelcar_noop(original: dict[str, Any]) -> None:
    out = copy.deepcopy(original)
    inject_modelcar(out, EMPTY, "kserve")
    assert out == original


@pytest.mark.parametrize(
    ("names", "targets"),
    [
        pytest.param((KSERVE,), (KSERVE,), id="srcURI starts with OciURIPrefix"),
        pytest.param(
            (KSERVE, TRANSFORMER), (KSERVE, TRANSFORMER), id="volume mounts with transformer"
        ),
        pytest.param((WORKER,), (WORKER,), id="multi-node: worker-container only"),
        pytest.param(
            (KSERVE, WORKER), (KSERVE,), id="multi-node: kserve-container prioritised over worker"
        ),
        pytest.param(
            (WORKER, TRANSFORMER), (WORKER, TRANSFORMER), id="multi-node: worker and transformer"
        ),
    ],
)
def test_inject_modelcar(names: tuple[str, ...], targets: tuple[str, ...]) -> None:
    out = modelcar_pod(*names)
    inject_modelcar(out, EMPTY, "kserve")
    assert out == injected(names, targets)
    # TestModelcarIdempotency: injecting twice equals injecting once
    twice = copy.deepcopy(out)
    inject_modelcar(twice, EMPTY, "kserve")
    assert twice == out


def test_inject_modelcar_no_valid_container() -> None:
    with pytest.raises(
        PodMutationError, match=r"^Invalid configuration: cannot find container: kserve-container$"
    ):
        inject_modelcar(modelcar_pod("some-other-container"), EMPTY, "kserve")


def test_modelcar_uid_config() -> None:
    out = modelcar_pod()
    inject_modelcar(out, StorageInitializerConfig(uidModelcar=10), "kserve")
    assert out == injected((KSERVE,), (KSERVE,), securityContext={"runAsUser": 10})


def test_modelcar_cpu_and_memory_config() -> None:
    out = modelcar_pod()
    inject_modelcar(
        out, StorageInitializerConfig(cpuModelcar="50m", memoryModelcar="50Mi"), "kserve"
    )
    res = {"limits": {"cpu": "50m", "memory": "50Mi"}, "requests": {"cpu": "50m", "memory": "50Mi"}}
    assert out["spec"]["containers"][1] == modelcar(resources=res)
    assert out["spec"]["initContainers"] == [modelcar_init(resources=res)]


# ---------------------------------------------------------------------------------------------
# TestCommonStorageInitializationWithOciURI (4)
# ---------------------------------------------------------------------------------------------


def _params(
    spec: dict[str, Any],
    uri: str,
    config: StorageInitializerConfig,
    legacy: bool = False,
    mount: str = MODELS,
) -> StorageInitializerParams:
    return StorageInitializerParams(
        namespace="default",
        storage_uris=[StorageUri(uri, mount)],
        pod_spec=spec,
        config=config,
        is_read_only=True,
        is_legacy_uri=legacy,
    )


_OCI_ENABLED = StorageInitializerConfig(enableModelcar=True)


@pytest.mark.parametrize(
    ("names", "targets"),
    [
        pytest.param((KSERVE,), (KSERVE,), id="OCI URI via storageUris injects modelcar"),
        pytest.param(
            (KSERVE, TRANSFORMER),
            (KSERVE, TRANSFORMER),
            id="with transformer injects modelcar for both",
        ),
        pytest.param((WORKER,), (WORKER,), id="with worker container only"),
    ],
)
def test_common_storage_initialization_with_oci_uri(
    names: tuple[str, ...], targets: tuple[str, ...]
) -> None:
    spec = {"containers": [container(n) for n in names]}
    common_storage_initialization(_params(spec, "oci://" + IMAGE, _OCI_ENABLED))
    assert spec == injected(names, targets)["spec"]


def test_common_storage_initialization_legacy_oci_is_left_to_the_webhook() -> None:
    spec = {"containers": [container(KSERVE)]}
    common_storage_initialization(
        _params(spec, "oci://rhuss/kserving-example-sklearn:1.0", _OCI_ENABLED, legacy=True)
    )
    assert spec == {"containers": [container(KSERVE)]}


def test_multiple_oci_sources_get_indexed_names_and_collisions_are_refused() -> None:
    spec = {"containers": [container(KSERVE)]}
    params = StorageInitializerParams(
        namespace="default",
        storage_uris=[
            StorageUri("oci://a/base:1", "/mnt/models/base"),
            StorageUri("oci://a/lora:1", "/mnt/lora/x"),
        ],
        pod_spec=spec,
        config=_OCI_ENABLED,
    )
    common_storage_initialization(params)
    assert [c["name"] for c in spec["containers"]] == [KSERVE, "modelcar", "modelcar-1"]
    assert [c["name"] for c in spec["initContainers"]] == ["modelcar-init", "modelcar-init-1"]
    assert spec["volumes"] == [
        {"name": PROVISION, "emptyDir": {}},
        {"name": PROVISION + "-1", "emptyDir": {}},
    ]
    assert spec["containers"][2]["args"][2] == (
        "mkdir -p /mnt/lora && ln -sf /proc/$$$$/root/models /mnt/lora/x && sleep infinity"
    )
    with pytest.raises(PodMutationError, match='share parent directory "/mnt/models"'):
        validate_oci_mount_paths(["/mnt/models/a", "/mnt/models/b"], "modelcar")
    validate_oci_mount_paths(["/mnt/models/a", "/mnt/models/b"], "native")
    with pytest.raises(PodMutationError, match="specified more than once"):
        validate_oci_mount_paths(["/m/a", "/m/a"], "native")


# ---------------------------------------------------------------------------------------------
# native: TestInjectModelcarOciNative (3), TestCommonStorageInitializationWithOciNativeURI (3),
# TestCommonStorageInitializationSkipsOciNativeURI
# ---------------------------------------------------------------------------------------------

NATIVE_VOLUME = {
    "name": "mnt-models",
    "image": {"reference": "registry.io/mymodel:v1", "pullPolicy": "IfNotPresent"},
}
NATIVE_MOUNT = {"name": "mnt-models", "mountPath": MODELS, "subPath": "models", "readOnly": True}


@pytest.mark.parametrize(
    ("uri", "config"),
    [
        pytest.param(
            "oci+native://registry.io/mymodel:v1",
            EMPTY,
            id="oci+native:// annotation mounts ImageVolume",
        ),
        pytest.param(
            "oci://registry.io/mymodel:v1",
            StorageInitializerConfig(ociModelMode="native"),
            id="bare oci:// with OciModelMode=native mounts ImageVolume",
        ),
    ],
)
def test_inject_modelcar_oci_native(uri: str, config: StorageInitializerConfig) -> None:
    out = pod({SRC: uri}, [container(KSERVE), container(TRANSFORMER)])
    inject_modelcar(out, config, "kserve")
    assert out["spec"] == {
        "containers": [
            container(KSERVE, volumeMounts=[NATIVE_MOUNT]),
            container(TRANSFORMER, volumeMounts=[NATIVE_MOUNT]),
        ],
        "volumes": [NATIVE_VOLUME],
    }


def test_bare_oci_with_enable_modelcar_still_uses_modelcar() -> None:
    out = modelcar_pod()
    inject_modelcar(out, _OCI_ENABLED, "kserve")
    assert out == injected((KSERVE,), (KSERVE,))


@pytest.mark.parametrize(
    ("uri", "config", "legacy", "want"),
    [
        pytest.param(
            "oci+native://registry.io/mymodel:v1",
            EMPTY,
            False,
            [NATIVE_VOLUME],
            id="oci+native:// storageUri",
        ),
        pytest.param(
            "oci://registry.io/mymodel:v1",
            StorageInitializerConfig(ociModelMode="native"),
            False,
            [NATIVE_VOLUME],
            id="bare oci:// with OciModelMode=native",
        ),
        pytest.param(
            "oci+native://registry.io/mymodel:v1", EMPTY, True, None, id="legacy path returns nil"
        ),
        pytest.param(
            "oci+native://registry.io/mymodel:v1",
            StorageInitializerConfig(
                image="kserve/storage-initializer:latest",
                cpuRequest="100m",
                cpuLimit="1",
                memoryRequest="200Mi",
                memoryLimit="1Gi",
            ),
            False,
            [NATIVE_VOLUME],
            id="SkipsOciNativeURI: no init container",
        ),
    ],
)
def test_common_storage_initialization_with_oci_native(
    uri: str, config: StorageInitializerConfig, legacy: bool, want: Any
) -> None:
    spec = {"containers": [container(KSERVE)]}
    common_storage_initialization(_params(spec, uri, config, legacy))
    if want is None:
        assert spec == {"containers": [container(KSERVE)]}
    else:
        assert spec == {
            "containers": [container(KSERVE, volumeMounts=[NATIVE_MOUNT])],
            "volumes": want,
        }


def test_native_mount_path_collision_is_refused() -> None:
    spec = {
        "containers": [container(KSERVE, volumeMounts=[{"name": "other", "mountPath": MODELS}])]
    }
    with pytest.raises(
        PodMutationError, match=r'^mountPath "/mnt/models" already used by volume "other"$'
    ):
        common_storage_initialization(_params(spec, "oci+native://r/i:1", EMPTY))


# ---------------------------------------------------------------------------------------------
# oci_fetch_test.go: TestConfigureOciFetchToContainer (8), TestConfigureOciFetchDockerConfig (3),
# ...ViaCommonStorageInitialization (2), ...ViaInjectModelcar (2)
# ---------------------------------------------------------------------------------------------

FETCH_CONFIG = StorageInitializerConfig(
    cpuRequest="100m", cpuLimit="1", memoryRequest="200Mi", memoryLimit="1Gi"
)
URI = "oci://registry.io/mymodel:v1"
FETCH_MOUNT = {"name": "mnt-models", "mountPath": MODELS}
DOCKER_VOLUME: dict[str, Any] = {
    "name": "kserve-oci-fetch-docker-config",
    "secret": {
        "secretName": "my-reg-cred",
        "defaultMode": 0o400,
        "items": [{"key": ".dockerconfigjson", "path": "config.json"}],
    },
}
DOCKER_MOUNT = {
    "name": "kserve-oci-fetch-docker-config",
    "mountPath": "/mnt/oci-fetch-auth",
    "readOnly": True,
}
DOCKER_ENV = {"name": "KSERVE_OCI_DOCKER_CONFIG", "value": "/mnt/oci-fetch-auth/config.json"}


def fetch_init(args: list[str], mounts: list[Any], env: list[Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": SI,
        "image": "kserve/storage-initializer:latest",
        "args": args,
        "resources": RESOURCES,
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "volumeMounts": mounts,
    }
    if env:
        out["env"] = env
    return out


def _fetch(
    spec: dict[str, Any],
    config: StorageInitializerConfig = FETCH_CONFIG,
    namespace: str = "default",
    target: str = KSERVE,
    path: str = MODELS,
    uri: str = URI,
) -> dict[str, Any]:
    configure_oci_fetch_to_container(uri, spec, target, path, config, namespace, "kserve")
    return spec


def test_fetch_without_image_pull_secrets() -> None:
    spec = _fetch({"containers": [container(KSERVE)]})
    assert spec == {
        "containers": [container(KSERVE, volumeMounts=[FETCH_MOUNT])],
        "initContainers": [fetch_init([URI, MODELS], [FETCH_MOUNT])],
        "volumes": [{"name": "mnt-models", "emptyDir": {}}],
    }


@pytest.mark.parametrize(
    ("secrets", "used"),
    [
        pytest.param(
            ["my-reg-cred"], "my-reg-cred", id="single imagePullSecret mounts docker config"
        ),
        pytest.param(
            ["cred-a", "cred-b", "cred-c"], "cred-a", id="multiple imagePullSecrets use the first"
        ),
    ],
)
def test_fetch_docker_config(secrets: list[str], used: str) -> None:
    pull = [{"name": s} for s in secrets]
    spec = _fetch({"imagePullSecrets": pull, "containers": [container(KSERVE)]})
    volume = copy.deepcopy(DOCKER_VOLUME)
    volume["secret"]["secretName"] = used
    assert spec == {
        "imagePullSecrets": pull,
        "containers": [container(KSERVE, volumeMounts=[FETCH_MOUNT])],
        "initContainers": [fetch_init([URI, MODELS], [DOCKER_MOUNT, FETCH_MOUNT], [DOCKER_ENV])],
        "volumes": [volume, {"name": "mnt-models", "emptyDir": {}}],
    }


@pytest.mark.parametrize(
    ("namespace", "name"),
    [
        pytest.param(
            "kserve",
            "my-ca-bundle",
            id="CA bundle in kserve namespace keeps configured configmap name",
        ),
        pytest.param(
            "user-namespace",
            "global-ca-bundle",
            id="CA bundle outside kserve namespace uses the global one",
        ),
    ],
)
def test_fetch_ca_bundle(namespace: str, name: str) -> None:
    config = FETCH_CONFIG.model_copy(update={"ca_bundle_config_map_name": "my-ca-bundle"})
    spec = _fetch({"containers": [container(KSERVE)]}, config, namespace)
    ca_mount = {"name": "cabundle-cert", "mountPath": "/etc/ssl/custom-certs", "readOnly": True}
    assert spec == {
        "containers": [container(KSERVE, volumeMounts=[FETCH_MOUNT])],
        "initContainers": [
            fetch_init(
                [URI, MODELS],
                [ca_mount, FETCH_MOUNT],
                [
                    {"name": "CA_BUNDLE_CONFIGMAP_NAME", "value": name},
                    {"name": "CA_BUNDLE_VOLUME_MOUNT_POINT", "value": "/etc/ssl/custom-certs"},
                ],
            )
        ],
        "volumes": [
            {"name": "cabundle-cert", "configMap": {"name": name}},
            {"name": "mnt-models", "emptyDir": {}},
        ],
    }


def test_fetch_repeated_for_transformer_does_not_duplicate_args() -> None:
    spec = _fetch({"containers": [container(KSERVE), container(TRANSFORMER)]})
    _fetch(spec, target=TRANSFORMER)
    assert spec == {
        "containers": [
            container(KSERVE, volumeMounts=[FETCH_MOUNT]),
            container(TRANSFORMER, volumeMounts=[FETCH_MOUNT]),
        ],
        "initContainers": [fetch_init([URI, MODELS], [FETCH_MOUNT])],
        "volumes": [{"name": "mnt-models", "emptyDir": {}}],
    }


def test_fetch_multiple_uris_append_arg_pairs() -> None:
    spec = _fetch(
        {"containers": [container(KSERVE)]},
        uri="oci://registry.io/base:v1",
        path="/mnt/models/base",
    )
    _fetch(spec, uri="oci://registry.io/adapter:v1", path="/mnt/models/adapter")
    assert spec["initContainers"][0]["args"] == [
        "oci://registry.io/base:v1",
        "/mnt/models/base",
        "oci://registry.io/adapter:v1",
        "/mnt/models/adapter",
    ]


def test_fetch_missing_target_container() -> None:
    with pytest.raises(PodMutationError, match=r"^no container found with name kserve-container$"):
        _fetch({"containers": [container("some-other-container")]})


def test_fetch_insecure_registry_env() -> None:
    spec = _fetch(
        {"containers": [container(KSERVE)]},
        FETCH_CONFIG.model_copy(update={"oci_insecure_registry": True}),
    )
    assert spec["initContainers"][0]["env"] == [
        {"name": "KSERVE_OCI_INSECURE_REGISTRY", "value": "true"}
    ]


@pytest.mark.parametrize(
    ("uri", "config"),
    [
        pytest.param(
            "oci+fetch://registry.io/mymodel:v1", FETCH_CONFIG, id="oci+fetch:// storageUri"
        ),
        pytest.param(
            URI,
            FETCH_CONFIG.model_copy(update={"oci_model_mode": "fetch"}),
            id="bare oci:// in fetch mode",
        ),
    ],
)
def test_fetch_via_common_storage_initialization(
    uri: str, config: StorageInitializerConfig
) -> None:
    spec = {"imagePullSecrets": [{"name": "my-reg-cred"}], "containers": [container(KSERVE)]}
    common_storage_initialization(_params(spec, uri, config))
    assert spec["initContainers"] == [
        fetch_init([URI, MODELS], [DOCKER_MOUNT, FETCH_MOUNT], [DOCKER_ENV])
    ]
    assert spec["volumes"][0] == DOCKER_VOLUME


@pytest.mark.parametrize(
    ("uri", "config"),
    [
        pytest.param(
            "oci+fetch://registry.io/mymodel:v1", FETCH_CONFIG, id="oci+fetch:// annotation"
        ),
        pytest.param(
            URI,
            FETCH_CONFIG.model_copy(update={"oci_model_mode": "fetch"}),
            id="bare oci:// with OciModelMode=fetch",
        ),
    ],
)
def test_fetch_via_inject_modelcar(uri: str, config: StorageInitializerConfig) -> None:
    out = pod({SRC: uri}, namespace="default")
    inject_modelcar(out, config, "kserve")
    assert out["spec"] == {
        "containers": [container(KSERVE, volumeMounts=[FETCH_MOUNT])],
        "initContainers": [fetch_init([URI, MODELS], [FETCH_MOUNT])],
        "volumes": [{"name": "mnt-models", "emptyDir": {}}],
    }


# ---------------------------------------------------------------------------------------------
# ParseOciScheme / ShellQuote (utils tests of the same helpers)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "want"),
    [
        ("oci+native://reg/img:tag", ("native", "oci://reg/img:tag", True)),
        ("oci+modelcar://reg/img:tag", ("modelcar", "oci://reg/img:tag", True)),
        ("oci+fetch://reg/img:tag", ("fetch", "oci://reg/img:tag", True)),
        ("oci://reg/img:tag", ("", "oci://reg/img:tag", True)),
        ("s3://bucket/key", ("", "s3://bucket/key", False)),
        ("oci+://x", ("", "oci+://x", False)),
    ],
)
def test_parse_oci_scheme(uri: str, want: tuple[str, str, bool]) -> None:
    assert parse_oci_scheme(uri) == want


@pytest.mark.parametrize(
    ("s", "want"),
    [("", "''"), ("/mnt/models", "/mnt/models"), ("/a b", "'/a b'"), ("it's", "'it'\\''s'")],
)
def test_shell_quote(s: str, want: str) -> None:
    assert shell_quote(s) == want
