"""Upstream ``pkg/utils/storage_test.go`` (``ShellQuote`` 14, ``modelcarCommand`` 4,
``FindCommonParentPath`` 6, ``GetVolumeNameFromPath`` 4, ``AddDefaultHuggingFaceEnvVars`` 5,
``ModelcarNames`` 3, ``ConfigureModelcarToContainerMultipleOCI`` 5, ``ValidateOCIMountPaths``
9, ``ConfigureOciNativeToContainer`` 4) and ``container_merge_test.go``
(``MergeContainerWithPatch`` 8), the helpers the mutator is built from, asserting whole
values."""

from __future__ import annotations

from typing import Any

import pytest

from apis.serving.v1beta1.configmap import StorageInitializerConfig
from controllers.storage.container_merge import merge_container_with_patch
from controllers.storage.oci import (
    _modelcar_command,
    configure_modelcar_to_container,
    configure_oci_native_to_container,
    modelcar_names,
    shell_quote,
    validate_oci_mount_paths,
)
from controllers.storage.utils import (
    add_default_hf_env_vars,
    find_common_parent_path,
    get_parent_directory,
    get_volume_name_from_path,
    go_clean,
    go_dir,
    go_json,
    go_quantity_error,
)
from controllers.webhooks.pod import PodMutationError

EMPTY = StorageInitializerConfig()


@pytest.mark.parametrize(
    ("s", "want"),
    [
        pytest.param("/mnt/models", "/mnt/models", id="SafeAbsolutePath"),
        pytest.param("/mnt/models/base", "/mnt/models/base", id="SafeNestedPath"),
        pytest.param("/mnt/my-models/v1.0", "/mnt/my-models/v1.0", id="SafePathWithDash"),
        pytest.param("/mnt/my_models", "/mnt/my_models", id="SafePathWithUnderscore"),
        pytest.param("/mnt/my models", "'/mnt/my models'", id="PathWithSpace"),
        pytest.param("/mnt/it's", "'/mnt/it'\\''s'", id="PathWithSingleQuote"),
        pytest.param("/mnt/models;rm -rf /", "'/mnt/models;rm -rf /'", id="PathWithSemicolon"),
        pytest.param(
            "/mnt/models/llama-3.1+quant", "'/mnt/models/llama-3.1+quant'", id="PathWithPlus"
        ),
        pytest.param("~/models", "'~/models'", id="PathWithTilde"),
        pytest.param("", "''", id="EmptyString"),
        pytest.param("/mnt/$(rm -rf /)", "'/mnt/$(rm -rf /)'", id="PathWithDollarParens"),
        pytest.param("/mnt/`id`", "'/mnt/`id`'", id="PathWithBackticks"),
        pytest.param(
            "/mnt/models|cat /etc/passwd", "'/mnt/models|cat /etc/passwd'", id="PathWithPipe"
        ),
        pytest.param("/mnt/models&rm -rf /", "'/mnt/models&rm -rf /'", id="PathWithAmpersand"),
        pytest.param("/mnt/modèle", "'/mnt/modèle'", id="non-ASCII letters are quoted (Go: bytes)"),
    ],
)
def test_shell_quote(s: str, want: str) -> None:
    assert shell_quote(s) == want


@pytest.mark.parametrize(
    ("path", "want"),
    [
        pytest.param(
            "/mnt/models",
            "ln -sf /proc/$$$$/root/models /mnt/models && sleep infinity",
            id="DefaultPath produces unquoted command",
        ),
        pytest.param(
            "/mnt/models/base",
            "mkdir -p /mnt/models && ln -sf /proc/$$$$/root/models /mnt/models/base "
            "&& sleep infinity",
            id="NonDefaultSafePath produces mkdir with unquoted paths",
        ),
        pytest.param(
            "/mnt/my models/base",
            "mkdir -p '/mnt/my models' && ln -sf /proc/$$$$/root/models '/mnt/my models/base' "
            "&& sleep infinity",
            id="NonDefaultUnsafePath produces mkdir with quoted paths",
        ),
        pytest.param(
            "/mnt/it's/model",
            "mkdir -p '/mnt/it'\\''s' && ln -sf /proc/$$$$/root/models '/mnt/it'\\''s/model' "
            "&& sleep infinity",
            id="NonDefaultPathWithSingleQuote produces correctly escaped command",
        ),
    ],
)
def test_modelcar_command(path: str, want: str) -> None:
    assert _modelcar_command(path) == want


