"""What the TrainedModel controller writes into ``modelconfig-<isvc>-0`` (upstream
``trainedmodel/reconcilers/modelconfig/modelconfig_reconciler.go``).

Upstream writes one model per reconcile: its own entry upserted (or removed while it is being
deleted). Here one write carries every change pending for the InferenceService: the entries
of all its TrainedModels that are Ready and allocated are upserted and those of models being
deleted removed, so changes pending together (models deleted together, or a ConfigMap that
appears after its models are Ready) cost one write instead of one per model. Entries of
other names are left as they are (as upstream: the file may hold models no TrainedModel
manages). The text is written in a stable order (``controllers.reconcilers.modelconfig``), and
only when it changes.

Pure.
"""

from __future__ import annotations

from collections.abc import Iterable

from apis.serving.constants import TRAINED_MODEL_ALLOCATED_LABEL
from apis.serving.v1alpha1.trained_model import TrainedModel
from apis.serving.v1alpha1.trained_model_status import is_ready
from controllers.reconcilers.modelconfig import (
    ModelConfig,
    ModelConfigError,
    decode_model_configs,
    process_model_configs,
)

__all__ = ["desired_models_json", "is_deployable", "model_config_delta"]


def is_deployable(tm: TrainedModel) -> bool:
    """A model that belongs in ``models.json``: not being deleted, allocated on its
    InferenceService's memory, and Ready (its parent Ready and multi-model)."""
    meta = tm.metadata
    if meta is None or meta.deletionTimestamp is not None or tm.spec is None:
        return False
    allocated = (meta.labels or {}).get(TRAINED_MODEL_ALLOCATED_LABEL) == tm.spec.inference_service
    return allocated and is_ready(tm.status)


def model_config_delta(tms: Iterable[TrainedModel]) -> tuple[list[ModelConfig], list[str]]:
    """(entries to upsert, names to remove) for the TrainedModels of one InferenceService:
    deployable ones upserted, ones being deleted removed; the rest untouched."""
    upserts: list[ModelConfig] = []
    deletes: list[str] = []
    for tm in tms:
        meta = tm.metadata
        if meta is None or not meta.name:
            continue
        if meta.deletionTimestamp is not None:
            deletes.append(meta.name)
        elif is_deployable(tm):
            upserts.append(ModelConfig.from_trained_model(tm))
    return upserts, deletes


def desired_models_json(
    current: str | None,
    upserts: Iterable[ModelConfig],
    deletes: Iterable[str],
    *,
    config_map_name: str = "",
) -> str | None:
    """The new ``models.json`` text, or None when the file already says this (no write).
    Raises ``ModelConfigError`` when ``current`` does not decode."""
    ups, dels = list(upserts), list(deletes)
    if not ups and not dels:
        return None
    if current:
        try:
            existing = decode_model_configs(current)
        except ModelConfigError as e:
            raise ModelConfigError(f"while updating {config_map_name} err {e}") from None
        same = all(
            c.name in existing and existing[c.name].to_go() == c.to_go() for c in ups
        )
        if same and not any(n in existing for n in dels):
            return None
    text = process_model_configs(current, ups, dels, config_map_name=config_map_name)
    return None if text == current else text
