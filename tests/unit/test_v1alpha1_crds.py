"""The v1alpha1 kinds generate CRDs identical to upstream KServe's (descriptions aside: KServe
uses ``crd:maxDescLen=0``), including names, scope, short names, subresources and printer
columns. Differences that are intended are listed in ``ALLOWED``."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from codegen.crd import build_crd
from runtime.resource import discover
from tests.reference import reference

KINDS = discover("apis.serving.v1alpha1")
"""Every v1alpha1 kind, from the registry (a new kind is compared without being listed)."""

#: path -> reason. ``subresources: {}`` (upstream, SR/CSR) and an absent ``subresources`` mean
#: the same thing to the apiserver; the generator annotation is ours by design.
ALLOWED = {
    ".metadata.annotations": "generator annotation (kserve-py instead of controller-gen)",
    ".spec.versions[0].subresources": "empty subresources object == none",
}


def _strip(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _strip(v) for k, v in x.items() if k != "description"}
    if isinstance(x, list):
        return [_strip(v) for v in x]
    return x


def _diff(a: Any, b: Any, path: str = "") -> list[str]:
    if path in ALLOWED:
        return []
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for k in sorted(set(a) | set(b)):
            sub = f"{path}.{k}"
            if sub in ALLOWED:
                continue
            if k not in a:
                out.append(f"{sub}: missing")
            elif k not in b:
                out.append(f"{sub}: extra")
            else:
                out += _diff(a[k], b[k], sub)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in _diff(x, y, f"{path}[{i}]")
        ]
    return [] if a == b else [f"{path}: ours={a!r:.120} upstream={b!r:.120}"]


@pytest.mark.parametrize("kind", KINDS, ids=[k.__crd__.kind for k in KINDS])
def test_crd_identical_to_upstream(kind: Any) -> None:
    ours = _strip(build_crd([kind]))
    upstream = reference("crd", f"serving.kserve.io_{kind.__crd__.plural}.yaml")
    up = _strip(yaml.safe_load(upstream.read_text()))
    assert _diff(ours, up) == []
