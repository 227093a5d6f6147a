"""apis.serving.v1beta1: samples round-trip; embedded core objects are lightkube objects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube.models import apps_v1, core_v1, meta_v1
from pydantic import ValidationError

from apis.serving.v1beta1 import (
    FRAMEWORK_FIELDS,
    InferenceService,
    ModelSpec,
    PredictorSpec,
    SKLearnSpec,
)

SAMPLES = sorted((Path(__file__).resolve().parents[2] / "config" / "samples").glob("*.yaml"))
ISVC_SAMPLES = [
    p for p in SAMPLES if yaml.safe_load(p.read_text()).get("kind") == "InferenceService"
]


@pytest.mark.parametrize("path", ISVC_SAMPLES, ids=[p.stem for p in ISVC_SAMPLES])
def test_sample_round_trip(path: Path) -> None:
    obj = yaml.safe_load(path.read_text())
    isvc = InferenceService.model_validate(obj)
    assert isvc.to_kube() == obj
    assert InferenceService.model_validate(isvc.to_kube()) == isvc


def test_by_field_name_and_alias() -> None:
    a = PredictorSpec.model_validate({"minReplicas": 2, "sklearn": {"storageUri": "s3://m"}})
    b = PredictorSpec(min_replicas=2, sklearn=SKLearnSpec(storage_uri="s3://m"))
    assert a == b
    assert a.to_kube() == {"minReplicas": 2, "sklearn": {"storageUri": "s3://m"}}
    assert list(a.frameworks()) == ["sklearn"]
    assert len(FRAMEWORK_FIELDS) == 11


def test_inline_container_is_assembled_from_shared_objects() -> None:
    m = ModelSpec.model_validate(
        {
            "modelFormat": {"name": "sklearn"},
            "storageUri": "gs://x",
            "env": [{"name": "A", "value": "1"}],
            "resources": {"limits": {"cpu": "1"}},
        }
    )
    c = m.container(name="kserve-container", image="kserve/sklearnserver:latest")
    assert isinstance(c, core_v1.Container)
    assert c.env is m.env and c.resources is m.resources
    assert c.name == "kserve-container"


def test_podspec_lands_in_a_deployment_unconverted() -> None:
    p = PredictorSpec.model_validate(
        {
            "containers": [{"name": "kserve-container", "image": "img"}],
            "volumes": [{"name": "v", "emptyDir": {}}],
            "serviceAccountName": "sa",
            "minReplicas": 1,
        }
    )
    pod = p.pod_spec()
    dep = apps_v1.Deployment(
        metadata=meta_v1.ObjectMeta(name="d"),
        spec=apps_v1.DeploymentSpec(
            selector=meta_v1.LabelSelector(matchLabels={"app": "d"}),
            template=core_v1.PodTemplateSpec(spec=pod),
        ),
    )
    assert p.containers is not None and p.volumes is not None
    assert dep.spec is not None and dep.spec.template.spec is not None
    assert dep.spec.template.spec.containers[0] is p.containers[0]
    assert pod.volumes is not None and pod.volumes[0] is p.volumes[0]
    assert pod.serviceAccountName == "sa"


@pytest.mark.parametrize(
    ("spec", "where"),
    [
        ({"predictor": {"minReplicas": "one"}}, "minReplicas"),
        ({"predictor": {"name": "Bad_Name"}}, "name"),
        ({"predictor": {"logger": {"mode": "everything"}}}, "mode"),
        ({"predictor": {"storageUris": []}}, "storageUris"),
        ({"predictor": {"storageUris": [{"uri": "s3://m", "mountPath": "rel"}]}}, "mountPath"),
        ({"predictor": {"containers": [{"name": "a", "ports": [{"containerPort": "80"}]}]}}, "80"),
        ({"predictor": {}, "canary": [{"trafficPercent": 101, "predictor": {}}]}, "trafficPercent"),
        ({}, "predictor"),
    ],
)
def test_invalid_specs_refused(spec: dict[str, Any], where: str) -> None:
    with pytest.raises(ValidationError) as err:
        InferenceService.model_validate({"spec": spec})
    assert where in str(err.value)


def test_status_defaults_required_like_upstream() -> None:
    isvc = InferenceService.model_validate(
        {"spec": {"predictor": {}}, "status": {"modelStatus": {"transitionStatus": "UpToDate"}}}
    )
    assert isvc.status is not None and isvc.status.model_status is not None
    with pytest.raises(ValidationError):
        InferenceService.model_validate({"status": {"modelStatus": {}}})


def test_objects_the_apiserver_admits_decode() -> None:
    """KServe's yq strips `required` under spec.predictor.<framework>: those objects must parse."""
    isvc = InferenceService.model_validate(
        {
            "spec": {
                "predictor": {"model": {"storageUri": "s3://m"}},
                "explainer": {"art": {"storageUri": "s3://e"}},
                "transformer": {"containers": [{"name": "t", "livenessProbe": {"tcpSocket": {}}}]},
            }
        }
    )
    assert isvc.spec is not None and isvc.spec.predictor.model is not None
    assert isvc.spec.predictor.model.model_format is None
