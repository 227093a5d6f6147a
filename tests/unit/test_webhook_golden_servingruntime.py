# ruff: noqa: E501  (upstream's scenario titles are kept verbatim)
"""Upstream's ServingRuntime webhook golden tests
(``pkg/webhook/admission/servingruntime/servingruntime_webhook_test.go``), ported as tables
and run through our ``ServingRuntimeValidator`` behind ``Admission`` (the other runtimes in a
fake cached client):

* TestValidateServingRuntimePriority (18 cases): the new runtime is created next to the
  existing one; upstream's error is wrapped as its handler wraps it ("... in the
  servingruntimes <existing> and <new> in namespace <ns>");
* TestValidateModelFormatPrioritySame (2): upstream's handler only reaches this check while
  iterating other runtimes (kserve-behaviour.md quirk 6), so another runtime is present;
* TestValidateMultiNodeVariables (6): the "workerSpec removed" case is an UPDATE whose old
  object has the workerSpec (upstream calls the function with the existing spec);
* TestServingRuntimeValidator_Handle (7): decode error -> a refusal naming the field (4xx);
  list error -> a refusal carrying it (upstream: HTTP 500; here never a 500). Runtimes get a
  container where upstream's have none: the CRD requires one, and our validator checks it;
* TestValidateBlockedEnvVars (4).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from lightkube.core.exceptions import ApiError

from apis.serving.v1alpha1 import ServingRuntime
from controllers.webhooks.servingruntime import ServingRuntimeValidator
from runtime.testing.fake_client import FakeClient
from runtime.webhook import Admission, ValidatorHandler
from runtime.webhook.http import HTTPRequest

pytestmark = pytest.mark.anyio

Format = tuple[str, str, str | None, bool | None, int | None, bool | None, bool | None,
               tuple[str, ...]]
"""(runtime name, model format name, its version, autoSelect, priority, multiModel, disabled,
protocolVersions) of a runtime in namespace ``test`` with one model format."""


def runtime(name: str, spec: dict[str, Any], namespace: str = "test") -> dict[str, Any]:
    spec = {"containers": [{"name": "kserve-container", "image": "kserve/sklearnserver:latest",
                            "args": ["--model_name={{.Name}}", "--model_dir=/mnt/models",
                                     "--http_port=8080"]}], **spec}
    return {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "ServingRuntime",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def from_row(row: Format) -> dict[str, Any]:
    name, fmt_name, version, auto, priority, multi, disabled, protocols = row
    fmt: dict[str, Any] = {"name": fmt_name}
    if version is not None:
        fmt["version"] = version
    if auto is not None:
        fmt["autoSelect"] = auto
    if priority is not None:
        fmt["priority"] = priority
    spec: dict[str, Any] = {"supportedModelFormats": [fmt], "protocolVersions": list(protocols)}
    if multi is not None:
        spec["multiModel"] = multi
    if disabled is not None:
        spec["disabled"] = disabled
    return runtime(name, spec)


async def admit(client: FakeClient, op: str, obj: dict[str, Any],
                old: dict[str, Any] | None = None) -> dict[str, Any]:
    req: dict[str, Any] = {"uid": "u", "operation": op, "namespace": "test", "object": obj}
    if old is not None:
        req["oldObject"] = old
    body = json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                       "request": req}).encode()
    hook = Admission(ValidatorHandler(ServingRuntimeValidator(client), kind="ServingRuntime"))
    resp = await hook.serve(HTTPRequest("POST", "/", "", "HTTP/1.1",
                                        {"content-type": "application/json"}, body))
    out: dict[str, Any] = json.loads(resp.body)["response"]
    return out


def message(resp: dict[str, Any]) -> str | None:
    """The refusal's upstream text (our ``<field>: `` prefix removed), None if allowed."""
    if resp["allowed"]:
        return None
    msg: str = resp["status"]["message"]
    causes = (resp["status"].get("details") or {}).get("causes") or []
    if causes:
        assert msg.startswith(causes[0]["field"] + ": "), msg
        msg = msg[len(causes[0]["field"]) + 2:]
    return msg


# ------------------------------------------------------------------ TestValidateServingRuntimePriority

