"""Predictor accessors (upstream predictor_test.go TestGetImplementations,
predictor_custom_test.go GetProtocol/GetStorageUri, predictor_model_test.go GetContainer/
GetProtocol, utils_test.go TestIsMMSPredictor) and the protocol ordering."""

from __future__ import annotations

from typing import Any

import pytest

from apis.serving.v1beta1 import PredictorSpec
from apis.serving.v1beta1.predictor_implementation import (
    CUSTOM,
    ProtocolVersion,
    get_confidential_spec,
    get_model_format,
    get_predictor_implementation,
    get_predictor_implementations,
    get_predictor_protocol,
    get_predictor_storage_spec,
    get_predictor_storage_uri,
    is_mms_predictor,
    protocol_version_int,
    protocol_version_priority,
    protocol_version_string,
    sort_protocols,
)


def pred(obj: dict[str, Any]) -> PredictorSpec:
    return PredictorSpec.model_validate(obj)


KC = "kserve-container"
TC = "transformer-container"


@pytest.mark.parametrize(
    ("spec", "kinds"),
    [
        ({"pytorch": {"runtimeVersion": "0.4.1"}}, ["pytorch"]),
        ({"pytorch": {"runtimeVersion": "0.4.1"}, "containers": [{"name": TC}]}, ["pytorch"]),
        (
            {"pytorch": {"runtimeVersion": "0.4.1"}, "tensorflow": {"runtimeVersion": "2.0.0"}},
            ["pytorch", "tensorflow"],
        ),
        ({"containers": [{"name": KC}, {"name": TC}]}, [CUSTOM]),
        ({"containers": [{"name": KC}, {"name": "another-container"}]}, [CUSTOM]),
        ({"containers": [{"name": KC}]}, [CUSTOM]),
        ({"containers": [{"name": "", "image": "image"}]}, [CUSTOM]),
        ({}, []),
        # upstream order: xgboost, pytorch, triton, sklearn, tensorflow, ..., model
        (
            {"model": {"modelFormat": {"name": "x"}}, "sklearn": {}, "xgboost": {}},
            ["xgboost", "sklearn", "model"],
        ),
        # a model plus a kserve-container: both
        (
            {"model": {"modelFormat": {"name": "x"}}, "containers": [{"name": KC}]},
            ["model", CUSTOM],
        ),
    ],
    ids=[
        "single-pytorch",
        "pytorch-with-transformer-container",
        "pytorch-and-tensorflow",
        "custom-with-transformer",
        "custom-with-other",
        "custom",
        "custom-unnamed",
        "none",
        "upstream-order",
        "model-and-custom",
    ],
)
def test_get_implementations(spec: dict[str, Any], kinds: list[str]) -> None:
    assert [i.kind for i in get_predictor_implementations(pred(spec))] == kinds


def _custom(*containers: dict[str, Any]) -> dict[str, Any]:
    return {"containers": list(containers)}


S3 = "s3://modelzoo"


@pytest.mark.parametrize(
    ("spec", "protocol"),
    [
        (_custom({"name": "", "env": [{"name": "STORAGE_URI", "value": S3}]}), "v1"),
        (
            _custom(
                {
                    "name": "",
                    "env": [
                        {"name": "STORAGE_URI", "value": S3},
                        {"name": "PROTOCOL", "value": "v2"},
                    ],
                }
            ),
            "v2",
        ),
        (
            _custom(
                {"name": KC, "env": [{"name": "STORAGE_URI", "value": S3}]},
                {"name": TC, "env": [{"name": "PROTOCOL", "value": "v2"}]},
            ),
            "v2",
        ),
        (
            _custom(
                {"name": KC, "env": [{"name": "PROTOCOL", "value": "v2"}]},
                {"name": TC, "env": [{"name": "STORAGE_URI", "value": S3}]},
            ),
            "v1",  # the transformer container decides once present
        ),
        ({"model": {"modelFormat": {"name": "tensorflow"}, "storageUri": S3}}, "v1"),
        ({"model": {"modelFormat": {"name": "tensorflow"}, "protocolVersion": "v2"}}, "v2"),
        ({"sklearn": {"protocolVersion": "grpc-v2"}}, "grpc-v2"),
        ({}, "v1"),
    ],
    ids=[
        "custom-default",
        "custom-v2",
        "collocation-protocol",
        "collocation-default",
        "model-default",
        "model-v2",
        "framework",
        "no-implementation",
    ],
)
def test_get_protocol(spec: dict[str, Any], protocol: str) -> None:
    assert get_predictor_protocol(pred(spec)) == protocol


@pytest.mark.parametrize(
    ("spec", "uri"),
    [
        (_custom({"name": KC, "env": [{"name": "STORAGE_URI", "value": S3}]}), S3),
        (_custom({"name": KC, "env": []}), None),
        (
            _custom({"name": "different-container", "env": [{"name": "STORAGE_URI", "value": S3}]}),
            None,
        ),
        ({"model": {"modelFormat": {"name": "x"}, "storageUri": S3}}, S3),
        ({"model": {"modelFormat": {"name": "x"}}}, None),
    ],
    ids=["custom-set", "custom-unset", "custom-other-name", "model", "model-unset"],
)
def test_get_storage_uri(spec: dict[str, Any], uri: str | None) -> None:
    assert get_predictor_storage_uri(pred(spec)) == uri


