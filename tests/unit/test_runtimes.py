"""The shipped ClusterServingRuntimes (config/runtimes) parse into our types and pass our
validation, alone and installed together."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from apis.serving.v1alpha1 import ClusterServingRuntime
from apis.serving.v1alpha1.servingruntime_validation import validate_cluster_serving_runtime

RUNTIMES = Path(__file__).resolve().parents[2] / "config" / "runtimes"
FILES = sorted(p for p in RUNTIMES.glob("kserve-*.yaml"))


def _load(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text())
    assert isinstance(doc, dict)
    return doc


def test_runtime_files_present() -> None:
    assert len(FILES) >= 14
    kustomization = yaml.safe_load((RUNTIMES / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    assert listed <= {p.name for p in FILES}
    assert "kserve-sklearnserver.yaml" in listed


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_runtime_parses_and_validates(path: Path) -> None:
    doc = _load(path)
    csr = ClusterServingRuntime.model_validate(doc)
    assert csr.kind == "ClusterServingRuntime"
    assert csr.spec is not None and csr.spec.containers
    assert csr.spec.containers[0].name == "kserve-container"
    # round trip: what we would write back is what the file says (modulo YAML formatting)
    assert csr.to_kube() == doc
    validate_cluster_serving_runtime(csr, [])


def test_runtimes_installed_together_do_not_clash() -> None:
    kustomization = yaml.safe_load((RUNTIMES / "kustomization.yaml").read_text())
    docs = [_load(RUNTIMES / name) for name in kustomization["resources"]]
    installed: list[dict[str, Any]] = []
    for doc in docs:
        validate_cluster_serving_runtime(doc, installed)
        installed.append(doc)
    # and re-applying each one (UPDATE) against the full set is accepted
    for doc in docs:
        validate_cluster_serving_runtime(doc, installed)
