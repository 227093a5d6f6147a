"""Model storage for a pod spec, shared by the pod mutator (``controllers.webhooks.pod``) and
the InferenceService controller (``controllers.inferenceservice.components``), as upstream
shares ``pod.CommonStorageInitialization``, ``pkg/utils`` and ``pkg/credentials`` between them.

- :mod:`.storage_initializer`: ``CommonStorageInitialization`` (init container, PVC mounts,
  CA bundle, credentials, ClusterStorageContainer overlay);
- :mod:`.oci`: OCI model sources (modelcar sidecar, ImageVolume, fetch);
- :mod:`.storage_container`: ClusterStorageContainer selection, storage initializer config
  checks;
- :mod:`.container_merge`: ``MergeContainerWithPatch`` (strategic merge of containers);
- :mod:`.credentials`: storage credentials as pure builders over cached ServiceAccounts and
  Secrets, and the cached reads they need;
- :mod:`.utils`: pod-spec JSON helpers with Go's serialisation semantics.

Pure functions over JSON pod specs; the callers do the reads.
"""
