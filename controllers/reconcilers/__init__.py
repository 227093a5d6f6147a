"""Shared pure builders of the objects the controllers own (upstream
``pkg/controller/v1beta1/inferenceservice/reconcilers``): one module per object."""
