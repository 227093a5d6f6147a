"""Runtime/InferenceService merge rules (upstream utils_test.go: TestMergeRuntimeContainers,
TestMergePodSpec, TestMergeServingRuntimeAndInferenceServiceSpecs, TestReplacePlaceholders,
TestUpdateImageTag, TestAddEnvVarToPodSpec) plus the container merge they rest on (the
strategic merge itself: test_strategic_merge.py). Expected values were checked against
apimachinery's strategicpatch (Go)."""

from __future__ import annotations

from typing import Any

import pytest

from apis.serving.v1alpha1 import ServingRuntimePodSpec
from controllers.inferenceservice.components.runtime_merge import (
    PlaceholderError,
    add_env_var,
    merge_pod_spec,
    merge_runtime_containers,
    replace_placeholders,
    update_image_tag,
)
from controllers.storage.container_merge import go_omitempty_container, merge_container_with_patch

J = dict[str, Any]


def test_merge_runtime_containers_basic() -> None:
    base = {
        "name": "kserve-container",
        "image": "default-image",
        "args": ["--foo=bar", "--test=dummy"],
        "env": [{"name": "PORT", "value": "8080"}, {"name": "PORT2", "value": "8081"}],
        "resources": {
            "limits": {"cpu": "1", "memory": "2Gi"},
            "requests": {"cpu": "1", "memory": "2Gi"},
        },
    }
    override = {
        "args": ["--new-arg=baz"],
        "env": [{"name": "PORT2", "value": "8082"}, {"name": "Some", "value": "Var"}],
        "resources": {"limits": {"cpu": "2", "memory": "4Gi"}},
    }
    assert merge_runtime_containers(base, override) == {
        "name": "kserve-container",
        "image": "default-image",
        "args": ["--foo=bar", "--test=dummy", "--new-arg=baz"],
        "env": [
            {"name": "PORT", "value": "8080"},
            {"name": "PORT2", "value": "8082"},
            {"name": "Some", "value": "Var"},
        ],
        "resources": {
            "limits": {"cpu": "2", "memory": "4Gi"},
            "requests": {"cpu": "1", "memory": "2Gi"},
        },
    }


