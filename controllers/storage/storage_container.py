"""ClusterStorageContainer selection and the ``storageInitializer`` config checks (upstream
``storage_initializer_injector.go`` ``GetStorageContainerSpec`` / ``...ByName`` /
``GetContainerSpecForStorageUri`` and ``v1beta1.GetStorageInitializerConfigs``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from apis.serving.v1alpha1.storage_container import (
    ClusterStorageContainer,
    StorageContainerSpec,
    WorkloadType,
)
from controllers.storage import oci
from controllers.storage.utils import JsonDict, PodMutationError, go_quantity_error, to_json

__all__ = [
    "check_storage_initializer_config",
    "get_container_spec_for_storage_uri",
    "get_storage_container_spec",
]


def check_storage_initializer_config(config: Any) -> None:
    """``v1beta1.GetStorageInitializerConfigs``' checks: the init container's requests and
    limits (and the modelcar ones when set) must be quantities, ``ociModelMode`` one of
    modelcar/native/fetch."""
    fields = [
        ("memoryRequest", config.memory_request),
        ("memoryLimit", config.memory_limit),
        ("cpuRequest", config.cpu_request),
        ("cpuLimit", config.cpu_limit),
    ]
    if config.cpu_modelcar != "":
        fields.append(("cpuModelcar", config.cpu_modelcar))
    if config.memory_modelcar != "":
        fields.append(("memoryModelcar", config.memory_modelcar))
    for name, value in fields:
        err = go_quantity_error(value)
        if err is not None:
            raise PodMutationError(
                f'failed to parse resource configuration for "storageInitializer"."{name}": {err}',
                f"storageInitializer.{name}",
            )
    mode = config.oci_model_mode
    if mode and mode not in oci.OCI_MODEL_MODES:
        raise PodMutationError(
            f'invalid "storageInitializer".ociModelMode "{mode}": must be one of '
            '"modelcar", "native", "fetch"',
            "storageInitializer.ociModelMode",
        )


def _is_init_container_workload(csc: ClusterStorageContainer) -> bool:
    # the CRD defaults workloadType to initContainer
    assert csc.spec is not None
    return (csc.spec.workload_type or WorkloadType.INIT_CONTAINER) == WorkloadType.INIT_CONTAINER


def _supports(csc: ClusterStorageContainer, uri: str, what: str) -> bool:
    assert csc.spec is not None
    try:
        return csc.spec.is_storage_uri_supported(uri)
    except Exception as exc:  # re.error (an invalid regex in the CRD)
        raise PodMutationError(f"{what}: {exc}") from None


def get_storage_container_spec(
    storage_uri: str,
    storage_container_name: str | None,
    storage_containers: Sequence[ClusterStorageContainer],
) -> StorageContainerSpec | None:
    """``GetStorageContainerSpec``: the named ClusterStorageContainer (which must exist, be
    enabled, run as an init container and support the URI), else the first enabled
    init-container one, by name, that supports the URI, else None."""
    by_name = sorted(
        (c for c in storage_containers if c.spec is not None),
        key=lambda c: c.metadata.name if c.metadata and c.metadata.name else "",
    )
    if storage_container_name:
        name = storage_container_name
        csc = next((c for c in by_name if c.metadata and c.metadata.name == name), None)
        if csc is None:
            raise PodMutationError(f'ClusterStorageContainer "{name}" not found')
        if csc.is_disabled():
            raise PodMutationError(f'ClusterStorageContainer "{name}" is disabled')
        if not _is_init_container_workload(csc):
            assert csc.spec is not None
            raise PodMutationError(
                f'ClusterStorageContainer "{name}" has workloadType "{csc.spec.workload_type}"; '
                f'explicit selection requires "{WorkloadType.INIT_CONTAINER}"'
            )
        what = f'ClusterStorageContainer "{name}" URI check failed for "{storage_uri}"'
        if not _supports(csc, storage_uri, what):
            raise PodMutationError(
                f'ClusterStorageContainer "{name}" does not support storageUri "{storage_uri}"'
            )
        return csc.spec
    for csc in by_name:
        if csc.is_disabled() or not _is_init_container_workload(csc):
            continue
        csc_name = (csc.metadata.name if csc.metadata else None) or ""
        if _supports(csc, storage_uri, f"error checking storage container {csc_name}"):
            return csc.spec
    return None


def get_container_spec_for_storage_uri(
    storage_uri: str, storage_containers: Sequence[ClusterStorageContainer]
) -> JsonDict | None:
    """``GetContainerSpecForStorageUri``: the matching ClusterStorageContainer's container."""
    try:
        spec = get_storage_container_spec(storage_uri, None, storage_containers)
    except PodMutationError as exc:
        raise PodMutationError(
            f'error resolving storage container for "{storage_uri}": {exc}'
        ) from None
    return None if spec is None else to_json(spec.container)
