"""The InferenceService controller (upstream ``pkg/controller/v1beta1/inferenceservice``):
``components/`` turns an InferenceService, the ``inferenceservice-config`` and the chosen
ServingRuntime into each component's desired workload; the shared object builders are in
:mod:`controllers.reconcilers`."""