@pytest.mark.parametrize(
    ("base", "overlay", "expected"),
    [
        # the overlay's name wins when set; an empty one keeps the runtime's
        ({"name": "kserve-container"}, {"name": ""}, {"name": "kserve-container"}),
        ({"name": "kserve-container"}, {"name": "foo"}, {"name": "foo"}),
        # empty Go value fields do not override (omitempty)
        (
            {"name": "c", "image": "rt:1", "env": [{"name": "A", "value": "x"}]},
            {"image": "", "env": [{"name": "A", "value": ""}], "args": []},
            {"name": "c", "image": "rt:1", "env": [{"name": "A", "value": "x"}]},
        ),
        # value vs valueFrom: the overlay's choice wins
        (
            {"name": "c", "env": [{"name": "A", "value": "x"}]},
            {"env": [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]},
            {
                "name": "c",
                "env": [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
            },
        ),
        (
            {
                "name": "c",
                "env": [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
            },
            {"env": [{"name": "A", "value": "y"}]},
            {"name": "c", "env": [{"name": "A", "value": "y"}]},
        ),
        # ports by containerPort, volumeMounts by mountPath, probes replaced field-wise
        (
            {
                "name": "c",
                "ports": [{"containerPort": 8080, "name": "http1"}, {"containerPort": 9000}],
                "volumeMounts": [{"name": "a", "mountPath": "/a"}],
                "readinessProbe": {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 5},
            },
            {
                "ports": [
                    {"containerPort": 8081, "name": "grpc"},
                    {"containerPort": 8080, "protocol": "TCP"},
                ],
                "volumeMounts": [
                    {"name": "b", "mountPath": "/a"},
                    {"name": "c", "mountPath": "/c"},
                ],
                "readinessProbe": {"tcpSocket": {"port": 8080}},
            },
            {
                "name": "c",
                "ports": [
                    {"containerPort": 8081, "name": "grpc"},
                    {"containerPort": 8080, "name": "http1", "protocol": "TCP"},
                    {"containerPort": 9000},
                ],
                "volumeMounts": [
                    {"name": "b", "mountPath": "/a"},
                    {"name": "c", "mountPath": "/c"},
                ],
                "readinessProbe": {
                    "httpGet": {"path": "/", "port": 8080},
                    "periodSeconds": 5,
                    "tcpSocket": {"port": 8080},
                },
            },
        ),
        # command (no strategy) is replaced; securityContext merged
        (
            {
                "name": "c",
                "command": ["a", "b"],
                "securityContext": {"runAsUser": 1, "privileged": False},
            },
            {"command": ["z"], "securityContext": {"runAsUser": 2}},
            {
                "name": "c",
                "command": ["z"],
                "securityContext": {"runAsUser": 2, "privileged": False},
            },
        ),
    ],
    ids=[
        "empty-name",
        "named",
        "omitempty",
        "valueFrom-wins",
        "value-wins",
        "lists-by-key",
        "replace-and-merge",
    ],
)
def test_merge_container_with_patch(base: J, overlay: J, expected: J) -> None:
    assert merge_container_with_patch(base, overlay) == expected


def test_merge_runtime_containers_without_args() -> None:
    assert merge_runtime_containers({"name": "c", "args": []}, {"name": ""}) == {"name": "c"}


def _rt_pod(obj: J) -> ServingRuntimePodSpec:
    return ServingRuntimePodSpec.model_validate({"containers": [], **obj})


def PVC(name: str, claim: str) -> J:
    return {"name": name, "persistentVolumeClaim": {"claimName": claim}}


@pytest.mark.parametrize(
    ("runtime", "predictor", "expected"),
    [
        (
            {
                "nodeSelector": {"foo": "bar", "aaa": "bbb"},
                "tolerations": [{"key": "key1", "operator": "Exists", "effect": "NoSchedule"}],
                "volumes": [PVC("foo", "bar"), PVC("aaa", "bbb")],
                "imagePullSecrets": [{"name": "foo"}],
            },
            {
                "nodeSelector": {"foo": "baz", "xxx": "yyy"},
                "serviceAccountName": "testAccount",
                "volumes": [PVC("foo", "baz"), PVC("xxx", "yyy")],
                "imagePullSecrets": [{"name": "foo"}, {"name": "bar"}],
            },
            {
                "nodeSelector": {"foo": "baz", "xxx": "yyy", "aaa": "bbb"},
                "tolerations": [{"key": "key1", "operator": "Exists", "effect": "NoSchedule"}],
                "serviceAccountName": "testAccount",
                "volumes": [PVC("foo", "baz"), PVC("xxx", "yyy"), PVC("aaa", "bbb")],
                "imagePullSecrets": [{"name": "foo"}, {"name": "bar"}],
            },
        ),
        (
            {"nodeSelector": {"foo": "bar"}, "schedulerName": "custom-scheduler"},
            {"serviceAccountName": "testAccount"},
            {
                "nodeSelector": {"foo": "bar"},
                "serviceAccountName": "testAccount",
                "schedulerName": "custom-scheduler",
            },
        ),
        (
            {"schedulerName": "runtime-scheduler"},
            {"schedulerName": "isvc-scheduler"},
            {"schedulerName": "isvc-scheduler"},
        ),
        (
            {"resourceClaims": [{"name": "gpu-resource", "resourceClaimName": "gpu-l4-claim"}]},
            {},
            {"resourceClaims": [{"name": "gpu-resource", "resourceClaimName": "gpu-l4-claim"}]},
        ),
        (
            {
                "resourceClaims": [
                    {"name": "gpu-resource", "resourceClaimTemplateName": "gpu-claim-template"}
                ]
            },
            {},
            {
                "resourceClaims": [
                    {"name": "gpu-resource", "resourceClaimTemplateName": "gpu-claim-template"}
                ]
            },
        ),
        (
            {},
            {"resourceClaims": [{"name": "gpu-hardware", "resourceClaimName": "gpu-l4-claim"}]},
            {"resourceClaims": [{"name": "gpu-hardware", "resourceClaimName": "gpu-l4-claim"}]},
        ),
        (
            {"resourceClaims": [{"name": "gpu-a", "resourceClaimName": "claim-a"}]},
            {"resourceClaims": [{"name": "gpu-b", "resourceClaimName": "claim-b"}]},
            {
                "resourceClaims": [
                    {"name": "gpu-b", "resourceClaimName": "claim-b"},
                    {"name": "gpu-a", "resourceClaimName": "claim-a"},
                ]
            },
        ),
        (
            {"resourceClaims": [{"name": "gpu", "resourceClaimName": "runtime-claim"}]},
            {"resourceClaims": [{"name": "gpu", "resourceClaimName": "isvc-claim"}]},
            {"resourceClaims": [{"name": "gpu", "resourceClaimName": "isvc-claim"}]},
        ),
        # tolerations have no merge key: the predictor's list replaces the runtime's;
        # affinity merges field-wise; the runtime's labels/annotations are not pod fields
        (
            {
                "tolerations": [{"key": "a", "operator": "Exists"}],
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}
                    }
                },
                "labels": {"x": "y"},
                "annotations": {"p": "q"},
                "hostIPC": True,
            },
            {
                "tolerations": [{"key": "b", "operator": "Exists"}],
                "affinity": {"podAntiAffinity": {}},
                "initContainers": [{"name": "init", "image": "i"}],
                "automountServiceAccountToken": False,
            },
            {
                "tolerations": [{"key": "b", "operator": "Exists"}],
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}
                    },
                    "podAntiAffinity": {},
                },
                "initContainers": [{"name": "init", "image": "i"}],
                "automountServiceAccountToken": False,
            },
        ),
    ],
    ids=[
        "BasicMerge",
        "MergeWithSchedulerName",
        "OverrideSchedulerName",
        "RuntimeOnlyResourceClaims",
        "RuntimeOnlyResourceClaimTemplate",
        "IsvcOnlyResourceClaims",
        "BothDistinctResourceClaims",
        "OverrideSameNameResourceClaims",
        "ReplaceTolerationsMergeAffinity",
    ],
)
def test_merge_pod_spec(runtime: J, predictor: J, expected: J) -> None:
    assert merge_pod_spec(_rt_pod(runtime), predictor) == expected


