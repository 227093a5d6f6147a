"""``pkg/credentials``: storage credentials (S3, GCS, Azure, HDFS, HTTP(S) headers, Hugging
Face, ModelScope, IRSA, storage-spec Secrets) turned into env vars and volumes of a container.
Pure: built over ServiceAccounts and Secrets the caller read from the cache."""

from controllers.storage.credentials.service_account_credentials import (
    AWS_IRSA_ANNOTATION,
    DEFAULT_STORAGE_SECRET_KEY,
    DEFAULT_STORAGE_SPEC_SECRET,
    STORAGE_CONFIG_ENV,
    STORAGE_OVERRIDE_CONFIG_ENV,
    SUPPORTED_STORAGE_SPEC_TYPES,
    URI_SCHEME_PLACEHOLDER,
    CredentialBuilder,
)

__all__ = [
    "AWS_IRSA_ANNOTATION",
    "DEFAULT_STORAGE_SECRET_KEY",
    "DEFAULT_STORAGE_SPEC_SECRET",
    "STORAGE_CONFIG_ENV",
    "STORAGE_OVERRIDE_CONFIG_ENV",
    "SUPPORTED_STORAGE_SPEC_TYPES",
    "URI_SCHEME_PLACEHOLDER",
    "CredentialBuilder",
]
