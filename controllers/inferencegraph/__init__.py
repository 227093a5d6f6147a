"""The InferenceGraph controller (upstream ``pkg/controller/v1alpha1/inferencegraph``):
``controller.setup(mgr, config_source)`` registers it."""
