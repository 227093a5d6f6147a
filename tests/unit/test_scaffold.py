"""``python -m codegen create-api`` (codegen/scaffold.py): names, input errors naming the
field, the files planned for a kind and its controller, refusal to overwrite anything, the one
generated line in ``CONTROLLERS``, new versions of an existing kind. Everything is scaffolded
into a temporary directory; tests/integration/test_scaffold.py lints and runs what it writes."""

from __future__ import annotations

import ast
import hashlib
import shutil
from pathlib import Path

import pytest

import codegen
from codegen import crd_kustomization, scaffold
from codegen.scaffold import (
    MANAGER,
    MANAGER_MARKER,
    ApiRequest,
    ExistingKind,
    ScaffoldError,
    plan,
    plural_of,
    snake_case,
    write,
)

ROOT = Path(__file__).resolve().parents[2]
WIDGET = ApiRequest(group="widgets.example.dev", version="v1alpha1", kind="Widget",
                    controller=True)
#: what the registry of this repository holds for a Widget already scaffolded in v1alpha1
WIDGET_V1ALPHA1 = ExistingKind(group="widgets.example.dev", version="v1alpha1", kind="Widget",
                               plural="widgets", scope="Namespaced", storage=True,
                               module="apis.widgets.v1alpha1.widget_types")