@pytest.mark.parametrize(
    ("paths", "want"),
    [
        pytest.param([], "", id="EmptyPaths"),
        pytest.param(["/mnt/models"], "/mnt/models", id="SinglePath"),
        pytest.param(
            ["/mnt/models/model1", "/mnt/models/model2"], "/mnt/models", id="CommonParent"
        ),
        pytest.param(["/mnt/models", "/opt/models"], "/", id="DifferentRoots"),
        pytest.param(
            ["/mnt/models/pytorch/model1", "/mnt/models/pytorch/model2", "/mnt/models/pytorch/"],
            "/mnt/models/pytorch",
            id="NestedCommonParent",
        ),
        pytest.param(["/mnt/models", "/opt/data", "/var/cache"], "/", id="NoCommonParent"),
    ],
)
def test_find_common_parent_path(paths: list[str], want: str) -> None:
    assert find_common_parent_path(paths) == want


@pytest.mark.parametrize(
    ("path", "want"),
    [
        pytest.param("/", "", id="RootPath"),
        pytest.param("/mnt/models", "mnt-models", id="SimplePath"),
        pytest.param("/mnt/models/subdir", "mnt-models-subdir", id="NestedPath"),
        pytest.param("/mnt/models/", "mnt-models", id="PathWithTrailingSlash"),
    ],
)
def test_get_volume_name_from_path(path: str, want: str) -> None:
    assert get_volume_name_from_path(path) == want


_HF = [
    {"name": "HF_HUB_ENABLE_HF_TRANSFER", "value": "1"},
    {"name": "HF_XET_HIGH_PERFORMANCE", "value": "1"},
    {"name": "HF_XET_NUM_CONCURRENT_RANGE_GETS", "value": "8"},
]
_VALUE_FROM = {"configMapKeyRef": {"name": "hf-config", "key": "transfer-enabled"}}


@pytest.mark.parametrize(
    ("initial", "want"),
    [
        pytest.param([], _HF, id="EmptyContainer"),
        pytest.param(
            [{"name": "HF_HUB_ENABLE_HF_TRANSFER", "value": "0"}],
            [{"name": "HF_HUB_ENABLE_HF_TRANSFER", "value": "0"}, *_HF[1:]],
            id="UserOverridesOneEnvVar",
        ),
        pytest.param(
            [{"name": "HF_HUB_ENABLE_HF_TRANSFER", "valueFrom": _VALUE_FROM}],
            [{"name": "HF_HUB_ENABLE_HF_TRANSFER", "valueFrom": _VALUE_FROM}, *_HF[1:]],
            id="UserDefinesWithValueFrom",
        ),
        pytest.param(
            [
                {"name": "HF_HUB_ENABLE_HF_TRANSFER", "value": "0"},
                {"name": "HF_XET_HIGH_PERFORMANCE", "value": "0"},
                {"name": "HF_XET_NUM_CONCURRENT_RANGE_GETS", "value": "4"},
            ],
            [
                {"name": "HF_HUB_ENABLE_HF_TRANSFER", "value": "0"},
                {"name": "HF_XET_HIGH_PERFORMANCE", "value": "0"},
                {"name": "HF_XET_NUM_CONCURRENT_RANGE_GETS", "value": "4"},
            ],
            id="UserDefinesAllEnvVars",
        ),
        pytest.param(
            [
                {"name": "SOME_OTHER_VAR", "value": "value"},
                {"name": "HF_HUB_ENABLE_HF_TRANSFER", "value": "0"},
            ],
            [
                {"name": "SOME_OTHER_VAR", "value": "value"},
                {"name": "HF_HUB_ENABLE_HF_TRANSFER", "value": "0"},
                *_HF[1:],
            ],
            id="ContainerWithOtherEnvVars",
        ),
    ],
)
def test_add_default_hugging_face_env_vars(initial: list[Any], want: list[Any]) -> None:
    c: dict[str, Any] = {"env": list(initial)}
    add_default_hf_env_vars(c)
    assert c == {"env": want}


