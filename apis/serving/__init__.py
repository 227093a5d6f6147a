"""The ``serving.kserve.io`` API group: ``v1beta1`` (InferenceService) and ``v1alpha1``."""

GROUP = "serving.kserve.io"