MANAGER_PY = f'''"""The manager."""

CONTROLLERS = (
    "inferenceservice",
    "trainedmodel",
    "inferencegraph",
    {MANAGER_MARKER} (create-api adds above)
)
'''


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A repository skeleton: ``apis/`` and a ``controllers/manager.py`` (this repository's
    own may list a kind scaffolded here already, e.g. ``widget``)."""
    (tmp_path / "apis").mkdir()
    (tmp_path / "apis" / "__init__.py").write_text('"""API types."""\n')
    (tmp_path / MANAGER).parent.mkdir(parents=True)
    (tmp_path / MANAGER).write_text(MANAGER_PY)
    return tmp_path


def test_this_repository_is_scaffoldable(tmp_path: Path) -> None:
    """controllers/manager.py has the marker inside CONTROLLERS: a new controller is one
    line above it."""
    (tmp_path / MANAGER).parent.mkdir(parents=True)
    shutil.copy(ROOT / MANAGER, tmp_path / MANAGER)
    before = (ROOT / MANAGER).read_text()
    after = scaffold._manager_edit(tmp_path, "zz_new_controller")
    assert controllers_of(after) == [*controllers_of(before), "zz_new_controller"]
    assert len(after.splitlines()) == len(before.splitlines()) + 1


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def controllers_of(manager_py: str) -> list[str]:
    for node in ast.parse(manager_py).body:
        if (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == "CONTROLLERS"):
            return [ast.literal_eval(e) for e in node.value.elts]  # type: ignore[attr-defined]
    raise AssertionError("no CONTROLLERS")


# ------------------------------------------------------------------------------------ names


@pytest.mark.parametrize(
    ("kind", "snake", "plural"),
    [
        ("Widget", "widget", "widgets"),
        ("LocalModelCache", "local_model_cache", "localmodelcaches"),
        ("HTTPRoute", "http_route", "httproutes"),
        ("Policy", "policy", "policies"),
        ("Gateway", "gateway", "gateways"),
        ("Ingress", "ingress", "ingresses"),
        ("Box", "box", "boxes"),
        ("Batch", "batch", "batches"),
        ("V1Thing2", "v1_thing2", "v1thing2s"),
    ],
)
def test_names(kind: str, snake: str, plural: str) -> None:
    assert (snake_case(kind), plural_of(kind)) == (snake, plural)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"group": "widgets"}, "--group 'widgets'"),  # no dot
        ({"group": "Widgets.example.dev"}, "--group 'Widgets.example.dev'"),
        ({"group": "widgets..dev"}, "--group"),
        ({"version": "1"}, "--version '1'"),
        ({"version": "v1alpha"}, "--version 'v1alpha'"),
        ({"version": "v0"}, "--version 'v0'"),
        ({"kind": "widget"}, "--kind 'widget'"),
        ({"kind": "Wid-get"}, "--kind 'Wid-get'"),
        ({"kind": "Class"}, "--kind 'Class': its module name 'class'"),
        ({"plural": "Widgets"}, "--plural 'Widgets'"),
        ({"package": "import"}, "--package 'import'"),
        ({"group": "1widgets.example.dev"}, "--package '1widgets'"),
    ],
)
def test_bad_input_is_named(fields: dict[str, str], error: str) -> None:
    req = ApiRequest(**{"group": "widgets.example.dev", "version": "v1alpha1", "kind": "Widget",
                        **fields})
    problems = req.check()
    assert len(problems) == 1 and problems[0].startswith(error), problems
    with pytest.raises(ScaffoldError, match=r"^--"):
        plan(Path("/nonexistent"), req, [])


@pytest.mark.parametrize("version", ["v1", "v1alpha1", "v2beta3", "v10"])
def test_good_versions(version: str) -> None:
    assert ApiRequest("widgets.example.dev", version, "Widget").check() == []


# ------------------------------------------------------------------------------------ plan


def test_kind_and_controller_files(root: Path) -> None:
    todo = plan(root, WIDGET, [])
    assert sorted(map(str, todo.create)) == [
        "apis/widgets/__init__.py",
        "apis/widgets/v1alpha1/__init__.py",
        "apis/widgets/v1alpha1/groupversion.py",
        "apis/widgets/v1alpha1/widget_types.py",
        "config/samples/widgets_v1alpha1_widget.yaml",
        "controllers/widget/__init__.py",
        "controllers/widget/controller.py",
        "controllers/widget/desired.py",
        "controllers/widget/rbac.py",
        "tests/integration/test_widget_controller.py",
        "tests/unit/test_widget_desired.py",
    ]
    assert list(todo.edit) == [MANAGER]
    for rel, text in todo.create.items():
        if rel.suffix == ".py":
            compile(text, str(rel), "exec")  # valid Python
            assert "$" not in text, rel  # every placeholder filled
            assert max(len(line) for line in text.splitlines()) <= 100, rel
    types = todo.create[Path("apis/widgets/v1alpha1/widget_types.py")]
    assert 'kind="Widget",\n        plural="widgets",\n        status_subresource=True' in types
    assert "scope=" not in types and "storage=" not in types
    assert 'GROUP = "widgets.example.dev"' in todo.create[Path("apis/widgets/__init__.py")]
    controller = todo.create[Path("controllers/widget/controller.py")]
    assert "Builder(mgr, name=CONTROLLER_NAME)" in controller
    assert 'CONTROLLER_NAME = "widget"' in controller
    assert "self.client.get(Widget, req.name, req.namespace)" in controller


def test_cluster_scoped_kind(root: Path) -> None:
    req = ApiRequest("widgets.example.dev", "v1", "Gadget", namespaced=False, controller=True)
    todo = plan(root, req, [])
    assert 'scope="Cluster",' in todo.create[Path("apis/widgets/v1/gadget_types.py")]
    desired = todo.create[Path("controllers/gadget/desired.py")]
    assert 'CONFIG_MAP_NAMESPACE = "default"' in desired
    assert "namespace=CONFIG_MAP_NAMESPACE" in desired
    controller = todo.create[Path("controllers/gadget/controller.py")]
    assert "self.client.get(Gadget, req.name, None)" in controller
    test = todo.create[Path("tests/integration/test_gadget_controller.py")]
    assert "create_global_resource" in test


def test_kind_without_controller_touches_no_controller(root: Path) -> None:
    todo = plan(root, ApiRequest("widgets.example.dev", "v1alpha1", "Widget"), [])
    assert not todo.edit
    assert not [p for p in todo.create if p.parts[0] in ("controllers", "tests")]


def test_registration_is_one_line_above_the_marker(root: Path) -> None:
    before = (root / MANAGER).read_text()
    after = plan(root, WIDGET, []).edit[MANAGER]
    added = [line for line in after.splitlines() if line not in before.splitlines()]
    assert added == ['    "widget",']
    lines = after.splitlines()
    assert lines[lines.index('    "widget",') + 1].strip().startswith(MANAGER_MARKER)
    assert controllers_of(after) == [*controllers_of(before), "widget"]


def test_write_then_refuse_to_overwrite(root: Path) -> None:
    todo = plan(root, WIDGET, [])
    written = write(root, todo)
    assert set(written) == set(todo.create) | {MANAGER}
    assert controllers_of((root / MANAGER).read_text())[-1] == "widget"
    before = snapshot(root)
    with pytest.raises(ScaffoldError) as err:
        plan(root, WIDGET, [])
    assert str(err.value).startswith(
        "refusing to overwrite: apis/widgets/v1alpha1/widget_types.py, "
        "config/samples/widgets_v1alpha1_widget.yaml, controllers/widget/__init__.py, ")
    assert snapshot(root) == before


def test_one_file_in_the_way_stops_everything(root: Path) -> None:
    test = root / "tests" / "unit" / "test_widget_desired.py"
    test.parent.mkdir(parents=True)
    test.write_text("# mine\n")
    before = snapshot(root)
    with pytest.raises(ScaffoldError) as err:
        todo = plan(root, WIDGET, [])
        write(root, todo)
    assert str(err.value) == "refusing to overwrite: tests/unit/test_widget_desired.py"
    assert snapshot(root) == before


def test_a_file_appearing_after_the_plan_is_not_overwritten(root: Path) -> None:
    todo = plan(root, WIDGET, [])
    late = root / "controllers" / "widget" / "rbac.py"
    late.parent.mkdir(parents=True)
    late.write_text("# mine\n")
    with pytest.raises(ScaffoldError, match=r"refusing to overwrite: .*rbac\.py"):
        write(root, todo)
    assert late.read_text() == "# mine\n"
    assert not (root / "apis" / "widgets" / "v1alpha1" / "widget_types.py").exists()
    assert "widget" not in controllers_of((root / MANAGER).read_text())


def test_existing_group_package_is_reused(root: Path) -> None:
    write(root, plan(root, WIDGET, []))
    req = ApiRequest("widgets.example.dev", "v1alpha1", "Gizmo", controller=True)
    todo = plan(root, req, [WIDGET_V1ALPHA1])
    assert not [p for p in todo.create if p.name in ("__init__.py", "groupversion.py")
                and p.parts[0] == "apis"]
    assert Path("apis/widgets/v1alpha1/gizmo_types.py") in todo.create
    assert controllers_of(todo.edit[MANAGER])[-2:] == ["widget", "gizmo"]


def test_group_package_of_another_group_is_refused(root: Path) -> None:
    write(root, plan(root, WIDGET, []))
    req = ApiRequest("widgets.other.io", "v1", "Gizmo")
    with pytest.raises(ScaffoldError, match=r"apis/widgets/__init__.py declares GROUP = "
                       r"'widgets.example.dev', not 'widgets.other.io': choose another --package"):
        plan(root, req, [])
    assert str(plan(root, ApiRequest("widgets.other.io", "v1", "Gizmo", package="otherwidgets"),
                    []).create.keys()).count("apis/otherwidgets/") == 4


def test_new_version_of_an_existing_kind_is_not_stored(root: Path) -> None:
    req = ApiRequest("widgets.example.dev", "v1beta1", "Widget")
    todo = plan(root, req, [WIDGET_V1ALPHA1])
    types = todo.create[Path("apis/widgets/v1beta1/widget_types.py")]
    assert "storage=False," in types and 'plural="widgets"' in types
    assert todo.notes == ["Widget exists in another version: v1beta1 is served, not stored "
                          "(storage=False)"]


@pytest.mark.parametrize(
    ("req", "error"),
    [
        (ApiRequest("widgets.example.dev", "v1alpha1", "Widget"),
         "Widget (widgets.example.dev/v1alpha1) already exists: "
         "apis/widgets/v1alpha1/widget_types.py"),
        (ApiRequest("widgets.example.dev", "v1", "Widget", namespaced=False),
         "Widget is Namespaced in v1alpha1 (apis/widgets/v1alpha1/widget_types.py): every "
         "version has one scope"),
        (ApiRequest("widgets.example.dev", "v1", "Widget", plural="widgetz"),
         "--plural widgetz: Widget is 'widgets' in v1alpha1"),
        (ApiRequest("widgets.example.dev", "v1", "Gizmo", plural="widgets"),
         "widgets.widgets.example.dev is already the kind Widget"),
    ],
    ids=["same-version", "other-scope", "other-plural", "plural-taken"],
)
def test_registry_conflicts(root: Path, req: ApiRequest, error: str) -> None:
    with pytest.raises(ScaffoldError) as err:
        plan(root, req, [WIDGET_V1ALPHA1])
    assert str(err.value).startswith(error)


def test_manager_without_marker_is_named(root: Path) -> None:
    (root / MANAGER).write_text('CONTROLLERS = ("a", "b")\n')
    with pytest.raises(ScaffoldError, match=r"controllers/manager.py: expected one line "
                       r"'# \+kserve-py:scaffold:controllers' inside CONTROLLERS"):
        plan(root, WIDGET, [])


def test_controller_listed_already_is_named(root: Path) -> None:
    (root / MANAGER).write_text(f'CONTROLLERS = (\n    "widget",\n    {MANAGER_MARKER}\n)\n')
    with pytest.raises(ScaffoldError, match="CONTROLLERS already lists 'widget'"):
        plan(root, WIDGET, [])


def test_not_a_repository_root(tmp_path: Path) -> None:
    with pytest.raises(ScaffoldError, match="is not a package: run from the repository root"):
        plan(tmp_path, WIDGET, [])


def test_names_too_long_for_the_line_length(root: Path) -> None:
    group = "a" * 63 + "." + "b" * 20 + ".dev"
    with pytest.raises(ScaffoldError, match=r"^apis/a+/\S+\.py:\d+ would be \d+ "
                       r"characters \(the limit is 100\): choose a shorter"):
        plan(root, ApiRequest(group, "v1", "Widget"), [])


def test_long_kinds_fit(root: Path) -> None:
    """Kubernetes' longest kinds still give lines within the limit."""
    req = ApiRequest("admissionregistration.example.dev", "v1beta1",
                     "ValidatingAdmissionPolicyBinding", namespaced=False, controller=True)
    todo = plan(root, req, [])
    assert "obj: ValidatingAdmissionPolicyBinding" in todo.create[
        Path("controllers/validating_admission_policy_binding/desired.py")]


