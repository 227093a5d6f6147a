"""``python -m codegen create-api`` (console script ``kserve-create-api``): scaffold a new kind
and, with ``--controller``, its controller (kubebuilder's ``create api``).

    python -m codegen create-api --group widgets.example.dev --version v1alpha1 \\
        --kind Widget [--namespaced | --cluster] [--controller] [--plural P] [--package P]

writes (paths for ``Widget``; ``<pkg>`` is the group's first label unless ``--package``):

* ``apis/<pkg>/<version>/widget_types.py``: ``WidgetSpec``, ``WidgetStatus`` (conditions,
  observedGeneration) and ``Widget`` with its ``__crd__``; the group and version packages
  (``GROUP``, ``groupversion.crd()``) when they do not exist yet;
* ``config/samples/<pkg>_<version>_widget.yaml``;
* with ``--controller``: ``controllers/widget/`` (``controller.py``: ``Builder`` wiring and a
  short reconcile; ``desired.py``: pure builders of the owned ConfigMap and of the status;
  ``rbac.py``), ``tests/unit/test_widget_desired.py`` (table tests),
  ``tests/integration/test_widget_controller.py`` (the controller on envtest), and one line
  ``"widget",`` in ``CONTROLLERS`` of ``controllers/manager.py`` (above the scaffold marker),
  so ``kserve-manager`` runs it and ``make manifests`` derives its RBAC.

Nothing is overwritten: when a file it would write exists (or the kind already exists in
that version), it stops before writing anything and names the file. An existing group or
version package is reused (its ``GROUP`` must be the requested group). A kind that exists in
another version of the group gets a new, non-storage version with the same plural and scope.
Existing kinds are read from the registry (``runtime.resource.discover("apis")``), in a
subprocess so that the tree being scaffolded, not this process's imports, is what counts.
"""

from __future__ import annotations

import argparse
import ast
import json
import keyword
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

__all__ = [
    "MANAGER_MARKER",
    "ApiRequest",
    "ExistingKind",
    "Plan",
    "ScaffoldError",
    "existing_kinds",
    "main",
    "plan",
    "plural_of",
    "snake_case",
    "write",
]

TEMPLATES = Path(__file__).resolve().parent / "templates"
PROJECT = Path(__file__).resolve().parents[1]
MANAGER = Path("controllers/manager.py")
MANAGER_MARKER = "# +kserve-py:scaffold:controllers"
"""The line in ``controllers/manager.py``'s ``CONTROLLERS`` above which new controllers are
listed."""

MAX_LINE = 100
"""The project's line length (``[tool.ruff] line-length``): generated code stays within it."""
MAX_VAR = 16
"""Longer kinds are called ``obj`` in the generated code (lines stay short)."""

_KIND = re.compile(r"[A-Z][A-Za-z0-9]{0,62}")
_VERSION = re.compile(r"v[1-9][0-9]*((alpha|beta)[1-9][0-9]*)?")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_PLURAL = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")


class ScaffoldError(Exception):
    """Bad input or a file in the way: nothing was written."""


# ---------------------------------------------------------------------------------- names


