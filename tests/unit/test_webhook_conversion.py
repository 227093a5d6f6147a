"""runtime.webhook.conversion: ConversionReview served for registered kinds."""

from __future__ import annotations

import json
from typing import Any

import pytest

from runtime.webhook.conversion import ConversionError, ConversionWebhook
from runtime.webhook.http import HTTPRequest


def request(body: Any, ctype: str = "application/json") -> HTTPRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HTTPRequest("POST", "/convert", "", "HTTP/1.1", {"content-type": ctype}, raw)


def review(objects: list[Any], desired: str = "example.com/v2",
           version: str = "apiextensions.k8s.io/v1") -> dict[str, Any]:
    return {"apiVersion": version, "kind": "ConversionReview",
            "request": {"uid": "u", "desiredAPIVersion": desired, "objects": objects}}


def to_v2(obj: dict[str, Any], desired: str) -> dict[str, Any]:
    if desired != "example.com/v2":
        raise ConversionError(f"cannot convert to {desired}")
    spec = obj.get("spec", {})
    return {**obj, "spec": {"size": spec.get("replicas", 0)}}


@pytest.fixture
def hook() -> ConversionWebhook:
    h = ConversionWebhook()
    h.register("example.com", "Widget", to_v2)
    return h


@pytest.mark.anyio
@pytest.mark.parametrize("version", ["apiextensions.k8s.io/v1", "apiextensions.k8s.io/v1beta1"])
async def test_converts_in_order(hook: ConversionWebhook, version: str) -> None:
    objs = [
        {"apiVersion": "example.com/v1", "kind": "Widget", "spec": {"replicas": 2}},
        {"apiVersion": "example.com/v2", "kind": "Widget", "spec": {"size": 5}},
    ]
    resp = await hook.serve(request(review(objs, version=version)))
    out = json.loads(resp.body)
    assert resp.status == 200 and out["apiVersion"] == version
    assert out["response"]["uid"] == "u"
    assert out["response"]["result"]["status"] == "Success"
    assert out["response"]["convertedObjects"] == [
        {"apiVersion": "example.com/v2", "kind": "Widget", "spec": {"size": 2}},
        {"apiVersion": "example.com/v2", "kind": "Widget", "spec": {"size": 5}},
    ]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("objs", "desired", "message"),
    [
        ([{"apiVersion": "example.com/v1", "kind": "Gadget"}], "example.com/v2",
         "no conversion registered for Gadget.example.com"),
        ([{"apiVersion": "example.com/v1", "kind": "Widget"}], "example.com/v3",
         "cannot convert to example.com/v3"),
        ([{"apiVersion": "other.io/v1", "kind": "Widget"}], "example.com/v2", "different groups"),
        ([1], "example.com/v2", "every item must be an object"),
    ],
)
async def test_failures_are_reported_in_result(hook: ConversionWebhook, objs: list[Any],
                                               desired: str, message: str) -> None:
    resp = await hook.serve(request(review(objs, desired)))
    out = json.loads(resp.body)["response"]
    assert resp.status == 200
    assert out["result"]["status"] == "Failure" and message in out["result"]["message"]
    assert out["convertedObjects"] == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    "body",
    [b"{", json.dumps({"kind": "AdmissionReview"}).encode(),
     json.dumps({"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview"}).encode(),
     json.dumps({"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview",
                 "request": {"uid": "u"}}).encode()],
)
async def test_bad_requests_are_400(hook: ConversionWebhook, body: bytes) -> None:
    assert (await hook.serve(request(body))).status == 400


def test_duplicate_registration(hook: ConversionWebhook) -> None:
    with pytest.raises(ValueError, match="already registered"):
        hook.register("example.com", "Widget", to_v2)
