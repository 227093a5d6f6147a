"""controllers.reconcilers.modelconfig: upstream ``pkg/modelconfig/configmap_test.go``
(Process add/update 5, delete 5, both 1, CreateEmptyModelConfig) and ``utils_test.go``
TestIsMMSPredictor (6). Upstream compares after sorting because its output order is random;
ours is sorted by modelName, so the exact text is asserted."""

from __future__ import annotations

from typing import Any

import pytest

from apis.serving.v1alpha1.trained_model import TrainedModel
from apis.serving.v1beta1.inference_service import InferenceService
from apis.serving.v1beta1.predictor import PredictorSpec
from controllers.reconcilers.modelconfig import (
    ModelConfig,
    ModelConfigError,
    create_empty_model_config,
    decode_model_configs,
    encode_model_configs,
    is_mms_predictor,
    model_config_name,
    process_model_configs,
)

M1 = '{"modelName":"model1","modelSpec":{"storageUri":"s3//model1","framework":"framework1","memory":"0"}}'  # noqa: E501
M2 = '{"modelName":"model2","modelSpec":{"storageUri":"s3//model2","framework":"framework2","memory":"0"}}'  # noqa: E501
NEW_M1 = '{"modelName":"model1","modelSpec":{"storageUri":"s3//new-model1","framework":"new-framework1","memory":"0"}}'  # noqa: E501
M3 = '{"modelName":"model3","modelSpec":{"storageUri":"s3//model3","framework":"framework3","memory":"0"}}'  # noqa: E501


def cfg(name: str, uri: str, framework: str) -> ModelConfig:
    return ModelConfig(name, uri, framework)


ADD_CASES: list[tuple[str, list[ModelConfig], str | None, str]] = [
    ("add to nil data", [cfg("model1", "s3//model1", "framework1")], None, f"[{M1}]"),
    ("add to empty data", [cfg("model1", "s3//model1", "framework1")], "", f"[{M1}]"),
    ("add to empty data value", [cfg("model1", "s3//model1", "framework1")], "[]", f"[{M1}]"),
    ("add to non-empty data", [cfg("model2", "s3//model2", "framework2")], f"[{M1}]",
     f"[{M1},{M2}]"),
    ("update", [cfg("model1", "s3//new-model1", "new-framework1")], f"[{M1},{M2}]",
     f"[{NEW_M1},{M2}]"),
    # order is by name whatever the input order
    ("add sorts", [cfg("model1", "s3//model1", "framework1")], f"[{M2}]", f"[{M1},{M2}]"),
]


@pytest.mark.parametrize(("case", "updated", "existing", "want"), ADD_CASES,
                         ids=[c[0] for c in ADD_CASES])
def test_process_add_or_update(
    case: str, updated: list[ModelConfig], existing: str | None, want: str
) -> None:
    assert process_model_configs(existing, updated, config_map_name="test-config") == want


DELETE_CASES: list[tuple[str, str | None, str]] = [
    ("delete nil data", None, "[]"),
    ("delete empty data", "", "[]"),
    ("delete empty data value", "[]", "[]"),
    ("delete filename non-exist", f"[{M2}]", f"[{M2}]"),
    ("delete filename exist", f"[{M1}]", "[]"),
]


@pytest.mark.parametrize(("case", "existing", "want"), DELETE_CASES,
                         ids=[c[0] for c in DELETE_CASES])
def test_process_delete(case: str, existing: str | None, want: str) -> None:
    assert process_model_configs(existing, deleted=["model1"]) == want


def test_process() -> None:
    got = process_model_configs(
        f"[{M1},{M2}]",
        [cfg("model1", "s3//new-model1", "new-framework1"), cfg("model3", "s3//model3",
                                                                 "framework3")],
        ["model2"],
    )
    assert got == f"[{NEW_M1},{M3}]"


def test_process_nothing_to_do_writes_nothing() -> None:
    assert process_model_configs("not even json") is None


