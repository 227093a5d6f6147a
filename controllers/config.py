"""The ``inferenceservice-config`` ConfigMap as every controller and webhook sees it.

Upstream GETs the ConfigMap from the API server and parses it in every reconcile (20 uncached
GETs per InferenceService while converging) and never re-reconciles when it changes. Here the
ConfigMap comes from the shared cache and is parsed once per resourceVersion; a change
re-queues the InferenceServices (see ``controllers.inferenceservice.controller``). A malformed
key keeps the last good config in force and is reported once per resourceVersion, as a
Warning event on the ConfigMap and through :attr:`ConfigSource.error` (the reconcilers turn
it into a condition).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from lightkube.resources.core_v1 import ConfigMap

from apis.serving.constants import INFERENCESERVICE_CONFIG_MAP_NAME as CONFIG_MAP_NAME
from apis.serving.v1beta1.configmap import (
    InferenceServiceConfig,
    InferenceServiceConfigError,
    LastGoodConfig,
)
from runtime.client import is_not_found

__all__ = ["CONFIG_MAP_NAME", "ConfigSource", "ConfigUnavailableError", "kserve_namespace"]

log = logging.getLogger(__name__)



def kserve_namespace() -> str:
    """Where the manager and its ConfigMap live: ``$POD_NAMESPACE``, default ``kserve``
    (``constants.KServeNamespace``)."""
    return os.environ.get("POD_NAMESPACE") or "kserve"


class ConfigUnavailableError(RuntimeError):
    """No good ``inferenceservice-config`` has been seen yet (absent, or malformed since the
    manager started)."""


class ConfigSource:
    """The current parsed config, read through ``client`` (the cached client).

    :meth:`get` costs no request once the ConfigMap's informer runs: the cached object's
    resourceVersion is compared with the last parsed one and the text is parsed only when it
    changed.
    """

    def __init__(self, client: Any, namespace: str | None = None, *, recorder: Any = None) -> None:
        self.client = client
        self.namespace = namespace or kserve_namespace()
        self.recorder = recorder
        self._holder = LastGoodConfig()
        self._parsed_rv: str | None = None

    @property
    def error(self) -> InferenceServiceConfigError | None:
        """The problem with the newest ConfigMap, if it did not parse."""
        return self._holder.error

    def is_config_map(self, obj: Any) -> bool:
        meta = getattr(obj, "metadata", None)
        return bool(
            meta is not None and meta.name == CONFIG_MAP_NAME and meta.namespace == self.namespace
        )

    def observe(self, cm: Any) -> bool:
        """Parse ``cm`` if it is a resourceVersion not seen yet; True if it was new."""
        rv = cm.metadata.resourceVersion if cm is not None else None
        if rv is not None and rv == self._parsed_rv:
            return False
        self._parsed_rv = rv
        self._holder.update(cm.data if cm is not None else None)
        err = self._holder.error
        if err is not None:
            log.error("inferenceservice-config is malformed; keeping the last good config: %s",
                      err, extra={"resourceVersion": rv})
            if self.recorder is not None and cm is not None:
                self.recorder.event(cm, "Warning", "InvalidConfig", "Parse", str(err))
        return True

    async def get(self) -> InferenceServiceConfig:
        """The config in force; :class:`ConfigUnavailableError` if there has never been a good
        one."""
        try:
            cm = await self.client.get(ConfigMap, CONFIG_MAP_NAME, self.namespace)
        except Exception as e:
            if not is_not_found(e):
                raise
            cm = None
        if cm is None:
            if self._holder.config is None:
                raise ConfigUnavailableError(
                    f"ConfigMap {self.namespace}/{CONFIG_MAP_NAME} not found"
                )
            return self._holder.config  # deleted: keep running on the last good one
        self.observe(cm)
        if self._holder.config is None:
            raise ConfigUnavailableError(
                f"ConfigMap {self.namespace}/{CONFIG_MAP_NAME} is malformed: {self._holder.error}"
            )
        return self._holder.config
