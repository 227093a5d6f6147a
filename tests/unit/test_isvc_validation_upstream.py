# ruff: noqa: E501  (upstream's scenario titles and messages are kept verbatim)
"""Upstream's ``pkg/apis/serving/v1beta1/inference_service_validation_test.go``, case by case,
through our pure functions (``validate_inference_service_create`` /
``validate_inference_service_update``).

29 test funcs upstream; TestValidateMultiNodeVariables, TestValidateBlockedEnvVars and
TestValidateCollocationStorageURI are in ``test_webhook_golden_isvc.py``; the other 26 are here,
one section each, in upstream's order. Where upstream calls one rule alone
(``validatePredictor``, ``validateScalingKedaCompExtension``, ``validateStorageURISpec``,
``validateMultipleStorageURIsSpec``) the case is embedded in an otherwise valid
InferenceService, so that rule decides the outcome. Messages are upstream's text; we add the
field path (``FieldError.field``, rendered ``"<field>: <message>"``), asserted too. Where
upstream asserts only a substring, so do we (plus the field). TestValidateDelete goes through
the admission handler, as our pure functions have no delete rule.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from apis.serving.v1beta1.inference_service_validation import (
    validate_inference_service_create,
    validate_inference_service_update,
)
from apis.serving.validation import FieldError

MODE = "serving.kserve.io/deploymentMode"
CLASS = "serving.kserve.io/autoscalerClass"
STD_HPA = {MODE: "Standard", CLASS: "hpa"}
STD_KEDA = {MODE: "Standard", CLASS: "keda"}
STD = {MODE: "Standard"}

#: ``makeTestInferenceService``'s predictor
TF = {"tensorflow": {"storageUri": "gs://testbucket/testmodel", "runtimeVersion": "0.14.0"}}

PREDICTOR_ONE_OF = (
    "exactly one of [Name, SKLearn, XGBoost, Tensorflow, PyTorch, Triton, ONNX, HuggingFace, "
    "PMML, LightGBM, Paddle, Model, StorageUris, StorageContainerName, WorkerSpec, PodSpec] "
    "must be specified in PredictorSpec"
)
MIN_LOWER = "'MinReplicas' cannot be less than 0"
MAX_LOWER = "'MaxReplicas' cannot be less than 0"
MIN_GT_MAX = "'MinReplicas' cannot be greater than MaxReplicas"


def isvc(
    predictor: dict[str, Any] | None = None,
    *,
    name: str = "foo",
    annotations: dict[str, str] | None = None,
    status: dict[str, Any] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """An InferenceService in ``default``; the predictor defaults to upstream's
    ``makeTestInferenceService`` (tensorflow 0.14.0, gs://testbucket/testmodel)."""
    meta: dict[str, Any] = {"name": name, "namespace": "default"}
    if annotations is not None:
        meta["annotations"] = annotations
    obj: dict[str, Any] = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": meta,
        "spec": {"predictor": copy.deepcopy(TF) if predictor is None else predictor, **spec},
    }
    if status is not None:
        obj["status"] = status
    return obj


def tf(**ext: Any) -> dict[str, Any]:
    """The test predictor with component-extension fields."""
    return {**copy.deepcopy(TF), **ext}


Outcome = tuple[str, str] | None


def create(obj: dict[str, Any]) -> tuple[Outcome, list[str]]:
    """(None or (field, message), warnings) of a CREATE."""
    try:
        return None, validate_inference_service_create(obj)
    except FieldError as err:
        assert str(err) == f"{err.field}: {err.reason}"
        return (err.field, err.reason), err.warnings


def update(old: dict[str, Any], new: dict[str, Any]) -> tuple[Outcome, list[str]]:
    """Upstream's ``ValidateUpdate(ctx, old, new)`` argument order."""
    try:
        return None, validate_inference_service_update(new, old)
    except FieldError as err:
        return (err.field, err.reason), err.warnings


class Contains:
    """Upstream's ``MatchError(ContainSubstring(...))``: the field is still checked exactly."""

    def __init__(self, field: str, part: str) -> None:
        self.field, self.part = field, part

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, tuple)
            and other[0] == self.field
            and isinstance(other[1], str)
            and self.part in other[1]
        )

    def __repr__(self) -> str:
        return f"({self.field!r}, ...{self.part!r}...)"


# ---------------------------------------------------------------- TestInvalidNameInSKLearnPredictor


