"""Fields shared by every predictor framework (upstream ``predictor.go``:
``PredictorExtensionSpec``, ``ModelStorageSpec``, ``ConfidentialSpec``)."""

from __future__ import annotations

from pydantic import Field

from runtime.resource import KubeModel

from .component import StorageSpec
from .container import ContainerFields


class ModelStorageSpec(StorageSpec):
    """Storage spec for the model location."""

    schema_path: str | None = Field(None, alias="schemaPath")
    """The path to the model schema file in the storage."""


class ConfidentialSpec(KubeModel):
    """Confidential model serving with encrypted model artifacts."""

    enabled: bool = Field(alias="enabled")
    """Whether confidential model serving is active (model artifacts decrypted after download)."""
    resource_id: str | None = Field(None, alias="resourceId")
    """KBS resource identifier of the decryption key, as kbs:///<repo>/<type>/<tag>."""


class PredictorExtensionSpec(ContainerFields):
    """Configuration shared across all predictor frameworks; the Container fields override
    the framework's defaults in the underlying container."""

    storage_uri: str | None = Field(None, alias="storageUri")
    """The location of the trained model, which is mounted onto the pod."""
    runtime_version: str | None = Field(None, alias="runtimeVersion")
    """Runtime version of the predictor docker image."""
    protocol_version: str | None = Field(None, alias="protocolVersion")
    """Protocol version to use by the predictor (i.e. v1 or v2 or grpc-v1 or grpc-v2)."""
    storage: ModelStorageSpec | None = Field(None, alias="storage")
    """Storage spec for the model location."""
    confidential: ConfidentialSpec | None = Field(None, alias="confidential")
    """Confidential model serving: the storage initializer decrypts model files with keys
    obtained from a Key Broker Service via TEE attestation."""