def test_go_omitempty_container() -> None:
    assert go_omitempty_container(
        {
            "name": "",
            "image": "",
            "stdin": False,
            "args": [],
            "resources": {},
            "env": [{"name": "A", "value": ""}],
        }
    ) == {"name": "", "env": [{"name": "A"}]}


META = {"name": "bar", "namespace": "ns", "labels": {"modelDir": "/mnt/models"}, "generation": 4}


@pytest.mark.parametrize(
    ("container", "meta", "expected"),
    [
        (
            {
                "name": "kserve-container",
                "image": "default-image",
                "args": ["--foo={{.Name}}", "--test=dummy", "--new-arg=baz"],
                "env": [
                    {"name": "PORT", "value": "8080"},
                    {"name": "MODELS_DIR", "value": "{{.Labels.modelDir}}"},
                ],
                "resources": {"limits": {"cpu": "2", "memory": "4Gi"}},
            },
            META,
            {
                "name": "kserve-container",
                "image": "default-image",
                "args": ["--foo=bar", "--test=dummy", "--new-arg=baz"],
                "env": [
                    {"name": "PORT", "value": "8080"},
                    {"name": "MODELS_DIR", "value": "/mnt/models"},
                ],
                "resources": {"limits": {"cpu": "2", "memory": "4Gi"}},
            },
        ),
        # spaces, trim markers, comments, namespace/generation, missing keys print nothing
        (
            {
                "name": "c",
                "args": [
                    "{{ .Namespace }}/{{.Name}}",
                    "x {{- .Name}}",
                    "{{/* c */}}y",
                    "{{.Generation}}",
                    "[{{.Annotations.none}}]",
                    "{{.Labels.no.deeper}}",
                ],
            },
            META,
            {"name": "c", "args": ["ns/bar", "xbar", "y", "4", "[]", ""]},
        ),
        # html/template escaping of the values; a whole map prints Go-style
        (
            {"name": "c", "args": ["{{.Annotations.a}}", "{{.Labels}}"]},
            {"name": "n", "annotations": {"a": "x&<>\"'+"}, "labels": {"b": "2", "a": "1"}},
            {"name": "c", "args": ["x&amp;&lt;&gt;&#34;&#39;&#43;", "map[a:1 b:2]"]},
        ),
        # a value is inserted into the JSON text: a backslash sequence is decoded
        (
            {"name": "c", "args": ["{{.Labels.x}}"]},
            {"name": "n", "labels": {"x": "a\\nb"}},
            {"name": "c", "args": ["a\nb"]},
        ),
        # no template: unchanged
        ({"name": "c", "args": ["{plain}"]}, META, {"name": "c", "args": ["{plain}"]}),
    ],
    ids=["ReplaceArgsAndEnvPlaceholders", "actions", "escaping", "json-level", "no-template"],
)
def test_replace_placeholders(container: J, meta: J, expected: J) -> None:
    assert replace_placeholders(container, meta) == expected