def test_invalid_name_in_sklearn_predictor() -> None:
    obj = isvc({"sklearn": {"name": "invalid-name", "image": "dummy-image",
                            "storageUri": "gs://kfserving-examples/models/sklearn/1.0/model"}},
               name="test-isvc")
    out, _ = create(obj)
    # upstream: strings.Contains(err, "not allowed"); the whole text is upstream's constant
    assert out == ("spec.predictor.sklearn.name",
                   "the 'name' field is not allowed in standard predictor")


# ---------------------------------------------------------------- TestAutoscalerClassHPA

METRICS = "spec.predictor.autoScaling.metrics[0]"


def cpu_util(pct: int, **target: Any) -> dict[str, Any]:
    return {"type": "Resource",
            "resource": {"name": "cpu", "target": {"averageUtilization": pct, **target}}}


def mem_avg(value: str, **target: Any) -> dict[str, Any]:
    return {"type": "Resource",
            "resource": {"name": "memory", "target": {"averageValue": value, **target}}}


def scaling(*metrics: dict[str, Any]) -> dict[str, Any]:
    return {"metrics": list(metrics)}


HPA = [
    ("Valid HPA CPU metrics with ScaleMetric",
     isvc(tf(scaleMetric="cpu", scaleTarget=80), annotations=STD_HPA), None),
    ("Valid HPA CPU metrics with Autoscaling spec",
     isvc(tf(autoScaling=scaling(cpu_util(80))), annotations=STD_HPA), None),
    ("Valid HPA Memory metrics with Autoscaling spec",
     isvc(tf(autoScaling=scaling(mem_avg("1Gi"))), annotations=STD_HPA), None),
    ("Invalid HPA CPU metrics without resource type",
     isvc(tf(autoScaling=scaling({"type": "Resource"})), annotations=STD_HPA),
     (f"{METRICS}.resource", "metricSpec.Resource is not set for resource metric source type")),
    ("Invalid HPA CPU metrics with wrong metric source",
     isvc(tf(autoScaling=scaling({"type": "External"})), annotations=STD_HPA),
     (f"{METRICS}.type",
      "invalid HPA metric source type with value [External],valid metric source types are Resource")),
    ("Valid HPA CPU metrics with target utilization",
     isvc(tf(scaleMetric="cpu", scaleMetricType="Utilization", scaleTarget=80),
          annotations=STD_HPA), None),
    ("HPA CPU metrics with invalid target utilization",
     isvc(tf(scaleMetric="cpu", scaleMetricType="Utilization", scaleTarget=120),
          annotations=STD_HPA),
     ("spec.predictor.scaleTarget", "the target utilization percentage should be a [1-100] integer")),
    ("Valid HPA Memory metrics with ScaleMetric",
     isvc(tf(scaleMetric="memory", scaleTarget=10), annotations=STD_HPA), None),
    ("Invalid autoscaler class",
     isvc(tf(scaleMetric="memory", scaleTarget=10), annotations={MODE: "Standard", CLASS: "test"}),
     (f"metadata.annotations[{CLASS}]", "[test] is not a supported autoscaler class type")),
]


@pytest.mark.parametrize(("title", "obj", "want"), HPA, ids=[c[0] for c in HPA])
def test_autoscaler_class_hpa(title: str, obj: dict[str, Any], want: Outcome) -> None:
    assert create(obj)[0] == want


# ---------------------------------------------------------------- TestAutoscalerClassKEDA


def external(query: str, value: str | None, **src: Any) -> dict[str, Any]:
    target: dict[str, Any] = {"type": "Value"}
    if value is not None:
        target["value"] = value
    return {"type": "External", "external": {
        "metric": {"backend": "prometheus", "query": query}, "target": target, **src}}


def podmetric(query: str, value: str | None) -> dict[str, Any]:
    target: dict[str, Any] = {"type": "Value"}
    if value is not None:
        target["value"] = value
    return {"type": "PodMetric", "podmetric": {
        "metric": {"backend": "opentelemetry", "query": query}, "target": target}}


KEDA = [
    ("Valid KEDA CPU metrics with Autoscaling spec",
     isvc(tf(autoScaling=scaling(cpu_util(80, type="Utilization"))), annotations=STD_KEDA), None),
    ("Valid KEDA Memory metrics with Autoscaling spec",
     isvc(tf(autoScaling=scaling(mem_avg("1Gi", type="AverageValue"))), annotations=STD_KEDA),
     None),
    ("Invalid KEDA CPU metrics without resource type",
     isvc(tf(autoScaling=scaling({"type": "Resource"})), annotations=STD_KEDA),
     (f"{METRICS}.resource", "metricSpec.Resource is not set for resource metric source type")),
    ("Valid KEDA CPU metrics with external metric source",
     isvc(tf(autoScaling=scaling(external("avg(vllm_requests_running)", "10"))),
          annotations=STD_KEDA), None),
    ("Valid KEDA CPU metrics with pod metric source",
     isvc(tf(autoScaling=scaling(podmetric("avg(vllm_requests_running)", "10"))),
          annotations=STD_KEDA), None),
]


