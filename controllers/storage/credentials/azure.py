"""``pkg/credentials/azure``: Azure credentials from a Secret (current and legacy key names)."""

from __future__ import annotations

from controllers.storage.credentials.secrets import secret_name, secret_values
from controllers.storage.utils import JsonDict, secret_env

__all__ = [
    "AZURE_ACCESS_TOKEN",
    "AZURE_CLIENT_ID",
    "AZURE_ENV_KEYS",
    "AZURE_STORAGE_ACCESS_KEY",
    "LEGACY_AZURE_CLIENT_ID",
    "build_secret_envs",
    "build_storage_access_key_secret_env",
]

AZURE_STORAGE_ACCESS_KEY = "AZURE_STORAGE_ACCESS_KEY"
LEGACY_AZURE_SUBSCRIPTION_ID = "AZ_SUBSCRIPTION_ID"
LEGACY_AZURE_TENANT_ID = "AZ_TENANT_ID"
LEGACY_AZURE_CLIENT_ID = "AZ_CLIENT_ID"
LEGACY_AZURE_CLIENT_SECRET = "AZ_CLIENT_SECRET"
AZURE_SUBSCRIPTION_ID = "AZURE_SUBSCRIPTION_ID"
AZURE_TENANT_ID = "AZURE_TENANT_ID"
AZURE_CLIENT_ID = "AZURE_CLIENT_ID"
AZURE_CLIENT_SECRET = "AZURE_CLIENT_SECRET"
AZURE_ACCESS_TOKEN = "AZURE_ACCESS_TOKEN"
AZURE_ACCESS_TOKEN_EXPIRES_ON_SECONDS = "AZURE_ACCESS_EXPIRES_ON_SECONDS"
AZURE_ACCOUNT_NAME = "AZURE_ACCOUNT_NAME"
AZURE_SERVICE_URL = "AZURE_SERVICE_URL"

AZURE_ENV_KEYS: tuple[str, ...] = (
    AZURE_SUBSCRIPTION_ID,
    AZURE_TENANT_ID,
    AZURE_CLIENT_ID,
    AZURE_CLIENT_SECRET,
    AZURE_STORAGE_ACCESS_KEY,
    AZURE_ACCESS_TOKEN,
    AZURE_ACCESS_TOKEN_EXPIRES_ON_SECONDS,
    AZURE_ACCOUNT_NAME,
    AZURE_SERVICE_URL,
)
_LEGACY = {
    AZURE_SUBSCRIPTION_ID: LEGACY_AZURE_SUBSCRIPTION_ID,
    AZURE_TENANT_ID: LEGACY_AZURE_TENANT_ID,
    AZURE_CLIENT_ID: LEGACY_AZURE_CLIENT_ID,
    AZURE_CLIENT_SECRET: LEGACY_AZURE_CLIENT_SECRET,
}
#: Keys left out when the Secret lacks them (the tenant id is always referenced).
_OPTIONAL = frozenset(
    {
        AZURE_CLIENT_ID,
        AZURE_CLIENT_SECRET,
        AZURE_SUBSCRIPTION_ID,
        AZURE_STORAGE_ACCESS_KEY,
        AZURE_ACCESS_TOKEN,
        AZURE_ACCESS_TOKEN_EXPIRES_ON_SECONDS,
        AZURE_ACCOUNT_NAME,
        AZURE_SERVICE_URL,
    }
)


def build_secret_envs(secret: JsonDict) -> list[JsonDict]:
    """``azure.BuildSecretEnvs``: one env var per Azure key, read from the legacy key name
    when the Secret has it; optional keys the Secret lacks are skipped."""
    data = secret_values(secret)
    name = secret_name(secret)
    envs: list[JsonDict] = []
    for key in AZURE_ENV_KEYS:
        data_key = key
        legacy = _LEGACY.get(key)
        if legacy is not None and legacy in data:
            data_key = legacy
        if data_key in data or data_key not in _OPTIONAL:
            envs.append(secret_env(key, name, data_key))
    return envs


def build_storage_access_key_secret_env(secret: JsonDict) -> list[JsonDict]:
    """``azure.BuildStorageAccessKeySecretEnv``."""
    return [secret_env(AZURE_STORAGE_ACCESS_KEY, secret_name(secret), AZURE_STORAGE_ACCESS_KEY)]