@pytest.mark.parametrize(
    "arg",
    [
        "{{.Bogus}}",  # can't evaluate field Bogus in type v1.ObjectMeta
        "{{.Name.x}}",  # can't evaluate field x in type string
        "{{.Name",  # unclosed
        '{{ index .Labels "a" }}',  # quotes are \" in the JSON text: a parse error upstream
        "{{.Labels.x}}",  # renders a\qb: invalid JSON escape
    ],
)
def test_replace_placeholders_errors(arg: str) -> None:
    with pytest.raises(PlaceholderError):
        replace_placeholders({"name": "c", "args": [arg]}, {"name": "n", "labels": {"x": "a\\qb"}})


CPU = {"limits": {"cpu": "2", "memory": "4Gi"}, "requests": {"cpu": "1", "memory": "2Gi"}}
GPU = {"limits": {"nvidia.com/gpu": "1"}}
REQ = {"requests": {"cpu": "1", "memory": "2Gi"}}


@pytest.mark.parametrize(
    ("image", "resources", "version", "server_type", "expected"),
    [
        ("tfserving", CPU, "2.6.2", "tensorflow-serving", "tfserving:2.6.2"),
        ("tfserving:1.14.0", GPU, None, "tensorflow-serving", "tfserving:1.14.0-gpu"),
        (
            "huggingfaceserver:1.14.0",
            GPU,
            None,
            "huggingfaceserver",
            "huggingfaceserver:1.14.0-gpu",
        ),
        (
            "localhost:8888/tfserving:1.14.0",
            GPU,
            None,
            "tensorflow-serving",
            "localhost:8888/tfserving:1.14.0-gpu",
        ),
        (
            "localhost:8888/tfserving",
            CPU,
            "2.6.2",
            "tensorflow-serving",
            "localhost:8888/tfserving:2.6.2",
        ),
        (
            "localhost:8888/tfserving:1.2.3",
            CPU,
            "2.6.2",
            "tensorflow-serving",
            "localhost:8888/tfserving:2.6.2",
        ),
        (
            "huggingfaceserver@sha256:abcdef1234567890",
            {},
            "2.6.2",
            "tensorflow-serving",
            "huggingfaceserver@sha256:abcdef1234567890",
        ),
        ("vllm/vllm-openai:latest", GPU, None, "vllmserver", "vllm/vllm-openai:latest"),
        ("vllm/vllm-openai:latest", CPU, None, "vllmserver", "vllm/vllm-openai-cpu:latest"),
        (
            "localhost:8888/vllm/vllm-openai:v0.5.0",
            REQ,
            None,
            "vllmserver",
            "localhost:8888/vllm/vllm-openai-cpu:v0.5.0",
        ),
        ("vllm/vllm-openai-cpu:v0.5.0", REQ, None, "vllmserver", "vllm/vllm-openai-cpu:v0.5.0"),
        ("vllm/vllm-openai", REQ, None, "vllmserver", "vllm/vllm-openai"),
        ("vllm/vllm-openai:latest", REQ, "v0.5.0", "vllmserver", "vllm/vllm-openai:v0.5.0"),
        ("vllm/vllm-openai:latest", REQ, None, "", "vllm/vllm-openai:latest"),
        ("torch:0.1-gpu", GPU, None, "torchserve", "torch:0.1-gpu"),
        (
            "torch:0.1",
            {"limits": {"nvidia.com/mig-1g.5gb": "1"}},
            None,
            "torchserve",
            "torch:0.1-gpu",
        ),
        ("sk:1", GPU, None, "sklearnserver", "sk:1"),
    ],
    ids=[
        "UpdateRuntimeVersion",
        "UpdateTFServingGPUImageTag",
        "UpdateHuggingFaceServerGPUImageTag",
        "UpdateGPUImageTagWithProxy",
        "UpdateRuntimeVersionWithProxy",
        "UpdateRuntimeVersionWithProxyAndTag",
        "DoNotUpdateWhenDigestSpecified",
        "VLLMServerGPUKeepsDefaultImage",
        "VLLMServerCPURewritesImageName",
        "VLLMServerCPUWithProxyRewritesImageName",
        "VLLMServerCPUSkipsWhenImageNameAlreadyCpu",
        "VLLMServerCPUSkipsWhenImageHasNoTag",
        "VLLMServerRuntimeVersionTakesPrecedence",
        "UnknownRuntimeWithoutAnnotationIsLeftAlone",
        "GPUSuffixOnce",
        "MIGCountsAsGPU",
        "OtherServerNoGPUTag",
    ],
)
def test_update_image_tag(
    image: str, resources: J, version: str | None, server_type: str, expected: str
) -> None:
    container = {"name": "kserve-container", "image": image, "resources": resources}
    assert update_image_tag(container, version, server_type)["image"] == expected
    assert container["image"] == image