@pytest.mark.parametrize(("title", "obj", "want"), KEDA, ids=[c[0] for c in KEDA])
def test_autoscaler_class_keda(title: str, obj: dict[str, Any], want: Outcome) -> None:
    assert create(obj)[0] == want


# ---------------------------------------------------------------- single-object funcs
# TestRejectMultipleModelSpecs ... TestValidateTwoPredictorImplementationCollocation: upstream
# also asserts no warnings on each.

SINGLE = [
    ("TestRejectMultipleModelSpecs",
     isvc({**copy.deepcopy(TF), "xgboost": {}}), ("spec.predictor", PREDICTOR_ONE_OF)),
    ("TestCustomizeDeploymentStrategyUnsupportedForServerless",
     isvc(tf(serviceAccountName="test", deploymentStrategy={"type": "Recreate"})),
     ("spec.predictor.deploymentStrategy",
      "customizing deploymentStrategy is only supported for raw deployment mode")),
    ("TestModelSpecAndCustomOverridesIsValid", isvc(tf(serviceAccountName="test")), None),
    ("TestRejectModelSpecMissing", isvc({}), ("spec.predictor", PREDICTOR_ONE_OF)),
    ("TestBadParallelismValues", isvc(tf(containerConcurrency=-1)),
     ("spec.predictor.containerConcurrency", "parallelism cannot be less than 0")),
    ("TestCustomOK/named kserve-container",
     isvc({"containers": [{"name": "kserve-container", "image": "some-image"}]}), None),
    ("TestCustomOK/unnamed container", isvc({"containers": [{"image": "some-image"}]}), None),
    ("TestRejectBadTransformer", isvc(transformer={}),
     ("spec.transformer",
      "exactly one of [PodSpec, ComponentExtensionSpec] must be specified in TransformerSpec")),
    ("TestRejectBadExplainer", isvc(explainer={}),
     ("spec.explainer",
      "exactly one of [ART, PodSpec, ComponentExtensionSpec] must be specified in ExplainerSpec")),
    ("TestGoodExplainer", isvc(explainer={"art": {"storageUri": "gs://testbucket/testmodel"}}),
     None),
    ("TestGoodName", isvc(name="abc-123"), None),
    # upstream: ShouldNot(Succeed()); the message is upstream's InvalidISVCNameFormatError
    ("TestRejectBadNameStartWithNumber", isvc(name="1abcde"),
     ("metadata.name",
      "the InferenceService \"1abcde\" is invalid: a InferenceService name must consist of lower "
      "case alphanumeric characters or '-', and must start with alphabetical character. (e.g. "
      "\"my-name\" or \"abc-123\", regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")),
    ("TestRejectBadNameIncludeDot", isvc(name="abc.de"),
     Contains("metadata.name", 'the InferenceService "abc.de" is invalid: a InferenceService name')),
    ("TestValidateTwoPredictorImplementationCollocation",
     isvc({"model": {"modelFormat": {"name": "huggingface"},
                     "storageUri": "gs://testbucket/testmodel"},
           "containers": [{"name": "kserve-container", "image": "test/predictor:latest"},
                          {"name": "transformer-container",
                           "image": "test/transformer:latest"}]}),
     ("spec.predictor", PREDICTOR_ONE_OF)),
]


@pytest.mark.parametrize(("title", "obj", "want"), SINGLE, ids=[c[0] for c in SINGLE])
def test_single_object_funcs(title: str, obj: dict[str, Any], want: Outcome) -> None:
    out, warnings = create(obj)
    assert out == want
    assert warnings == []


# ---------------------------------------------------------------- TestBadReplicaValues
# upstream mutates one object through nine steps; each step is a row here.

TRANSFORMER = {"containers": [{"image": "some-image"}]}
ART = {"art": {"storageUri": "gs://testbucket/testmodel"}}
OK_PRED = tf(minReplicas=0, maxReplicas=0)

