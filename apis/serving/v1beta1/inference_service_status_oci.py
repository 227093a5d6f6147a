"""The advisory ``OciImageVolumeCompatible`` condition (upstream ``controller.go``
``warnIfImageVolumeUnsupported`` and ``utils/imagevolume.go``): when the storage
initializer's OCI model mode is ``native`` (``oci+native://`` image volumes), warn if the
cluster's Kubernetes minor version lacks ImageVolume or its subPath support. Info severity:
it never affects Ready. Pure: the caller passes the server version it discovered."""

from __future__ import annotations

from apis.knative.condition_set import STATUS_FALSE, WallClock, utc_now
from apis.serving.constants import (
    OCI_IMAGE_VOLUME_COMPATIBLE,
    REASON_IMAGE_VOLUME_ALPHA,
    REASON_IMAGE_VOLUME_SUBPATH_UNSUPPORTED,
    REASON_IMAGE_VOLUME_UNSUPPORTED,
)
from apis.serving.v1beta1.inference_service_status import InferenceServiceStatus
from apis.serving.v1beta1.inference_service_status_conditions import (
    clear_condition,
    set_condition,
)

__all__ = ["image_volume_warning", "propagate_oci_image_volume_condition"]


def image_volume_warning(major: str, minor: str) -> tuple[str, str] | None:
    """``CheckImageVolumeCompatibility`` as a (reason, message): minor < 31 unsupported,
    31-32 alpha without subPath, 33-34 beta behind a feature gate, >= 35 (or an unparseable
    minor such as a discovery failure gives) nothing."""
    try:
        n = int(minor.removesuffix("+"))
    except ValueError:
        return None
    if n < 31:
        return (
            REASON_IMAGE_VOLUME_UNSUPPORTED,
            f"Cluster K8s {major}.{minor} does not support ImageVolume (introduced in 1.31 as "
            "alpha). Falling back to modelcar may be required.",
        )
    if n < 33:
        return (
            REASON_IMAGE_VOLUME_SUBPATH_UNSUPPORTED,
            f"Cluster K8s {major}.{minor} (alpha) does not support subPath on ImageVolume "
            "VolumeMounts. Upgrade to K8s 1.33+ (beta) for full oci+native:// support.",
        )
    if n < 35:
        return (
            REASON_IMAGE_VOLUME_ALPHA,
            f"Cluster K8s {major}.{minor} has ImageVolume feature-gated (K8s 1.33\u20131.34 beta). "
            "Ensure --feature-gates=ImageVolume=true is set on kube-apiserver and kubelet.",
        )
    return None


def propagate_oci_image_volume_condition(
    status: InferenceServiceStatus,
    oci_model_mode: str,
    major: str,
    minor: str,
    *,
    clock: WallClock = utc_now,
) -> None:
    """``warnIfImageVolumeUnsupported``: OciImageVolumeCompatible False with the warning
    when the mode is ``native`` and the version warrants one; cleared otherwise."""
    warning = image_volume_warning(major, minor) if oci_model_mode == "native" else None
    if warning is None:
        clear_condition(status, OCI_IMAGE_VOLUME_COMPATIBLE)
        return
    set_condition(status, OCI_IMAGE_VOLUME_COMPATIBLE, STATUS_FALSE, *warning, clock=clock)