def snake_case(kind: str) -> str:
    """``LocalModelCache`` -> ``local_model_cache``, ``HTTPRoute`` -> ``http_route``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", kind).lower()


def plural_of(kind: str) -> str:
    """The lower-case English plural Kubernetes uses for resources (kubebuilder's rules for
    the common cases; ``--plural`` for the rest): ``Widget`` -> ``widgets``, ``Policy`` ->
    ``policies``, ``Ingress`` -> ``ingresses``, ``Gateway`` -> ``gateways``."""
    word = kind.lower()
    if re.search(r"(s|x|z|ch|sh)$", word):
        return word + "es"
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    return word + "s"


@dataclass(frozen=True)
class ApiRequest:
    """What ``create-api`` was asked for; :meth:`check` names every bad field."""

    group: str
    version: str
    kind: str
    namespaced: bool | None = None
    """``None``: not said (namespaced, or the existing kind's scope)."""
    controller: bool = False
    plural: str | None = None
    package: str | None = None
    """The group's package below ``apis/`` (default: the group's first label)."""

    @property
    def snake(self) -> str:
        return snake_case(self.kind)

    @property
    def group_package(self) -> str:
        return self.package or self.group.split(".", 1)[0].replace("-", "_")

    def check(self) -> list[str]:
        errors = []
        labels = self.group.split(".")
        group_ok = len(self.group) <= 253 and len(labels) >= 2 and all(
            _DNS_LABEL.fullmatch(label) for label in labels)
        if not group_ok:
            errors.append(f"--group {self.group!r}: a lower-case DNS name with at least one dot "
                          "(e.g. widgets.example.dev)")
        if not _VERSION.fullmatch(self.version):
            errors.append(f"--version {self.version!r}: v<N>, v<N>alpha<M> or v<N>beta<M> "
                          "(e.g. v1alpha1)")
        if not _KIND.fullmatch(self.kind):
            errors.append(f"--kind {self.kind!r}: UpperCamelCase letters and digits, at most 63 "
                          "(e.g. Widget)")
        elif not self.snake.isidentifier() or keyword.iskeyword(self.snake):
            errors.append(f"--kind {self.kind!r}: its module name {self.snake!r} is not a "
                          "Python identifier")
        if self.plural is not None and not _PLURAL.fullmatch(self.plural):
            errors.append(f"--plural {self.plural!r}: lower-case letters, digits and '-'")
        pkg = self.group_package
        bad_pkg = not pkg.isidentifier() or keyword.iskeyword(pkg) or pkg != pkg.lower()
        if bad_pkg and (group_ok or self.package is not None):
            errors.append(f"--package {pkg!r}: a lower-case Python identifier "
                          "(the group's package below apis/)")
        return errors


@dataclass(frozen=True)
class ExistingKind:
    """A kind the registry knows (what ``discover("apis")`` found)."""

    group: str
    version: str
    kind: str
    plural: str
    scope: str
    storage: bool
    module: str


def existing_kinds(root: Path) -> list[ExistingKind]:
    """The kinds declared below ``root/apis`` (imported in a subprocess run in ``root``;
    ``runtime`` comes from ``root`` if it has one, else from this project)."""
    if not (root / "apis").is_dir():
        return []
    script = (
        "import json\n"
        "from runtime.resource import discover\n"
        "print(json.dumps([dict(group=k.__crd__.group, version=k.__crd__.version,"
        " kind=k.__crd__.kind, plural=k.__crd__.plural, scope=k.__crd__.scope,"
        " storage=k.__crd__.storage, module=k.__module__) for k in discover('apis')]))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(PROJECT)])}
    try:
        out = subprocess.run([sys.executable, "-c", script], cwd=root, env=env,
                             capture_output=True, text=True, timeout=300, check=False)
    except subprocess.TimeoutExpired as e:  # pragma: no cover - a hung import
        raise ScaffoldError(f"reading the kinds below {root / 'apis'} timed out") from e
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise ScaffoldError(f"cannot import the kinds below {root / 'apis'} (fix that first): "
                            f"{last}")
    return [ExistingKind(**k) for k in json.loads(out.stdout)]


# ---------------------------------------------------------------------------------- plan


@dataclass
class Plan:
    """What :func:`write` will do: new files (path relative to the root -> text) and edits of
    existing files (path -> new text)."""

    create: dict[Path, str] = field(default_factory=dict)
    edit: dict[Path, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _render(name: str, **values: str) -> str:
    return Template((TEMPLATES / name).read_text(encoding="utf-8")).substitute(values)


def _string_constant(path: Path, name: str) -> str | None:
    """The value of a module-level ``name = "<literal>"`` in ``path``, if any."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id == name
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            return node.value.value
    return None


def _defines_function(path: Path, name: str) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return any(isinstance(n, ast.FunctionDef) and n.name == name for n in tree.body)


def _module_path(module: str) -> str:
    return module.replace(".", "/") + ".py"


def _check_existing(req: ApiRequest, existing: Sequence[ExistingKind]) -> tuple[str, bool, bool]:
    """(plural, namespaced, storage) of the new kind, given the registry."""
    same_kind = [k for k in existing if (k.group, k.kind) == (req.group, req.kind)]
    for k in same_kind:
        if k.version == req.version:
            raise ScaffoldError(f"{req.kind} ({req.group}/{req.version}) already exists: "
                                f"{_module_path(k.module)}")
    if same_kind:  # a new version of an existing kind
        first = same_kind[0]
        if req.plural is not None and req.plural != first.plural:
            raise ScaffoldError(f"--plural {req.plural}: {req.kind} is {first.plural!r} in "
                                f"{first.version} ({_module_path(first.module)})")
        namespaced = first.scope == "Namespaced"
        if req.namespaced is not None and req.namespaced != namespaced:
            raise ScaffoldError(f"{req.kind} is {first.scope} in {first.version} "
                                f"({_module_path(first.module)}): every version has one scope")
        return first.plural, namespaced, False
    plural = req.plural or plural_of(req.kind)
    for k in existing:
        if (k.group, k.plural) == (req.group, plural):
            raise ScaffoldError(f"{plural}.{req.group} is already the kind {k.kind} "
                                f"({_module_path(k.module)}): choose another --plural")
    return plural, req.namespaced is not False, True


def _group_files(root: Path, req: ApiRequest, plan: Plan) -> None:
    """The group and version packages: reused when present (their GROUP must match)."""
    pkg = Path("apis") / req.group_package
    init = pkg / "__init__.py"
    if (root / init).exists():
        declared = _string_constant(root / init, "GROUP")
        if declared != req.group:
            what = f"declares GROUP = {declared!r}" if declared else "declares no GROUP"
            raise ScaffoldError(f"{init} {what}, not {req.group!r}: choose another --package")
    elif (root / pkg).exists():
        raise ScaffoldError(f"{pkg} exists but is not a package ({init} missing)")
    else:
        plan.create[init] = _render("group_init.py.tmpl", group=req.group)
    version_pkg = pkg / req.version
    if not (root / version_pkg / "__init__.py").exists():
        plan.create[version_pkg / "__init__.py"] = _render(
            "version_init.py.tmpl", group=req.group, version=req.version)
    gv = version_pkg / "groupversion.py"
    if (root / gv).exists():
        if not _defines_function(root / gv, "crd"):
            raise ScaffoldError(f"{gv} exists but defines no crd(**options) function")
    else:
        plan.create[gv] = _render("groupversion.py.tmpl", group=req.group, version=req.version,
                                  group_module=f"apis.{req.group_package}")


def _dunder_all(names: Sequence[str]) -> str:
    body = "".join(f'    "{n}",\n' for n in names)
    return f"__all__ = [\n{body}]"


def _sorted_names(names: Sequence[str]) -> list[str]:
    """isort's order (ruff's default): CONSTANTS, then Classes, then functions."""
    def rank(n: str) -> tuple[int, str]:
        return (0 if n.isupper() else 1 if n[:1].isupper() else 2, n)
    return sorted(names, key=rank)


def _manager_edit(root: Path, name: str) -> str:
    path = root / MANAGER
    if not path.exists():
        raise ScaffoldError(f"{MANAGER} not found: run from the repository root (or --root)")
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    marker = [i for i, line in enumerate(lines) if line.strip().startswith(MANAGER_MARKER)]
    if len(marker) != 1:
        raise ScaffoldError(f"{MANAGER}: expected one line {MANAGER_MARKER!r} inside CONTROLLERS "
                            "(new controllers are listed above it)")
    listed = []
    for node in ast.parse(text).body:
        if (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == "CONTROLLERS" and isinstance(node.value, ast.Tuple)):
            listed = [e.value for e in node.value.elts if isinstance(e, ast.Constant)]
    if name in listed:
        raise ScaffoldError(f"{MANAGER}: CONTROLLERS already lists {name!r}")
    i = marker[0]
    indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
    return "".join([*lines[:i], f'{indent}"{name}",\n', *lines[i:]])


def plan(root: Path, req: ApiRequest, existing: Sequence[ExistingKind]) -> Plan:
    """Everything ``create-api`` would write below ``root``; raises :class:`ScaffoldError`
    (naming the field or file) instead of planning to overwrite anything."""
    errors = req.check()
    if errors:
        raise ScaffoldError("; ".join(errors))
    if not (root / "apis" / "__init__.py").exists():
        raise ScaffoldError(f"{root / 'apis'} is not a package: run from the repository root "
                            "(or --root)")
    plural, namespaced, storage = _check_existing(req, existing)
    out = Plan()
    _group_files(root, req, out)
    snake, kind = req.snake, req.kind
    var = snake if len(snake) <= MAX_VAR else "obj"
    version_module = f"apis.{req.group_package}.{req.version}"
    types_module = f"{version_module}.{snake}_types"
    options = ""
    if not namespaced:
        options += '\n        scope="Cluster",'
    if not storage:
        options += ("\n        storage=False,  # one version stores objects: move storage=True "
                    "here to switch")
        out.notes.append(f"{kind} exists in another version: {req.version} is served, not "
                         "stored (storage=False)")
    values = dict(group=req.group, version=req.version, kind=kind, plural=plural,
                  singular=kind.lower(), snake=snake, var=var, types_module=types_module,
                  version_module=version_module)
    api_dir = Path("apis") / req.group_package / req.version
    out.create[api_dir / f"{snake}_types.py"] = _render("types.py.tmpl", crd_options=options,
                                                        **values)
    out.create[Path("config/samples") / f"{req.group_package}_{req.version}_{kind.lower()}.yaml"
               ] = _render("sample.yaml.tmpl", **values)
    if req.controller:
        _controller_files(root, req, namespaced, values, out)
    taken = sorted(str(p) for p in out.create if (root / p).exists())
    if taken:
        raise ScaffoldError("refusing to overwrite: " + ", ".join(taken))
    if req.controller:
        out.edit[MANAGER] = _manager_edit(root, snake)
    for rel, text in out.create.items():
        for n, line in enumerate(text.splitlines(), 1):
            if rel.suffix == ".py" and len(line) > MAX_LINE:
                raise ScaffoldError(f"{rel}:{n} would be {len(line)} characters (the limit is "
                                    f"{MAX_LINE}): choose a shorter --kind, --group or --package")
    return out


def _controller_files(root: Path, req: ApiRequest, namespaced: bool, values: dict[str, str],
                      out: Plan) -> None:
    snake, kind = req.snake, req.kind
    ctrl = Path("controllers") / snake
    controller_module = f"controllers.{snake}"
    cluster = [] if namespaced else ["CONFIG_MAP_NAMESPACE"]
    desired_names = _sorted_names(["LABEL", "READY", "controller_conflict",
                                   "desired_config_map", "desired_status", *cluster])
    namespace_constant = "" if namespaced else (
        'CONFIG_MAP_NAMESPACE = "default"\n'
        '"""Where a cluster-scoped owner keeps its ConfigMap."""\n'
    )
    controller_imports = (
        f"from {controller_module}.controller import (\n    {kind}Reconciler,\n    setup,\n)\n"
        f"from {controller_module}.desired import {', '.join(_sorted_names(['LABEL', *cluster]))}"
    )
    v = dict(
        values,
        controller_module=controller_module,
        controller_name=snake,
        dunder_all=_dunder_all(desired_names),
        namespace_constant=namespace_constant,
        config_map_namespace="meta.namespace" if namespaced else "CONFIG_MAP_NAMESPACE",
        req_namespace="req.namespace" if namespaced else "None",
        desired_imports="".join(f"    {n},\n" for n in desired_names),
        test_namespace_line=('NAMESPACE = "ns"' if namespaced
                             else "NAMESPACE = CONFIG_MAP_NAMESPACE"),
        test_meta_namespace=' "namespace": "ns",' if namespaced else "",
        controller_imports=controller_imports,
        generic_factory=("create_namespaced_resource" if namespaced
                         else "create_global_resource"),
        ns_expr="namespace" if namespaced else "None",
        cm_ns_expr="namespace" if namespaced else "CONFIG_MAP_NAMESPACE",
    )
    out.create[ctrl / "__init__.py"] = _render("controller_init.py.tmpl", **v)
    out.create[ctrl / "controller.py"] = _render("controller.py.tmpl", **v)
    out.create[ctrl / "desired.py"] = _render("desired.py.tmpl", **v)
    out.create[ctrl / "rbac.py"] = _render("rbac.py.tmpl", **v)
    out.create[Path("tests/unit") / f"test_{snake}_desired.py"] = _render(
        "test_unit.py.tmpl", **v)
    out.create[Path("tests/integration") / f"test_{snake}_controller.py"] = _render(
        "test_integration.py.tmpl", **v)


def write(root: Path, todo: Plan) -> list[Path]:
    """Create the planned files (never replacing one: exclusive create) and apply the
    edits; returns the paths written."""
    done: list[Path] = []
    try:
        for rel, text in todo.create.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "x", encoding="utf-8") as f:
                f.write(text)
            done.append(rel)
    except FileExistsError as e:  # appeared since plan(): take back what this call wrote
        for rel in done:
            (root / rel).unlink()
        raise ScaffoldError(f"refusing to overwrite: {e.filename}") from e
    for rel, text in todo.edit.items():
        (root / rel).write_text(text, encoding="utf-8")
        done.append(rel)
    return done


# ---------------------------------------------------------------------------------- CLI


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m codegen create-api",
        description="Scaffold a kind (typed spec/status, CRD via make manifests) and, with "
        "--controller, its controller, tests and registration with kserve-manager. Never "
        "overwrites a file.",
    )
    p.add_argument("--group", required=True, help="API group, e.g. widgets.example.dev")
    p.add_argument("--version", required=True, help="API version, e.g. v1alpha1")
    p.add_argument("--kind", required=True, help="kind, UpperCamelCase, e.g. Widget")
    scope = p.add_mutually_exclusive_group()
    scope.add_argument("--namespaced", dest="namespaced", action="store_const", const=True,
                       default=None, help="namespaced objects (the default)")
    scope.add_argument("--cluster", dest="namespaced", action="store_const", const=False,
                       help="cluster-scoped objects")
    p.add_argument("--controller", action="store_true",
                   help="also write controllers/<kind>/, its tests, and register it")
    p.add_argument("--plural", default=None, help="resource name (default: English plural)")
    p.add_argument("--package", default=None,
                   help="package below apis/ for the group (default: its first label)")
    p.add_argument("--root", type=Path, default=Path("."), help="repository root")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    req = ApiRequest(group=args.group, version=args.version, kind=args.kind,
                     namespaced=args.namespaced, controller=args.controller,
                     plural=args.plural, package=args.package)
    root: Path = args.root
    try:
        errors = req.check()
        if errors:
            raise ScaffoldError("; ".join(errors))
        todo = plan(root, req, existing_kinds(root.resolve()))
        written = write(root, todo)
    except ScaffoldError as e:
        print(f"create-api: {e}; nothing written", file=sys.stderr)
        return 1
    for rel in written:
        print(f"{'edited' if rel in todo.edit else 'wrote'} {rel}")
    for note in todo.notes:
        print(f"note: {note}")
    snake = req.snake
    print("next: make manifests   # its CRD in config/crd, the manager's RBAC in config/rbac")
    if req.controller:
        print(f"      .venv/bin/pytest tests/unit/test_{snake}_desired.py "
              f"tests/integration/test_{snake}_controller.py")
        print("      make run   # kserve-manager with the new controller on the local cluster")
    return 0


def entry() -> None:
    """The ``kserve-create-api`` console script."""
    sys.exit(main())