REPLICAS = [
    ("predictor min -1", isvc(tf(minReplicas=-1)), ("spec.predictor.minReplicas", MIN_LOWER)),
    ("predictor max -1", isvc(tf(minReplicas=1, maxReplicas=-1)),
     ("spec.predictor.maxReplicas", MAX_LOWER)),
    ("predictor min 2 > max 1", isvc(tf(minReplicas=2, maxReplicas=1)),
     ("spec.predictor.minReplicas", MIN_GT_MAX)),
    ("transformer min -1", isvc(OK_PRED, transformer={**TRANSFORMER, "minReplicas": -1}),
     ("spec.transformer.minReplicas", MIN_LOWER)),
    ("transformer max -1",
     isvc(OK_PRED, transformer={**TRANSFORMER, "minReplicas": 1, "maxReplicas": -1}),
     ("spec.transformer.maxReplicas", MAX_LOWER)),
    ("transformer min 2 > max 1",
     isvc(OK_PRED, transformer={**TRANSFORMER, "minReplicas": 2, "maxReplicas": 1}),
     ("spec.transformer.minReplicas", MIN_GT_MAX)),
    ("explainer min -1", isvc(OK_PRED, explainer={**ART, "minReplicas": -1}),
     ("spec.explainer.minReplicas", MIN_LOWER)),
    ("explainer max -1", isvc(OK_PRED, explainer={**ART, "minReplicas": 1, "maxReplicas": -1}),
     ("spec.explainer.maxReplicas", MAX_LOWER)),
    ("explainer min 2 > max 1",
     isvc(OK_PRED, explainer={**ART, "minReplicas": 2, "maxReplicas": 1}),
     ("spec.explainer.minReplicas", MIN_GT_MAX)),
]


@pytest.mark.parametrize(("title", "obj", "want"), REPLICAS, ids=[c[0] for c in REPLICAS])
def test_bad_replica_values(title: str, obj: dict[str, Any], want: Outcome) -> None:
    out, warnings = create(obj)
    assert out == want
    assert warnings == []


# ---------------------------------------------------------------- TestDeploymentModeUpdate


def with_mode(obj: dict[str, Any], mode: str | None) -> dict[str, Any]:
    """``DeepCopy`` of ``obj`` with the annotations replaced by ``{deploymentMode: mode}``
    (``{}`` for None)."""
    out = copy.deepcopy(obj)
    out["metadata"]["annotations"] = {} if mode is None else {MODE: mode}
    return out


def with_status(mode: str) -> dict[str, Any]:
    return isvc(status={"deploymentMode": mode})


def deleting(obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return out


MODE_FIELD = f"metadata.annotations[{MODE}]"
MODE_UPDATES = [
    ("Annotation does not match status, update should be rejected",
     with_status("Knative"), with_mode(with_status("Knative"), "Standard"),
     (MODE_FIELD, "update rejected: deploymentMode cannot be changed from 'Knative' to 'Standard'")),
    ("Annotation matches status, update is accepted",
     with_status("Knative"), with_mode(with_status("Knative"), "Knative"), None),
    ("Legacy status RawDeployment should accept normalized annotation Standard",
     with_status("RawDeployment"), with_mode(with_status("RawDeployment"), "Standard"), None),
    ("Legacy status Serverless should accept normalized annotation Knative",
     with_status("Serverless"), with_mode(with_status("Serverless"), "Knative"), None),
    ("Legacy status RawDeployment with different mode Knative should still be rejected",
     with_status("RawDeployment"), with_mode(with_status("RawDeployment"), "Knative"),
     (MODE_FIELD, "update rejected: deploymentMode cannot be changed from 'Standard' to 'Knative'")),
    ("Mismatched deploymentMode should be allowed during deletion",
     with_status("Knative"), deleting(with_mode(with_status("Knative"), "Standard")), None),
    ("Empty Status.DeploymentMode with a non-Standard annotation should be accepted",
     with_status(""), with_mode(with_status(""), "Knative"), None),
    ("Empty Status.DeploymentMode with a legacy Serverless annotation should also be accepted",
     with_status(""), with_mode(with_status(""), "Serverless"), None),
    ("Empty Status.DeploymentMode with a Standard annotation should also be accepted",
     with_status(""), with_mode(with_status(""), "Standard"), None),
    ("Empty Status.DeploymentMode with no deploymentMode annotation should be accepted",
     with_status(""), with_mode(with_status(""), None), None),
]


@pytest.mark.parametrize(("title", "old", "new", "want"), MODE_UPDATES,
                         ids=[c[0] for c in MODE_UPDATES])
def test_deployment_mode_update(title: str, old: dict[str, Any], new: dict[str, Any],
                                want: Outcome) -> None:
    out, warnings = update(old, new)
    assert out == want
    assert warnings == []


# ---------------------------------------------------------------- TestValidateUpdateDuringDeletion


def test_validate_update_during_deletion() -> None:
    old = isvc({"model": {"modelFormat": {"name": "huggingface"},
                          "storageUri": "pvc://my-pvc/model"}, "workerSpec": {}},
               name="multinode-isvc",
               annotations={CLASS: "external", MODE: "RawDeployment"})
    # without a deletionTimestamp: refused (external autoscaler is invalid for multi-node)
    out, warnings = update(old, copy.deepcopy(old))
    assert out == ("metadata.annotations[serving.kserve.io/autoscalerClass]",
                   'the InferenceService "multinode-isvc" is invalid: '
                   "Multinode only supports 'none' autoscaler(external)")
    assert warnings == []
    # being deleted: accepted so that finalizers can be removed
    assert update(old, deleting(old)) == (None, [])


# ---------------------------------------------------------------- TestValidateDelete


def _delete_review(obj: dict[str, Any]) -> bytes:
    return json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                       "request": {"uid": "u", "operation": "DELETE", "namespace": "default",
                                   "oldObject": obj}}).encode()


