"""The LocalModelNode agent (upstream ``pkg/controller/v1alpha1/localmodelnode``), one per
node (``kserve-localmodelnode-agent``, :mod:`controllers.localmodelnode.manager`): downloads
the models its node's LocalModelNode lists and reports their status."""
