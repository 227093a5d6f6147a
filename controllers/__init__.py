"""KServe's reconcilers and admission webhooks (InferenceService, InferenceGraph,
TrainedModel, LocalModel, the LocalModelNode agent, the pod mutator), built on ``runtime``
with the types from ``apis``. Not written yet: each arrives with its own issue; `make run`
starts the manager from ``controllers/__main__.py`` once it exists."""
