"""Wiring of the LocalModelNode agent (upstream ``localmodelnode.SetupWithManager``): For the
node's own LocalModelNode (spec or annotation changes; upstream's predicates), Owns its
download Jobs (a Job's progress updates the status at once; upstream waits for the periodic
requeue), Watches ``inferenceservice-config``."""

from __future__ import annotations

from typing import Any

from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import ConfigMap

from apis.serving.v1alpha1 import LocalModelNode
from controllers.config import ConfigSource
from runtime.builder import Builder
from runtime.predicate import (
    AnnotationChangedPredicate,
    GenerationChangedPredicate,
    and_,
    new_predicate_funcs,
    or_,
)
from runtime.reconcile import Request

from .reconcile import LocalModelNodeReconciler

__all__ = ["CONTROLLER_NAME", "setup"]

CONTROLLER_NAME = "localmodelnode"


def setup(mgr: Any, config: ConfigSource, node_name: str,
          models_root: str) -> LocalModelNodeReconciler:
    """Register the agent of ``node_name`` (its models below ``models_root``) with ``mgr``."""
    reconciler = LocalModelNodeReconciler(mgr, config, node_name, models_root)

    def this_node(obj: Any) -> bool:
        return bool(obj.metadata.name == node_name)

    def node_request(_: Any) -> list[Request]:
        return [Request("", node_name)]

    (
        Builder(mgr, name=CONTROLLER_NAME)
        .for_(LocalModelNode, predicates=[and_(
            new_predicate_funcs(this_node),
            or_(GenerationChangedPredicate(), AnnotationChangedPredicate()))])
        .owns(Job)
        .watches(ConfigMap, node_request, predicates=[new_predicate_funcs(config.is_config_map)])
        .complete(reconciler)
    )
    return reconciler
