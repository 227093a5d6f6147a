# ruff: noqa: E501  (upstream messages are quoted verbatim)
"""Table tests for the other v1alpha1 validators (kserve-behaviour.md §4.5): TrainedModel,
InferenceGraph, LocalModelCache, LocalModelNamespaceCache."""

from __future__ import annotations

from typing import Any

import pytest

from apis.serving.v1alpha1.inference_graph_validation import (
    validate_inference_graph,
    validate_inference_graph_update,
)
from apis.serving.v1alpha1.local_model_cache_validation import (
    validate_local_model_cache,
    validate_local_model_cache_delete,
    validate_local_model_namespace_cache,
    validate_local_model_namespace_cache_delete,
)
from apis.serving.v1alpha1.trained_model_validation import (
    validate_trained_model,
    validate_trained_model_update,
)
from apis.serving.validation import FieldError


def tm(
    name: str = "tm-1", uri: str = "s3://b/m", memory: str = "1Gi", **meta: Any
) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "ns", **meta},
        "spec": {
            "inferenceService": "isvc",
            "model": {"storageUri": uri, "framework": "sklearn", "memory": memory},
        },
    }


@pytest.mark.parametrize(
    ("obj", "field", "needle"),
    [
        (
            tm(name="bad.name"),
            "metadata.name",
            'the Trained Model "bad.name" is invalid: a Trained Model name must consist of alphanumeric characters',
        ),
        (
            tm(uri="pvc://x/y"),
            "spec.model.storageUri",
            'The storage uri must start with one of the prefixes: s3://, gs://, https://, http://. (the storage uri given is "pvc://x/y")',
        ),
        (tm(uri="abfs://x"), "spec.model.storageUri", "storageUri field is invalid"),
    ],
    ids=["name", "pvc uri", "azure uri"],
)
def test_trained_model_refusals(obj: dict[str, Any], field: str, needle: str) -> None:
    with pytest.raises(FieldError) as info:
        validate_trained_model(obj)
    assert info.value.field == field and needle in info.value.reason


@pytest.mark.parametrize("uri", ["s3://b/m", "gs://b/m", "https://h/m", "http://h/m"])
def test_trained_model_accepted(uri: str) -> None:
    assert validate_trained_model(tm(name="My_Model-1", uri=uri)) == []


def test_trained_model_memory_immutable() -> None:
    with pytest.raises(FieldError) as info:
        validate_trained_model_update(tm(memory="2Gi"), tm())
    assert info.value.field == "spec.model.memory"
    with pytest.raises(FieldError) as canon:
        validate_trained_model_update(tm(memory="2048Mi"), tm(memory="1024Mi"))
    assert 'The memory was "1Gi" but it is updated to "2Gi"' in canon.value.reason
    assert (
        'memory field is immutable. The memory was "1Gi" but it is updated to "2Gi"'
        in info.value.reason
    )
    assert validate_trained_model_update(tm(memory="1024Mi"), tm()) == []
    # being deleted: nothing checked
    assert validate_trained_model_update(tm(memory="2Gi", deletionTimestamp="t"), tm()) == []
    with pytest.raises(FieldError):
        validate_trained_model_update(tm(uri="pvc://x"), tm(uri="pvc://x"))