@pytest.mark.parametrize(
    ("index", "want"),
    [
        (0, ("modelcar", "modelcar-init", "kserve-provision-location")),
        (1, ("modelcar-1", "modelcar-init-1", "kserve-provision-location-1")),
        (2, ("modelcar-2", "modelcar-init-2", "kserve-provision-location-2")),
    ],
)
def test_modelcar_names(index: int, want: tuple[str, str, str]) -> None:
    assert modelcar_names(index) == want


def test_configure_modelcar_single_oci_uri() -> None:
    spec: dict[str, Any] = {"containers": [{"name": "kserve-container"}]}
    configure_modelcar_to_container(
        "oci://registry.example.com/model-a:v1", spec, "kserve-container", "/mnt/models", EMPTY, 0
    )
    assert [c["name"] for c in spec["containers"]] == ["kserve-container", "modelcar"]
    assert spec["containers"][1]["image"] == "registry.example.com/model-a:v1"
    assert [c["name"] for c in spec["initContainers"]] == ["modelcar-init"]
    assert spec["volumes"] == [{"name": "kserve-provision-location", "emptyDir": {}}]
    assert spec["shareProcessNamespace"] is True


def test_configure_modelcar_two_and_three_oci_uris() -> None:
    spec: dict[str, Any] = {"containers": [{"name": "kserve-container"}]}
    uris = ["oci://r/base:v1", "oci://r/adapter-a:v1", "oci://r/adapter-b:v1"]
    paths = ["/mnt/models/base", "/mnt/models/adapter-a", "/mnt/models/adapter-b"]
    for i, (uri, path) in enumerate(zip(uris, paths, strict=True)):
        configure_modelcar_to_container(uri, spec, "kserve-container", path, EMPTY, i)
    names = ["modelcar", "modelcar-1", "modelcar-2"]
    assert [c["name"] for c in spec["containers"]] == ["kserve-container", *names]
    assert [c["image"] for c in spec["containers"][1:]] == [u[6:] for u in uris]
    assert [c["name"] for c in spec["initContainers"]] == [
        "modelcar-init",
        "modelcar-init-1",
        "modelcar-init-2",
    ]
    vols = [
        "kserve-provision-location",
        "kserve-provision-location-1",
        "kserve-provision-location-2",
    ]
    assert spec["volumes"] == [{"name": v, "emptyDir": {}} for v in vols]
    # each sidecar mounts its own volume; the user container mounts all of them
    assert [c["volumeMounts"][0]["name"] for c in spec["containers"][1:]] == vols
    assert [m["name"] for m in spec["containers"][0]["volumeMounts"]] == vols


def test_configure_modelcar_errors_and_idempotency() -> None:
    with pytest.raises(PodMutationError, match="no container found with name"):
        configure_modelcar_to_container(
            "oci://r/m:v1",
            {"containers": [{"name": "x"}]},
            "kserve-container",
            "/mnt/models",
            EMPTY,
            0,
        )
    spec: dict[str, Any] = {"containers": [{"name": "kserve-container"}]}
    for _ in range(2):
        configure_modelcar_to_container(
            "oci://r/m:v1", spec, "kserve-container", "/mnt/models", EMPTY, 0
        )
    assert (len(spec["containers"]), len(spec["initContainers"]), len(spec["volumes"])) == (2, 1, 1)


