"""Upstream ``accelerator_injector_test.go`` (2 cases) plus the cases it leaves out, asserting
whole pods."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from controllers.webhooks.pod.accelerator import inject_gke_accelerator_selector
from tests.unit.test_pod_support import container, pod

ACCEL = "serving.kserve.io/gke-accelerator"
GPU = {"limits": {"nvidia.com/gpu": "1"}}


def apod(
    annotations: dict[str, str] | None, resources: dict[str, Any] | None = GPU, **spec: Any
) -> dict[str, Any]:
    c = container("", **({"resources": resources} if resources else {}))
    return pod(annotations, [c], name="deployment", **spec)


@pytest.mark.parametrize(
    ("original", "want"),
    [
        pytest.param(
            apod({ACCEL: "nvidia-tesla-v100"}),
            apod(
                {ACCEL: "nvidia-tesla-v100"},
                nodeSelector={"cloud.google.com/gke-accelerator": "nvidia-tesla-v100"},
            ),
            id="AddGPUSelector",
        ),
        pytest.param(apod(None), apod(None), id="DoNotAddGPUSelector"),
        pytest.param(
            apod({ACCEL: "a100"}, None), apod({ACCEL: "a100"}, None), id="no GPU limit: no selector"
        ),
        pytest.param(
            apod({ACCEL: "a100"}, {"requests": {"nvidia.com/gpu": "1"}}),
            apod({ACCEL: "a100"}, {"requests": {"nvidia.com/gpu": "1"}}),
            id="GPU request only: no selector",
        ),
        pytest.param(
            apod({ACCEL: "a100"}, nodeSelector={"zone": "a"}),
            apod(
                {ACCEL: "a100"},
                nodeSelector={"zone": "a", "cloud.google.com/gke-accelerator": "a100"},
            ),
            id="merged into an existing node selector",
        ),
    ],
)
def test_accelerator_injector(original: dict[str, Any], want: dict[str, Any]) -> None:
    out = copy.deepcopy(original)
    inject_gke_accelerator_selector(out)
    assert out == want
    inject_gke_accelerator_selector(out)
    assert out == want
