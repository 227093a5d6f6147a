"""The API types' figures.

- ``apis_import_cold_s``: ``import apis.serving.v1beta1`` in a fresh interpreter (best of 5;
  the machine is shared, so the minimum is the figure least disturbed by others); goal < 0.5 s.
- ``apis_import_all_cold_s``: every module under ``apis`` (what codegen / the manager load).
- ``isvc_first_validate_cold_s``: import plus the first ``InferenceService.model_validate`` in a
  fresh interpreter (models build their validators on first use: ``defer_build``).
- ``isvc_validate_ms``: ``InferenceService.model_validate`` of a full object (predictor with
  resources/env/probes, transformer, canary, status), median; goal < 1 ms.
- ``isvc_dump_ms``: ``to_kube()`` of the same object, median.
- ``codegen_s``: ``python -m codegen`` into a temporary directory, wall time (best of 3).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._results import print_table, record

ROOT = Path(__file__).resolve().parent.parent

FULL_ISVC: dict[str, Any] = {
    "apiVersion": "serving.kserve.io/v1beta1",
    "kind": "InferenceService",
    "metadata": {
        "name": "sklearn-iris",
        "namespace": "models",
        "labels": {"team": "ml"},
        "annotations": {"serving.kserve.io/deploymentMode": "Standard"},
    },
    "spec": {
        "predictor": {
            "minReplicas": 1,
            "maxReplicas": 5,
            "scaleMetric": "cpu",
            "scaleTarget": 80,
            "serviceAccountName": "sa",
            "nodeSelector": {"pool": "gpu"},
            "tolerations": [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}],
            "logger": {"mode": "all", "url": "http://logger"},
            "model": {
                "modelFormat": {"name": "sklearn", "version": "1"},
                "protocolVersion": "v2",
                "storageUri": "gs://kfserving-examples/models/sklearn/1.0/model",
                "args": ["--workers=2"],
                "env": [
                    {"name": "A", "value": "1"},
                    {"name": "B", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
                ],
                "ports": [{"containerPort": 8080, "name": "http1"}],
                "resources": {
                    "requests": {"cpu": "100m", "memory": "256Mi"},
                    "limits": {"cpu": "1", "memory": "1Gi"},
                },
                "readinessProbe": {"httpGet": {"path": "/v2/health/ready"}, "periodSeconds": 5},
                "volumeMounts": [{"name": "cache", "mountPath": "/cache"}],
            },
            "volumes": [{"name": "cache", "emptyDir": {}}],
        },
        "transformer": {
            "containers": [
                {
                    "name": "kserve-container",
                    "image": "kserve/image-transformer:latest",
                    "args": ["--model_name", "iris"],
                    "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
                }
            ]
        },
        "canary": [
            {
                "trafficPercent": 10,
                "predictor": {
                    "name": "v2",
                    "model": {
                        "modelFormat": {"name": "sklearn"},
                        "storageUri": "gs://kfserving-examples/models/sklearn/2.0/model",
                    },
                },
            }
        ],
    },
    "status": {
        "observedGeneration": 3,
        "url": "http://sklearn-iris.models.example.com",
        "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"},
            {"type": "PredictorReady", "status": "True"},
        ],
        "components": {
            "predictor": {
                "url": "http://sklearn-iris-predictor.models.example.com",
                "traffic": [{"percent": 100, "latestRevision": True, "revisionName": "r1"}],
            }
        },
        "modelStatus": {"transitionStatus": "UpToDate", "states": {"activeModelState": "Loaded"}},
        "deploymentMode": "Standard",
    },
}


def _cold(code: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
        )
        times.append(float(out.stdout.strip()))
    return min(times)


def _import_cold() -> float:
    code = (
        "import time; t=time.perf_counter(); import apis, apis.serving.v1beta1; "
        "print(time.perf_counter()-t)"
    )
    return _cold(code, 5)


def _import_all_cold() -> float:
    code = (
        "import time; t=time.perf_counter(); from runtime.resource import discover; "
        "discover('apis'); print(time.perf_counter()-t)"
    )
    return _cold(code, 3)


def _first_validate_cold() -> float:
    code = (
        "import time; t=time.perf_counter(); "
        "from apis.serving.v1beta1 import InferenceService; "
        "from bench.bench_apis import FULL_ISVC; InferenceService.model_validate(FULL_ISVC); "
        "print(time.perf_counter()-t)"
    )
    return _cold(code, 3)


def _per_call_ms(fn: Any, n: int) -> float:
    for _ in range(50):
        fn()
    samples = []
    for _ in range(7):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - t0) / n * 1000)
    return statistics.median(samples)


def _codegen() -> float:
    times = []
    for _ in range(3):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "codegen", "--out", tmp],
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            times.append(time.perf_counter() - t0)
    return min(times)


def main() -> dict[str, float]:
    from apis.serving.v1beta1 import InferenceService

    isvc = InferenceService.model_validate(FULL_ISVC)
    assert isvc.to_kube() == FULL_ISVC, "round trip changed the object"
    figures = {
        "apis_import_cold_s": round(_import_cold(), 4),
        "apis_import_all_cold_s": round(_import_all_cold(), 4),
        "isvc_first_validate_cold_s": round(_first_validate_cold(), 4),
        "isvc_validate_ms": round(
            _per_call_ms(lambda: InferenceService.model_validate(FULL_ISVC), 500), 4
        ),
        "isvc_dump_ms": round(_per_call_ms(isvc.to_kube, 500), 4),
        "codegen_s": round(_codegen(), 3),
    }
    print_table(figures, title="API types (cold: best of N; per call: median)")
    record(figures)
    return figures


if __name__ == "__main__":
    main()
