"""Deployment-mode resolution (upstream utils_test.go TestGetDeploymentMode, plus the order,
legacy and invalid cases of reference §2.1 step 2)."""

from __future__ import annotations

import pytest

from apis.serving.constants import DeploymentModeType
from apis.serving.v1beta1.configmap import DeployConfig, parse_inferenceservice_config
from apis.serving.v1beta1.deployment_mode import get_deployment_mode, parse_deployment_mode

ANN = "serving.kserve.io/deploymentMode"
STANDARD, KNATIVE, MODEL_MESH = (
    DeploymentModeType.STANDARD,
    DeploymentModeType.KNATIVE,
    DeploymentModeType.MODEL_MESH,
)


def cfg(mode: str) -> DeployConfig:
    return DeployConfig(defaultDeploymentMode=mode)


@pytest.mark.parametrize(
    ("status", "annotations", "config", "want"),
    [
        # upstream TestGetDeploymentMode
        ("", {ANN: "Standard"}, cfg(""), STANDARD),
        ("", {ANN: "Knative"}, cfg(""), KNATIVE),
        ("", {ANN: "ModelMesh"}, cfg(""), MODEL_MESH),
        ("", {}, cfg("Knative"), KNATIVE),
        ("RawDeployment", {}, cfg(""), STANDARD),
        ("Serverless", {}, cfg(""), KNATIVE),
        # status is sticky over annotation and config
        ("Standard", {ANN: "Knative"}, cfg("Knative"), STANDARD),
        ("Knative", {ANN: "Standard"}, cfg("Standard"), KNATIVE),
        ("ModelMesh", {ANN: "Standard"}, cfg("Standard"), MODEL_MESH),
        # annotation over config, legacy names mapped
        ("", {ANN: "RawDeployment"}, cfg("Knative"), STANDARD),
        ("", {ANN: "Serverless"}, cfg("Standard"), KNATIVE),
        (None, {ANN: "Standard"}, cfg("Knative"), STANDARD),
        # invalid annotation -> config default
        ("", {ANN: "standard"}, cfg("Knative"), KNATIVE),
        ("", {ANN: "Raw"}, cfg("Standard"), STANDARD),
        ("", {ANN: ""}, cfg("Standard"), STANDARD),
        # no annotations at all
        ("", None, cfg("Standard"), STANDARD),
        ("", {"other": "x"}, cfg("ModelMesh"), MODEL_MESH),
        # a status value naming no mode is ignored
        ("Bogus", {ANN: "Standard"}, cfg("Knative"), STANDARD),
        ("Bogus", {}, cfg("Knative"), KNATIVE),
        # no deploy key / no config: Knative (what upstream reconciles an empty mode as)
        ("", {}, cfg(""), KNATIVE),
        ("", {}, None, KNATIVE),
    ],
)
def test_get_deployment_mode(
    status: str | None,
    annotations: dict[str, str] | None,
    config: DeployConfig | None,
    want: DeploymentModeType,
) -> None:
    got = get_deployment_mode(status, annotations, config)
    assert got is want
    assert got not in (
        DeploymentModeType.LEGACY_RAW_DEPLOYMENT,
        DeploymentModeType.LEGACY_SERVERLESS,
    )


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("Serverless", KNATIVE),
        ("RawDeployment", STANDARD),
        ("Standard", STANDARD),
        ("Knative", KNATIVE),
    ],
)
def test_config_default_from_the_parsed_configmap(raw: str, want: DeploymentModeType) -> None:
    config = parse_inferenceservice_config({"deploy": f'{{"defaultDeploymentMode": "{raw}"}}'})
    assert get_deployment_mode("", {}, config.deploy) is want


@pytest.mark.parametrize(
    ("value", "want"),
    [
        ("", STANDARD),
        (None, STANDARD),
        ("RawDeployment", STANDARD),
        ("Serverless", KNATIVE),
        ("Standard", STANDARD),
        ("Knative", KNATIVE),
        ("ModelMesh", MODEL_MESH),
        ("knative", None),
    ],
)
def test_parse_deployment_mode(value: str | None, want: DeploymentModeType | None) -> None:
    assert parse_deployment_mode(value) is want