PRIORITY: list[tuple[str, Format, Format, str | None]] = [
    ('When both serving runtimes are not MMS it should return nil',
     ('new-runtime', 'sklearn', '1', True, 1, False, False, ('v1', 'v2')),
     ('existing-runtime', 'sklearn', '1', True, 1, True, False, ('v1', 'v2')), None),
    ('When priority is same for model format in multi model serving runtime it should return error',
     ('new-runtime', 'sklearn', '1', True, 1, True, False, ('v1', 'v2')),
     ('existing-runtime', 'sklearn', '1', True, 1, True, False, ('v1', 'v2')), 'sklearn'),
    ('When existing serving runtime is disabled it should return nil',
     ('new-runtime', 'sklearn', '1', True, 1, False, False, ('v1', 'v2')),
     ('existing-runtime', 'sklearn', '1', True, 1, False, True, ('v1', 'v2')), None),
    ('When new serving runtime and existing runtime are same it should return nil',
     ('example-runtime', 'sklearn', '1', True, 1, False, False, ('v1', 'v2')),
     ('example-runtime', 'sklearn', '1', True, 1, False, False, ('v1', 'v2')), None),
    ('When model format is same and supported protocol version is different it should return nil',
     ('example-runtime-1', 'sklearn', '1', True, 1, False, False, ('v1',)),
     ('example-runtime-2', 'sklearn', '1', True, 1, False, False, ('v2',)), None),
    ('When model format is different it should return nil',
     ('example-runtime-1', 'sklearn', '1', True, 1, False, False, ('v1', 'v2')),
     ('example-runtime-2', 'lightgbm', '1', True, 1, False, False, ('v1', 'v2')), None),
    ('When autoselect is false in the new serving runtime it should return nil',
     ('example-runtime-1', 'sklearn', '1', False, 1, False, False, ('v1', 'v2')),
     ('example-runtime-2', 'sklearn', '1', True, 1, False, False, ('v1', 'v2')), None),
    ('When autoselect is not specified in the new serving runtime it should return nil',
     ('example-runtime-1', 'sklearn', '1', None, 1, False, False, ('v1', 'v2')),
     ('example-runtime-2', 'sklearn', '1', True, 1, False, False, ('v1', 'v2')), None),
    ('When autoselect is false in the existing serving runtime it should return nil',
     ('example-runtime-1', 'sklearn', '1', True, 1, False, False, ('v1', 'v2')),
     ('example-runtime-2', 'sklearn', '1', False, 1, False, False, ('v1', 'v2')), None),
    ('When model version is nil in both serving runtime and priority is same it should return error',
     ('example-runtime-1', 'sklearn', None, True, 1, False, False, ('v1', 'v2')),
     ('example-runtime-2', 'sklearn', None, True, 1, False, False, ('v1', 'v2')), 'sklearn'),
    ('When model version is nil in both serving runtime and priority is not same then it should return nil',
     ('example-runtime-1', 'sklearn', None, True, 2, False, False, ('v1', 'v2')),
     ('example-runtime-2', 'sklearn', None, True, 1, False, False, ('v1', 'v2')), None),
    ('When model version is nil in new serving runtime and priority is same then it should return nil',
     ('example-runtime-1', 'sklearn', None, True, 1, False, False, ('v1', 'v2')),
     ('example-runtime-2', 'sklearn', '1', True, 1, False, False, ('v1', 'v2')), None),
    ('When model version is nil in existing serving runtime and priority is same then it should return nil',
     ('example-runtime-1', 'sklearn', '1', True, 1, False, False, ('v1', 'v2')),
     ('example-runtime-2', 'sklearn', None, True, 1, False, False, ('v1', 'v2')), None),
    ('When model version is same in both serving runtime and priority is same it should return error',
     ('example-runtime-1', 'sklearn', '1', True, 1, False, False, ('v1', 'v2')),
     ('example-runtime-2', 'sklearn', '1', True, 1, False, False, ('v1', 'v2')), 'sklearn'),
    ('When model version is different but priority is same then it should return nil',
     ('example-runtime-1', 'sklearn', '1.3', True, 1, False, False, ('v1', 'v2')),
     ('example-runtime-2', 'sklearn', '1.0', True, 1, False, False, ('v1', 'v2')), None),
    ('When priority is nil in both serving runtime then it should return nil',
     ('example-runtime-1', 'sklearn', '1', True, None, False, False, ('v1', 'v2')),
     ('example-runtime-2', 'sklearn', '1', True, None, False, False, ('v1', 'v2')), None),
    ('When priority is nil in new serving runtime and priority is specified in existing serving runtime then it should return nil',
     ('example-runtime-1', 'sklearn', '1', True, None, False, False, ('v1', 'v2')),
     ('example-runtime-2', 'sklearn', '1', True, 1, False, False, ('v1', 'v2')), None),
    ('When priority is nil in existing serving runtime and priority is specified in new serving runtime then it should return nil',
     ('example-runtime-1', 'sklearn', '1', True, 1, False, False, ('v1', 'v2')),
     ('example-runtime-2', 'sklearn', '1', True, None, False, False, ('v1', 'v2')), None),
]


