# ruff: noqa: E501  (upstream's scenario titles and messages are kept verbatim)
"""Upstream's InferenceService validation golden tables
(``pkg/apis/serving/v1beta1/inference_service_validation_test.go``) that the rule-based
tables of ``test_isvc_validation.py`` do not mirror case by case, ported and run through our
``InferenceServiceValidator`` behind ``Admission`` (the whole validation, where upstream's
tests call one rule; each object is otherwise valid, so the rule under test decides):

* TestValidateMultiNodeVariables (12 cases), with upstream's messages;
* TestValidateBlockedEnvVars (11);
* TestValidateCollocationStorageURI (5).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from controllers.webhooks.inferenceservice import InferenceServiceValidator
from runtime.webhook import Admission, ValidatorHandler
from runtime.webhook.http import HTTPRequest

pytestmark = pytest.mark.anyio


async def validate(obj: dict[str, Any]) -> str | None:
    """Our answer to a CREATE of ``obj``: None if allowed, else upstream's message (our
    ``<field>: `` prefix checked and removed)."""
    body = json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                       "request": {"uid": "u", "operation": "CREATE", "namespace": "default",
                                   "object": obj}}).encode()
    hook = Admission(ValidatorHandler(InferenceServiceValidator(), kind="InferenceService"))
    resp = await hook.serve(HTTPRequest("POST", "/", "", "HTTP/1.1",
                                        {"content-type": "application/json"}, body))
    out = json.loads(resp.body)["response"]
    if out["allowed"]:
        return None
    msg: str = out["status"]["message"]
    causes = (out["status"].get("details") or {}).get("causes") or []
    assert causes, msg  # every refusal names its field
    assert msg.startswith(causes[0]["field"] + ": "), msg
    return msg[len(causes[0]["field"]) + 2:]


def isvc(name: str, predictor: dict[str, Any], annotations: dict[str, str] | None = None,
         **spec: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "default"}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": meta, "spec": {"predictor": predictor, **spec}}


# ------------------------------------------------------------------ TestValidateMultiNodeVariables

NONE = {"serving.kserve.io/autoscalerClass": "none"}
HPA = {"serving.kserve.io/autoscalerClass": "hpa"}
CUSTOM_GPU = {**NONE, "serving.kserve.io/gpu-resource-types": '["unknownGPU.com/gpu"]'}
UNKNOWN_GPU = {"limits": {"unknownGPU.com/gpu": "1"}, "requests": {"unknownGPU.com/gpu": "1"}}


def hf(uri: str = "pvc://test", **container: Any) -> dict[str, Any]:
    return {"modelFormat": {"name": "huggingface"}, "storageUri": uri, **container}


def invalid(name: str, what: str) -> str:
    return f'the InferenceService "{name}" is invalid: {what}'


MULTI_NODE = [
    ("When TENSOR_PARALLEL_SIZE set as an environment variable, it should return an error",
     isvc("foo-1-1", {"model": hf(env=[{"name": "TENSOR_PARALLEL_SIZE", "value": "2"}]),
                      "workerSpec": {}}, NONE),
     invalid("foo-1-1", "setting TENSOR_PARALLEL_SIZE in environment variables is not allowed")),
    ("When PIPELINE_PARALLEL_SIZE set as an environment variable, it should return an error",
     isvc("foo-1-2", {"model": hf(env=[{"name": "PIPELINE_PARALLEL_SIZE", "value": "3"}]),
                      "workerSpec": {}}, NONE),
     invalid("foo-1-2", "setting PIPELINE_PARALLEL_SIZE in environment variables is not allowed")),
    ("When workerSpec.TensorParallelSize set less than 1, it should return error",
     isvc("foo-2-1", {"model": hf(), "workerSpec": {"tensorParallelSize": 0}}, NONE),
     invalid("foo-2-1", "WorkerSpec.TensorParallelSize cannot be less than 1(0)")),
    ("When WorkerSpec.PipelineParallelSize set less than 1, it should return error",
     isvc("foo-2-2", {"model": hf(), "workerSpec": {"pipelineParallelSize": 0}}, NONE),
     invalid("foo-2-2", "WorkerSpec.PipelineParallelSize cannot be less than 1(0)")),
    ("When unknownGPUResource set in Predictor.Model, it should return error",
     isvc("foo-3-1", {"model": hf(resources=UNKNOWN_GPU), "workerSpec": {}}, NONE),
     invalid("foo-3-1", "Unknown GPU resource type. Set 'serving.kserve.io/gpu-resource-types' "
                        "annotation to use custom gpu resource type")),
    ("When unknownGPUResource set in Predictor.WorkerSpec, it should return error",
     isvc("foo-3-2", {"model": hf(), "workerSpec": {"containers": [{"resources": UNKNOWN_GPU}]}},
          NONE),
     invalid("foo-3-2", "Unknown GPU resource type. Set 'serving.kserve.io/gpu-resource-types' "
                        "annotation to use custom gpu resource type")),
    ("When customGPUResourceTypes set to annotations, unknownGPUResource in Predictor.Model do not return an error and function correctly",
     isvc("foo-3-3", {"model": hf(resources=UNKNOWN_GPU), "workerSpec": {}}, CUSTOM_GPU), None),
    ("When customGPUResourceTypes set to annotations, unknownGPUResource in Predictor.WorkerSpec do not return an error and function correctly",
     isvc("foo-3-4", {"model": hf(), "workerSpec": {"containers": [{"resources": UNKNOWN_GPU}]}},
          CUSTOM_GPU), None),
    ("When unsupported storageURI set, it should return error",
     isvc("foo-4-1", {"model": hf("s3://test"), "workerSpec": {}}, NONE),
     invalid("foo-4-1", "Multinode only supports 'pvc' and 'oci' Storage Protocol(s3)")),
    ("When using OCI storageURI set, validation should succeed",
     isvc("foo-4-3", {"model": hf("oci://test"), "workerSpec": {}}, NONE), None),
    ("When none autoscaler is not set, then it should return error",
     isvc("foo-4-2", {"model": hf(), "workerSpec": {}}, HPA),
     invalid("foo-4-2", "Multinode only supports 'none' autoscaler(hpa)")),
    ("When multiple containers set in WorkerSpec, it should return error",
     isvc("foo-9", {"model": hf(), "workerSpec": {"containers": [{}, {}]}}, NONE),
     invalid("foo-9", "setting multiple containers in workerSpec is not allowed")),
]


@pytest.mark.parametrize(("title", "obj", "err"), MULTI_NODE, ids=[m[0] for m in MULTI_NODE])
async def test_validate_multi_node_variables(title: str, obj: dict[str, Any],
                                             err: str | None) -> None:
    assert await validate(obj) == err


# ------------------------------------------------------------------ TestValidateBlockedEnvVars

PYTHONPATH = [{"name": "PYTHONPATH", "value": "/injected"}]
SKLEARN = {"modelFormat": {"name": "sklearn"}}

BLOCKED = [
    ("PYTHONPATH in predictor model env should be rejected",
     {"predictor": {"model": {**SKLEARN, "env": [{"name": "PYTHONPATH", "value": "/custom"}]}}},
     True),
    ("PYTHONPATH in predictor custom container should be rejected",
     {"predictor": {"containers": [{"name": "kserve-container", "env": PYTHONPATH}]}}, True),
    ("PYTHONPATH in workerSpec container should be rejected",
     {"predictor": {"model": {"modelFormat": {"name": "huggingface"}},
                    "workerSpec": {"containers": [{"name": "worker", "env": PYTHONPATH}]}}},
     True),
    ("PYTHONPATH in transformer container should be rejected",
     {"predictor": {"model": SKLEARN},
      "transformer": {"containers": [{"name": "transformer", "env": PYTHONPATH}]}}, True),
    ("allowed env vars should pass",
     {"predictor": {"model": {**SKLEARN, "env": [{"name": "MODEL_NAME", "value": "my-model"}]}}},
     False),
    ("PYTHONPATH in explainer ART container should be rejected",
     {"predictor": {"model": SKLEARN}, "explainer": {"art": {"env": PYTHONPATH}}}, True),
    ("PYTHONPATH in predictor initContainer should be rejected",
     {"predictor": {"model": SKLEARN,
                    "initContainers": [{"name": "init-setup", "env": PYTHONPATH}]}}, True),
    ("PYTHONPATH in workerSpec initContainer should be rejected",
     {"predictor": {"model": {"modelFormat": {"name": "huggingface"}},
                    "workerSpec": {"initContainers": [{"name": "init-worker",
                                                       "env": PYTHONPATH}]}}}, True),
    ("PYTHONPATH in explainer initContainer should be rejected",
     {"predictor": {"model": SKLEARN},
      "explainer": {"initContainers": [{"name": "init-explainer", "env": PYTHONPATH}]}}, True),
    ("PYTHONPATH in transformer initContainer should be rejected",
     {"predictor": {"model": SKLEARN},
      "transformer": {"initContainers": [{"name": "init-transform", "env": PYTHONPATH}]}}, True),
    ("no env vars should pass", {"predictor": {"model": SKLEARN}}, False),
]


@pytest.mark.parametrize(("title", "spec", "refused"), BLOCKED, ids=[b[0] for b in BLOCKED])
async def test_validate_blocked_env_vars(title: str, spec: dict[str, Any], refused: bool) -> None:
    obj = {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
           "metadata": {"name": "test-isvc"}, "spec": spec}
    err = await validate(obj)
    if refused:
        assert err is not None and "PYTHONPATH" in err
        assert err.startswith('the InferenceService "test-isvc" is invalid: setting PYTHONPATH '
                              "in container ")
    else:
        assert err is None


# ------------------------------------------------------------------ TestValidateCollocationStorageURI

STORAGE_URI_ENV = [{"name": "STORAGE_URI", "value": "gs://test/model"}]
PREDICTOR = {"name": "kserve-container", "image": "test/predictor:latest"}
TRANSFORMER = {"name": "transformer-container", "image": "test/transformer:latest"}

COLLOCATION = [
    ("Collocation with transformer has storage uri specified",
     {"containers": [{**PREDICTOR, "env": STORAGE_URI_ENV},
                     {**TRANSFORMER, "env": STORAGE_URI_ENV}]},
     "storage uri should not be specified in transformer container"),
    ("Collocation with no storage uri specified", {"containers": [PREDICTOR, TRANSFORMER]}, None),
    ("Collocation with predictor has storage uri specified",
     {"containers": [{**PREDICTOR, "env": STORAGE_URI_ENV}, TRANSFORMER]}, None),
    ("Predictor with no collocation",
     {"tensorflow": {"storageUri": "gs://testbucket/testmodel", "runtimeVersion": "0.14.0"}},
     None),
    ("Custom predictor with no collocation",
     {"containers": [{**PREDICTOR, "env": STORAGE_URI_ENV}]}, None),
]


@pytest.mark.parametrize(("title", "predictor", "err"), COLLOCATION,
                         ids=[c[0] for c in COLLOCATION])
async def test_validate_collocation_storage_uri(title: str, predictor: dict[str, Any],
                                                err: str | None) -> None:
    assert await validate(isvc("foo", predictor)) == err
