"""The TrainedModel controller (upstream ``pkg/controller/v1alpha1/trainedmodel``):
``controller.setup(mgr, config_source)`` registers it."""
