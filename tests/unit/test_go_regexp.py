"""Names and patterns are matched as Go's regexp matches them: in RE2 (without (?m)) "$" is the
end of the text, while Python's "$" also matches before a final newline. "abc\n" is refused
wherever upstream refuses it."""

from __future__ import annotations

from typing import Any

import pytest

from apis.serving import v1alpha1
from apis.serving.v1alpha1.trained_model_validation import validate_trained_model
from apis.serving.validation import FieldError, go_regexp, is_quantity, validate_name


@pytest.mark.parametrize(("name", "ok"), [
    ("abc", True),
    ("a-b-1", True),
    ("abc\n", False),
    ("abc\n\n", False),
    ("\nabc", False),
    ("ab\nc", False),
    ("abc-", False),
])
def test_isvc_and_graph_names(name: str, ok: bool) -> None:
    for kind in ("InferenceService", "InferenceGraph"):
        if ok:
            validate_name(name, kind)
        else:
            with pytest.raises(FieldError) as info:
                validate_name(name, kind)
            assert info.value.field == "metadata.name"


def _tm(name: str) -> dict[str, Any]:
    return {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "TrainedModel",
            "metadata": {"name": name, "namespace": "ns"},
            "spec": {"inferenceService": "isvc", "model": {
                "framework": "sklearn", "storageUri": "gs://b/m", "memory": "1Gi"}}}


@pytest.mark.parametrize(("name", "ok"), [
    ("My_Model-1", True),
    ("My_Model-1\n", False),
    ("m\nm", False),
])
def test_trained_model_names(name: str, ok: bool) -> None:
    if ok:
        validate_trained_model(_tm(name))
    else:
        with pytest.raises(FieldError) as info:
            validate_trained_model(_tm(name))
        assert info.value.field == "metadata.name"


@pytest.mark.parametrize(("value", "ok"), [("1Gi", True), ("1Gi\n", False), ("500m\n", False)])
def test_quantities(value: str, ok: bool) -> None:
    assert is_quantity(value) is ok


@pytest.mark.parametrize(("regex", "uri", "ok"), [
    ("^custom://.*$", "custom://b/m", True),
    ("^custom://.*$", "custom://b/m\n", False),
    ("^custom://[a-z/]+$", "custom://b/m\n", False),
    ("custom://", "x custom://y\n", True),  # unanchored: a match anywhere, as Go
    (r"^custom://.*\z", "custom://b\n", False),  # Go's \z is Python's \Z
    ("(?m)^custom://b$", "custom://b\nrest", True),  # multi-line: $ is end of line in both
])
def test_storage_container_uri_regex(regex: str, uri: str, ok: bool) -> None:
    csc = v1alpha1.ClusterStorageContainer.model_validate({
        "metadata": {"name": "c"},
        "spec": {"container": {"name": "s", "image": "i"},
                 "supportedUriFormats": [{"regex": regex}]},
    })
    assert csc.spec is not None
    assert csc.spec.is_storage_uri_supported(uri) is ok


@pytest.mark.parametrize(("go", "python"), [
    ("^a$", r"^a\Z"),
    (r"^a\$$", r"^a\$\Z"),  # an escaped $ is a literal
    ("^[$]$", r"^[$]\Z"),  # inside a class, $ is a literal
    ("^[]$]x$", r"^[]$]x\Z"),  # "]" first in a class is a literal, the class goes on
    ("^[^]$]$", r"^[^]$]\Z"),
    (r"a\z", r"a\Z"),
    ("(?m)^a$", "(?m)^a$"),
    ("(?im:a$)", "(?im:a$)"),
    ("a|b$", r"a|b\Z"),
])
def test_go_regexp_translation(go: str, python: str) -> None:
    assert go_regexp(go).pattern == python
