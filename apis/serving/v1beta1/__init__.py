"""serving.kserve.io/v1beta1: InferenceService and its component specs."""