def test_model_container_and_storage_spec() -> None:
    p = pred(
        {
            "model": {
                "modelFormat": {"name": "tensorflow"},
                "storageUri": "s3://test/model",
                "name": "foo",
                "env": [{"name": "STORAGE_URI", "value": "s3://test/model"}],
                "storage": {"key": "k", "path": "/p"},
            }
        }
    )
    impl = get_predictor_implementation(p)
    assert impl is not None
    container = impl.container()
    assert container is not None
    assert container.to_dict() == {
        "name": "foo",
        "env": [{"name": "STORAGE_URI", "value": "s3://test/model"}],
    }
    storage = get_predictor_storage_spec(p)
    assert storage is not None and storage.storage_key == "k" and storage.path == "/p"
    fmt = get_model_format(p)
    assert fmt is not None and (fmt.name, fmt.version) == ("tensorflow", None)


def test_custom_container_and_model_format() -> None:
    p = pred(_custom({"name": TC}, {"name": KC, "image": "img"}))
    impl = get_predictor_implementation(p)
    assert impl is not None and impl.is_custom
    container = impl.container()
    assert container is not None and container.image == "img"
    assert get_model_format(p) is None
    assert get_model_format(pred({"sklearn": {}})) is not None


def test_confidential_spec() -> None:
    p = pred({"model": {"modelFormat": {"name": "x"}, "confidential": {"enabled": True}}})
    conf = get_confidential_spec(p)
    assert conf is not None and conf.enabled is True
    assert get_confidential_spec(pred(_custom({"name": KC}))) is None


RES = {"limits": {"cpu": "100m"}, "requests": {"cpu": "90m"}}


@pytest.mark.parametrize(
    ("spec", "mms"),
    [
        (
            {
                "model": {
                    "modelFormat": {"name": "sklearn"},
                    "image": "customImage:0.1.0",
                    "resources": RES,
                }
            },
            True,
        ),
        (
            {
                "model": {
                    "modelFormat": {"name": "sklearn"},
                    "storageUri": "gs://someUri",
                    "image": "customImage:0.1.0",
                    "resources": RES,
                }
            },
            False,
        ),
        ({"huggingface": {"runtimeVersion": "latest"}}, False),
        ({"model": {"modelFormat": {"name": "huggingface"}}}, False),
        (
            _custom(
                {
                    "name": KC,
                    "image": "some-image",
                    "env": [{"name": "MULTI_MODEL_SERVER", "value": "true"}],
                }
            ),
            True,
        ),
        (
            _custom(
                {
                    "name": KC,
                    "image": "some-image",
                    "env": [
                        {"name": "MULTI_MODEL_SERVER", "value": "false"},
                        {"name": "STORAGE_URI", "value": "gs://some-uri"},
                    ],
                }
            ),
            False,
        ),
        (_custom({"name": KC, "image": "some-image"}), False),
        ({"model": {"modelFormat": {"name": "sklearn"}, "storage": {"key": "k"}}}, False),
        (
            {"model": {"modelFormat": {"name": "sklearn"}}, "storageUris": [{"uri": "s3://a"}]},
            False,
        ),
    ],
    ids=[
        "ModelSpec",
        "ModelWithURI",
        "HuggingFaceModel",
        "HuggingFaceFormat",
        "CustomSpec",
        "CustomSpecWithURI",
        "CustomSpecWithoutURI",
        "ModelWithStorageSpec",
        "ModelWithStorageUris",
    ],
)
def test_is_mms_predictor(spec: dict[str, Any], mms: bool) -> None:
    assert is_mms_predictor(pred(spec)) is mms


@pytest.mark.parametrize(
    ("protocols", "priority"),
    [
        ([], ProtocolVersion.UNKNOWN),
        (None, ProtocolVersion.UNKNOWN),
        (["v2", "v1"], ProtocolVersion.V1),
        (["grpc-v2", "grpc-v1"], ProtocolVersion.GRPC_V1),
        (["grpc-v2", "v2"], ProtocolVersion.V2),
        (["bogus"], ProtocolVersion.UNKNOWN),
    ],
)
def test_protocol_version_priority(protocols: list[str] | None, priority: ProtocolVersion) -> None:
    assert protocol_version_priority(protocols) == priority


def test_protocol_order_and_strings() -> None:
    assert sort_protocols(["grpc-v2", None, "v2", "grpc-v1", "v1", "x"]) == [
        "v1",
        "v2",
        "grpc-v1",
        "grpc-v2",
        None,
        "x",
    ]
    for p in ("v1", "v2", "grpc-v1", "grpc-v2"):
        assert protocol_version_string(protocol_version_int(p)) == p
    assert protocol_version_string(ProtocolVersion.UNKNOWN) == ""
    assert protocol_version_string(42) == ""