@pytest.mark.parametrize(
    ("paths", "mode", "error"),
    [
        pytest.param(["/mnt/models"], "modelcar", None, id="Single path is always valid"),
        pytest.param([], "modelcar", None, id="Empty paths are valid"),
        pytest.param(
            ["/mnt/model-a/data", "/mnt/model-b/data"],
            "modelcar",
            None,
            id="Distinct parents valid",
        ),
        pytest.param(
            ["/mnt/models/model-a", "/mnt/models/model-b"],
            "modelcar",
            'share parent directory "/mnt/models", which would cause volume mount shadowing',
            id="Shared parent directory is rejected",
        ),
        pytest.param(
            ["/mnt/alpha/data", "/mnt/beta/model-x", "/mnt/beta/model-y"],
            "modelcar",
            '"/mnt/beta"',
            id="Three paths with collision on second pair",
        ),
        pytest.param(
            ["/mnt/models", "/mnt/models"], "modelcar", "share parent", id="Default path used twice"
        ),
        pytest.param(
            ["/mnt/models/adapter-a", "/mnt/models/adapter-b"],
            "native",
            None,
            id="Native mode allows shared parent directory",
        ),
        pytest.param(
            ["/mnt/models/adapter-a", "/mnt/models/adapter-a"],
            "native",
            "unique mount path",
            id="Native mode rejects exact path duplicate",
        ),
        pytest.param(
            ["/mnt/models", "/mnt/models/adapter"],
            "native",
            None,
            id="Native mode allows DefaultModelLocalMountPath used once with sibling",
        ),
    ],
)
def test_validate_oci_mount_paths(paths: list[str], mode: str, error: str | None) -> None:
    if error is None:
        validate_oci_mount_paths(paths, mode)
        return
    with pytest.raises(PodMutationError) as err:
        validate_oci_mount_paths(paths, mode)
    assert error in str(err.value)


def _native_mount(path: str) -> dict[str, Any]:
    name = get_volume_name_from_path(path)
    return {"name": name, "mountPath": path, "subPath": "models", "readOnly": True}


def test_configure_oci_native_to_container() -> None:
    spec: dict[str, Any] = {"containers": [{"name": "kserve-container"}]}
    uri = "oci://registry.io/mymodel:v1"
    for _ in range(2):  # happy path, then idempotent
        configure_oci_native_to_container(uri, spec, "kserve-container", "/mnt/models", EMPTY)
    assert spec == {
        "containers": [
            {"name": "kserve-container", "volumeMounts": [_native_mount("/mnt/models")]}
        ],
        "volumes": [
            {
                "name": "mnt-models",
                "image": {"reference": "registry.io/mymodel:v1", "pullPolicy": "IfNotPresent"},
            }
        ],
    }


def test_configure_oci_native_multi_adapter_and_collision() -> None:
    spec: dict[str, Any] = {"containers": [{"name": "kserve-container"}]}
    for name in ("adapter-a", "adapter-b"):
        configure_oci_native_to_container(
            f"oci://registry.io/{name}:v1", spec, "kserve-container", f"/mnt/models/{name}", EMPTY
        )
    assert spec["containers"][0]["volumeMounts"] == [
        _native_mount("/mnt/models/adapter-a"),
        _native_mount("/mnt/models/adapter-b"),
    ]
    assert len(spec["volumes"]) == 2
    taken = {
        "containers": [
            {
                "name": "kserve-container",
                "volumeMounts": [{"name": "other-volume", "mountPath": "/mnt/models"}],
            }
        ]
    }
    with pytest.raises(PodMutationError, match="already used by volume"):
        configure_oci_native_to_container(
            "oci://r/m:v1", taken, "kserve-container", "/mnt/models", EMPTY
        )


# ---------------------------------------------------------------------------------------------
# container_merge_test.go TestMergeContainerWithPatch (8)
# ---------------------------------------------------------------------------------------------

_REF = {"secretKeyRef": {"name": "aws-creds", "key": "access-key"}}


