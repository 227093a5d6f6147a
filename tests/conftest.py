"""Project-wide pytest setup: anyio on asyncio, envtest fixtures, the pinned binaries."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runtime.testing.processes import ensure_built

pytest_plugins = ["runtime.testing.pytest_plugin"]

ROOT = Path(__file__).resolve().parent.parent


def _ensure_assets() -> None:
    """Make KUBEBUILDER_ASSETS point at the pinned binaries, building them if needed.

    `make test` sets it already; this keeps a bare `pytest` working too. The script is
    a no-op when the binaries are cached.
    """
    ensure_built("KUBEBUILDER_ASSETS", ROOT / "hack" / "build-k8s.sh")


def pytest_configure(config: pytest.Config) -> None:
    crd_dir = ROOT / "config" / "crd" / "full"
    if "ENVTEST_CRDS" not in os.environ and crd_dir.is_dir():
        os.environ["ENVTEST_CRDS"] = str(crd_dir)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    needs_assets = False
    for item in items:
        parts = Path(str(item.fspath)).parts
        if "integration" in parts:
            item.add_marker(pytest.mark.integration)
            needs_assets = True
        elif "cluster" in parts:
            item.add_marker(pytest.mark.cluster)
            needs_assets = True
    if needs_assets:
        _ensure_assets()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
