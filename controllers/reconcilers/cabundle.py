"""The ``global-ca-bundle`` ConfigMap (upstream
``reconcilers/cabundleconfigmap/cabundle_configmap_reconciler.go``): when
``storageInitializer.caBundleConfigMapName`` names a ConfigMap in the KServe namespace, its
``cabundle.crt`` is copied into a ConfigMap ``global-ca-bundle`` in the InferenceService's
namespace, where the storage initializer mounts it. Not owned by the InferenceService (several
share it), so it outlives them, as upstream.

The caller reads the source ConfigMap (from the cache, in the controller's namespace) and
applies the result; this module only decides.
"""

from __future__ import annotations

from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap

from apis.serving.constants import DEFAULT_CA_BUNDLE_FILE_NAME, DEFAULT_GLOBAL_CA_BUNDLE_CONFIGMAP
from apis.serving.v1beta1.configmap import StorageInitializerConfig

__all__ = [
    "CaBundleError",
    "desired_ca_bundle_configmap",
    "global_ca_bundle_configmap",
]



class CaBundleError(ValueError):
    """The configured CA bundle ConfigMap is missing or has no ``cabundle.crt``."""


def desired_ca_bundle_configmap(name: str, namespace: str, data: dict[str, str]) -> ConfigMap:
    """``getDesiredCaBundleConfigMapForUserNS``: ConfigMap ``name`` in ``namespace`` holding
    ``data`` (no labels, no owner)."""
    return ConfigMap(metadata=ObjectMeta(name=name, namespace=namespace), data=dict(data))


def global_ca_bundle_configmap(
    storage_initializer: StorageInitializerConfig,
    source: ConfigMap | None,
    namespace: str,
) -> ConfigMap | None:
    """``CaBundleConfigMapReconciler.Reconcile`` without the I/O: ``None`` when no CA bundle
    ConfigMap is configured; else the ``global-ca-bundle`` ConfigMap for ``namespace`` with
    the source's ``cabundle.crt``. ``source`` is the configured ConfigMap as read from the
    KServe namespace (``None``: not found). Raises :class:`CaBundleError` with upstream's
    message when it is missing or its ``cabundle.crt`` is absent or empty."""
    name = storage_initializer.ca_bundle_config_map_name
    if not name:
        return None
    prefix = "fails to get cabundle configmap for creating to user namespace"
    if source is None:
        raise CaBundleError(
            f'{prefix}: failed to get configmap {name} from the cluster: configmaps "{name}" '
            "not found"
        )
    bundle = (source.data or {}).get(DEFAULT_CA_BUNDLE_FILE_NAME, "")
    if not bundle:
        raise CaBundleError(
            f"{prefix}: specified cabundle file {DEFAULT_CA_BUNDLE_FILE_NAME} not found in "
            f"cabundle configmap {name}"
        )
    return desired_ca_bundle_configmap(
        DEFAULT_GLOBAL_CA_BUNDLE_CONFIGMAP, namespace, {DEFAULT_CA_BUNDLE_FILE_NAME: bundle}
    )
