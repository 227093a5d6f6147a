"""``pkg/credentials/s3``: S3 credentials as env vars, from a Secret (keys, annotations, data)
or a ServiceAccount (IRSA annotations), with the ``credentials.s3`` config as fallback."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apis.serving.constants import KSERVE_API_GROUP
from controllers.storage.credentials.secrets import secret_values
from controllers.storage.utils import JsonDict, env_var, secret_env

__all__ = [
    "AWS_ACCESS_KEY_ID",
    "AWS_ACCESS_KEY_ID_NAME",
    "AWS_ANONYMOUS_CREDENTIAL",
    "AWS_CA_BUNDLE",
    "AWS_CA_BUNDLE_CONFIGMAP",
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SECRET_ACCESS_KEY_NAME",
    "S3_CA_BUNDLE_ANNOTATION",
    "S3_CA_BUNDLE_CONFIGMAP_ANNOTATION",
    "S3_ENDPOINT",
    "S3_ENDPOINT_ANNOTATION",
    "S3_REGION_ANNOTATION",
    "S3_USE_ACCELERATE",
    "S3_USE_ACCELERATE_ANNOTATION",
    "S3_USE_ANONYMOUS_CREDENTIAL_ANNOTATION",
    "S3_USE_HTTPS",
    "S3_USE_HTTPS_ANNOTATION",
    "S3_USE_VIRTUAL_BUCKET",
    "S3_USE_VIRTUAL_BUCKET_ANNOTATION",
    "S3_VERIFY_SSL",
    "S3_VERIFY_SSL_ANNOTATION",
    "build_s3_env_vars",
    "build_secret_envs",
    "build_service_account_envs",
]

AWS_ACCESS_KEY_ID = "AWS_ACCESS_KEY_ID"
AWS_SECRET_ACCESS_KEY = "AWS_SECRET_ACCESS_KEY"
AWS_ACCESS_KEY_ID_NAME = "awsAccessKeyID"
"""Default secret data key of the access key id."""
AWS_SECRET_ACCESS_KEY_NAME = "awsSecretAccessKey"
"""Default secret data key of the secret access key."""
AWS_ENDPOINT_URL = "AWS_ENDPOINT_URL"
AWS_REGION = "AWS_DEFAULT_REGION"
S3_ENDPOINT = "S3_ENDPOINT"
S3_USE_HTTPS = "S3_USE_HTTPS"
S3_VERIFY_SSL = "S3_VERIFY_SSL"
S3_USE_VIRTUAL_BUCKET = "S3_USER_VIRTUAL_BUCKET"
S3_USE_ACCELERATE = "S3_USE_ACCELERATE"
AWS_ANONYMOUS_CREDENTIAL = "awsAnonymousCredential"
AWS_CA_BUNDLE = "AWS_CA_BUNDLE"
AWS_CA_BUNDLE_CONFIGMAP = "AWS_CA_BUNDLE_CONFIGMAP"

S3_ENDPOINT_ANNOTATION = KSERVE_API_GROUP + "/s3-endpoint"
S3_REGION_ANNOTATION = KSERVE_API_GROUP + "/s3-region"
S3_VERIFY_SSL_ANNOTATION = KSERVE_API_GROUP + "/s3-verifyssl"
S3_USE_HTTPS_ANNOTATION = KSERVE_API_GROUP + "/s3-usehttps"
S3_USE_VIRTUAL_BUCKET_ANNOTATION = KSERVE_API_GROUP + "/s3-usevirtualbucket"
S3_USE_ACCELERATE_ANNOTATION = KSERVE_API_GROUP + "/s3-useaccelerate"
S3_USE_ANONYMOUS_CREDENTIAL_ANNOTATION = KSERVE_API_GROUP + "/s3-useanoncredential"
S3_CA_BUNDLE_CONFIGMAP_ANNOTATION = KSERVE_API_GROUP + "/s3-cabundle-configmap"
S3_CA_BUNDLE_ANNOTATION = KSERVE_API_GROUP + "/s3-cabundle"


def _value(
    annotations: Mapping[str, str],
    data: Mapping[str, str] | None,
    annotation: str,
    data_key: str,
    configured: str,
) -> str:
    """``getEnvValue``: the annotation, else the secret data, else the config."""
    if annotation in annotations:
        return annotations[annotation]
    if data is not None and data_key in data:
        return data[data_key]
    return configured


def _endpoint(
    endpoint: str, annotations: Mapping[str, str], data: Mapping[str, str] | None, s3: Any
) -> tuple[str, str, str]:
    """``getEndpointConfiguration``: (use-https, endpoint without scheme, endpoint URL)."""
    endpoint = endpoint.strip()
    lower = endpoint.lower()
    if lower.startswith("https://"):
        return "1", endpoint[8:], endpoint
    if lower.startswith("http://"):
        return "0", endpoint[7:], endpoint
    use_https = _value(annotations, data, S3_USE_HTTPS_ANNOTATION, S3_USE_HTTPS, s3.s3_use_https)
    scheme = "http://" if use_https == "0" else "https://"
    return use_https, endpoint, scheme + endpoint


def build_s3_env_vars(
    annotations: Mapping[str, str], data: Mapping[str, str] | None, s3: Any
) -> list[JsonDict]:
    """``s3.BuildS3EnvVars``: the S3 settings as env vars (only non-empty values); ``data`` is
    the decoded secret data (None for a ServiceAccount), ``s3`` the ``credentials.s3``
    config."""
    envs: list[JsonDict] = []
    endpoint = _value(annotations, data, S3_ENDPOINT_ANNOTATION, S3_ENDPOINT, s3.s3_endpoint)
    if endpoint != "":
        use_https, host, url = _endpoint(endpoint, annotations, data, s3)
        if use_https != "":
            envs.append(env_var(S3_USE_HTTPS, use_https))
        envs.append(env_var(S3_ENDPOINT, host))
        envs.append(env_var(AWS_ENDPOINT_URL, url))
    for annotation, data_key, configured, name in (
        (S3_VERIFY_SSL_ANNOTATION, S3_VERIFY_SSL, s3.s3_verify_ssl, S3_VERIFY_SSL),
        (
            S3_USE_ANONYMOUS_CREDENTIAL_ANNOTATION,
            AWS_ANONYMOUS_CREDENTIAL,
            s3.s3_use_anonymous_credential,
            AWS_ANONYMOUS_CREDENTIAL,
        ),
        (S3_REGION_ANNOTATION, AWS_REGION, s3.s3_region, AWS_REGION),
        (
            S3_USE_VIRTUAL_BUCKET_ANNOTATION,
            S3_USE_VIRTUAL_BUCKET,
            s3.s3_use_virtual_bucket,
            S3_USE_VIRTUAL_BUCKET,
        ),
        (S3_USE_ACCELERATE_ANNOTATION, S3_USE_ACCELERATE, s3.s3_use_accelerate, S3_USE_ACCELERATE),
        (S3_CA_BUNDLE_ANNOTATION, AWS_CA_BUNDLE, s3.s3_ca_bundle, AWS_CA_BUNDLE),
        (
            S3_CA_BUNDLE_CONFIGMAP_ANNOTATION,
            AWS_CA_BUNDLE_CONFIGMAP,
            s3.s3_ca_bundle_config_map,
            AWS_CA_BUNDLE_CONFIGMAP,
        ),
    ):
        value = _value(annotations, data, annotation, data_key, configured)
        if value != "":
            envs.append(env_var(name, value))
    return envs


def build_secret_envs(secret: JsonDict, s3: Any) -> list[JsonDict]:
    """``s3.BuildSecretEnvs``: the key id and secret key from the Secret, then the S3
    settings from its annotations, its data and the config."""
    name = (secret.get("metadata") or {}).get("name", "")
    key_id = s3.s3_access_key_id_name or AWS_ACCESS_KEY_ID_NAME
    secret_key = s3.s3_secret_access_key_name or AWS_SECRET_ACCESS_KEY_NAME
    meta = secret.get("metadata") or {}
    return [
        secret_env(AWS_ACCESS_KEY_ID, name, key_id),
        secret_env(AWS_SECRET_ACCESS_KEY, name, secret_key),
        *build_s3_env_vars(meta.get("annotations") or {}, secret_values(secret), s3),
    ]


def build_service_account_envs(service_account: JsonDict, s3: Any) -> list[JsonDict]:
    """``s3.BuildServiceAccountEnvs`` (IRSA): the S3 settings from the ServiceAccount's
    annotations and the config."""
    annotations = (service_account.get("metadata") or {}).get("annotations") or {}
    return build_s3_env_vars(annotations, None, s3)