def test_create_empty_model_config() -> None:
    isvc = InferenceService.model_validate(
        {
            "metadata": {
                "name": "foo",
                "namespace": "default",
                "uid": "u-1",
                "labels": {"team": "a"},
                "annotations": {"serving.kserve.io/deploymentMode": "ModelMesh"},
            },
            "spec": {"predictor": {"tensorflow": {"storageUri": "gs://testbucket/testmodel"}}},
        }
    )
    assert model_config_name("foo") == "modelconfig-foo-0"
    assert create_empty_model_config(isvc).to_dict() == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "modelconfig-foo-0",
            "namespace": "default",
            "labels": {"team": "a"},
            "ownerReferences": [
                {
                    "apiVersion": "serving.kserve.io/v1beta1",
                    "kind": "InferenceService",
                    "name": "foo",
                    "uid": "u-1",
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "data": {"models.json": "[]"},
    }


def test_encoding_is_go_json() -> None:
    got = encode_model_configs(
        [
            ModelConfig("b", "s3://x?a=1&b=<2>", "f\u2028", "1024Mi"),
            ModelConfig("a", "tab\there \"q\" \\ \b", "ünï", "0.5Gi"),
        ]
    )
    # Go 1.22+ writes \b and \f as short escapes, not \u0008/\u000c
    assert got == (
        '[{"modelName":"a","modelSpec":{"storageUri":"tab\\there \\"q\\" \\\\ \\b",'
        '"framework":"ünï","memory":"512Mi"}},'
        '{"modelName":"b","modelSpec":{"storageUri":"s3://x?a=1\\u0026b=\\u003c2\\u003e",'
        '"framework":"f\\u2028","memory":"1Gi"}}]'
    )


DECODE_CASES: list[tuple[str, str, dict[str, ModelConfig] | str]] = [
    ("null", "null", {}),
    ("case-insensitive fields, memory canonical",
     '[{"ModelName":"m","MODELSPEC":{"storageuri":"s3://a","framework":"sk","memory":"1000M"}}]',
     {"m": ModelConfig("m", "s3://a", "sk", "1G")}),
    ("numeric memory", '[{"modelName":"m","modelSpec":{"memory":2048}}]',
     {"m": ModelConfig("m", "", "", "2048")}),
    ("duplicate names: the last wins",
     '[{"modelName":"m","modelSpec":{"framework":"a"}},'
     '{"modelName":"m","modelSpec":{"framework":"b"}}]',
     {"m": ModelConfig("m", "", "b", "0")}),
    ("not an array", '{"modelName":"m"}',
     "json: cannot unmarshal object into Go value of type modelconfig.ModelConfigs"),
    ("wrong type", '[{"modelName":1}]',
     "json: cannot unmarshal number into Go struct field ModelConfig.modelName of type string"),
    ("bad memory", '[{"modelName":"m","modelSpec":{"memory":"lots"}}]',
     "quantities must match the regular expression"),
    ("not json", "[", "invalid models.json"),
]


@pytest.mark.parametrize(("case", "text", "want"), DECODE_CASES, ids=[c[0] for c in DECODE_CASES])
def test_decode_model_configs(case: str, text: str, want: dict[str, ModelConfig] | str) -> None:
    if isinstance(want, str):
        with pytest.raises(ModelConfigError) as e:
            decode_model_configs(text)
        assert want in str(e.value)
    else:
        assert decode_model_configs(text) == want


def test_process_reports_the_configmap_on_bad_text() -> None:
    with pytest.raises(ModelConfigError) as e:
        process_model_configs("{}", deleted=["m"], config_map_name="modelconfig-foo-0")
    assert str(e.value) == (
        "while updating modelconfig-foo-0 err json: cannot unmarshal object into Go value of "
        "type modelconfig.ModelConfigs"
    )


def test_model_config_from_trained_model() -> None:
    tm = TrainedModel.model_validate(
        {
            "metadata": {"name": "tm1", "namespace": "default"},
            "spec": {
                "inferenceService": "foo",
                "model": {"storageUri": "gs://b/m", "framework": "sklearn", "memory": "1Gi"},
            },
        }
    )
    entry = ModelConfig.from_trained_model(tm)
    assert entry == ModelConfig("tm1", "gs://b/m", "sklearn", "1Gi")
    assert process_model_configs("[]", [entry]) == (
        '[{"modelName":"tm1","modelSpec":{"storageUri":"gs://b/m","framework":"sklearn",'
        '"memory":"1Gi"}}]'
    )


MMS_RESOURCES = {"limits": {"cpu": "100m"}}
MMS_CASES: list[tuple[str, dict[str, Any], bool]] = [
    ("ModelSpec", {"model": {"modelFormat": {"name": "sklearn"}, "image": "customImage:0.1.0",
                             "resources": MMS_RESOURCES}}, True),
    ("ModelWithURI", {"model": {"modelFormat": {"name": "sklearn"}, "storageUri": "gs://someUri",
                                "image": "customImage:0.1.0", "resources": MMS_RESOURCES}},
     False),
    ("HuggingFaceModel", {"huggingface": {"runtimeVersion": "latest"}}, False),
    ("CustomSpec", {"containers": [{"name": "kserve-container", "image": "some-image",
                                    "env": [{"name": "MULTI_MODEL_SERVER", "value": "true"}]}]},
     True),
    ("CustomSpecWithURI", {"containers": [{"name": "kserve-container", "image": "some-image",
                                           "env": [{"name": "MULTI_MODEL_SERVER",
                                                    "value": "false"},
                                                   {"name": "STORAGE_URI",
                                                    "value": "gs://some-uri"}]}]}, False),
    ("CustomSpecWithoutURI", {"containers": [{"name": "kserve-container", "image": "some-image"}]},
     False),
    # beyond upstream's table
    ("huggingface model format", {"model": {"modelFormat": {"name": "huggingface"}}}, False),
    ("storage spec", {"sklearn": {"storage": {"key": "k", "path": "p"}}}, False),
    ("storageUris", {"model": {"modelFormat": {"name": "sklearn"}},
                     "storageUris": [{"uri": "s3://a", "mountPath": "/mnt/a"}]}, False),
    ("empty storageUri still counts", {"sklearn": {"storageUri": ""}}, False),
]


@pytest.mark.parametrize(("case", "predictor", "want"), MMS_CASES, ids=[c[0] for c in MMS_CASES])
def test_is_mms_predictor(case: str, predictor: dict[str, Any], want: bool) -> None:
    assert is_mms_predictor(PredictorSpec.model_validate(predictor)) is want
