"""The pod mutator's admission entry point, ``/mutate-pods`` (upstream
``pkg/webhook/admission/pod/mutator.go`` ``Mutator.Handle``).

The mutation itself is ``controllers.webhooks.pod`` (pure ``mutate_pod`` over a context of
cached reads); this module reads the config and the context and hands the result to the
webhook server, which answers the JSON patch from the pod the API server sent. A pod
without the ``serving.kserve.io/inferenceservice`` label is allowed untouched (the
WebhookConfiguration's objectSelector normally keeps them away); a refusal carries the
mutator's message (upstream answers HTTP 500 with it; here it is an admission refusal).
"""

from __future__ import annotations

from typing import Any

from controllers.config import ConfigSource, ConfigUnavailableError, kserve_namespace
from controllers.webhooks.pod import build_context, check_pod_shape, mutate_pod, need_mutate
from runtime.webhook import AdmissionError, AdmissionRequest

__all__ = ["MUTATE_PODS_PATH", "PodMutator"]

MUTATE_PODS_PATH = "/mutate-pods"


class PodMutator:
    """``defaulter(pod, req)`` for the ``/mutate-pods`` :class:`~runtime.webhook.Admission`."""

    def __init__(self, client: Any, config: ConfigSource, namespace: str | None = None) -> None:
        self.client = client
        self.config = config
        self.kserve_namespace = namespace or kserve_namespace()

    async def __call__(self, pod: dict[str, Any], req: AdmissionRequest) -> dict[str, Any]:
        check_pod_shape(pod)  # a pod of the wrong shape is refused naming the field
        if not need_mutate(pod):
            return pod
        try:
            cfg = await self.config.get()
        except ConfigUnavailableError as err:
            raise AdmissionError(str(err)) from None
        meta = pod.get("metadata") if isinstance(pod.get("metadata"), dict) else {}
        namespace = req.namespace or str((meta or {}).get("namespace") or "")
        ctx = await build_context(self.client, pod, cfg, namespace=namespace,
                                  kserve_namespace=self.kserve_namespace)
        return mutate_pod(pod, ctx)
