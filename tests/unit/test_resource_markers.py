"""runtime.resource: each schema marker -> its schema keyword; the lightkube adapter; registry."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from lightkube.models import apps_v1, core_v1, meta_v1
from pydantic import Field, ValidationError

from codegen.schema import structural_schema
from runtime.resource import (
    CRD,
    Container,
    CustomResource,
    Default,
    EmbeddedResource,
    Enum,
    ExclusiveMaximum,
    ExclusiveMinimum,
    Format,
    Int32,
    Int64,
    IntOrString,
    Items,
    K8sType,
    KubeModel,
    ListType,
    MapType,
    Maximum,
    MaxItems,
    MaxLength,
    MaxProperties,
    Minimum,
    MinItems,
    MinLength,
    MinProperties,
    MultipleOf,
    Nullable,
    Pattern,
    PreserveUnknownFields,
    Quantity,
    Schemaless,
    Toleration,
    Type,
    XValidation,
    kube_definition_name,
    kube_schema,
    registered,
)
from runtime.resource import (
    PodSpec as CorePodSpec,
)

QTY_PATTERN = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|"
    r"([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)


def field_schema(annotation: Any) -> dict[str, Any]:
    """Schema of a single optional field ``x`` typed ``annotation``."""

    class M(KubeModel):
        x: annotation = Field(None, alias="x")  # type: ignore[valid-type]

    out: dict[str, Any] = structural_schema(M)["properties"]["x"]
    return out


CASES: list[tuple[str, Any, dict[str, Any]]] = [
    ("int32", Int32 | None, {"type": "integer", "format": "int32"}),
    ("int64", Int64 | None, {"type": "integer", "format": "int64"}),
    ("plain int", int | None, {"type": "integer"}),
    ("bool", bool | None, {"type": "boolean"}),
    ("str", str | None, {"type": "string"}),
    (
        "int-or-string",
        IntOrString | None,
        {"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": True},
    ),
    (
        "quantity",
        Quantity | None,
        {
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "pattern": QTY_PATTERN,
            "x-kubernetes-int-or-string": True,
        },
    ),
    (
        "list atomic",
        Annotated[list[str] | None, ListType("atomic")],
        {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "atomic"},
    ),
    (
        "list set",
        Annotated[list[str] | None, ListType("set")],
        {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
    ),
    (
        "list map",
        Annotated[list[Toleration] | None, ListType("map", "key", "operator")],
        {"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["key", "operator"]},
    ),
    (
        "map atomic",
        Annotated[dict[str, str] | None, MapType("atomic")],
        {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "x-kubernetes-map-type": "atomic",
        },
    ),
    (
        "map granular",
        Annotated[dict[str, str] | None, MapType("granular")],
        {"x-kubernetes-map-type": "granular"},
    ),
    ("default", Annotated[str | None, Default("/mnt/models")], {"default": "/mnt/models"}),
    ("default 0", Annotated[int | None, Default(0)], {"type": "integer", "default": 0}),
    ("default list", Annotated[list[str] | None, Default(["a"])], {"default": ["a"]}),
    ("enum", Annotated[str | None, Enum("a", "b")], {"type": "string", "enum": ["a", "b"]}),
    ("pattern", Annotated[str | None, Pattern("^/.*")], {"pattern": "^/.*"}),
    ("minimum", Annotated[int | None, Minimum(0)], {"minimum": 0}),
    ("maximum", Annotated[int | None, Maximum(100)], {"maximum": 100}),
    (
        "exclusive minimum",
        Annotated[int | None, ExclusiveMinimum(0)],
        {"minimum": 0, "exclusiveMinimum": True},
    ),
    (
        "exclusive maximum",
        Annotated[int | None, ExclusiveMaximum(9)],
        {"maximum": 9, "exclusiveMaximum": True},
    ),
    ("multiple of", Annotated[int | None, MultipleOf(2)], {"multipleOf": 2}),
    ("min length", Annotated[str | None, MinLength(1)], {"minLength": 1}),
    ("max length", Annotated[str | None, MaxLength(255)], {"maxLength": 255}),
    ("min items", Annotated[list[str] | None, MinItems(1)], {"minItems": 1}),
    ("max items", Annotated[list[str] | None, MaxItems(3)], {"maxItems": 3}),
    ("min properties", Annotated[dict[str, str] | None, MinProperties(1)], {"minProperties": 1}),
    ("max properties", Annotated[dict[str, str] | None, MaxProperties(2)], {"maxProperties": 2}),
    (
        "items marker",
        Annotated[list[str] | None, Items(Pattern("^a"), MaxLength(3))],
        {"items": {"type": "string", "pattern": "^a", "maxLength": 3}},
    ),
    (
        "preserve unknown",
        Annotated[dict[str, Any] | None, PreserveUnknownFields()],
        {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    ),
    (
        "embedded resource",
        Annotated[dict[str, Any] | None, EmbeddedResource()],
        {"x-kubernetes-embedded-resource": True},
    ),
    ("nullable", Annotated[str | None, Nullable()], {"type": "string", "nullable": True}),
    ("schemaless", Annotated[Any, Schemaless()], {}),
    ("format", Annotated[str | None, Format("date-time")], {"format": "date-time"}),
    ("type override", Annotated[Any, Type("string")], {"type": "string"}),
    (
        "cel",
        Annotated[str | None, XValidation("self == oldSelf", message="immutable")],
        {"x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "immutable"}]},
    ),
    (
        "cel full",
        Annotated[
            str | None,
            XValidation(
                "self.size() > 1",
                message_expression="'short'",
                reason="FieldValueInvalid",
                field_path=".x",
                optional_old_self=True,
            ),
        ],
        {
            "x-kubernetes-validations": [
                {
                    "rule": "self.size() > 1",
                    "messageExpression": "'short'",
                    "reason": "FieldValueInvalid",
                    "fieldPath": ".x",
                    "optionalOldSelf": True,
                }
            ]
        },
    ),
    ("literal", Any, {}),
]


@pytest.mark.parametrize(("name", "annotation", "expected"), CASES, ids=[c[0] for c in CASES])
def test_marker_keyword(name: str, annotation: Any, expected: dict[str, Any]) -> None:
    got = field_schema(annotation) if annotation is not Any else {}
    if name in ("schemaless",):
        assert got == expected
        return
    for key, value in expected.items():
        assert got.get(key) == value, (name, key, got)
    assert "anyOf" not in got or got.get("x-kubernetes-int-or-string")
    assert ("title" not in got and "default" not in got) or "default" in expected


def test_python_default_is_not_a_crd_default() -> None:
    class M(KubeModel):
        x: int = Field(5, alias="x")

    schema = structural_schema(M)
    assert "default" not in schema["properties"]["x"]
    assert "required" not in schema


def test_required_sorted_and_optional_omitted() -> None:
    class M(KubeModel):
        zeta: str = Field(alias="zeta")
        alpha: str = Field(alias="alpha")
        maybe: str | None = Field(None, alias="maybe")

    schema = structural_schema(M)
    assert schema["required"] == ["alpha", "zeta"]
    assert schema["properties"]["maybe"] == {"type": "string"}


def test_docstrings_are_descriptions_and_field_doc_wins() -> None:
    class Inner(KubeModel):
        """Type doc."""

        a: str | None = Field(None, alias="a")

    class M(KubeModel):
        documented: Inner | None = Field(None, alias="documented")
        """Field doc."""
        undocumented: Inner | None = Field(None, alias="undocumented")

    props = structural_schema(M)["properties"]
    assert props["documented"]["description"] == "Field doc."
    assert props["undocumented"]["description"] == "Type doc."


def test_literal_is_enum() -> None:
    from typing import Literal

    got = field_schema(Literal["a", "b"] | None)
    assert got == {"type": "string", "enum": ["a", "b"]}
    single = field_schema(Literal["only"] | None)
    assert single["enum"] == ["only"] and "const" not in single


@pytest.mark.parametrize(
    ("annotation", "good", "bad"),
    [
        (Annotated[str | None, Pattern("^/.*")], "/mnt", "mnt"),
        # the apiserver matches patterns with Go's regexp: "$" is the end of the text
        (Annotated[str | None, Pattern("^[a-z]([-a-z0-9]*[a-z0-9])?$")], "a-1", "a-1\n"),
        (Annotated[str | None, Pattern("(?m)^[a-z]+$")], "ab\n1", "1\n2"),
        (Annotated[int | None, Minimum(0), Maximum(100)], 100, 101),
        (Annotated[int | None, ExclusiveMinimum(0)], 1, 0),
        (Annotated[str | None, MinLength(1), MaxLength(3)], "abc", ""),
        (Annotated[list[str] | None, MinItems(1)], ["a"], []),
        (Annotated[str | None, Enum("a", "b")], "a", "c"),
        (Annotated[list[str] | None, Items(Pattern("^a"))], ["ab"], ["b"]),
        (Annotated[list[str] | None, Items(Pattern("^a$"))], ["a"], ["a\n"]),
    ],
)
def test_markers_validate_in_python(annotation: Any, good: Any, bad: Any) -> None:
    class M(KubeModel):
        x: annotation = Field(None, alias="x")  # type: ignore[valid-type]

    assert M.model_validate({"x": good}).x == good
    assert M.model_validate({"x": None}).x is None
    with pytest.raises(ValidationError):
        M.model_validate({"x": bad})


def test_list_type_arguments_checked() -> None:
    with pytest.raises(ValueError):
        ListType("map")
    with pytest.raises(ValueError):
        ListType("set", "name")


# --- lightkube adapter ----------------------------------------------------------------------


class Holder(KubeModel):
    containers: list[Container] = Field(alias="containers")
    tolerations: list[Toleration] | None = Field(None, alias="tolerations")


def test_adapter_value_is_the_lightkube_object() -> None:
    h = Holder.model_validate(
        {"containers": [{"name": "kserve-container", "ports": [{"containerPort": 8080}]}]}
    )
    c = h.containers[0]
    assert isinstance(c, core_v1.Container)
    assert c.ports is not None and c.ports[0].containerPort == 8080
    dep = apps_v1.Deployment(
        metadata=meta_v1.ObjectMeta(name="x"),
        spec=apps_v1.DeploymentSpec(
            selector=meta_v1.LabelSelector(matchLabels={"a": "b"}),
            template=core_v1.PodTemplateSpec(spec=core_v1.PodSpec(containers=h.containers)),
        ),
    )
    assert dep.spec is not None and dep.spec.template.spec is not None
    assert dep.spec.template.spec.containers[0] is c
    # an instance passes through unchanged
    assert Holder(containers=[c]).containers[0] is c


def test_adapter_serialises_camel_case_without_nones() -> None:
    h = Holder.model_validate(
        {"containers": [{"name": "a", "imagePullPolicy": "Always", "env": [{"name": "X"}]}]}
    )
    assert h.to_kube() == {
        "containers": [{"name": "a", "imagePullPolicy": "Always", "env": [{"name": "X"}]}]
    }
    assert Holder.model_validate(h.to_kube()) == h


def test_adapter_is_strict() -> None:
    with pytest.raises(ValidationError) as err:
        Holder.model_validate({"containers": [{"name": "a", "ports": [{"containerPort": "80"}]}]})
    assert "containerPort" in str(err.value)


def test_adapter_schema_is_the_v134_definition() -> None:
    schema = field_schema(Container | None)
    assert schema == kube_schema("io.k8s.api.core.v1.Container", keep_descriptions=False)
    props = schema["properties"]
    assert schema["required"] == ["name"]
    assert props["env"]["x-kubernetes-list-type"] == "map"
    assert props["env"]["x-kubernetes-list-map-keys"] == ["name"]
    assert props["ports"]["x-kubernetes-list-map-keys"] == ["containerPort", "protocol"]
    assert props["ports"]["items"]["properties"]["protocol"]["default"] == "TCP"
    assert props["args"]["x-kubernetes-list-type"] == "atomic"
    limits = props["resources"]["properties"]["limits"]["additionalProperties"]
    assert limits["x-kubernetes-int-or-string"] is True and limits["pattern"] == QTY_PATTERN
    # 1.34-only field: present means the pin is honoured
    assert "restartPolicyRules" in props
    env_from = props["envFrom"]["items"]["properties"]
    assert env_from["configMapRef"]["x-kubernetes-map-type"] == "atomic"
    assert env_from["configMapRef"]["properties"]["name"]["default"] == ""


def test_core_schema_has_no_swagger_leftovers() -> None:
    text = repr(kube_schema("io.k8s.api.core.v1.PodSpec"))
    for bad in ("$ref", "'null'", "x-kubernetes-patch", "oneOf"):
        assert bad not in text


def test_definition_names() -> None:
    assert kube_definition_name(core_v1.Container) == "io.k8s.api.core.v1.Container"
    assert (
        kube_definition_name(meta_v1.ObjectMeta)
        == "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    )
    assert (
        kube_definition_name(apps_v1.DeploymentStrategy) == "io.k8s.api.apps.v1.DeploymentStrategy"
    )
    assert field_schema(CorePodSpec | None)["required"] == ["containers"]
    assert field_schema(Annotated[core_v1.Toleration, K8sType()] | None)["type"] == "object"


# --- CustomResource + registry ----------------------------------------------------------------


def test_custom_resource_registration_and_type_meta() -> None:
    class WidgetSpec(KubeModel):
        size: Int32 | None = Field(None, alias="size")

    class Widget(CustomResource):
        """A widget."""

        __crd__ = CRD(group="example.com", version="v1", kind="Widget", plural="widgets")
        spec: WidgetSpec | None = Field(None, alias="spec")

    class NotAKind(Widget):  # inherits __crd__ but does not declare it: not registered
        pass

    kinds = registered(__name__)
    assert Widget in kinds and NotAKind not in kinds
    w = Widget.model_validate({"metadata": {"name": "w", "namespace": "n"}, "spec": {"size": 2}})
    assert w.api_version == "example.com/v1" and w.kind == "Widget"
    assert isinstance(w.metadata, meta_v1.ObjectMeta)
    assert w.to_kube() == {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "namespace": "n"},
        "spec": {"size": 2},
    }
    assert Widget.__crd__.name == "widgets.example.com"


def test_adapter_optional_required_field() -> None:
    Relaxed = Annotated[core_v1.Container, K8sType(optional=((core_v1.HTTPGetAction, "port"),))]

    class M(KubeModel):
        c: Relaxed = Field(alias="c")
        strict: Container | None = Field(None, alias="strict")

    raw = {"name": "a", "readinessProbe": {"httpGet": {"path": "/ready"}}}
    m = M.model_validate({"c": raw})
    assert m.c.readinessProbe is not None and m.c.readinessProbe.httpGet is not None
    assert m.c.readinessProbe.httpGet.port is None
    assert m.to_kube() == {"c": raw}
    assert raw == {"name": "a", "readinessProbe": {"httpGet": {"path": "/ready"}}}  # not mutated
    with pytest.raises(ValidationError):
        M.model_validate({"c": raw, "strict": raw})
    with pytest.raises(ValidationError):  # other errors still reported
        M.model_validate({"c": {**raw, "ports": [{"containerPort": "x"}]}})


def test_list_type_duplicates_refused() -> None:
    class M(KubeModel):
        tags: Annotated[list[str] | None, ListType("set")] = Field(None, alias="tags")
        tols: Annotated[list[Toleration] | None, ListType("map", "key", "effect")] = Field(
            None, alias="tols"
        )
        anything: Annotated[list[str] | None, ListType("atomic")] = Field(None, alias="anything")

    ok = M.model_validate(
        {
            "tags": ["a", "b"],
            "tols": [{"key": "a", "effect": "NoSchedule"}, {"key": "a", "effect": "NoExecute"}],
            "anything": ["x", "x"],
        }
    )
    assert ok.tols is not None and len(ok.tols) == 2
    with pytest.raises(ValidationError, match="duplicate"):
        M.model_validate({"tags": ["a", "a"]})
    with pytest.raises(ValidationError, match="duplicate"):
        M.model_validate({"tols": [{"key": "a", "effect": "X"}, {"key": "a", "effect": "X"}]})


def test_schema_required_without_python_required() -> None:
    class M(KubeModel):
        __schema_required__ = ("fmt",)

        fmt: str | None = Field(None, alias="fmt")
        other: str = Field(alias="other")

    assert structural_schema(M)["required"] == ["fmt", "other"]
    assert M.model_validate({"other": "x"}).fmt is None