@pytest.mark.parametrize(
    ("title", "obj", "allowed"),
    [
        ("Valid InferenceService object", isvc(), True),
        ("Invalid object type", {"apiVersion": "v1", "kind": "Pod",
                                 "metadata": {"name": "p", "namespace": "default"}}, False),
    ],
)
@pytest.mark.anyio
async def test_validate_delete(title: str, obj: dict[str, Any], allowed: bool) -> None:
    """Upstream calls ``ValidateDelete`` (allowed; a Pod fails conversion). Our pure
    functions have no delete rule, so this goes through the admission handler the manager
    registers (which the apiserver never calls on DELETE: the configuration has
    CREATE/UPDATE only, as upstream's)."""
    from controllers.webhooks.inferenceservice import InferenceServiceValidator
    from runtime.webhook import Admission, ValidatorHandler
    from runtime.webhook.http import HTTPRequest

    hook = Admission(ValidatorHandler(InferenceServiceValidator(), kind="InferenceService"))
    resp = await hook.serve(HTTPRequest("POST", "/", "", "HTTP/1.1",
                                        {"content-type": "application/json"},
                                        _delete_review(obj)))
    out = json.loads(resp.body)["response"]
    assert out["allowed"] is allowed
    assert not out.get("warnings")
    if not allowed:
        assert 400 <= out["status"]["code"] < 500 and "Pod" in out["status"]["message"]


# ---------------------------------------------------------------- TestValidateScalingKedaCompExtension

TARGET = f"{METRICS}.resource.target"
KEDA_EXT = [
    ("valid cpu", {"autoScaling": scaling(cpu_util(80, type="Utilization"))}, None),
    ("valid memory", {"autoScaling": scaling(mem_avg("2Gi", type="AverageValue"))}, None),
    ("invalid: ScaleMetric set", {"scaleMetric": "cpu"},
     Contains("spec.predictor.scaleMetric", "ScaleMetric is not supported for KEDA")),
    ("invalid: missing resource", {"autoScaling": scaling({"type": "Resource"})},
     Contains(f"{METRICS}.resource",
              "metricSpec.Resource is not set for resource metric source type")),
    ("invalid: cpu wrong type",
     {"autoScaling": scaling({"type": "Resource", "resource": {
         "name": "cpu", "target": {"type": "AverageValue"}}})},
     Contains(f"{TARGET}.type", "the cpu target value type should be Utilization")),
    ("invalid: memory wrong type",
     {"autoScaling": scaling({"type": "Resource", "resource": {
         "name": "memory", "target": {"type": "Value"}}})},
     Contains(f"{TARGET}.type",
              "the memory target value type should be AverageValue or Utilization")),
    ("invalid: memory value too low",
     {"autoScaling": scaling(mem_avg("512Ki", type="AverageValue"))},
     Contains(f"{TARGET}.averageValue", "the memory target value should be greater than 1 MiB")),
    ("invalid: unsupported resource",
     {"autoScaling": scaling({"type": "Resource", "resource": {
         "name": "disk", "target": {"type": "Utilization"}}})},
     Contains(f"{METRICS}.resource.name", "resource type disk is not supported")),
    ("invalid: external metric missing query/value",
     {"autoScaling": scaling(external("", None))},
     Contains(f"{METRICS}.external.metric.query", "the query should not be empty")),
    ("valid: external metric", {"autoScaling": scaling(external("avg(requests)", "10"))}, None),
    ("invalid: pod metric missing query/value", {"autoScaling": scaling(podmetric("", None))},
     Contains(f"{METRICS}.podmetric.metric.query", "the query should not be empty")),
    ("valid: pod metric", {"autoScaling": scaling(podmetric("avg(requests)", "5"))}, None),
    ("invalid: unknown metric type", {"autoScaling": scaling({"type": "UnknownType"})},
     Contains(f"{METRICS}.type",
              "unknown KEDA metric type with value [UnknownType].Valid types are Resource,External,PodMetric")),
]