def ig(nodes: dict[str, Any], name: str = "graph", **meta: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns", **meta}, "spec": {"nodes": nodes}}


SEQ = {
    "root": {
        "routerType": "Sequence",
        "steps": [{"serviceName": "a"}, {"nodeName": "split", "data": "$response"}],
    },
    "split": {
        "routerType": "Splitter",
        "steps": [{"serviceName": "b", "weight": 30}, {"serviceUrl": "http://c", "weight": 70}],
    },
}


@pytest.mark.parametrize(
    ("obj", "field", "needle"),
    [
        (
            ig(SEQ, name="Graph"),
            "metadata.name",
            'The InferenceGraph "Graph" is invalid: a InferenceGraph name must consist of lower case',
        ),
        (
            ig({"first": SEQ["root"], "split": SEQ["split"]}),
            "spec.nodes",
            "root node not found, InferenceGraph needs a node with name 'root' as the root node of the graph",
        ),
        (
            ig(
                {
                    "root": {
                        "routerType": "Ensemble",
                        "steps": [
                            {"name": "s", "serviceName": "a"},
                            {"name": "s", "serviceName": "b"},
                        ],
                    }
                }
            ),
            "spec.nodes[root].steps[1].name",
            'Node "root" of InferenceGraph "graph" contains more than one step with name "s"',
        ),
        (
            ig({"root": {"routerType": "Sequence", "steps": [{"name": "x", "data": "$request"}]}}),
            "spec.nodes[root].steps[0]",
            'Step 0 ("x") in node "root" of InferenceGraph "graph" does not specify an inference target',
        ),
        (
            ig(
                {
                    "root": {
                        "routerType": "Sequence",
                        "steps": [
                            {"serviceName": "a"},
                            {"serviceName": "a", "serviceUrl": "http://a"},
                        ],
                    }
                }
            ),
            "spec.nodes[root].steps[1]",
            'Step 1 ("") in node "root" of InferenceGraph "graph" specifies more than one of nodeName, serviceName, serviceUrl',
        ),
        (
            ig(
                {
                    "root": {
                        "routerType": "Splitter",
                        "steps": [{"serviceName": "a", "weight": 50}, {"serviceName": "b"}],
                    }
                }
            ),
            "spec.nodes[root].steps[1].weight",
            "InferenceGraph[graph] Node[root] Route[b] missing the 'Weight'",
        ),
        (
            ig(
                {
                    "root": {
                        "routerType": "Splitter",
                        "steps": [
                            {"serviceName": "a", "weight": 50},
                            {"serviceName": "b", "weight": 40},
                        ],
                    }
                }
            ),
            "spec.nodes[root].steps",
            "InferenceGraph[graph] Node[root] splitter node: the sum of traffic weights for all routing targets should be 100",
        ),
    ],
    ids=[
        "name",
        "root",
        "duplicate step",
        "no target",
        "two targets",
        "missing weight",
        "weights sum",
    ],
)
def test_inference_graph_refusals(obj: dict[str, Any], field: str, needle: str) -> None:
    with pytest.raises(FieldError) as info:
        validate_inference_graph(obj)
    assert info.value.field == field and needle in info.value.reason


def test_inference_graph_accepted() -> None:
    assert validate_inference_graph(ig(SEQ)) == []
    assert validate_inference_graph_update(ig(SEQ)) == []
    assert validate_inference_graph_update(ig({}, name="X", deletionTimestamp="t")) == []
    with pytest.raises(FieldError):
        validate_inference_graph_update(ig({}))


def lmc(name: str, uri: str = "gs://b/m", **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {"sourceModelUri": uri, "modelSize": "1Gi", "nodeGroups": ["ng"]},
        "status": status,
    }


def test_local_model_cache_unique_uri() -> None:
    with pytest.raises(FieldError) as info:
        validate_local_model_cache(lmc("a"), [lmc("b"), lmc("a")])
    assert (info.value.field, info.value.reason) == (
        "spec.sourceModelUri",
        "LocalModelCache b has the same StorageURI gs://b/m",
    )
    assert validate_local_model_cache(lmc("a"), [lmc("a"), lmc("b", "gs://b/other")]) == []


def test_local_model_cache_delete() -> None:
    cache = lmc(
        "llama",
        inferenceServices=[
            {"namespace": "ns1", "name": "free"},
            {"namespace": "ns2", "name": "user"},
        ],
        llmInferenceServices=[{"namespace": "ns3", "name": "gone"}],
    )
    labels = {
        ("ns1", "free"): {},
        ("ns2", "user"): {"internal.serving.kserve.io/localmodel": "llama"},
    }
    with pytest.raises(FieldError) as info:
        validate_local_model_cache_delete(
            cache, lambda ns, n: labels.get((ns, n)), lambda ns, n: None
        )
    assert info.value.reason == "LocalModelCache llama is being used by InferenceService user"
    labels[("ns2", "user")] = {"internal.serving.kserve.io/localmodel": "other"}
    assert (
        validate_local_model_cache_delete(
            cache, lambda ns, n: labels.get((ns, n)), lambda ns, n: None
        )
        == []
    )
    # a listed ISVC that cannot be found refuses (upstream returns the Get error)
    with pytest.raises(FieldError) as info:
        validate_local_model_cache_delete(cache, lambda ns, n: None)
    assert "not found" in info.value.reason
    # LLMInferenceService still labelled
    llm = {("ns3", "gone"): {"internal.serving.kserve.io/localmodel": "llama"}}
    with pytest.raises(FieldError) as info:
        validate_local_model_cache_delete(
            cache, lambda ns, n: labels.get((ns, n)), lambda ns, n: llm.get((ns, n))
        )
    assert info.value.reason == "LocalModelCache llama is being used by LLMInferenceService gone"


def test_local_model_namespace_cache() -> None:
    cache = {
        "metadata": {"name": "c", "namespace": "team"},
        "spec": {"sourceModelUri": "gs://b/m", "modelSize": "1Gi", "nodeGroups": ["ng", "missing"]},
        "status": {"inferenceServices": [{"namespace": "team", "name": "isvc"}]},
    }
    with pytest.raises(FieldError) as info:
        validate_local_model_namespace_cache(cache, {"ng"})
    assert info.value.field == "spec.nodeGroups[1]" and info.value.reason.startswith(
        "NodeGroup missing not found"
    )
    assert validate_local_model_namespace_cache(cache, {"ng", "missing"}) == []
    same_name_other_ns = {
        "internal.serving.kserve.io/localmodel": "c",
        "internal.serving.kserve.io/localmodel-namespace": "x",
    }
    assert (
        validate_local_model_namespace_cache_delete(cache, lambda ns, n: same_name_other_ns) == []
    )
    used = {
        "internal.serving.kserve.io/localmodel": "c",
        "internal.serving.kserve.io/localmodel-namespace": "team",
    }
    with pytest.raises(FieldError) as info:
        validate_local_model_namespace_cache_delete(cache, lambda ns, n: used)
    assert (
        info.value.reason
        == "LocalModelNamespaceCache team/c is being used by InferenceService team/isvc"
    )


def test_source_model_uri_immutable() -> None:
    from apis.serving.v1alpha1.local_model_cache_validation import (
        validate_source_model_uri_unchanged,
    )

    assert validate_source_model_uri_unchanged(lmc("a"), lmc("a")) == []
    with pytest.raises(FieldError) as info:
        validate_source_model_uri_unchanged(lmc("a", "gs://b/other"), lmc("a"))
    assert (info.value.field, info.value.reason) == (
        "spec.sourceModelUri",
        "StorageUri is immutable",
    )
