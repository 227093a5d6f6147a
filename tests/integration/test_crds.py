"""The generated CRDs on a real kube-apiserver: accepted, structural, samples admitted,
unknown and mistyped fields refused with the field named (server-side strict validation)."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
import yaml
from lightkube import AsyncClient
from lightkube.core.exceptions import ApiError
from lightkube.generic_resource import create_global_resource, create_namespaced_resource
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition

import codegen
from runtime.resource import CustomResource, discover
from runtime.testing import Environment

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = {
    p.stem: yaml.safe_load(p.read_text())
    for p in sorted((ROOT / "config" / "samples").glob("*.yaml"))
}
KINDS: dict[tuple[str, str], type[CustomResource]] = {
    (k.__crd__.api_version, k.__crd__.kind): k for k in discover("apis")
}


def generated(variant: str) -> dict[str, dict[str, Any]]:
    out = {}
    for rel, text in codegen.generate().items():
        if rel.startswith(variant + "/"):
            crd = yaml.safe_load(text)
            out[crd["metadata"]["name"]] = crd
    return out


def resource_for(kind: type[CustomResource]) -> Any:
    c = kind.__crd__
    make = create_namespaced_resource if c.scope == "Namespaced" else create_global_resource
    return make(c.group, c.version, c.kind, c.plural)


async def strict_create(
    client: AsyncClient, kind: type[CustomResource], obj: dict[str, Any], namespace: str | None
) -> Any:
    res = resource_for(kind)
    ns = namespace if kind.__crd__.scope == "Namespaced" else None
    return await client._client.request(
        "post", res=res, obj=res.from_dict(obj), namespace=ns, params={"fieldValidation": "Strict"}
    )


async def test_every_crd_established_and_structural(
    envtest: Environment, kube_client: AsyncClient
) -> None:
    for name in generated("full"):
        crd = await kube_client.get(CustomResourceDefinition, name)
        conds = {c.type: c for c in (crd.status.conditions or [])}
        assert conds["Established"].status == "True", name
        assert conds["NamesAccepted"].status == "True", name
        nonstructural = conds.get("NonStructuralSchema")
        assert nonstructural is None or nonstructural.status != "True", nonstructural


async def test_served_schema_is_ours(envtest: Environment, kube_client: AsyncClient) -> None:
    ours = generated("full")["inferenceservices.serving.kserve.io"]
    crd = await kube_client.get(CustomResourceDefinition, "inferenceservices.serving.kserve.io")
    served = crd.to_dict()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert served == ours["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


async def test_minimal_crds_accepted(envtest: Environment, kube_client: AsyncClient) -> None:
    """Minimal CRDs share names with the installed full ones: dry-run them under another group."""
    for crd in generated("minimal").values():
        doc = copy.deepcopy(crd)
        group = "minimal.kserve-py.test"
        doc["spec"]["group"] = group
        doc["metadata"]["name"] = f"{doc['spec']['names']['plural']}.{group}"
        await kube_client.create(CustomResourceDefinition.from_dict(doc), dry_run=True)


@pytest.mark.parametrize("sample", sorted(SAMPLES))
async def test_sample_admitted(kube_client: AsyncClient, namespace: str, sample: str) -> None:
    obj = copy.deepcopy(SAMPLES[sample])
    kind = KINDS[(obj["apiVersion"], obj["kind"])]
    model = kind.model_validate(obj)  # the Python types accept it too
    assert model.to_kube()["spec"] == obj["spec"]
    created = await strict_create(kube_client, kind, obj, namespace)
    assert created["metadata"]["uid"]
    # what the apiserver stored (after pruning/defaulting) still parses
    kind.model_validate(dict(created))


async def test_schema_defaults_applied(kube_client: AsyncClient, namespace: str) -> None:
    kind = KINDS[("serving.kserve.io/v1beta1", "InferenceService")]
    obj = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "defaults"},
        "spec": {
            "predictor": {
                "storageUris": [{"uri": "s3://bucket/model"}],
                "sklearn": {"ports": [{"containerPort": 8080}]},
            }
        },
    }
    created = await strict_create(kube_client, kind, obj, namespace)
    predictor = created["spec"]["predictor"]
    assert predictor["storageUris"][0]["mountPath"] == "/mnt/models"
    assert predictor["sklearn"]["ports"][0]["protocol"] == "TCP"


def isvc(spec_predictor: dict[str, Any], name: str) -> dict[str, Any]:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name},
        "spec": {"predictor": spec_predictor},
    }


async def test_unknown_field_refused(kube_client: AsyncClient, namespace: str) -> None:
    kind = KINDS[("serving.kserve.io/v1beta1", "InferenceService")]
    obj = isvc({"model": {"modelFormat": {"name": "sklearn"}, "storageUrl": "gs://x"}}, "unknown")
    with pytest.raises(ApiError) as err:
        await strict_create(kube_client, kind, obj, namespace)
    assert 'unknown field "spec.predictor.model.storageUrl"' in str(err.value.status.message)


@pytest.mark.parametrize(
    ("predictor", "field"),
    [
        ({"minReplicas": "one", "sklearn": {}}, "spec.predictor.minReplicas"),
        ({"sklearn": {"ports": [{"containerPort": "80"}]}}, "spec.predictor.sklearn.ports[0]"),
        ({"logger": {"mode": "everything"}, "sklearn": {}}, "spec.predictor.logger.mode"),
        ({"name": "Bad_Name", "sklearn": {}}, "spec.predictor.name"),
        ({"storageUris": []}, "spec.predictor.storageUris"),
    ],
    ids=["type", "core-type", "enum", "pattern", "min-items"],
)
async def test_mistyped_field_refused(
    kube_client: AsyncClient, namespace: str, predictor: dict[str, Any], field: str
) -> None:
    kind = KINDS[("serving.kserve.io/v1beta1", "InferenceService")]
    with pytest.raises(ApiError) as err:
        await strict_create(kube_client, kind, isvc(predictor, "mistyped"), namespace)
    assert err.value.status.code == 422
    assert field in str(err.value.status.message)


async def test_canary_traffic_bounds(kube_client: AsyncClient, namespace: str) -> None:
    kind = KINDS[("serving.kserve.io/v1beta1", "InferenceService")]
    obj = isvc({"name": "v1", "sklearn": {}}, "canary-bounds")
    obj["spec"]["canary"] = [{"trafficPercent": 101, "predictor": {"name": "v2", "sklearn": {}}}]
    with pytest.raises(ApiError) as err:
        await strict_create(kube_client, kind, obj, namespace)
    assert "spec.canary[0].trafficPercent" in str(err.value.status.message)


async def test_kubectl_explain_has_descriptions(kube_client: AsyncClient) -> None:
    """``kubectl explain`` reads the apiserver's OpenAPI v3 document for the group version."""
    http = kube_client._client._client  # the configured httpx client (base URL, TLS, auth)
    doc = None
    for _ in range(50):  # the OpenAPI controller publishes CRDs asynchronously
        resp = await http.get("/openapi/v3/apis/serving.kserve.io/v1beta1")
        if resp.status_code == 200:
            doc = resp.json()
            break
        await anyio.sleep(0.2)
    assert doc is not None
    schemas = doc["components"]["schemas"]
    isvc = schemas["io.kserve.serving.v1beta1.InferenceService"]
    assert isvc["description"].startswith("InferenceService is the Schema")
    predictor = isvc["properties"]["spec"]["properties"]["predictor"]
    assert predictor["description"].startswith("Predictor defines the model serving spec")
    assert "scale-to-zero" in predictor["properties"]["minReplicas"]["description"]


def test_kubectl_explain(envtest: Environment) -> None:
    """The real ``kubectl explain`` shows our descriptions (upstream's CRD has none)."""
    assets = os.environ.get("KUBEBUILDER_ASSETS", "")
    kubectl = shutil.which("kubectl", path=assets) or shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("no kubectl")
    cmd = [kubectl, "--kubeconfig", str(envtest.kubeconfig_path), "explain"]
    out = ""
    for _ in range(25):  # the OpenAPI document catches up with new CRDs asynchronously
        proc = subprocess.run(
            [*cmd, "inferenceservice.spec.predictor"], capture_output=True, text=True, check=False
        )
        out = proc.stdout
        if proc.returncode == 0 and "minReplicas" in out:
            break
        time.sleep(0.2)
    assert "Predictor defines the model serving spec" in out
    assert "scale-to-zero" in out
    env = subprocess.run(
        [*cmd, "isvc.spec.predictor.sklearn.env"], capture_output=True, text=True, check=True
    ).stdout
    assert "List of environment variables" in env