@pytest.mark.parametrize(("title", "ext", "want"), KEDA_EXT, ids=[c[0] for c in KEDA_EXT])
def test_validate_scaling_keda_comp_extension(title: str, ext: dict[str, Any],
                                              want: Contains | None) -> None:
    # upstream calls validateScalingKedaCompExtension(spec); here the spec is the predictor's
    # extension under deploymentMode Standard + autoscalerClass keda, which selects that rule
    assert create(isvc(tf(**ext), annotations=STD_KEDA))[0] == want


# ---------------------------------------------------------------- TestValidateStorageUriSpec
# / TestValidateStorageUri: the list is a custom predictor's storageUris (its container sets no
# STORAGE_URI, so storageUri and storageUris do not clash)


def custom_with_uris(*uris: tuple[str, str]) -> dict[str, Any]:
    return isvc({"containers": [{"name": "kserve-container", "image": "img"}],
                 "storageUris": [{"uri": u, "mountPath": p} for u, p in uris]})


URIS = "spec.predictor.storageUris"
STORAGE_URI_SPEC = [
    ("ValidStorageUriSpec", custom_with_uris(("gs://bucket/model", "/mnt/models")), None),
    ("ValidStorageUriSpecWithRootPath", custom_with_uris(("s3://bucket/model", "/")),
     (f"{URIS}[0].mountPath", "storage path cannot be empty")),
    ("EmptyUri", custom_with_uris(("", "/mnt/models")),
     (f"{URIS}[0].uri", "storage URI cannot be empty")),
    ("RelativePath", custom_with_uris(("gs://bucket/model", "mnt/models")),
     (f"{URIS}[0].mountPath", "storage path must be absolute: mnt/models")),
]


@pytest.mark.parametrize(("title", "obj", "want"), STORAGE_URI_SPEC,
                         ids=[c[0] for c in STORAGE_URI_SPEC])
def test_validate_storage_uri_spec(title: str, obj: dict[str, Any], want: Outcome) -> None:
    assert create(obj)[0] == want


STORAGE_URIS = [
    ("EmptyList", custom_with_uris(), None),
    ("SingleValidStorageUri", custom_with_uris(("gs://bucket/model1", "/mnt/models")), None),
    ("MultipleValidStorageUrisWithCommonParent",
     custom_with_uris(("gs://bucket/model1", "/mnt/models/model1"),
                      ("s3://bucket/model2", "/mnt/models/model2")), None),
    ("MultipleStorageUrisWithoutCommonParent",
     custom_with_uris(("gs://bucket/model1", "/mnt/models"), ("s3://bucket/model2", "/opt/models")),
     Contains(URIS, "storage paths must have a common parent directory")),
    ("InvalidStorageUriInList",
     custom_with_uris(("gs://bucket/model1", "/mnt/models"), ("", "/mnt/models/model2")),
     (f"{URIS}[1].uri", "storage URI cannot be empty")),
    ("RelativePathInList",
     custom_with_uris(("gs://bucket/model1", "/mnt/models"),
                      ("s3://bucket/model2", "mnt/models/model2")),
     (f"{URIS}[1].mountPath", "storage path must be absolute: mnt/models/model2")),
]


@pytest.mark.parametrize(("title", "obj", "want"), STORAGE_URIS, ids=[c[0] for c in STORAGE_URIS])
def test_validate_storage_uri(title: str, obj: dict[str, Any], want: Outcome | Contains) -> None:
    assert create(obj)[0] == want


def test_validate_storage_uri_common_parent_message() -> None:
    """The whole text of the case above (upstream's ``%v`` of the path slice)."""
    obj = custom_with_uris(("gs://bucket/model1", "/mnt/models"),
                           ("s3://bucket/model2", "/opt/models"))
    assert create(obj)[0] == (URIS, "storage paths must have a common parent directory. "
                                    "Current paths: [/mnt/models /opt/models] have no common "
                                    "parent beyond root")


# ---------------------------------------------------------------- TestValidateConfidential


def confidential_model(uri: str | None, conf: dict[str, Any] | None) -> dict[str, Any]:
    model: dict[str, Any] = {}
    if uri is not None:
        model["storageUri"] = uri
    if conf is not None:
        model["confidential"] = conf
    return isvc({"model": model})


