"""The LocalModel controllers (upstream ``pkg/controller/v1alpha1/localmodel``):
LocalModelCache, LocalModelNamespaceCache and the LocalModelNodes' model lists, run by
``kserve-localmodel-manager`` (:mod:`controllers.localmodel.manager`); the per-node download
agent is :mod:`controllers.localmodelnode`."""
