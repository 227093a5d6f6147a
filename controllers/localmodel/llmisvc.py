"""LLMInferenceService (``serving.kserve.io/v1alpha2``), which this project does not serve:
a lightkube generic resource, so the LocalModel controllers count an LLMInferenceService as
a cache consumer when its CRD is installed (upstream checks the CRD once at start; here it
is watched as an optional kind, picked up when the CRD appears)."""

from __future__ import annotations

from lightkube.generic_resource import create_namespaced_resource

__all__ = ["LLMInferenceService"]

LLMInferenceService = create_namespaced_resource(
    "serving.kserve.io", "v1alpha2", "LLMInferenceService", "llminferenceservices"
)
