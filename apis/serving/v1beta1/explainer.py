"""ExplainerSpec and the ART explainer (upstream ``explainer.go``, ``explainer_art.go``)."""

from __future__ import annotations

from pydantic import Field

from .component import ComponentExtensionSpec
from .container import ContainerFields
from .podspec import PodSpec
from .predictor import StorageUris
from .predictor_extension import ModelStorageSpec


class ExplainerExtensionSpec(ContainerFields):
    """Configuration shared across all explainer frameworks."""

    storage_uri: str | None = Field(None, alias="storageUri")
    """The location of a trained explanation model."""
    runtime_version: str | None = Field(None, alias="runtimeVersion")
    """Defaults to latest Explainer Version."""
    config: dict[str, str] | None = Field(None, alias="config")
    """Inline custom parameter settings for explainer."""
    storage: ModelStorageSpec | None = Field(None, alias="storage")
    """Storage Spec for model location."""


class ARTExplainerSpec(ExplainerExtensionSpec):
    """Arguments for configuring an ART Explanation Server."""

    __schema_required__ = ("type",)

    type: str | None = Field(None, alias="type")
    """The type of ART explainer (SquareAttack)."""


class ExplainerSpec(PodSpec, ComponentExtensionSpec):
    """The container spec for a model explanation server: ``art``, or a custom explainer in
    ``containers`` (1-of)."""

    art: ARTExplainerSpec | None = Field(None, alias="art")
    """Spec for ART explainer."""
    storage_uris: StorageUris = Field(None, alias="storageUris")
    """Spec for multiple storage uris."""