@pytest.mark.parametrize(
    ("containers", "target", "name", "value", "found", "expected_env"),
    [
        (
            [
                {
                    "name": "test-container",
                    "env": [{"name": "EXISTING_VAR", "value": "existing_value"}],
                }
            ],
            "test-container",
            "NEW_ENV",
            "new_value",
            True,
            [
                {"name": "EXISTING_VAR", "value": "existing_value"},
                {"name": "NEW_ENV", "value": "new_value"},
            ],
        ),
        (
            [
                {
                    "name": "test-container",
                    "env": [{"name": "EXISTING_VAR", "value": "existing_value"}],
                }
            ],
            "test-container",
            "EXISTING_VAR",
            "updated_value",
            True,
            [{"name": "EXISTING_VAR", "value": "updated_value"}],
        ),
        (
            [
                {
                    "name": "target-container",
                    "env": [{"name": "EXISTING_VAR", "value": "existing_value"}],
                },
                {
                    "name": "test-container",
                    "env": [{"name": "EXISTING_VAR", "value": "existing_value"}],
                },
            ],
            "target-container",
            "EXISTING_VAR",
            "updated_value",
            True,
            [{"name": "EXISTING_VAR", "value": "updated_value"}],
        ),
        (
            [
                {
                    "name": "wrong-container",
                    "env": [{"name": "EXISTING_VAR", "value": "existing_value"}],
                }
            ],
            "test-container",
            "EXISTING_VAR",
            "updated_value",
            False,
            [{"name": "EXISTING_VAR", "value": "existing_value"}],
        ),
    ],
    ids=[
        "addNewEnv",
        "updateExistingEnv",
        "updateExistingEnvWithSpecificContainer",
        "AddEnvToWrongContainer",
    ],
)
def test_add_env_var(
    containers: list[J], target: str, name: str, value: str, found: bool, expected_env: list[J]
) -> None:
    pod = {"containers": containers}
    assert add_env_var(pod, target, name, value) is found
    assert pod["containers"][0]["env"] == expected_env
    if len(containers) > 1:
        assert pod["containers"][1]["env"] == [{"name": "EXISTING_VAR", "value": "existing_value"}]