@pytest.mark.parametrize(
    ("base", "overlay", "want"),
    [
        pytest.param(
            {
                "name": "storage-initializer",
                "image": "kserve/storage-initializer:latest",
                "args": ["hf://org/model", "/mnt/models"],
            },
            {
                "name": "storage-initializer",
                "env": [{"name": "HF_XET_HIGH_PERFORMANCE", "value": "0"}],
            },
            {
                "name": "storage-initializer",
                "image": "kserve/storage-initializer:latest",
                "args": ["hf://org/model", "/mnt/models"],
                "env": [{"name": "HF_XET_HIGH_PERFORMANCE", "value": "0"}],
            },
            id="overlay adds env vars",
        ),
        pytest.param(
            {"name": "storage-initializer", "image": "kserve/storage-initializer:latest"},
            {"name": "storage-initializer", "image": "my-registry/custom-init:v2"},
            {"name": "storage-initializer", "image": "my-registry/custom-init:v2"},
            id="overlay overrides image",
        ),
        pytest.param(
            {"name": "init", "image": "img:v1", "resources": {"limits": {"memory": "256Mi"}}},
            {"name": "init", "resources": {"limits": {"memory": "1Gi"}}},
            {"name": "init", "image": "img:v1", "resources": {"limits": {"memory": "1Gi"}}},
            id="overlay overrides resources",
        ),
        pytest.param(
            {"name": "storage-initializer", "image": "img:v1"},
            {"image": "img:v2"},
            {"name": "storage-initializer", "image": "img:v2"},
            id="name restored from base when overlay has empty name",
        ),
        pytest.param(
            {"name": "init", "env": [{"name": "AWS_KEY", "value": "literal-secret"}]},
            {"name": "init", "env": [{"name": "AWS_KEY", "valueFrom": _REF}]},
            {"name": "init", "env": [{"name": "AWS_KEY", "valueFrom": _REF}]},
            id="valueFrom_overrides_value_on_same_name",
        ),
        pytest.param(
            {"name": "init", "env": [{"name": "TOKEN", "valueFrom": _REF}]},
            {"name": "init", "env": [{"name": "TOKEN", "value": "hardcoded-value"}]},
            {"name": "init", "env": [{"name": "TOKEN", "value": "hardcoded-value"}]},
            id="value_overrides_valueFrom_on_same_name",
        ),
        pytest.param(
            {"name": "init", "env": [{"name": "EXISTING", "value": "keep-me"}]},
            {"name": "init", "env": [{"name": "NEW_SECRET", "valueFrom": _REF}]},
            {
                "name": "init",
                "env": [
                    {"name": "NEW_SECRET", "valueFrom": _REF},
                    {"name": "EXISTING", "value": "keep-me"},
                ],
            },
            id="disjoint envs with different value sources",
        ),
        pytest.param(
            {"name": "init", "args": ["--base-flag"]},
            {"name": "init", "args": ["--overlay-flag"]},
            {"name": "init", "args": ["--overlay-flag"]},
            id="args come from strategic merge (not forced)",
        ),
    ],
)
def test_merge_container_with_patch(base: Any, overlay: Any, want: Any) -> None:
    assert merge_container_with_patch(base, overlay) == want


# ---------------------------------------------------------------------------------------------
# Go semantics the helpers rely on
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "clean", "dir_", "parent"),
    [
        ("/mnt/models", "/mnt/models", "/mnt", "/mnt"),
        ("/mnt/models/", "/mnt/models", "/mnt/models", "/mnt/models"),
        ("/models", "/models", "/", "/"),
        ("models", "models", ".", "/"),
        ("", ".", ".", "/"),
        ("/a//b/../c/./d", "/a/c/d", "/a/c", "/a/c"),
        (
            "/annotation/path/to/annotation-ca.crt",
            "/annotation/path/to/annotation-ca.crt",
            "/annotation/path/to",
            "/annotation/path/to",
        ),
    ],
)
def test_go_path_semantics(path: str, clean: str, dir_: str, parent: str) -> None:
    assert (go_clean(path), go_dir(path), get_parent_directory(path)) == (clean, dir_, parent)


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("1", None),
        ("100m", None),
        ("1.5Gi", None),
        ("", "quantities must match"),
        ("200MC", "quantities must match"),
        ("invalid", "quantities must match"),
        ("1mm", "unable to parse quantity's suffix"),
    ],
)
def test_go_quantity_error(value: str, error: str | None) -> None:
    got = go_quantity_error(value)
    assert (got is None) if error is None else (got is not None and got.startswith(error))


def test_go_json_sorts_keys_and_escapes_html() -> None:
    assert (
        go_json({"type": "s3", "bucket": "<a&b>"})
        == '{"bucket":"\\u003ca\\u0026b\\u003e","type":"s3"}'
    )
