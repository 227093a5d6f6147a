"""The advisory OciImageVolumeCompatible condition (upstream controller_test vectors)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from apis.serving.v1beta1.inference_service_status import InferenceServiceStatus
from apis.serving.v1beta1.inference_service_status_conditions import (
    initialize_conditions,
    set_condition,
)
from apis.serving.v1beta1.inference_service_status_oci import (
    propagate_oci_image_volume_condition,
)


def clock() -> datetime:
    return datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


UNSUPPORTED = (
    "ImageVolumeUnsupported",
    "Cluster K8s 1.30 does not support ImageVolume (introduced in 1.31 as alpha). Falling back "
    "to modelcar may be required.",
)
SUBPATH = (
    "ImageVolumeSubPathUnsupported",
    "Cluster K8s 1.32+ (alpha) does not support subPath on ImageVolume VolumeMounts. Upgrade to "
    "K8s 1.33+ (beta) for full oci+native:// support.",
)
ALPHA = (
    "ImageVolumeAlpha",
    "Cluster K8s 1.34 has ImageVolume feature-gated (K8s 1.33\u20131.34 beta). Ensure "
    "--feature-gates=ImageVolume=true is set on kube-apiserver and kubelet.",
)


@pytest.mark.parametrize(
    ("mode", "minor", "want"),
    [
        ("native", "30", UNSUPPORTED),
        ("native", "32+", SUBPATH),
        ("native", "34", ALPHA),
        ("native", "35", None),
        ("native", "", None),
        ("modelcar", "30", None),
        ("", "30", None),
    ],
)
def test_oci_image_volume_condition(mode: str, minor: str, want: tuple[str, str] | None) -> None:
    status = InferenceServiceStatus()
    initialize_conditions(status, clock=clock)
    # A previous warning is cleared when none applies.
    set_condition(status, "OciImageVolumeCompatible", "False", "Old", clock=clock)
    propagate_oci_image_volume_condition(status, mode, "1", minor, clock=clock)
    conditions = status.to_kube()["conditions"]
    oci = [c for c in conditions if c["type"] == "OciImageVolumeCompatible"]
    if want is None:
        assert oci == []
    else:
        reason, message = want
        assert oci == [
            {
                "type": "OciImageVolumeCompatible",
                "status": "False",
                "severity": "Info",
                "reason": reason,
                "message": message,
                "lastTransitionTime": "2024-05-01T12:00:00Z",
            }
        ]
    assert {c["type"]: c["status"] for c in conditions}["Ready"] == "Unknown"
