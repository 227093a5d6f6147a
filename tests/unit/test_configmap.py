"""Table tests for the typed inferenceservice-config (apis/serving/v1beta1/configmap.py)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
import yaml

from apis.serving.v1beta1.configmap import (
    BUILTIN_SERVICE_ANNOTATION_DISALLOWED_LIST,
    DEFAULT_DOMAIN_TEMPLATE,
    InferenceServiceConfig,
    InferenceServiceConfigError,
    is_quantity,
    parse_inferenceservice_config,
    parse_quantity,
)
from tests.reference import reference


def _ref_data() -> dict[str, str]:
    return yaml.safe_load(reference("inferenceservice-config.yaml").read_text())["data"]


def test_reference_configmap_parses() -> None:
    cfg = parse_inferenceservice_config(_ref_data())
    assert cfg.explainers.art_explainer.container_image == "kserve/art-explainer"
    assert cfg.explainers.art_explainer.default_image_version == "latest"
    si = cfg.storage_initializer
    assert (si.image, si.memory_request, si.memory_limit, si.cpu_request, si.cpu_limit) == (
        "kserve/storage-initializer:latest",
        "100Mi",
        "1Gi",
        "100m",
        "1",
    )
    assert si.ca_bundle_volume_mount_path == "/etc/ssl/custom-certs"
    assert si.enable_oci_image_source is True and si.uid_modelcar == 1010
    assert si.resolve_oci_model_mode() == "modelcar"
    assert cfg.credentials.storage_spec_secret_name == "storage-config"
    assert cfg.credentials.gcs.gcs_credential_file_name == "gcloud-application-credentials.json"
    assert cfg.credentials.s3.s3_access_key_id_name == "AWS_ACCESS_KEY_ID"
    ing = cfg.ingress
    assert ing.ingress_gateway == "knative-serving/knative-ingress-gateway"
    assert ing.kserve_ingress_gateway == "kserve/kserve-ingress-gateway"
    assert ing.knative_local_gateway_service == ing.local_gateway_service_name
    assert ing.ingress_class_name == "istio" and ing.url_scheme == "http"
    assert ing.model_based_routing_header_name == "X-Gateway-Model-Name"
    assert cfg.logger.default_url == "http://default-broker"
    assert (cfg.batcher.max_batch_size, cfg.batcher.max_latency) == ("32", "5000")
    assert cfg.agent.image == "kserve/agent:latest"
    assert cfg.router.image_pull_policy == "IfNotPresent"
    assert cfg.deploy.default_deployment_mode == "Knative"  # "Serverless" normalised
    assert cfg.metrics_aggregator.enable_metric_aggregation == "false"
    lm = cfg.local_model
    assert (
        lm.enabled,
        lm.job_namespace,
        lm.fs_group,
        lm.job_ttl_seconds_after_finished,
        lm.reconcilation_frequency_in_secs,
    ) == (False, "kserve-localmodel-jobs", 1000, 3600, 60)
    assert cfg.security.auto_mount_service_account_token is True
    assert cfg.inference_service.resource.memory_limit == "2Gi"
    assert cfg.inference_service.service_annotation_disallowed_list == list(
        BUILTIN_SERVICE_ANNOTATION_DISALLOWED_LIST
    )
    assert cfg.inference_service.explainers.art_explainer.container_image == "kserve/art-explainer"
    assert cfg.opentelemetry_collector.resource.cpu_request == "200m"
    assert cfg.autoscaler.scale_down_stabilization_window_seconds == "300"
    assert "_example" not in cfg.present_keys and "ingress" in cfg.present_keys


def test_empty_configmap_gives_upstream_zero_values_and_code_defaults() -> None:
    cfg = parse_inferenceservice_config({})
    assert isinstance(cfg, InferenceServiceConfig)
    assert cfg.ingress.domain_template == DEFAULT_DOMAIN_TEMPLATE
    assert cfg.ingress.ingress_domain == "example.com"
    assert cfg.ingress.url_scheme == "http"
    assert cfg.ingress.model_based_routing_mode == "enabled"
    assert cfg.ingress.ingress_gateway == ""
    assert cfg.deploy.default_deployment_mode == ""
    # upstream: built-in disallowed lists only when the inferenceService key exists
    assert cfg.inference_service.service_annotation_disallowed_list is None
    assert cfg.inference_service.service_label_disallowed_list is None
    # upstream zero value: a missing security key disables token automount
    assert cfg.security.auto_mount_service_account_token is False
    assert cfg.multi_node.gpu_resource_types == [
        "nvidia.com/gpu",
        "amd.com/gpu",
        "intel.com/gpu",
        "habana.ai/gaudi",
    ]
    assert cfg.storage_initializer.resolve_oci_model_mode() == ""
    assert cfg.present_keys == frozenset()
    assert parse_inferenceservice_config(None).ingress.url_scheme == "http"


GOOD_CASES: list[tuple[str, dict[str, Any], Any]] = [
    (
        "deploy legacy RawDeployment -> Standard",
        {"deploy": {"defaultDeploymentMode": "RawDeployment"}},
        lambda c: c.deploy.default_deployment_mode == "Standard",
    ),
    (
        "deploy ModelMesh kept",
        {"deploy": {"defaultDeploymentMode": "ModelMesh"}},
        lambda c: c.deploy.default_deployment_mode == "ModelMesh",
    ),
    (
        "deploy rollout strategy",
        {
            "deploy": {
                "defaultDeploymentMode": "Standard",
                "deploymentRolloutStrategy": {
                    "defaultRollout": {"maxSurge": "1", "maxUnavailable": "25%"}
                },
            }
        },
        lambda c: c.deploy.deployment_rollout_strategy.default_rollout.max_unavailable == "25%",
    ),
    (
        "isvc disallowed lists appended to built-ins",
        {
            "inferenceService": {
                "serviceAnnotationDisallowedList": ["my/a"],
                "serviceLabelDisallowedList": ["my.l"],
            }
        },
        lambda c: (
            c.inference_service.service_annotation_disallowed_list[-1] == "my/a"
            and c.inference_service.service_annotation_disallowed_list[0]
            == "autoscaling.knative.dev/min-scale"
            and c.inference_service.service_label_disallowed_list
            == ["networking.knative.dev/visibility", "my.l"]
        ),
    ),
    (
        "isvc key present but empty still gets built-ins",
        {"inferenceService": {}},
        lambda c: len(c.inference_service.service_annotation_disallowed_list) == 5,
    ),
    (
        "multiNode custom gpus first",
        {"multiNode": {"customGPUResourceTypeList": ["custom.com/gpu"]}},
        lambda c: c.multi_node.gpu_resource_types[0] == "custom.com/gpu",
    ),
    (
        "knativeLocalGatewayService explicit wins",
        {
            "ingress": {
                "ingressGateway": "a/b",
                "localGatewayService": "x",
                "knativeLocalGatewayService": "y",
            }
        },
        lambda c: c.ingress.knative_local_gateway_service == "y",
    ),
    (
        "gateway api with valid gateway",
        {
            "ingress": {
                "ingressGateway": "a/b",
                "enableGatewayApi": True,
                "kserveIngressGateway": "kserve/gw",
            }
        },
        lambda c: c.ingress.enable_gateway_api,
    ),
    (
        "pathTemplate with ingressDomain",
        {
            "ingress": {
                "ingressGateway": "a/b",
                "ingressDomain": "d.com",
                "pathTemplate": "/serving/{{ .Namespace }}/{{ .Name }}",
            }
        },
        lambda c: c.ingress.path_template.startswith("/serving"),
    ),
    (
        "unknown fields ignored like Go",
        {
            "agent": {
                "image": "x",
                "cpuRequest": "1",
                "cpuLimit": "1",
                "memoryRequest": "1Gi",
                "memoryLimit": "1Gi",
                "surprise": 1,
            }
        },
        lambda c: c.agent.image == "x",
    ),
    (
        "field names match case-insensitively like Go",
        {"security": {"AutoMountServiceAccountToken": True}},
        lambda c: c.security.auto_mount_service_account_token is True,
    ),
    (
        "null leaves zero value",
        {"localModel": {"enabled": None, "fsGroup": None}},
        lambda c: c.local_model.enabled is False and c.local_model.fs_group is None,
    ),
    ("json null document", {"service": None}, lambda c: c.service.service_cluster_ip_none is False),
    (
        "service headless",
        {"service": {"serviceClusterIPNone": True}},
        lambda c: c.service.service_cluster_ip_none,
    ),
    (
        "oci mode native",
        {
            "storageInitializer": {
                "memoryRequest": "1",
                "memoryLimit": "1",
                "cpuRequest": "1",
                "cpuLimit": "1",
                "ociModelMode": "native",
            }
        },
        lambda c: c.storage_initializer.resolve_oci_model_mode() == "native",
    ),
    (
        "router headers",
        {
            "router": {
                "cpuRequest": "1",
                "cpuLimit": "1",
                "memoryRequest": "1Mi",
                "memoryLimit": "1Mi",
                "headers": {"propagate": ["Authorization"]},
                "imagePullSecrets": ["s"],
            }
        },
        lambda c: c.router.headers == {"propagate": ["Authorization"]},
    ),
    (
        "logger storage",
        {
            "logger": {
                "cpuRequest": "1",
                "cpuLimit": "1",
                "memoryRequest": "1Mi",
                "memoryLimit": "1Mi",
                "storage": {"path": "/p", "key": "k"},
                "batchSize": 4,
            }
        },
        lambda c: c.logger.store.storage_key == "k" and c.logger.batch_size == 4,
    ),
    (
        "inferenceService explainers override",
        {
            "explainers": {"art": {"image": "a"}},
            "inferenceService": {"explainers": {"art": {"image": "b"}}},
        },
        lambda c: (
            c.explainers.art_explainer.container_image == "a"
            and c.inference_service.explainers.art_explainer.container_image == "b"
        ),
    ),
    ("unknown keys ignored", {"llmisvcConfig": "not json at all"}, lambda c: True),
    (
        # Go's text/template only looks for "{{"; a "}}" outside an action is literal text
        "pathTemplate with literal braces outside actions",
        {
            "ingress": {
                "ingressGateway": "a/b",
                "ingressDomain": "d.com",
                "pathTemplate": "/serving}}/{{ .Namespace }}/{{ .Name }}",
            }
        },
        lambda c: c.ingress.path_template == "/serving}}/{{ .Namespace }}/{{ .Name }}",
    ),
    (
        "domainTemplate with a string literal holding braces",
        {"ingress": {"ingressGateway": "a/b", "domainTemplate": '{{ .Name }}{{ "}}" }}.x.com'}},
        lambda c: c.ingress.domain_template.endswith(".x.com"),
    ),
]


@pytest.mark.parametrize(
    ("data", "check"), [(d, c) for _, d, c in GOOD_CASES], ids=[n for n, _, _ in GOOD_CASES]
)
def test_good_configs(data: dict[str, Any], check: Any) -> None:
    raw = {k: json.dumps(v) for k, v in data.items()}
    assert check(parse_inferenceservice_config(raw))


_RES = {"cpuRequest": "1", "cpuLimit": "1", "memoryRequest": "1Mi", "memoryLimit": "1Mi"}

BAD_CASES: list[tuple[str, dict[str, str], str, str, str]] = [
    ("invalid json", {"ingress": "{"}, "ingress", "", "not valid JSON"),
    (
        "trailing comma / missing comma (upstream sample)",
        {"batcher": '{"a": "1" "b": "2"}'},
        "batcher",
        "",
        "not valid JSON",
    ),
    ("empty string", {"logger": ""}, "logger", "", "not valid JSON"),
    ("array instead of object", {"agent": "[]"}, "agent", "", "cannot unmarshal array"),
    (
        "string for bool",
        {"security": '{"autoMountServiceAccountToken": "true"}'},
        "security",
        "autoMountServiceAccountToken",
        "valid boolean",
    ),
    (
        "number for string",
        {"logger": json.dumps({**_RES, "image": 5})},
        "logger",
        "image",
        "valid string",
    ),
    (
        "string for int",
        {"localModel": '{"fsGroup": "1000"}'},
        "localModel",
        "fsGroup",
        "valid integer",
    ),
    (
        "nested list item type",
        {"router": json.dumps({**_RES, "headers": {"propagate": [1]}})},
        "router",
        "headers.propagate[0]",
        "valid string",
    ),
    (
        "nested object type",
        {"credentials": '{"s3": {"s3Endpoint": false}}'},
        "credentials",
        "s3.s3Endpoint",
        "valid string",
    ),
    (
        "bad quantity",
        {"storageInitializer": json.dumps({**_RES, "memoryRequest": "lots"})},
        "storageInitializer",
        "memoryRequest",
        "failed to parse resource quantity",
    ),
    (
        "missing quantity when key present",
        {"agent": '{"image": "x"}'},
        "agent",
        "memoryRequest",
        "failed to parse",
    ),
    (
        "bad modelcar quantity",
        {"storageInitializer": json.dumps({**_RES, "cpuModelcar": "x"})},
        "storageInitializer",
        "cpuModelcar",
        "failed to parse",
    ),
    (
        "bad oci mode",
        {"storageInitializer": json.dumps({**_RES, "ociModelMode": "pull"})},
        "storageInitializer",
        "ociModelMode",
        "must be one of",
    ),
    (
        "bad isvc default resource",
        {"inferenceService": '{"resource": {"cpuLimit": "one"}}'},
        "inferenceService",
        "resource.cpuLimit",
        "failed to parse",
    ),
    (
        "bad otel resource",
        {"opentelemetryCollector": '{"resource": {"memoryLimit": "2GB"}}'},
        "opentelemetryCollector",
        "resource.memoryLimit",
        "failed to parse",
    ),
    (
        "ingress without ingressGateway",
        {"ingress": "{}"},
        "ingress",
        "ingressGateway",
        "ingressGateway is required",
    ),
    (
        "gateway api without gateway",
        {"ingress": '{"enableGatewayApi": true, "ingressGateway": "a/b"}'},
        "ingress",
        "kserveIngressGateway",
        "kserveIngressGateway is required",
    ),
    (
        "gateway api bad format",
        {
            "ingress": json.dumps(
                {"enableGatewayApi": True, "ingressGateway": "a/b", "kserveIngressGateway": "a/b/c"}
            )
        },
        "ingress",
        "kserveIngressGateway",
        "<namespace>/<name>",
    ),
    (
        "gateway api bad namespace",
        {
            "ingress": json.dumps(
                {"enableGatewayApi": True, "ingressGateway": "a", "kserveIngressGateway": "A_b/gw"}
            )
        },
        "ingress",
        "kserveIngressGateway",
        "namespace is invalid",
    ),
    (
        "gateway api bad name",
        {
            "ingress": json.dumps(
                {"enableGatewayApi": True, "ingressGateway": "a", "kserveIngressGateway": "ns/Gw"}
            )
        },
        "ingress",
        "kserveIngressGateway",
        "gateway name is invalid",
    ),
    (
        "pathTemplate unparsable",
        {
            "ingress": json.dumps(
                {"ingressGateway": "a", "ingressDomain": "d", "pathTemplate": "/{{ .Name "}
            )
        },
        "ingress",
        "pathTemplate",
        "unable to parse pathTemplate",
    ),
    (
        "pathTemplate without domain",
        {"ingress": json.dumps({"ingressGateway": "a", "pathTemplate": "/{{ .Name }}"})},
        "ingress",
        "ingressDomain",
        "ingressDomain is required if pathTemplate",
    ),
    (
        "deploy without mode",
        {"deploy": "{}"},
        "deploy",
        "defaultDeploymentMode",
        "defaultDeploymentMode is required",
    ),
    (
        "deploy bad mode",
        {"deploy": '{"defaultDeploymentMode": "Fast"}'},
        "deploy",
        "defaultDeploymentMode",
        "Supported modes are Knative, Standard and ModelMesh",
    ),
    ("non-string value", {"deploy": 5}, "deploy", "", "must be a string"),  # type: ignore[dict-item]
    (
        # Go's regexp "$" is end of text; Python's also matches before a final newline
        "gateway api name with trailing newline",
        {
            "ingress": json.dumps(
                {"enableGatewayApi": True, "ingressGateway": "a", "kserveIngressGateway": "ns/gw\n"}
            )
        },
        "ingress",
        "kserveIngressGateway",
        "gateway name is invalid",
    ),
    (
        "quantity with trailing newline",
        {"agent": json.dumps({**_RES, "memoryLimit": "1Gi\n"})},
        "agent",
        "memoryLimit",
        "failed to parse resource quantity",
    ),
    (
        "pathTemplate with an unclosed action after literal braces",
        {
            "ingress": json.dumps(
                {"ingressGateway": "a", "ingressDomain": "d", "pathTemplate": "}}/{{ .Name "}
            )
        },
        "ingress",
        "pathTemplate",
        "unable to parse pathTemplate",
    ),
]


@pytest.mark.parametrize(
    ("data", "key", "field", "needle"),
    [(d, k, f, n) for _, d, k, f, n in BAD_CASES],
    ids=[c[0] for c in BAD_CASES],
)
def test_bad_configs_raise_one_clear_error(
    data: dict[str, str], key: str, field: str, needle: str
) -> None:
    with pytest.raises(InferenceServiceConfigError) as info:
        parse_inferenceservice_config(data)
    err = info.value
    assert isinstance(err, ValueError)
    assert (err.key, err.field) == (key, field)
    assert needle in str(err)
    assert repr(key) in str(err)


@pytest.mark.parametrize(
    ("text", "ok", "value"),
    [
        ("1", True, 1.0),
        ("100m", True, 0.1),
        ("1Gi", True, 2**30),
        ("2Gi", True, 2 * 2**30),
        ("1e3", True, 1000.0),
        ("0.5", True, 0.5),
        (".5", True, 0.5),
        ("+1k", True, 1000.0),
        ("", False, None),
        ("1GB", False, None),
        ("abc", False, None),
        ("1.5.1", False, None),
    ],
)
def test_quantity(text: str, ok: bool, value: float | None) -> None:
    assert is_quantity(text) is ok
    if ok:
        assert parse_quantity(text) == pytest.approx(value)
    else:
        with pytest.raises(ValueError):
            parse_quantity(text)


def test_fuzz_never_crashes() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    keys = st.sampled_from(
        [
            "ingress",
            "deploy",
            "logger",
            "router",
            "localModel",
            "security",
            "inferenceService",
            "storageInitializer",
            "credentials",
            "multiNode",
        ]
    )
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=8,
    )

    @settings(max_examples=200, deadline=None)
    @given(st.dictionaries(keys, json_values.map(json.dumps) | st.text(max_size=10), max_size=4))
    def run(data: dict[str, str]) -> None:
        with contextlib.suppress(InferenceServiceConfigError):
            parse_inferenceservice_config(data)

    run()


def test_last_good_config_is_kept() -> None:
    from apis.serving.v1beta1.configmap import LastGoodConfig

    holder = LastGoodConfig()
    assert holder.update({"deploy": "{"}) is None and holder.error is not None
    good = holder.update({"deploy": '{"defaultDeploymentMode": "Standard"}'})
    assert good is not None and holder.error is None
    kept = holder.update({"deploy": '{"defaultDeploymentMode": "Fast"}'})
    assert kept is good and holder.error is not None and holder.error.key == "deploy"
    assert holder.update({}) is not good and holder.error is None


def test_inference_service_key_explainers_merge_like_go() -> None:
    cfg = parse_inferenceservice_config(
        {
            "explainers": '{"art": {"image": "kserve/art", "defaultImageVersion": "0.9"}}',
            "inferenceService": '{"explainers": {"art": {"defaultImageVersion": "1.0"}}}',
        }
    )
    art = cfg.inference_service.explainers.art_explainer
    assert (art.container_image, art.default_image_version) == ("kserve/art", "1.0")
    assert cfg.explainers.art_explainer.default_image_version == "0.9"
    with pytest.raises(InferenceServiceConfigError) as info:
        parse_inferenceservice_config({"inferenceService": '{"explainers": {"art": {"image": 1}}}'})
    assert (info.value.key, info.value.field) == ("inferenceService", "explainers.art.image")


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("1000m", "1"),
        ("0.5", "500m"),
        ("1024Mi", "1Gi"),
        ("1536", "1536"),
        ("1e3", "1e3"),
        ("2Gi", "2Gi"),
        ("100m", "100m"),
        ("1.5", "1500m"),
        ("1.5Ki", "1536"),
        ("0.5Gi", "512Mi"),
        ("1000", "1k"),
        ("12e6", "12e6"),
        ("0", "0"),
        ("-1", "-1"),
        ("1e-10", "1e-9"),
        ("1.0000000001", "1000000001n"),
        ("5000000000", "5G"),
        ("2e1", "20"),
        ("1.5M", "1500k"),
        (500, "500"),
        ("3000Mi", "3000Mi"),
    ],
)
def test_canonical_quantity_like_go(text: str | int, canonical: str) -> None:
    from apis.serving.validation import canonical_quantity

    assert canonical_quantity(text) == canonical