CONFIDENTIAL = [
    ("confidential nil", confidential_model("s3://bucket/model", None), None, None),
    ("confidential disabled", confidential_model("s3://bucket/model", {"enabled": False}),
     None, None),
    ("confidential enabled with storageUri and resourceId",
     confidential_model("s3://bucket/model",
                        {"enabled": True, "resourceId": "kbs:///default/key/model-key"}),
     None, None),
    ("confidential enabled with storageUri no resourceId",
     confidential_model("s3://bucket/model", {"enabled": True}), None, None),
    ("confidential enabled without storageUri", confidential_model(None, {"enabled": True}),
     ("spec.predictor.model.storageUri", "confidential model serving requires storageUri to be set"),
     None),
    ("confidential enabled with OCI URI warns",
     confidential_model("oci://registry/model:latest", {"enabled": True}), None, "OCI URIs"),
    ("confidential enabled with PVC URI warns",
     confidential_model("pvc://my-pvc/model-dir", {"enabled": True}), None, "PVC URIs"),
    ("confidential with malformed resourceId",
     confidential_model("s3://bucket/model",
                        {"enabled": True, "resourceId": "invalid-resource-id"}),
     Contains("spec.predictor.model.confidential.resourceId",
              "must be in the format kbs:///<repo>/<type>/<tag>"), None),
]


@pytest.mark.parametrize(("title", "obj", "want", "warning"), CONFIDENTIAL,
                         ids=[c[0] for c in CONFIDENTIAL])
def test_validate_confidential(title: str, obj: dict[str, Any], want: Outcome | Contains,
                               warning: str | None) -> None:
    out, warnings = create(obj)
    assert out == want
    if warning is None:
        assert warnings == []
    else:
        assert len(warnings) == 1 and warning in warnings[0]


# ---------------------------------------------------------------- TestValidateCanarySpecs


def sk(uri: str) -> dict[str, Any]:
    return {"modelFormat": {"name": "sklearn"}, "storageUri": uri}


def canary_isvc(canaries: list[dict[str, Any]] | None, *, stable_min: int | None = 4,
                annotations: dict[str, str] | None = STD, **stable: Any) -> dict[str, Any]:
    """``makeISVC``: Standard mode, stable minReplicas 4 (None: unset), sklearn model v1."""
    pred: dict[str, Any] = {"model": sk("gs://test/model-v1"), **stable}
    if stable_min is not None:
        pred["minReplicas"] = stable_min
    obj = isvc(pred, annotations=annotations)
    if canaries is not None:
        obj["spec"]["canary"] = canaries
    return obj


def valid_canary(name: str, traffic: int) -> dict[str, Any]:
    return {"trafficPercent": traffic,
            "predictor": {"name": name, "model": sk(f"gs://test/model-{name}")}}


def canary_v2(**pred: Any) -> dict[str, Any]:
    return {"trafficPercent": 10, "predictor": {**pred, "model": sk("gs://test/v2")}}


C0 = "spec.canary[0].predictor"
CANARIES = [
    ("No canaries passes validation", canary_isvc(None), None),
    ("Single valid canary", canary_isvc([valid_canary("v2", 10)]), None),
    ("Multiple valid canaries", canary_isvc([valid_canary("v2", 25), valid_canary("v3", 25)]),
     None),
    ("Traffic sum = 100 accepted", canary_isvc([valid_canary("v2", 50), valid_canary("v3", 50)]),
     None),
    ("Traffic percent = 0 accepted (dark launch)", canary_isvc([valid_canary("v2", 0)]), None),
    ("Canary rejected in Knative mode",
     canary_isvc([valid_canary("v2", 10)], stable_min=None, annotations=None),
     Contains("spec.canary", "only supported in Standard deployment mode")),
    ("Missing predictor.name rejected", canary_isvc([canary_v2()]),
     Contains(f"{C0}.name", "predictor.name is required")),
    ("Duplicate predictor.name rejected",
     canary_isvc([valid_canary("v2", 10), valid_canary("v2", 20)]),
     Contains("spec.canary[1].predictor.name", "duplicated")),
    ("Canary name conflicts with stable name rejected",
     canary_isvc([valid_canary("stable", 10)], name="stable"),
     Contains(f"{C0}.name", "conflicts with stable")),
    ("Traffic sum > 100 rejected", canary_isvc([valid_canary("v2", 60), valid_canary("v3", 50)]),
     Contains("spec.canary", "must be <= 100")),
    ("Canary with maxReplicas rejected", canary_isvc([canary_v2(name="v2", maxReplicas=5)]),
     Contains(f"{C0}.maxReplicas", "must not set maxReplicas")),
    ("Canary minReplicas equal to stable accepted",
     canary_isvc([canary_v2(name="v2", minReplicas=4)]), None),
    ("Canary minReplicas exceeds stable rejected",
     canary_isvc([canary_v2(name="v2", minReplicas=5)]),
     Contains(f"{C0}.minReplicas", "must not exceed stable")),
    ("Canary minReplicas equal to default stable accepted",
     canary_isvc([canary_v2(name="v2", minReplicas=1)], stable_min=None), None),
    ("Canary minReplicas exceeds default stable rejected",
     canary_isvc([canary_v2(name="v2", minReplicas=2)], stable_min=None),
     Contains(f"{C0}.minReplicas", "must not exceed stable")),
    ("Canary minReplicas accepted when nil (derived from traffic)",
     canary_isvc([valid_canary("v2", 10)], stable_min=None), None),
    ("Canary with workerSpec rejected", canary_isvc([canary_v2(name="v2", workerSpec={})]),
     Contains(f"{C0}.workerSpec", "must not set workerSpec")),
    ("Canary rejected when stable uses custom container (no model)",
     isvc({"containers": [{"name": "kserve-container", "image": "custom-server:latest"}]},
          annotations=STD, canary=[valid_canary("v2", 10)]),
     Contains("spec.predictor", "requires a stable predictor with a model")),
]


