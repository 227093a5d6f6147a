"""The framework-agnostic ``model`` predictor (upstream ``predictor_model.go``)."""

from __future__ import annotations

from pydantic import Field

from runtime.resource import KubeModel

from .predictor_extension import PredictorExtensionSpec


class ModelFormat(KubeModel):
    """A model format served by a runtime."""

    name: str = Field(alias="name")
    """Name of the model format."""
    version: str | None = Field(None, alias="version")
    """Version of the model format ("major", "major.minor" or "major.minor.patch"), used to check
    that a runtime supports the predictor."""


class ModelSpec(PredictorExtensionSpec):
    """Model spec for any arbitrary framework, served by a matching ServingRuntime.

    ``modelFormat`` is required by the CRD schema except under ``spec.predictor`` (KServe's yq
    strips it there), so the Python type accepts its absence; validation reports it."""

    __schema_required__ = ("modelFormat",)

    model_format: ModelFormat | None = Field(None, alias="modelFormat")
    """ModelFormat being served."""
    runtime: str | None = Field(None, alias="runtime")
    """Specific ClusterServingRuntime/ServingRuntime name to use for deployment."""
