"""Flows that need a model server answering requests: they run only where a kubelet runs
the images (E2E_MODEL_SERVERS=1 on a real cluster reachable at the InferenceService's
host through its ingress, E2E_INGRESS=host:port)."""

from __future__ import annotations

import json
import os
import urllib.request
from typing import Any

import pytest

from e2e.test_inferenceservice import create_isvc, sklearn_predictor, wait_isvc

pytestmark = pytest.mark.needs_model_server


def _post(host: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    ingress = os.environ.get("E2E_INGRESS", "127.0.0.1:80")
    req = urllib.request.Request(f"http://{ingress}{path}", data=json.dumps(body).encode(),
                                 headers={"Host": host, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        result: dict[str, Any] = json.loads(r.read())
        return result


def test_sklearn_predicts(kube: Any, namespace: str) -> None:
    create_isvc(kube, namespace, "sklearn-iris", {"predictor": sklearn_predictor()})
    isvc = wait_isvc(kube, namespace, "sklearn-iris", timeout=600)
    host = isvc["status"]["url"].split("://", 1)[1]
    out = _post(host, "/v1/models/sklearn-iris:predict",
                {"instances": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]})
    assert out == {"predictions": [1, 1]}
