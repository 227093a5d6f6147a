# ruff: noqa: E501  (upstream messages are quoted verbatim)
"""Table tests for ServingRuntime / ClusterServingRuntime validation (kserve-behaviour.md §4.4)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from apis.serving.v1alpha1 import ClusterServingRuntime, ServingRuntime
from apis.serving.v1alpha1.servingruntime_validation import (
    validate_cluster_serving_runtime,
    validate_serving_runtime,
)
from apis.serving.validation import FieldError


def fmt(
    name: str, priority: int | None = None, auto: bool = True, version: str | None = None
) -> dict[str, Any]:
    f: dict[str, Any] = {"name": name, "autoSelect": auto}
    if priority is not None:
        f["priority"] = priority
    if version is not None:
        f["version"] = version
    return f


def sr(
    name: str = "rt",
    formats: list[dict[str, Any]] | None = None,
    *,
    kind: str = "ServingRuntime",
    protocols: list[str] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    s: dict[str, Any] = {
        "supportedModelFormats": formats if formats is not None else [fmt("sklearn", 1)],
        "protocolVersions": protocols if protocols is not None else ["v1", "v2"],
        "containers": [{"name": "kserve-container", "image": "img"}],
        **spec,
    }
    meta: dict[str, Any] = {"name": name}
    if kind == "ServingRuntime":
        meta["namespace"] = "ns"
    return {"apiVersion": "serving.kserve.io/v1alpha1", "kind": kind, "metadata": meta, "spec": s}


def worker(**ws: Any) -> dict[str, Any]:
    return {"containers": [{"name": "worker-container", "image": "img"}], **ws}


KC = "kserve-container"

BAD: list[tuple[str, dict[str, Any], list[dict[str, Any]], str, str]] = [
    # 2. different priorities for one autoSelect format in the same runtime (needs another runtime)
    (
        "2 priorities differ in one runtime",
        sr(formats=[fmt("sklearn", 1), fmt("sklearn", 2)]),
        [sr("other", [fmt("xgboost", 1)])],
        "spec.supportedModelFormats",
        "different priorities assigned for the model format sklearn under the servingruntime rt",
    ),
    # 3. same format/version/priority as another runtime sharing a protocol
    (
        "3 clash",
        sr(),
        [sr("other")],
        "spec.supportedModelFormats",
        "same priority assigned for the model format sklearn in the servingruntimes other and rt in namespace ns",
    ),
    (
        "3 clash case-insensitive name",
        sr(formats=[fmt("SKLearn", 1)]),
        [sr("other")],
        "spec.supportedModelFormats",
        "same priority assigned for the model format SKLearn",
    ),
    (
        "3 clash same version",
        sr(formats=[fmt("sklearn", 1, version="1")]),
        [sr("other", [fmt("sklearn", 1, version="1")])],
        "spec.supportedModelFormats",
        "same priority",
    ),
    (
        "3 clash one shared protocol",
        sr(protocols=["v2"]),
        [sr("other", protocols=["v1", "v2"])],
        "spec.supportedModelFormats",
        "same priority",
    ),
    # 4. removing workerSpec on update
    (
        "4 remove workerSpec",
        sr(),
        [sr(workerSpec=worker())],
        "spec.workerSpec",
        "the ServingRuntime rt is invalid: removing workerSpec where it already exists is not allowed",
    ),
    # 5. workerSpec rules
    (
        "5 two worker containers",
        sr(workerSpec={"containers": [{"name": "a"}, {"name": "b"}]}),
        [],
        "spec.workerSpec.containers",
        "setting multiple containers in workerSpec is not allowed",
    ),
    (
        "5 PIPELINE env",
        sr(
            workerSpec=worker(),
            containers=[{"name": KC, "env": [{"name": "PIPELINE_PARALLEL_SIZE", "value": "2"}]}],
        ),
        [],
        "spec.containers[0].env",
        "setting PIPELINE_PARALLEL_SIZE in environment variables is not allowed",
    ),
    (
        "5 TENSOR env",
        sr(
            workerSpec=worker(),
            containers=[{"name": KC, "env": [{"name": "TENSOR_PARALLEL_SIZE", "value": "2"}]}],
        ),
        [],
        "spec.containers[0].env",
        "setting TENSOR_PARALLEL_SIZE",
    ),
    (
        "5 unknown gpu kserve-container",
        sr(
            workerSpec=worker(),
            containers=[{"name": KC, "resources": {"limits": {"x.com/gpu": "1"}}}],
        ),
        [],
        "spec.containers[0].resources",
        "unknown GPU resource type in a container(kserve-container)",
    ),
    (
        "5 unknown gpu worker-container",
        sr(
            workerSpec={
                "containers": [
                    {"name": "worker-container", "resources": {"requests": {"x.com/gpu": "1"}}}
                ]
            }
        ),
        [],
        "spec.workerSpec.containers[0].resources",
        "unknown GPU resource type in a container(worker-container)",
    ),
    (
        "5 pipelineParallelSize 0",
        sr(workerSpec=worker(pipelineParallelSize=0)),
        [],
        "spec.workerSpec.pipelineParallelSize",
        "the WorkerSpec.PipelineParallelSize cannot be less than 1(0)",
    ),
    (
        "5 tensorParallelSize -1",
        sr(workerSpec=worker(tensorParallelSize=-1)),
        [],
        "spec.workerSpec.tensorParallelSize",
        "the WorkerSpec.TensorParallelSize cannot be less than 1(-1)",
    ),
    (
        "5 workerSpec without containers",
        sr(workerSpec={"pipelineParallelSize": 2}),
        [],
        "spec.workerSpec.containers",
        "Required value",
    ),
    # 6. PYTHONPATH
    (
        "6 pythonpath",
        sr(containers=[{"name": KC, "env": [{"name": "PYTHONPATH", "value": "/x"}]}]),
        [],
        "spec.containers[0].env[0].name",
        'the ServingRuntime "rt" is invalid: setting PYTHONPATH in container "kserve-container" is not allowed for security reasons',
    ),
    (
        "6 pythonpath worker",
        sr(workerSpec={"containers": [{"name": "w", "env": [{"name": "PYTHONPATH"}]}]}),
        [],
        "spec.workerSpec.containers[0].env[0].name",
        "PYTHONPATH",
    ),
    (
        "containers required",
        {"metadata": {"name": "rt"}, "spec": {"supportedModelFormats": []}},
        [],
        "spec.containers",
        "Required value",
    ),
]


@pytest.mark.parametrize(
    ("runtime", "others", "field", "needle"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_serving_runtime_refusals(
    runtime: dict[str, Any], others: list[dict[str, Any]], field: str, needle: str
) -> None:
    with pytest.raises(FieldError) as info:
        validate_serving_runtime(runtime, others)
    assert info.value.field == field
    assert needle in info.value.reason


GOOD: list[tuple[str, dict[str, Any], list[dict[str, Any]]]] = [
    (
        "1 disabled skips everything",
        sr(
            disabled=True,
            formats=[fmt("sklearn", 1), fmt("sklearn", 2)],
            containers=[{"name": KC, "env": [{"name": "PYTHONPATH"}]}],
        ),
        [sr("other")],
    ),
    (
        "2 quirk: intra-runtime check needs another runtime",
        sr(formats=[fmt("sklearn", 1), fmt("sklearn", 2)]),
        [],
    ),
    (
        "2 only autoSelect formats count",
        sr(formats=[fmt("sklearn", 1), fmt("sklearn", 2, auto=False)]),
        [sr("o", [fmt("x", 1)])],
    ),
    (
        "2 unset priority does not conflict",
        sr(formats=[fmt("sklearn", 1), fmt("sklearn")]),
        [sr("o", [fmt("x", 1)])],
    ),
    ("3 different priority", sr(), [sr("other", [fmt("sklearn", 2)])]),
    ("3 other disabled", sr(), [sr("other", disabled=True)]),
    ("3 multiModel differs", sr(multiModel=True), [sr("other")]),
    ("3 no shared protocol", sr(protocols=["v2"]), [sr("other", protocols=["v1"])]),
    ("3 other has no protocols", sr(), [sr("other", protocols=[])]),
    (
        "3 different version",
        sr(formats=[fmt("sklearn", 1, version="1")]),
        [sr("other", [fmt("sklearn", 1, version="2")])],
    ),
    ("3 other not autoSelect", sr(), [sr("other", [fmt("sklearn", 1, auto=False)])]),
    ("3 same name is the update of itself", sr(), [sr()]),
    (
        "5 workerSpec ok",
        sr(
            workerSpec=worker(pipelineParallelSize=2, tensorParallelSize=4),
            annotations={"serving.kserve.io/gpu-resource-types": '["x.com/gpu"]'},
            containers=[
                {"name": KC, "resources": {"limits": {"nvidia.com/gpu": "1", "x.com/gpu": "1"}}}
            ],
        ),
        [sr(workerSpec=worker())],
    ),
    (
        "5 unknown gpu on other container ignored",
        sr(
            workerSpec={
                "containers": [{"name": "other", "resources": {"limits": {"x.com/gpu": "1"}}}]
            }
        ),
        [],
    ),
]


@pytest.mark.parametrize(("runtime", "others"), [g[1:] for g in GOOD], ids=[g[0] for g in GOOD])
def test_serving_runtime_accepted(runtime: dict[str, Any], others: list[dict[str, Any]]) -> None:
    validate_serving_runtime(runtime, others)


def test_cluster_serving_runtime_messages() -> None:
    csr = sr(kind="ClusterServingRuntime")
    with pytest.raises(FieldError) as info:
        validate_cluster_serving_runtime(csr, [sr("other", kind="ClusterServingRuntime")])
    assert info.value.reason == (
        "same priority assigned for the model format sklearn in the clusterservingruntimes other and rt"
    )
    bad = sr(kind="ClusterServingRuntime", formats=[fmt("a", 1), fmt("a", 3)])
    with pytest.raises(FieldError) as info:
        validate_cluster_serving_runtime(
            bad, [sr("other", [fmt("b", 1)], kind="ClusterServingRuntime")]
        )
    assert info.value.reason.endswith("under the clusterservingruntime rt")
    with pytest.raises(FieldError) as info:
        validate_cluster_serving_runtime(
            sr(kind="ClusterServingRuntime"),
            [sr(kind="ClusterServingRuntime", workerSpec=worker())],
        )
    assert info.value.reason.startswith(
        "the ClusterServingRuntime rt is invalid: removing workerSpec"
    )


def test_typed_models_accepted() -> None:
    runtime = ServingRuntime.model_validate(sr())
    other = ServingRuntime.model_validate(sr("other"))
    with pytest.raises(FieldError):
        validate_serving_runtime(runtime, [other])
    csr = ClusterServingRuntime.model_validate(sr(kind="ClusterServingRuntime"))
    validate_cluster_serving_runtime(csr, [])


def test_custom_gpu_types_from_config() -> None:
    runtime = sr(
        workerSpec=worker(), containers=[{"name": KC, "resources": {"limits": {"c.com/gpu": "1"}}}]
    )
    with pytest.raises(FieldError):
        validate_serving_runtime(runtime)
    validate_serving_runtime(runtime, gpu_resource_types=["nvidia.com/gpu", "c.com/gpu"])


def test_input_not_mutated() -> None:
    runtime = sr()
    before = copy.deepcopy(runtime)
    with pytest.raises(FieldError):
        validate_serving_runtime(runtime, [sr("other")])
    assert runtime == before
