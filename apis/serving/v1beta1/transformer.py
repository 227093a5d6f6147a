"""TransformerSpec (upstream ``transformer.go``): a custom pre/post-processing container."""

from __future__ import annotations

from pydantic import Field

from .component import ComponentExtensionSpec
from .podspec import PodSpec
from .predictor import StorageUris


class TransformerSpec(PodSpec, ComponentExtensionSpec):
    """Transformer service for pre/post processing: a PodSpec with the custom transformer
    container, plus the component extension."""

    storage_uris: StorageUris = Field(None, alias="storageUris")
    """Spec for multiple storage uris."""
