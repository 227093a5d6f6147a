"""apis.serving.constants: one definition of each shared name; the name helpers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from apis.serving import constants as c

APIS = Path(__file__).resolve().parents[2] / "apis"


def _keyed_values() -> dict[str, str]:
    """Every annotation/label/finalizer-like constant (a value with a ``/`` or a ``.``,
    which a module would only spell out when redefining it)."""
    out: dict[str, str] = {}
    for name in c.__all__:
        value = getattr(c, name)
        if isinstance(value, str) and ("/" in value or value.endswith(".finalizers")):
            out[value] = name
    return out


def test_no_module_in_apis_redefines_a_shared_name() -> None:
    keyed = _keyed_values()
    offenders: list[str] = []
    for path in sorted(APIS.rglob("*.py")):
        if path.name == "constants.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value in keyed
            ):
                offenders.append(
                    f"{path.relative_to(APIS)}:{node.lineno} {node.value!r} "
                    f"(use constants.{keyed[node.value]})"
                )
    assert offenders == []


@pytest.mark.parametrize(
    ("isvc", "predictor", "want"),
    [("sk", None, "sk-predictor"), ("sk", "", "sk-predictor"), ("sk", "v2", "sk-v2-predictor")],
)
def test_predictor_service_name(isvc: str, predictor: str | None, want: str) -> None:
    assert c.predictor_service_name(isvc, predictor) == want


@pytest.mark.parametrize(
    ("fn", "args", "want"),
    [
        (c.raw_service_label, ("sk-predictor",), "isvc.sk-predictor"),
        (c.model_config_name, ("sk",), "modelconfig-sk-0"),
        (c.model_config_name, ("sk", 3), "modelconfig-sk-3"),
    ],
)
def test_name_helpers(fn: object, args: tuple[object, ...], want: str) -> None:
    assert callable(fn)
    assert fn(*args) == want


def test_all_is_complete() -> None:
    public = {
        n
        for n, v in vars(c).items()
        if not n.startswith("_")
        and n != "annotations"
        and (n.isupper() or getattr(v, "__module__", None) == c.__name__)
    }
    public.discard("StrEnum")
    assert public - {"KSERVE_API_GROUP"} <= set(c.__all__) | {"KSERVE_API_GROUP"}
    assert set(c.__all__) <= public