@pytest.mark.parametrize(("title", "new", "existing", "clash"), PRIORITY,
                         ids=[p[0] for p in PRIORITY])
async def test_validate_serving_runtime_priority(title: str, new: Format, existing: Format,
                                                 clash: str | None) -> None:
    client = FakeClient(ServingRuntime.model_validate(from_row(existing)))
    resp = await admit(client, "CREATE", from_row(new))
    if clash is None:
        assert message(resp) is None
    else:
        assert message(resp) == (f"same priority assigned for the model format {clash} in the "
                                 f"servingruntimes {existing[0]} and {new[0]} in namespace test")


# ------------------------------------------------------------------ TestValidateModelFormatPrioritySame


@pytest.mark.parametrize(("priorities", "err"), [
    ((1, 2), "different priorities assigned for the model format sklearn under the "
             "servingruntime example-runtime-1"),
    ((2, 2), None),
])
async def test_validate_model_format_priority_same(priorities: tuple[int, int],
                                                   err: str | None) -> None:
    other = runtime("other", {"supportedModelFormats": [{"name": "xgboost", "autoSelect": True}]})
    client = FakeClient(ServingRuntime.model_validate(other))
    new = runtime("example-runtime-1", {
        "supportedModelFormats": [{"name": "sklearn", "autoSelect": True, "priority": p}
                                  for p in priorities],
        "multiModel": False, "disabled": False, "protocolVersions": ["v1", "v2"]})
    assert message(await admit(client, "CREATE", new)) == err


# ------------------------------------------------------------------ TestValidateMultiNodeVariables

WORKER = {"name": "worker-container", "image": "kserve/huggingfaceserver:latest",
          "command": ["bash", "-c"], "args": ["ray start --address=$RAY_HEAD_ADDRESS --block"]}


def mn(name: str, worker: dict[str, Any] | None, env: list[dict[str, str]] | None = None) -> (
    dict[str, Any]
):
    obj = runtime(name, {} if worker is None else {"workerSpec": worker})
    if env:
        obj["spec"]["containers"][0]["env"] = env
    return obj


MULTI_NODE = [
    ("When pipeline-parallel-size set less than 1, it should return error",
     mn("example-runtime-1", {"pipelineParallelSize": 0, "tensorParallelSize": 1,
                              "containers": [WORKER]}), None,
     "the ServingRuntime example-runtime-1 is invalid: the WorkerSpec.PipelineParallelSize "
     "cannot be less than 1(0)"),
    ("When tensor-parallel-size set less than 1, it should return error",
     mn("example-runtime-2", {"pipelineParallelSize": 2, "tensorParallelSize": 0,
                              "containers": [WORKER]}), None,
     "the ServingRuntime example-runtime-2 is invalid: the WorkerSpec.TensorParallelSize "
     "cannot be less than 1(0)"),
    ("When pipeline-parallel-size set in the environment, it should return error",
     mn("example-runtime-3", {"containers": [WORKER]},
        [{"name": "PIPELINE_PARALLEL_SIZE", "value": "test"}]), None,
     "the ServingRuntime example-runtime-3 is invalid: setting PIPELINE_PARALLEL_SIZE in "
     "environment variables is not allowed"),
    ("When tensor-parallel-size set in the environment, it should return error",
     mn("example-runtime-4", {"containers": [WORKER]},
        [{"name": "TENSOR_PARALLEL_SIZE", "value": "test"}]), None,
     "the ServingRuntime example-runtime-4 is invalid: setting TENSOR_PARALLEL_SIZE in "
     "environment variables is not allowed"),
    ("when the existing workerSpec is removed from the servingRuntime, it should return error",
     mn("example-runtime-5", None), mn("example-runtime-5", {"containers": [WORKER]}),
     "the ServingRuntime example-runtime-5 is invalid: removing workerSpec where it already "
     "exists is not allowed"),
    ("When multiple containers set in WorkerSpec, it should return error",
     mn("example-runtime-6", {"containers": [{}, {}]},
        [{"name": "TENSOR_PARALLEL_SIZE", "value": "test"}]), None,
     "the ServingRuntime example-runtime-6 is invalid: setting multiple containers in "
     "workerSpec is not allowed"),
]


@pytest.mark.parametrize(("title", "new", "old", "err"), MULTI_NODE,
                         ids=[m[0] for m in MULTI_NODE])
