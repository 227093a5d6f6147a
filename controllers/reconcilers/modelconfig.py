"""The multi-model ConfigMap ``modelconfig-<isvc>-0`` (upstream
``reconcilers/modelconfig/modelconfig_reconciler.go`` and ``pkg/modelconfig/configmap.go``).

A predictor that serves several models (no storage URI, or a custom container with
``MULTI_MODEL_SERVER=true``) gets an empty ConfigMap at creation (``models.json: "[]"``, the
InferenceService's labels, owned by it); the TrainedModel controller then upserts and
removes entries in ``models.json``, which the model agent's puller reads.

Two writers share ``models.json``, so the InferenceService controller must only *create* the
ConfigMap when it is missing (upstream does exactly that), never re-apply ``"[]"`` over the
TrainedModels' entries.

Deliberate difference (docs/compatibility.md, Appendix quirk 9): :func:`process_model_configs`
writes the entries sorted by ``modelName``; upstream writes them in Go map order, so the same
set of models could be written in a different order on every change (a spurious write and a
spurious puller reload). The JSON text is otherwise what Go's ``json.Marshal`` writes
(compact, ``<>&`` escaped, quantities canonical).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap

from apis.serving.constants import MODEL_CONFIG_FILE_NAME
from apis.serving.v1alpha1.trained_model import TrainedModel
from apis.serving.v1beta1.inference_service import InferenceService
from apis.serving.v1beta1.predictor import FRAMEWORK_FIELDS, PredictorSpec
from apis.serving.v1beta1.predictor_implementation import MULTI_MODEL_SERVER_ENV
from apis.serving.validation import canonical_quantity
from controllers.gojson import go_json
from runtime.client import set_controller_reference

__all__ = [
    "MODEL_CONFIG_FILE_NAME",
    "MULTI_MODEL_SERVER_ENV",
    "ModelConfig",
    "ModelConfigError",
    "create_empty_model_config",
    "decode_model_configs",
    "encode_model_configs",
    "is_mms_predictor",
    "model_config_name",
    "process_model_configs",
]



class ModelConfigError(ValueError):
    """``models.json`` that does not decode (upstream: ``while updating <cm> err ...``)."""


@dataclass(frozen=True)
class ModelConfig:
    """One ``models.json`` entry (upstream ``ModelConfig``: ``modelName`` and a v1alpha1
    ``ModelSpec``); ``memory`` is a quantity string."""

    name: str
    storage_uri: str = ""
    framework: str = ""
    memory: str = "0"

    @classmethod
    def from_trained_model(cls, tm: TrainedModel) -> ModelConfig:
        """The entry for a TrainedModel (its name, ``spec.model``)."""
        assert tm.metadata is not None and tm.metadata.name and tm.spec is not None
        model = tm.spec.model
        return cls(tm.metadata.name, model.storage_uri, model.framework, str(model.memory))

    def to_go(self) -> dict[str, Any]:
        """The entry as Go marshals it (field order, canonical quantity)."""
        return {
            "modelName": self.name,
            "modelSpec": {
                "storageUri": self.storage_uri,
                "framework": self.framework,
                "memory": canonical_quantity(self.memory),
            },
        }


def model_config_name(isvc_name: str, shard_id: int = 0) -> str:
    """``constants.ModelConfigName``: ``modelconfig-<isvc>-<shard>`` (upstream has one shard,
    id 0)."""
    return f"modelconfig-{isvc_name}-{shard_id}"


def is_mms_predictor(predictor: PredictorSpec) -> bool:
    """``IsMMSPredictor``: a custom container with env ``MULTI_MODEL_SERVER=true`` (first
    container only), or a framework/model predictor without ``storageUri``, ``storage`` and
    ``storageUris`` (HuggingFace excepted: it loads by model id)."""
    if predictor.containers:
        env = predictor.containers[0].env or []
        return any(e.name == MULTI_MODEL_SERVER_ENV and e.value == "true" for e in env)
    if predictor.huggingface is not None:
        return False
    if predictor.model is not None and predictor.model.model_format is not None and (
        predictor.model.model_format.name == "huggingface"
    ):
        return False
    impl = next((getattr(predictor, f) for f in FRAMEWORK_FIELDS if getattr(predictor, f)), None)
    has_uri = impl is not None and impl.storage_uri is not None
    has_storage = impl is not None and impl.storage is not None
    return not has_uri and not has_storage and not predictor.storage_uris


def create_empty_model_config(isvc: InferenceService, shard_id: int = 0) -> ConfigMap:
    """``CreateEmptyModelConfig`` plus the controller reference the reconciler sets:
    ``modelconfig-<isvc>-<shard>`` with ``models.json: "[]"`` and the InferenceService's
    labels. Create it only when absent (see the module docstring)."""
    meta = isvc.metadata
    assert meta is not None and meta.name
    cm = ConfigMap(
        metadata=ObjectMeta(
            name=model_config_name(meta.name, shard_id),
            namespace=meta.namespace,
            labels=dict(meta.labels) if meta.labels else None,
        ),
        data={MODEL_CONFIG_FILE_NAME: "[]"},
    )
    set_controller_reference(isvc, cm)
    return cm


# ---------------------------------------------------------------------------------------------
# models.json
# ---------------------------------------------------------------------------------------------


def _go_kind(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def _field(obj: Mapping[str, Any], name: str) -> Any:
    """Go's case-insensitive field match (an exact match wins)."""
    if name in obj:
        return obj[name]
    for k, v in obj.items():
        if k.lower() == name.lower():
            return v
    return None


