"""controllers.reconcilers.cabundle: upstream ``cabundle_configmap_reconciler_test.go``
(getDesiredCaBundleConfigMapForUserNS, getCabundleConfigMapForUserNS 3, Reconcile 3) as
decisions on the source ConfigMap, asserting whole objects."""

from __future__ import annotations

import json

import pytest
from lightkube.resources.core_v1 import ConfigMap

from apis.serving.v1beta1.configmap import StorageInitializerConfig
from controllers.reconcilers.cabundle import (
    CaBundleError,
    desired_ca_bundle_configmap,
    global_ca_bundle_configmap,
)


def source(data: dict[str, str] | None, name: str = "test-ca-bundle") -> ConfigMap:
    cm = ConfigMap.from_dict(
        {"metadata": {"name": name, "namespace": "kserve"}, **({"data": data} if data else {})}
    )
    assert isinstance(cm, ConfigMap)
    return cm


def storage_initializer(raw: str) -> StorageInitializerConfig:
    """The ``storageInitializer`` key decoded as upstream's reconciler does (Go JSON:
    field names case-insensitive)."""
    return StorageInitializerConfig.model_validate(json.loads(raw))


def test_get_desired_ca_bundle_configmap_for_user_ns() -> None:
    got = desired_ca_bundle_configmap(
        "global-ca-bundle", "test", {"cabundle.crt": "SAMPLE_CA_BUNDLE"}
    )
    assert got.to_dict() == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "global-ca-bundle", "namespace": "test"},
        "data": {"cabundle.crt": "SAMPLE_CA_BUNDLE"},
    }


# (case, storageInitializer JSON, source ConfigMap, want data | None, error)
CASES: list[tuple[str, str, ConfigMap | None, dict[str, str] | None, str | None]] = [
    ("No CA bundle name in storage config", '{"CaBundleConfigMapName": ""}', None, None, None),
    ("No storageInitializer CA bundle key at all", "{}", source({"cabundle.crt": "x"}), None,
     None),
    (
        "Successfully get CA bundle configmap",
        '{"caBundleConfigMapName": "test-ca-bundle"}',
        source({"cabundle.crt": "TEST_BUNDLE_DATA", "other": "ignored"}),
        {"cabundle.crt": "TEST_BUNDLE_DATA"},
        None,
    ),
    (
        "CA bundle not found",
        '{"CaBundleConfigMapName": "nonexistent-cm"}',
        None,
        None,
        "fails to get cabundle configmap for creating to user namespace: failed to get "
        'configmap nonexistent-cm from the cluster: configmaps "nonexistent-cm" not found',
    ),
    (
        "CA bundle missing required data",
        '{"CaBundleConfigMapName": "test-cabundle-cm"}',
        source({"wrong-key": "data"}, "test-cabundle-cm"),
        None,
        "fails to get cabundle configmap for creating to user namespace: specified cabundle file "
        "cabundle.crt not found in cabundle configmap test-cabundle-cm",
    ),
    (
        "CA bundle with empty data",
        '{"CaBundleConfigMapName": "test-cabundle-cm"}',
        source(None, "test-cabundle-cm"),
        None,
        "specified cabundle file cabundle.crt not found in cabundle configmap test-cabundle-cm",
    ),
    (
        "CA bundle key present but empty",
        '{"CaBundleConfigMapName": "test-cabundle-cm"}',
        source({"cabundle.crt": ""}, "test-cabundle-cm"),
        None,
        "specified cabundle file cabundle.crt not found in cabundle configmap test-cabundle-cm",
    ),
]


@pytest.mark.parametrize(("case", "si", "src", "want", "err"), CASES, ids=[c[0] for c in CASES])
def test_global_ca_bundle_configmap(
    case: str, si: str, src: ConfigMap | None, want: dict[str, str] | None, err: str | None
) -> None:
    cfg = storage_initializer(si)
    if err is not None:
        with pytest.raises(CaBundleError) as e:
            global_ca_bundle_configmap(cfg, src, "user-ns")
        assert err in str(e.value)
        return
    got = global_ca_bundle_configmap(cfg, src, "user-ns")
    if want is None:
        assert got is None
    else:
        assert got is not None
        assert got.to_dict() == {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "global-ca-bundle", "namespace": "user-ns"},
            "data": want,
        }
