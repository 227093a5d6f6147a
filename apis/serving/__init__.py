"""The ``serving.kserve.io`` API group: ``v1beta1`` (InferenceService) and ``v1alpha1``."""

from runtime.resource import PrinterColumn

GROUP = "serving.kserve.io"

#: The ``kubectl get`` columns upstream's Knative-style kinds (InferenceService, InferenceGraph,
#: TrainedModel) share: ``+kubebuilder:printcolumn`` URL, Ready, ..., Age.
URL_COLUMN = PrinterColumn("URL", "string", ".status.url")
READY_COLUMN = PrinterColumn("Ready", "string", ".status.conditions[?(@.type=='Ready')].status")
AGE_COLUMN = PrinterColumn("Age", "date", ".metadata.creationTimestamp")