# ------------------------------------------------------------------------------------ CLI


def test_cli_writes_then_refuses(root: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(scaffold, "existing_kinds", lambda root: [])
    argv = ["create-api", "--group", "widgets.example.dev", "--version", "v1alpha1",
            "--kind", "Widget", "--controller", "--root", str(root)]
    from codegen.__main__ import main

    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "wrote controllers/widget/controller.py" in out
    assert "edited controllers/manager.py" in out
    assert "next: make manifests" in out
    before = snapshot(root)
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("create-api: refusing to overwrite: apis/widgets/v1alpha1/")
    assert err.rstrip().endswith("; nothing written")
    assert snapshot(root) == before
    assert main([*argv[:-2], "--root", str(root), "--kind", "widget"]) == 1
    assert "--kind 'widget'" in capsys.readouterr().err


def test_cli_scope_flags_exclude_each_other() -> None:
    with pytest.raises(SystemExit):
        scaffold.build_parser().parse_args(
            ["--group", "a.b", "--version", "v1", "--kind", "A", "--cluster", "--namespaced"])


# ------------------------------------------------------------------------------------ manifests


def test_crd_kustomization_is_generated() -> None:
    """``make manifests`` writes config/crd/kustomization.yaml: a scaffolded kind's CRD is
    installed with the others without editing a list."""
    files = codegen.generate()
    text = crd_kustomization(files)
    assert (ROOT / "config" / "crd" / "kustomization.yaml").read_text() == text
    listed = [line[2:] for line in text.splitlines() if line.startswith("- ")]
    assert listed == sorted(rel for rel in files if rel.startswith("full/"))
    assert crd_kustomization({**files, "full/widgets.example.dev_widgets.yaml": "",
                              "minimal/widgets.example.dev_widgets.yaml": ""}).endswith(
        "- full/widgets.example.dev_widgets.yaml\n")
