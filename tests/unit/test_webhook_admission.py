"""runtime.webhook.admission: AdmissionReview decoding/encoding, defaulter and validator
handlers, refusals instead of errors (controller-runtime's admission semantics)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from runtime import metrics
from runtime.restmapper import GVK
from runtime.webhook import (
    Admission,
    AdmissionError,
    AdmissionRequest,
    DefaulterHandler,
    Validator,
    ValidatorHandler,
    allowed,
    apply_patch,
    denied,
    mutate_path,
    validate_path,
)
from runtime.webhook.admission import ReviewError, decode_review, encode_review
from runtime.webhook.http import HTTPRequest

V1 = "admission.k8s.io/v1"
V1BETA1 = "admission.k8s.io/v1beta1"


def review(op: str = "CREATE", obj: Any = None, old: Any = None, version: str = V1,
           **extra: Any) -> dict[str, Any]:
    req: dict[str, Any] = {"uid": "uid-1", "operation": op, **extra}
    if obj is not None:
        req["object"] = obj
    if old is not None:
        req["oldObject"] = old
    return {"apiVersion": version, "kind": "AdmissionReview", "request": req}


def http(body: Any, ctype: str = "application/json") -> HTTPRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HTTPRequest("POST", "/x", "", "HTTP/1.1", {"content-type": ctype}, raw)


class FieldErr(ValueError):
    def __init__(self, field: str, reason: str, warnings: list[str] | None = None) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason, self.warnings = field, reason, warnings or []


# ------------------------------------------------------------------------------- decoding


@pytest.mark.parametrize(
    ("body", "ctype", "message"),
    [
        (b"", "application/json", "request body is empty"),
        (b"{}", "text/plain", "contentType=text/plain, expected application/json"),
        (b"{", "application/json", "unable to decode the request"),
        (b"[1]", "application/json", "expected a JSON object"),
        (b'{"apiVersion": "admission.k8s.io/v1"}', "application/json", "'Kind' is missing"),
        (json.dumps({"apiVersion": "v9", "kind": "AdmissionReview"}).encode(),
         "application/json", 'no kind "AdmissionReview" is registered for version "v9"'),
        (json.dumps({"apiVersion": V1, "kind": "AdmissionReview"}).encode(),
         "application/json", "request: an AdmissionReview must carry a request object"),
        (json.dumps(review(uid=5)).encode(), "application/json", "request.uid: expected a string"),
        (json.dumps(review("PATCH")).encode(), "application/json",
         "request.operation: unknown operation 'PATCH'"),
        (json.dumps(review(obj=[1])).encode(), "application/json",
         "request.object: expected an object"),
        (json.dumps(review(dryRun="yes")).encode(), "application/json",
         "request.dryRun: expected a boolean"),
    ],
)
def test_decode_review_refuses(body: bytes, ctype: str, message: str) -> None:
    with pytest.raises(ReviewError) as err:
        decode_review(body, ctype)
    assert err.value.code == 400
    assert message in str(err.value)


def test_decode_review_fields() -> None:
    body = review("UPDATE", {"metadata": {"name": "a"}}, {"metadata": {"name": "a"}},
                  version=V1BETA1, name="a", namespace="ns", dryRun=True,
                  kind={"group": "g", "version": "v1", "kind": "K"},
                  userInfo={"username": "u"})
    version, req = decode_review(json.dumps(body).encode(), "application/json; charset=utf-8")
    assert version == V1BETA1
    assert (req.uid, req.operation, req.name, req.namespace, req.dry_run) == (
        "uid-1", "UPDATE", "a", "ns", True)
    assert req.kind["kind"] == "K" and req.user_info["username"] == "u"
    assert req.object == req.old_object == {"metadata": {"name": "a"}}


def test_encode_review_shape() -> None:
    ok = json.loads(encode_review(V1BETA1, "u", allowed().with_warnings(["w"])))
    assert ok == {"apiVersion": V1BETA1, "kind": "AdmissionReview", "response": {
        "uid": "u", "allowed": True, "status": {"metadata": {}, "code": 200}, "warnings": ["w"]}}
    no = json.loads(encode_review(V1, "u", denied("nope")))
    assert no["response"]["status"] == {"metadata": {}, "code": 403, "status": "Failure",
                                        "reason": "Forbidden", "message": "nope"}


# ------------------------------------------------------------------------------- handlers


async def serve(hook: Admission, body: Any) -> tuple[int, dict[str, Any]]:
    resp = await hook.serve(http(body))
    return resp.status, json.loads(resp.body)


@pytest.mark.anyio
@pytest.mark.parametrize("version", [V1, V1BETA1])
async def test_defaulter_patch_in_asked_version(version: str) -> None:
    def default(obj: dict[str, Any], req: AdmissionRequest) -> None:
        obj["metadata"].setdefault("labels", {})["a"] = "b"
        obj["spec"]["replicas"] = 1

    original = {"metadata": {"name": "x"}, "spec": {"replicas": 3, "keep": True}}
    status, out = await serve(Admission(DefaulterHandler(default)),
                              review(obj=original, version=version))
    assert status == 200 and out["apiVersion"] == version
    r = out["response"]
    assert r["uid"] == "uid-1" and r["allowed"] is True and r["patchType"] == "JSONPatch"
    patch = json.loads(base64.b64decode(r["patch"]))
    assert apply_patch(original, patch) == {
        "metadata": {"name": "x", "labels": {"a": "b"}}, "spec": {"replicas": 1, "keep": True}}


@pytest.mark.anyio
async def test_defaulter_returning_object_and_no_change() -> None:
    async def default(obj: dict[str, Any], req: AdmissionRequest) -> dict[str, Any]:
        return {**obj, "x": 1}

    _, out = await serve(Admission(DefaulterHandler(default)), review(obj={"a": 1}))
    assert json.loads(base64.b64decode(out["response"]["patch"])) == [
        {"op": "add", "path": "/x", "value": 1}]
    _, out = await serve(Admission(DefaulterHandler(lambda o, r: o)), review(obj={"a": 1}))
    assert out["response"]["allowed"] is True and "patch" not in out["response"]


@pytest.mark.anyio
async def test_defaulter_skips_delete_and_needs_object() -> None:
    called: list[str] = []
    hook = Admission(DefaulterHandler(lambda o, r: called.append(r.operation)))
    _, out = await serve(hook, review("DELETE", old={"a": 1}))
    assert out["response"]["allowed"] is True and not called
    _, out = await serve(hook, review("CREATE"))
    assert out["response"]["status"]["code"] == 400


@pytest.mark.anyio
async def test_refusal_names_the_field_and_keeps_warnings() -> None:
    def default(obj: dict[str, Any], req: AdmissionRequest) -> None:
        raise FieldErr("spec.predictor.minReplicas", "cannot be less than 0", ["careful"])

    status, out = await serve(Admission(DefaulterHandler(default)), review(obj={}))
    r = out["response"]
    assert status == 200 and r["allowed"] is False
    assert r["status"]["code"] == 403
    assert r["status"]["message"] == "spec.predictor.minReplicas: cannot be less than 0"
    assert r["status"]["details"]["causes"] == [{
        "reason": "FieldValueInvalid", "message": "cannot be less than 0",
        "field": "spec.predictor.minReplicas"}]
    assert r["warnings"] == ["careful"]


@pytest.mark.anyio
async def test_admission_error_code_and_reason() -> None:
    def bad(obj: dict[str, Any], req: AdmissionRequest) -> None:
        raise AdmissionError("gone", code=409, reason="Conflict")

    _, out = await serve(Admission(ValidatorHandler(Validator(create=bad))), review(obj={}))
    assert out["response"]["status"]["code"] == 409
    assert out["response"]["status"]["reason"] == "Conflict"


@pytest.mark.anyio
async def test_bug_in_handler_is_a_refusal_not_a_500() -> None:
    before = metrics.WEBHOOK_PANICS_TOTAL._value.get()

    def bug(obj: dict[str, Any], req: AdmissionRequest) -> None:
        raise ZeroDivisionError("division by zero")

    status, out = await serve(Admission(ValidatorHandler(Validator(create=bug))), review(obj={}))
    assert status == 200
    r = out["response"]
    assert r["allowed"] is False and r["status"]["code"] == 403
    assert "ZeroDivisionError: division by zero" in r["status"]["message"]
    assert metrics.WEBHOOK_PANICS_TOTAL._value.get() == before + 1


@pytest.mark.anyio
async def test_validator_dispatch_by_operation() -> None:
    seen: list[tuple[str, Any]] = []

    class V:
        def validate_create(self, obj: Any, req: AdmissionRequest) -> list[str]:
            seen.append(("create", obj))
            return ["w-create"]

        async def validate_update(self, old: Any, new: Any, req: AdmissionRequest) -> None:
            seen.append(("update", (old, new)))

        def validate_delete(self, old: Any, req: AdmissionRequest) -> list[str]:
            seen.append(("delete", old))
            raise ValueError("in use")

    hook = Admission(ValidatorHandler(V()))
    _, out = await serve(hook, review("CREATE", {"n": 1}))
    assert out["response"]["allowed"] and out["response"]["warnings"] == ["w-create"]
    _, out = await serve(hook, review("UPDATE", {"n": 2}, {"n": 1}))
    assert out["response"]["allowed"]
    _, out = await serve(hook, review("DELETE", old={"n": 2}))
    assert not out["response"]["allowed"] and out["response"]["status"]["message"] == "in use"
    _, out = await serve(hook, review("CONNECT"))
    assert out["response"]["allowed"]
    _, out = await serve(hook, review("UPDATE", {"n": 2}))
    assert out["response"]["status"]["code"] == 400
    assert seen == [("create", {"n": 1}), ("update", ({"n": 1}, {"n": 2})), ("delete", {"n": 2})]


@pytest.mark.anyio
async def test_malformed_review_is_http_400_with_reason() -> None:
    status, out = await serve(Admission(ValidatorHandler(Validator())), b"not json")
    assert status == 400
    assert out["response"]["allowed"] is False
    assert out["response"]["status"]["code"] == 400
    assert "unable to decode the request" in out["response"]["status"]["message"]


@pytest.mark.parametrize(
    ("gvk", "mutate", "validate"),
    [
        (GVK("serving.kserve.io", "v1beta1", "InferenceService"),
         "/mutate-serving-kserve-io-v1beta1-inferenceservice",
         "/validate-serving-kserve-io-v1beta1-inferenceservice"),
        (GVK("serving.kserve.io", "v1alpha1", "LocalModelCache"),
         "/mutate-serving-kserve-io-v1alpha1-localmodelcache",
         "/validate-serving-kserve-io-v1alpha1-localmodelcache"),
        (GVK("", "v1", "Pod"), "/mutate--v1-pod", "/validate--v1-pod"),
        (GVK("apps", "v1", "Deployment"), "/mutate-apps-v1-deployment",
         "/validate-apps-v1-deployment"),
    ],
)
def test_paths_as_controller_runtime(gvk: GVK, mutate: str, validate: str) -> None:
    assert mutate_path(gvk) == mutate
    assert validate_path(gvk) == validate