async def test_validate_multi_node_variables(title: str, new: dict[str, Any],
                                             old: dict[str, Any] | None, err: str) -> None:
    resp = await admit(FakeClient(), "UPDATE" if old else "CREATE", new, old)
    assert message(resp) == err


# ------------------------------------------------------------------ TestServingRuntimeValidator_Handle

ONNX = {"name": "onnx", "autoSelect": True}


def onnx(name: str, ns: str, priority: int, **spec: Any) -> dict[str, Any]:
    return runtime(name, {"multiModel": True, "protocolVersions": ["v1"],
                          "supportedModelFormats": [{**ONNX, "priority": priority}], **spec}, ns)


async def test_handle_allow_when_runtime_is_disabled() -> None:
    sr = runtime("sr1", {"disabled": True}, "ns1")
    assert (await admit(FakeClient(), "CREATE", sr))["allowed"] is True


async def test_handle_model_format_priorities_not_the_same_without_other_runtimes() -> None:
    """Upstream's case is named "deny ..." but only asserts nothing: with no other runtime
    the check never runs (quirk 6), so the runtime is allowed, as here."""
    sr = runtime("sr2", {"supportedModelFormats": [{**ONNX, "priority": 1},
                                                   {**ONNX, "priority": 2}]}, "ns2")
    assert (await admit(FakeClient(), "CREATE", sr))["allowed"] is True


async def test_handle_deny_when_runtime_priorities_conflict_with_existing() -> None:
    client = FakeClient(ServingRuntime.model_validate(onnx("sr3", "ns3", 1)))
    resp = await admit(client, "CREATE", onnx("sr4", "ns3", 1))
    assert message(resp) == ("same priority assigned for the model format onnx in the "
                             "servingruntimes sr3 and sr4 in namespace ns3")


async def test_handle_deny_when_removing_worker_spec() -> None:
    existing = runtime("sr5", {"workerSpec": {"containers": [{"name": "worker"}]}}, "ns4")
    client = FakeClient(ServingRuntime.model_validate(existing))
    resp = await admit(client, "CREATE", runtime("sr5", {}, "ns4"))
    assert message(resp) == ("the ServingRuntime sr5 is invalid: removing workerSpec where it "
                             "already exists is not allowed")


async def test_handle_allow_valid_runtime() -> None:
    client = FakeClient(ServingRuntime.model_validate(onnx("sr6", "ns5", 1)))
    assert (await admit(client, "CREATE", onnx("sr7", "ns5", 2)))["allowed"] is True


async def test_handle_error_decoding_request() -> None:
    bad = runtime("sr", {"supportedModelFormats": "onnx"}, "ns")
    resp = await admit(FakeClient(), "CREATE", bad)
    assert resp["allowed"] is False and 400 <= resp["status"]["code"] < 500
    assert resp["status"]["message"].startswith("spec.supportedModelFormats: ")


async def test_handle_error_listing_runtimes() -> None:
    async def fail(request: Any) -> None:
        if request.verb == "list":
            raise ApiError(None, _response(503, "list error"))  # type: ignore[arg-type]

    resp = await admit(FakeClient(intercept=fail), "CREATE", runtime("sr8", {}, "ns6"))
    assert resp["allowed"] is False and 400 <= resp["status"]["code"] < 500
    assert "list error" in resp["status"]["message"]


def _response(code: int, msg: str) -> Any:
    import httpx

    return httpx.Response(code, json={"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                      "message": msg, "code": code})


# ------------------------------------------------------------------ TestValidateBlockedEnvVars


@pytest.mark.parametrize(("title", "spec", "refused"), [
    ("PYTHONPATH in main container should be rejected",
     {"containers": [{"name": "kserve-container", "image": "i",
                      "env": [{"name": "PYTHONPATH", "value": "/custom"}]}]}, True),
    ("PYTHONPATH in workerSpec container should be rejected",
     {"containers": [{"name": "kserve-container", "image": "i"}],
      "workerSpec": {"containers": [{"name": "worker-container",
                                     "env": [{"name": "PYTHONPATH", "value": "/bad"}]}]}}, True),
    ("allowed env vars should pass",
     {"containers": [{"name": "kserve-container", "image": "i",
                      "env": [{"name": "MODEL_NAME", "value": "test"}]}]}, False),
    ("no env vars should pass", {"containers": [{"name": "kserve-container", "image": "i"}]},
     False),
])
async def test_validate_blocked_env_vars(title: str, spec: dict[str, Any], refused: bool) -> None:
    resp = await admit(FakeClient(), "CREATE", runtime("sr", spec))
    if refused:
        assert "PYTHONPATH" in str(message(resp))
    else:
        assert message(resp) is None
