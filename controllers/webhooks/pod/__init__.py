"""The pod mutator (upstream ``pkg/webhook/admission/pod``), as pure functions.

``mutate_pod(pod, ctx)`` takes the Pod JSON of an admission request and a
:class:`PodMutationContext` (the config and the objects upstream would GET, read from the
cache by ``await build_context(reader, pod, config, namespace=...)``) and returns the mutated
pod; :class:`PodMutationError` refuses it. The webhook handler (``/mutate-pods``) turns the
result into a JSON patch.
"""

from controllers.storage.utils import PodMutationError
from controllers.webhooks.pod.mutator import (
    CONTEXT_READS,
    PodMutationContext,
    Reader,
    build_context,
    check_pod_shape,
    mutate_pod,
    need_mutate,
)

__all__ = [
    "CONTEXT_READS",
    "PodMutationContext",
    "PodMutationError",
    "Reader",
    "build_context",
    "check_pod_shape",
    "mutate_pod",
    "need_mutate",
]