@pytest.mark.parametrize(("title", "obj", "want"), CANARIES, ids=[c[0] for c in CANARIES])
def test_validate_canary_specs(title: str, obj: dict[str, Any], want: Outcome | Contains) -> None:
    assert create(obj)[0] == want


def test_validate_canary_specs_whole_messages() -> None:
    """The full texts behind the substrings upstream asserts (its ``fmt.Errorf`` formats)."""
    got = {title: create(obj)[0] for title, obj, want in CANARIES if want is not None}
    assert got == {
        "Canary rejected in Knative mode":
            ("spec.canary", "canary is only supported in Standard deployment mode"),
        "Missing predictor.name rejected": (f"{C0}.name", "canary[0] predictor.name is required"),
        "Duplicate predictor.name rejected":
            ("spec.canary[1].predictor.name", 'canary predictor.name "v2" is duplicated'),
        "Canary name conflicts with stable name rejected":
            (f"{C0}.name", 'canary predictor.name "stable" conflicts with stable predictor name'),
        "Traffic sum > 100 rejected":
            ("spec.canary", "sum of canary trafficPercent values (110) must be <= 100"),
        "Canary with maxReplicas rejected":
            (f"{C0}.maxReplicas", 'canary "v2" must not set maxReplicas (canary uses fixed replicas)'),
        "Canary minReplicas exceeds stable rejected":
            (f"{C0}.minReplicas",
             'canary "v2" minReplicas (5) must not exceed stable predictor minReplicas (4)'),
        "Canary minReplicas exceeds default stable rejected":
            (f"{C0}.minReplicas",
             'canary "v2" minReplicas (2) must not exceed stable predictor minReplicas (1)'),
        "Canary with workerSpec rejected":
            (f"{C0}.workerSpec",
             'canary "v2" must not set workerSpec (multi-node is not yet supported for canary)'),
        "Canary rejected when stable uses custom container (no model)":
            ("spec.predictor", "canary requires a stable predictor with a model "
                               "(multi-model serving is not supported with canary)"),
    }


# ---------------------------------------------------------------- TestValidatePredictorNameChange


def named(name: str, uri: str) -> dict[str, Any]:
    return isvc({"name": name, "model": sk(uri)} if name else {"model": sk(uri)}, annotations=STD)


NAME_CHANGES = [
    ("Name change with model change accepted (promotion)",
     named("", "gs://test/model-v1"), named("v2", "gs://test/model-v2"), None),
    ("Name change without model change rejected",
     named("", "gs://test/model-v1"), named("v2", "gs://test/model-v1"),
     Contains("spec.predictor.name", "predictor.name change requires a model change")),
    ("Model change without name change accepted (normal update)",
     named("v2", "gs://test/model-v1"), named("v2", "gs://test/model-v2"), None),
    ("No changes accepted", named("v2", "gs://test/model-v1"), named("v2", "gs://test/model-v1"),
     None),
]


@pytest.mark.parametrize(("title", "old", "new", "want"), NAME_CHANGES,
                         ids=[c[0] for c in NAME_CHANGES])
def test_validate_predictor_name_change(title: str, old: dict[str, Any], new: dict[str, Any],
                                        want: Contains | None) -> None:
    assert update(old, new)[0] == want