def _string(v: Any, where: str) -> str:
    if v is None:
        return ""
    if not isinstance(v, str):
        raise ModelConfigError(
            f"json: cannot unmarshal {_go_kind(v)} into Go struct field {where} of type string"
        )
    return v


def decode_model_configs(text: str | None) -> dict[str, ModelConfig]:
    """Upstream ``decode``: ``models.json`` to entries by name (a later duplicate wins);
    empty text is no entries. Raises :class:`ModelConfigError` with Go's message."""
    if not text:
        return {}
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise ModelConfigError(f"invalid models.json: {e}") from None
    if doc is None:
        return {}
    if not isinstance(doc, list):
        raise ModelConfigError(
            f"json: cannot unmarshal {_go_kind(doc)} into Go value of type "
            "modelconfig.ModelConfigs"
        )
    out: dict[str, ModelConfig] = {}
    for item in doc:
        if item is None:
            item = {}
        if not isinstance(item, dict):
            raise ModelConfigError(
                f"json: cannot unmarshal {_go_kind(item)} into Go value of type "
                "modelconfig.ModelConfig"
            )
        spec = _field(item, "modelSpec")
        if spec is None:
            spec = {}
        if not isinstance(spec, dict):
            raise ModelConfigError(
                f"json: cannot unmarshal {_go_kind(spec)} into Go struct field "
                "ModelConfig.modelSpec of type v1alpha1.ModelSpec"
            )
        memory = _field(spec, "memory")
        if memory is None:
            memory = "0"
        elif isinstance(memory, int | float) and not isinstance(memory, bool):
            memory = json.dumps(memory)
        elif not isinstance(memory, str):
            raise ModelConfigError(
                f"json: cannot unmarshal {_go_kind(memory)} into Go struct field "
                "ModelSpec.modelSpec.memory of type resource.Quantity"
            )
        try:
            canonical = canonical_quantity(memory)
        except ValueError:
            raise ModelConfigError(
                "quantities must match the regular expression "
                "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
            ) from None
        entry = ModelConfig(
            name=_string(_field(item, "modelName"), "ModelConfig.modelName"),
            storage_uri=_string(_field(spec, "storageUri"), "ModelSpec.modelSpec.storageUri"),
            framework=_string(_field(spec, "framework"), "ModelSpec.modelSpec.framework"),
            memory=canonical,
        )
        out[entry.name] = entry
    return out


def encode_model_configs(configs: Iterable[ModelConfig]) -> str:
    """``models.json`` for ``configs``, sorted by ``modelName`` (deterministic, unlike
    upstream), in Go's compact JSON."""
    return go_json([c.to_go() for c in sorted(configs, key=lambda c: c.name)], sort_keys=False)


def process_model_configs(
    models_json: str | None,
    updated: Sequence[ModelConfig] = (),
    deleted: Sequence[str] = (),
    *,
    config_map_name: str = "",
) -> str | None:
    """``ConfigsDelta.Process``: ``models.json`` after upserting ``updated`` (by name) and
    removing ``deleted``. ``None`` (write nothing) when there is nothing to change, as
    upstream returns early. Raises :class:`ModelConfigError` ("while updating <cm> err ...")
    when the existing text does not decode."""
    if not updated and not deleted:
        return None
    try:
        data = decode_model_configs(models_json)
    except ModelConfigError as e:
        raise ModelConfigError(f"while updating {config_map_name} err {e}") from None
    for cfg in updated:
        data[cfg.name] = cfg
    for name in deleted:
        data.pop(name, None)  # upstream logs "Model does not exist in ConfigMap."
    return encode_model_configs(data.values())
