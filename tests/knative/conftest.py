"""The Knative tier: Knative Serving's own controller, autoscaler and webhook running against
the cluster tier (``runtime.testing.knative``), the InferenceService controller in-process.

``make test`` runs this directory in its own pytest session after the rest (Knative's
autoscaler holds :8080 while the tier is up); ``make test-knative`` runs only it. Knative
Serving is built (or found, cached) by ``hack/build-knative.sh`` when ``KNATIVE_ASSETS`` is
unset. The Istio VirtualService CRD is installed too (no Istio runs:
the VirtualService is an object KServe writes, nothing here routes through it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VIRTUAL_SERVICE_CRD = ROOT / "tests" / "data" / "crds" / "networking.istio.io_virtualservices.yaml"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "knative: needs Knative Serving's binaries (KNATIVE_ASSETS; make test-knative)")
    os.environ.setdefault("KNATIVE_EXTRA_CRDS", str(VIRTUAL_SERVICE_CRD))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mine = [i for i in items if "knative" in Path(str(i.fspath)).parts
            and Path(str(i.fspath)).is_relative_to(ROOT / "tests" / "knative")]
    for item in mine:
        item.add_marker(pytest.mark.knative)
    if mine:
        from tests.conftest import _ensure_assets

        _ensure_assets()
