"""ServingRuntime / ClusterServingRuntime selection (kserve-behaviour.md §2.6).

Ports upstream's predictor_model_test.go TestGetSupportingRuntimes and utils_test.go
TestGetServingRuntime as tables, plus the explicit-runtime failures of
components/predictor.go:reconcileModel (controller_test.go V22) and the ordering rules.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from apis.serving.v1alpha1 import ClusterServingRuntime, ServingRuntime
from apis.serving.v1beta1 import ModelSpec
from apis.serving.v1beta1.predictor_model import (
    get_supporting_runtimes,
    model_format_label,
    runtime_supports_model,
    sort_serving_runtimes,
)
from apis.serving.v1beta1.predictor_runtime_selection import (
    RuntimeSelectionError,
    get_serving_runtime,
    resolve_protocol_version,
    select_runtime,
    server_type_for_defaults,
    server_type_for_image,
)

NS = "default"


def _fmt(
    name: str, version: str, auto: bool | None = None, priority: int | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "version": version}
    if auto is not None:
        out["autoSelect"] = auto
    if priority is not None:
        out["priority"] = priority
    return out


def _spec(
    formats: list[dict[str, Any]],
    protocols: list[str],
    image: str,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "supportedModelFormats": formats,
        "protocolVersions": protocols,
        "containers": [{"name": "kserve-container", "image": image}],
        **extra,
    }


# upstream TestGetSupportingRuntimes fixtures
SPECS: dict[str, dict[str, Any]] = {
    "tf-runtime": _spec(
        [_fmt("tensorflow", "1", True, 1)], ["v1", "v2"], "tf-runtime-image:latest", disabled=False
    ),
    "sklearn-runtime": _spec(
        [_fmt("sklearn", "0", True, 1)],
        ["v1", "v2"],
        "sklearn-runtime-image:latest",
        disabled=False,
    ),
    "pmml-runtime": _spec(
        [_fmt("pmml", "4", priority=1)], ["v1", "v2"], "pmml-runtime-image:latest", disabled=True
    ),
    "mlserver-runtime-mms": _spec(
        [
            _fmt("sklearn", "0", True, 2),
            _fmt("xgboost", "1", True, 2),
            _fmt("lightgbm", "3", True, 2),
        ],
        ["v2"],
        "pmml-runtime-image:latest",
        grpcEndpoint="port:8085",
        disabled=False,
        multiModel=True,
    ),
    "mlserver-runtime": _spec(
        [_fmt("sklearn", "0", True, 2), _fmt("lightgbm", "3", True, 2)],
        ["v2"],
        "mlserver-runtime-image:latest",
        disabled=False,
        multiModel=False,
    ),
    "xgboost-runtime": _spec(
        [_fmt("xgboost", "0", True, 1)], ["v2"], "sklearn-runtime-image:latest", disabled=False
    ),
    "triton-runtime": _spec(
        [_fmt("sklearn", "0", True), _fmt("triton", "1", True, 1), _fmt("lightgbm", "3", True)],
        ["v2"],
        "mlserver-runtime-image:latest",
        disabled=False,
        multiModel=False,
    ),
    "test-runtime": _spec(
        [_fmt("sklearn", "0", True)],
        ["v2"],
        "mlserver-runtime-image:latest",
        disabled=False,
        multiModel=False,
    ),
    "huggingface-multinode-runtime": _spec(
        [_fmt("huggingface", "1", True, 2)],
        ["v1", "v2"],
        "huggingface-multinode-runtime-image:latest",
        workerSpec={"containers": []},
        multiModel=False,
        disabled=False,
    ),
}


def sr(name: str, spec: dict[str, Any], **meta: Any) -> ServingRuntime:
    return ServingRuntime.model_validate(
        {"metadata": {"name": name, "namespace": NS, **meta}, "spec": copy.deepcopy(spec)}
    )


def csr(name: str, spec: dict[str, Any], **meta: Any) -> ClusterServingRuntime:
    return ClusterServingRuntime.model_validate(
        {"metadata": {"name": name, **meta}, "spec": copy.deepcopy(spec)}
    )


RUNTIMES = [
    sr(n, SPECS[n])
    for n in (
        "tf-runtime",
        "sklearn-runtime",
        "pmml-runtime",
        "mlserver-runtime",
        "triton-runtime",
        "test-runtime",
        "huggingface-multinode-runtime",
    )
]
CLUSTER_RUNTIMES = [
    csr("cluster-" + n, SPECS[n]) for n in ("mlserver-runtime-mms", "tf-runtime", "xgboost-runtime")
]


def model(
    fmt: str, *, version: str | None = None, protocol: str | None = None, **extra: Any
) -> ModelSpec:
    obj: dict[str, Any] = {"modelFormat": {"name": fmt}, "storageUri": "s3://test/model", **extra}
    if version is not None:
        obj["modelFormat"]["version"] = version
    if protocol is not None:
        obj["protocolVersion"] = protocol
    return ModelSpec.model_validate(obj)


@pytest.mark.parametrize(
    ("spec", "mms", "multinode", "expected"),
    [
        (model("tensorflow"), False, False, ["tf-runtime", "cluster-tf-runtime"]),
        (model("nonexistent-modelformat"), False, False, []),
        (model("pmml"), False, False, []),
        (model("sklearn", protocol="v2"), True, False, ["cluster-mlserver-runtime-mms"]),
        (model("sklearn"), False, False, ["sklearn-runtime"]),
        (model("xgboost", protocol="v2"), False, False, ["cluster-xgboost-runtime"]),
        (model("xgboost", protocol="v1"), False, False, []),
        (
            model("sklearn", protocol="v2"),
            False,
            False,
            ["mlserver-runtime", "sklearn-runtime", "test-runtime", "triton-runtime"],
        ),
        (model("huggingface", protocol="v2"), False, True, ["huggingface-multinode-runtime"]),
    ],
    ids=[
        "BothClusterAndNamespaceRuntimesSupportModel",
        "RuntimeNotFound",
        "ModelFormatWithDisabledRuntimeSpecified",
        "ModelMeshCompatibleRuntimeModelFormatSpecified",
        "SMSRuntimeModelFormatSpecified",
        "RuntimeV2ProtocolSpecified",
        "RuntimeV1ProtocolNotFound",
        "MultipleRuntimeSupportsModelFormatSpecified",
        "MultiNodeWorkerSpecSpecified",
    ],
)
def test_get_supporting_runtimes(
    spec: ModelSpec, mms: bool, multinode: bool, expected: list[str]
) -> None:
    got = get_supporting_runtimes(
        spec, RUNTIMES, CLUSTER_RUNTIMES, multi_model=mms, multi_node=multinode
    )
    assert [r.name for r in got] == expected
    for r in got:
        base = r.name.removeprefix("cluster-")
        assert r.cluster_scoped is r.name.startswith("cluster-")
        want = ServingRuntime.model_validate({"spec": SPECS[base]}).spec
        assert want is not None and r.spec.to_kube() == want.to_kube()


@pytest.mark.parametrize(
    ("name", "image", "cluster"),
    [
        ("tf-runtime", "tf-runtime-image:latest", False),
        ("sklearn-runtime", "sklearn-runtime-image:latest", True),
    ],
    ids=["NamespaceServingRuntime", "ClusterServingRuntime"],
)
def test_get_serving_runtime(name: str, image: str, cluster: bool) -> None:
    ns = [sr("tf-runtime", _spec([_fmt("tensorflow", "1")], [], "tf-runtime-image:latest"))]
    cl = [csr("sklearn-runtime", _spec([_fmt("sklearn", "0")], [], "sklearn-runtime-image:latest"))]
    got = get_serving_runtime(name, ns, cl)
    assert got is not None
    assert got.spec.containers[0].image == image
    assert got.cluster_scoped is cluster
    assert get_serving_runtime("foo", ns, cl) is None


def test_namespace_runtime_shadows_cluster_runtime_of_same_name() -> None:
    ns = [sr("same", _spec([_fmt("sklearn", "1")], [], "ns-image"), annotations={"a": "ns"})]
    cl = [csr("same", _spec([_fmt("sklearn", "1")], [], "cluster-image"), annotations={"a": "cl"})]
    got = get_serving_runtime("same", ns, cl)
    assert got is not None and not got.cluster_scoped
    assert got.spec.containers[0].image == "ns-image" and got.annotations == {"a": "ns"}


SK = _spec([_fmt("sklearn", "1", True, 1)], ["v1", "v2"], "sk", disabled=False)


@pytest.mark.parametrize(
    ("runtime", "ns", "cl", "reason", "message", "error"),
    [
        (
            "missing",
            [],
            [csr("other", SK)],
            "RuntimeNotRecognized",
            "Waiting for runtime to become available",
            "No ServingRuntimes or ClusterServingRuntimes with the name: missing",
        ),
        (
            "off",
            [sr("off", {**SK, "disabled": True})],
            [],
            "RuntimeDisabled",
            "Specified runtime is disabled",
            "specified runtime off is disabled",
        ),
        (
            "grpc-only",
            [],
            [csr("grpc-only", {**SK, "protocolVersions": ["grpc-v1"]})],
            "NoSupportingRuntime",
            "Specified runtime does not support specified protocol version",
            "specified runtime grpc-only does not support specified protocol version",
        ),
        (
            "xgb",
            [sr("xgb", _spec([_fmt("xgboost", "1", True)], ["v1", "v2"], "x"))],
            [],
            "NoSupportingRuntime",
            "Specified runtime does not support specified framework/version",
            "specified runtime xgb does not support specified framework/version",
        ),
    ],
    ids=["not-found", "disabled", "protocol-unsupported", "format-unsupported"],
)
def test_explicit_runtime_errors(
    runtime: str,
    ns: list[ServingRuntime],
    cl: list[ClusterServingRuntime],
    reason: str,
    message: str,
    error: str,
) -> None:
    m = model("sklearn", protocol="v2", runtime=runtime)
    with pytest.raises(RuntimeSelectionError) as info:
        select_runtime(m, ns, cl)
    assert info.value.reason == reason
    assert info.value.message == message
    assert str(info.value) == error
    assert info.value.transition_status == "InvalidSpec"
    err = info.value
    assert (err.failure_reason, err.failure_message) == (reason, message)
    assert err.condition_reason is None


def test_explicit_runtime_ignores_auto_select_and_multi_model() -> None:
    # explicit runtime: formats count even without autoSelect; multiModel/workerSpec unchecked
    spec = _spec([_fmt("sklearn", "1")], ["v2"], "img", multiModel=True)
    got = select_runtime(model("sklearn", runtime="mine"), [], [csr("mine", spec)])
    assert (got.name, got.cluster_scoped, got.protocol_version) == ("mine", True, "v2")
    # protocol is only checked when the predictor sets one
    got = select_runtime(
        model("sklearn", runtime="mine"),
        [sr("mine", {**spec, "protocolVersions": ["grpc-v2"]})],
        [],
    )
    assert (got.cluster_scoped, got.protocol_version) == (False, "grpc-v2")
    # a versioned model needs the version listed; an unversioned one matches any version
    with pytest.raises(RuntimeSelectionError):
        select_runtime(model("sklearn", version="2", runtime="mine"), [], [csr("mine", spec)])
    assert (
        select_runtime(model("sklearn", version="1", runtime="mine"), [], [csr("mine", spec)]).name
        == "mine"
    )


def test_auto_select_no_runtime_error() -> None:
    with pytest.raises(RuntimeSelectionError) as info:
        select_runtime(model("onnx"), RUNTIMES, CLUSTER_RUNTIMES)
    assert info.value.reason == "NoSupportingRuntime"
    assert info.value.message == "No runtime found to support specified framework/version"
    assert str(info.value) == "no runtime found to support predictor with model type: {onnx <nil>}"


def test_auto_select_prefers_namespace_runtimes() -> None:
    ns = [sr("ns-low", _spec([_fmt("sklearn", "1", True)], ["v1"], "a"))]
    cl = [csr("cl-high", _spec([_fmt("sklearn", "1", True, 9)], ["v1"], "b"))]
    got = select_runtime(model("sklearn"), ns, cl)
    assert (got.name, got.cluster_scoped) == ("ns-low", False)


T0 = "2024-01-01T00:00:00Z"
T1 = "2024-06-01T00:00:00Z"


@pytest.mark.parametrize(
    ("protocol", "runtimes", "winner"),
    [
        # lowest protocol first: a v1 runtime beats a v2-only one (same priority)
        ("v2", [("a", ["v2"], None, T0), ("b", ["v1", "v2"], None, T0)], "b"),
        # a runtime without protocolVersions (supports all) sorts last
        ("grpc-v2", [("a", [], None, T1), ("b", ["grpc-v2"], None, T0)], "b"),
        # same protocol: newest creationTimestamp first
        ("v1", [("a", ["v1"], None, T0), ("b", ["v1"], None, T1)], "b"),
        # same protocol and time: name
        ("v1", [("b", ["v1"], None, T0), ("a", ["v1"], None, T0)], "a"),
        # priority beats protocol and time
        ("v2", [("a", ["v1", "v2"], 1, T1), ("b", ["v2"], 2, T0)], "b"),
        # a set priority beats an unset one
        ("v2", [("a", ["v1", "v2"], None, T1), ("b", ["v2"], 1, T0)], "b"),
        # equal priorities keep the protocol/time/name order (stable sort)
        (
            "v2",
            [("z", ["v1", "v2"], 3, T0), ("y", ["v1", "v2"], 3, T0), ("x", ["v2"], 3, T1)],
            "y",
        ),
    ],
    ids=[
        "protocol",
        "no-protocols-last",
        "newest",
        "name",
        "priority",
        "priority-set-first",
        "stable",
    ],
)
def test_auto_select_ordering(
    protocol: str, runtimes: list[tuple[str, list[str], int | None, str]], winner: str
) -> None:
    cl = [
        csr(
            name,
            _spec([_fmt("sklearn", "1", True, prio)], protocols, "img"),
            creationTimestamp=created,
        )
        for name, protocols, prio, created in runtimes
    ]
    assert select_runtime(model("sklearn", protocol=protocol), [], cl).name == winner
    # the same runtimes as namespace ServingRuntimes order the same way
    ns = [
        sr(
            name,
            _spec([_fmt("sklearn", "1", True, prio)], protocols, "img"),
            creationTimestamp=created,
        )
        for name, protocols, prio, created in runtimes
    ]
    got = select_runtime(model("sklearn", protocol=protocol), ns, [])
    assert (got.name, got.cluster_scoped) == (winner, False)


def test_sort_serving_runtimes_without_timestamp_is_oldest() -> None:
    cl = [csr("a", _spec([], ["v1"], "i")), csr("b", _spec([], ["v1"], "i"), creationTimestamp=T0)]
    assert [rt.metadata.name for rt in sort_serving_runtimes(cl)] == ["b", "a"]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("annotations", "runtime", "protocol", "protocols", "server_type", "resolved"),
    [
        ({}, "kserve-mlserver", None, ["v2"], "mlserver", "v2"),
        (
            {"serving.kserve.io/server-type": "tritonserver"},
            "custom",
            None,
            ["v1", "v2"],
            "tritonserver",
            "v2",
        ),
        (
            {"serving.kserve.io/server-type": "torchserve"},
            "custom",
            None,
            ["v2", "grpc-v2"],
            "torchserve",
            "v1",
        ),
        (
            {"serving.kserve.io/server-type": "sklearnserver"},
            "x",
            None,
            ["v2", "v1"],
            "sklearnserver",
            "v1",
        ),
        ({}, "custom", None, ["grpc-v2", "v2"], "", "v2"),
        ({}, "custom", None, [], "", ""),
        (
            {"serving.kserve.io/server-type": "mlserver"},
            "x",
            "grpc-v2",
            ["v2"],
            "mlserver",
            "grpc-v2",
        ),
        # an empty annotation wins over the runtime name for the defaults (present), not the image
        ({"serving.kserve.io/server-type": ""}, "kserve-mlserver", None, ["v1", "v2"], "", "v1"),
    ],
)
def test_resolve_protocol_version(
    annotations: dict[str, str],
    runtime: str,
    protocol: str | None,
    protocols: list[str],
    server_type: str,
    resolved: str,
) -> None:
    assert server_type_for_defaults(runtime, annotations) == server_type
    spec = ServingRuntime.model_validate({"spec": _spec([], protocols, "i")}).spec
    assert spec is not None
    assert resolve_protocol_version(protocol, server_type, spec) == resolved


def test_server_type_for_image_falls_back_on_empty_annotation() -> None:
    assert (
        server_type_for_image("kserve-mlserver", {"serving.kserve.io/server-type": ""})
        == "mlserver"
    )
    assert (
        server_type_for_image("x", {"serving.kserve.io/server-type": "vllmserver"}) == "vllmserver"
    )
    assert server_type_for_image("x", {}) == ""


def test_selected_runtime_carries_annotations_and_protocol() -> None:
    cl = [
        csr(
            "kserve-sklearnserver",
            _spec([_fmt("sklearn", "1", True, 1)], ["v1", "v2"], "sk"),
            annotations={"serving.kserve.io/server-type": "sklearnserver"},
        ),
        csr(
            "kserve-mlserver",
            _spec([_fmt("sklearn", "1", True, 2)], ["v2"], "ml"),
            annotations={"serving.kserve.io/server-type": "mlserver"},
        ),
    ]
    got = select_runtime(model("sklearn"), [], cl)
    # mlserver has the higher priority but is v2-only: the default v1 predictor excludes it
    assert (got.name, got.protocol_version, got.server_type) == (
        "kserve-sklearnserver",
        "v1",
        "sklearnserver",
    )
    got = select_runtime(model("sklearn", protocol="v2"), [], cl)
    assert (got.name, got.protocol_version, got.server_type) == (
        "kserve-mlserver",
        "v2",
        "mlserver",
    )
    assert got.annotations == {"serving.kserve.io/server-type": "mlserver"}


@pytest.mark.parametrize(
    ("fmt", "version", "label"),
    [("sklearn", None, "mt:sklearn"), ("sklearn", "1", "mt:sklearn:1")],
)
def test_model_format_label(fmt: str, version: str | None, label: str) -> None:
    assert model_format_label(model(fmt, version=version)) == label


def test_runtime_supports_model_auto_select_rule() -> None:
    spec = ServingRuntime.model_validate(
        {"spec": _spec([_fmt("sklearn", "1", False)], [], "i")}
    ).spec
    assert spec is not None
    assert not runtime_supports_model(model("sklearn"), spec)  # auto: autoSelect false
    assert runtime_supports_model(model("sklearn", runtime="r"), spec)  # explicit
