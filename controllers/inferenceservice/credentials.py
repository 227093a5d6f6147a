"""Storage credentials for an InferenceService's ``storageUris`` (upstream: the predictor,
transformer and explainer reconcilers build ``credentials.NewCredentialBuilder`` and hand it to
``CommonStorageInitialization``, which GETs the pod's ServiceAccount and its Secrets).

The component builders are pure, so :func:`storage_credentials` does the reads first, from
the manager's cache, and returns the :data:`~.components.storage.CredentialInjector` the
builders take (``build_predictor(..., credentials=...)``). It reads what any component's
storage initializer may need: the components' ServiceAccounts (``default`` when unset), the
Secrets they list, the Secret the storage-secret annotation names on the InferenceService,
a component or the ServingRuntime's pod template, and the storage-spec Secret. Reading a
Secret that ends up unused costs nothing (cache); one that is missing counts as NotFound, as
upstream.
"""

from __future__ import annotations

from typing import Any

from lightkube.resources.core_v1 import Secret, ServiceAccount

from apis.serving.v1beta1.configmap import InferenceServiceConfig
from apis.serving.v1beta1.predictor_runtime_selection import SelectedRuntime
from controllers.storage.credentials import DEFAULT_STORAGE_SPEC_SECRET, CredentialBuilder
from controllers.storage.credentials.reads import Reader, read_objects, secret_names

from .components.component import predictor_storage_spec
from .components.storage import CredentialInjector, credential_injector, storage_spec_params

__all__ = ["storage_credentials"]


def _components_with_storage(isvc: Any) -> list[Any]:
    """The predictor (and its workerSpec), transformer and explainer that have
    ``storageUris``: their pods get a storage initializer."""
    spec = isvc.spec
    out: list[Any] = []
    predictor = spec.predictor
    if predictor.storage_uris:
        out.append(predictor)
        if predictor.worker_spec is not None:
            out.append(predictor.worker_spec)
    for component in (spec.transformer, spec.explainer):
        if component is not None and component.storage_uris:
            out.append(component)
    return out


async def storage_credentials(
    reader: Reader,
    isvc: Any,
    config: InferenceServiceConfig,
    runtime: SelectedRuntime | None = None,
) -> CredentialInjector | None:
    """The credential injector for ``isvc``'s ``storageUris`` (None, and no read, when no
    component has any). ``runtime``: the predictor's selected ServingRuntime (its pod
    annotations may name the storage Secret)."""
    components = _components_with_storage(isvc)
    if not components:
        return None
    namespace = isvc.metadata.namespace
    creds = config.credentials
    service_accounts = await read_objects(
        reader,
        ServiceAccount,
        namespace,
        [c.service_account_name or "default" for c in components],
    )
    names = secret_names("", {}, service_accounts.values())
    key = creds.storage_secret_name_annotation
    sources = [
        isvc.metadata.annotations,
        runtime.spec.annotations if runtime is not None else None,
        *(getattr(c, "annotations", None) for c in components),
    ]
    if key:
        names += [a[key] for a in sources if a and key in a]
    if storage_spec_params(predictor_storage_spec(isvc.spec.predictor)) is not None:
        names.append(creds.storage_spec_secret_name or DEFAULT_STORAGE_SPEC_SECRET)
    secrets = await read_objects(reader, Secret, namespace, names)
    return credential_injector(
        CredentialBuilder(creds, service_accounts=service_accounts, secrets=secrets)
    )
