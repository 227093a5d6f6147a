"""``python -m codegen create-api`` end to end, in a copy of this repository: a namespaced and
a cluster-scoped kind with controllers (Sprocket, Flange) are scaffolded, ``make manifests``
(``python -m codegen``) writes their CRDs and RBAC, ``make lint`` (ruff, mypy) passes on what
was written, and the generated unit and integration tests pass on a real kube-apiserver as
written; a second run writes nothing; a new version of a kind is served, not stored.

The generated tests run in a child pytest in the copy (its own envtest), so the kinds never
exist in this repository."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from runtime.rbac import rules_allow

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
COPIED = ("apis", "runtime", "codegen", "controllers", "config", "pyproject.toml",
          "tests/__init__.py", "tests/conftest.py", "tests/reference.py",
          "tests/unit/__init__.py", "tests/integration/__init__.py")
GROUP = "scaffoldcheck.kserve-py.dev"
"""A group of its own: the repository may hold the documented example (a Widget) already."""
GENERATED = ["apis/scaffoldcheck", "controllers/sprocket", "controllers/flange",
             "tests/unit/test_sprocket_desired.py", "tests/unit/test_flange_desired.py",
             "tests/integration/test_sprocket_controller.py",
             "tests/integration/test_flange_controller.py", "controllers/manager.py"]
SPROCKET = ["create-api", "--group", GROUP, "--version", "v1alpha1", "--kind", "Sprocket",
            "--controller"]
FLANGE = ["create-api", "--group", GROUP, "--version", "v1alpha1", "--kind", "Flange",
          "--cluster", "--controller"]


def copy_repo(dst: Path) -> Path:
    """The parts of this repository a contributor's change touches or runs."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in COPIED:
        src, out = ROOT / name, dst / name
        out.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, out, ignore=ignore)
        else:
            shutil.copy2(src, out)
    return dst


def run(repo: Path, *argv: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """``argv`` in ``repo`` with this interpreter (the copy's packages come first on the
    path: ``-m`` puts the working directory there)."""
    env = {k: v for k, v in os.environ.items() if k not in ("ENVTEST_CRDS", "PYTHONPATH")}
    return subprocess.run([*argv], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def python(repo: Path, *argv: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return run(repo, sys.executable, *argv, timeout=timeout)


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy with Sprocket and Flange scaffolded and ``make manifests`` run."""
    repo = copy_repo(tmp_path_factory.mktemp("repo"))
    for argv in (SPROCKET, FLANGE):
        out = python(repo, "-m", "codegen", *argv)
        assert out.returncode == 0, out.stderr
        assert "next: make manifests" in out.stdout
    out = python(repo, "-m", "codegen")
    assert out.returncode == 0, out.stdout + out.stderr
    return repo


def test_manifests_have_the_crds_and_the_rbac(repo: Path) -> None:
    for plural, scope in (("sprockets", "Namespaced"), ("flanges", "Cluster")):
        crd = yaml.safe_load((repo / f"config/crd/full/{GROUP}_{plural}.yaml").read_text())
        assert crd["spec"]["scope"] == scope
        (version,) = crd["spec"]["versions"]
        assert version["subresources"] == {"status": {}}
        spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
        assert spec["paused"]["default"] is False  # Default(False)
        assert spec["data"]["maxProperties"] == 64  # MaxProperties(64)
        assert (repo / f"config/crd/minimal/{GROUP}_{plural}.yaml").exists()
        kust = yaml.safe_load((repo / "config/crd/kustomization.yaml").read_text())
        assert f"full/{GROUP}_{plural}.yaml" in kust["resources"]
    (role,) = yaml.safe_load_all((repo / "config/rbac/role.yaml").read_text())
    for resource, verb in (("sprockets", "watch"), ("sprockets/status", "patch"),
                           ("flanges/finalizers", "update")):
        assert rules_allow(role["rules"], GROUP, resource, verb)
    assert not rules_allow(role["rules"], GROUP, "sprockets", "delete")
    assert rules_allow(role["rules"], "", "configmaps", "create")
    # what is on disk is what the generator writes now (the freshness check passes)
    check = python(repo, "-m", "codegen", "--check")
    assert check.returncode == 0, check.stdout + check.stderr


def test_lint_passes_on_what_was_written(repo: Path) -> None:
    ruff = run(repo, str(BIN / "ruff"), "check", *GENERATED)
    assert ruff.returncode == 0, ruff.stdout
    mypy = run(repo, str(BIN / "mypy"), "apis/scaffoldcheck", "controllers/sprocket",
               "controllers/flange", "controllers/manager.py")
    assert mypy.returncode == 0, mypy.stdout


def test_generated_tests_pass(repo: Path) -> None:
    """Zero files edited by hand before this first green run."""
    out = python(repo, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                 "tests/unit/test_sprocket_desired.py", "tests/unit/test_flange_desired.py",
                 "tests/integration/test_sprocket_controller.py",
                 "tests/integration/test_flange_controller.py", timeout=280)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "36 passed" in out.stdout, out.stdout[-2000:]


def test_the_manager_runs_the_new_controllers(repo: Path) -> None:
    """``kserve-manager`` (configured offline, as ``make manifests`` does) registers them."""
    out = python(repo, "-c", "from codegen.rbac import offline_manager\n"
                 "from runtime.controller import Controller\n"
                 "print(sorted(r.name for r in offline_manager().runnables() "
                 "if isinstance(r, Controller)))")
    assert out.returncode == 0, out.stderr
    from controllers.manager import CONTROLLERS

    assert out.stdout.strip() == str(sorted([*CONTROLLERS, "sprocket", "flange"]))


def test_a_second_run_writes_nothing(repo: Path) -> None:
    before = snapshot(repo)
    out = python(repo, "-m", "codegen", *SPROCKET)
    assert out.returncode == 1
    assert out.stderr == (f"create-api: Sprocket ({GROUP}/v1alpha1) already exists: "
                          "apis/scaffoldcheck/v1alpha1/sprocket_types.py; nothing written\n")
    assert snapshot(repo) == before
    # a new kind whose files are taken (not known to the registry) names each file
    (repo / "controllers/gizmo").mkdir()
    (repo / "controllers/gizmo/rbac.py").write_text("RBAC = ()\n")
    before = snapshot(repo)
    out = python(repo, "-m", "codegen", *[a if a != "Sprocket" else "Gizmo" for a in SPROCKET])
    assert out.returncode == 1
    assert out.stderr == ("create-api: refusing to overwrite: controllers/gizmo/rbac.py; "
                          "nothing written\n")
    assert snapshot(repo) == before


def test_a_new_version_is_served_not_stored(tmp_path: Path) -> None:
    repo = copy_repo(tmp_path)
    v1beta1 = [a if a != "v1alpha1" else "v1beta1" for a in SPROCKET if a != "--controller"]
    assert python(repo, "-m", "codegen", *SPROCKET[:-1]).returncode == 0
    out = python(repo, "-m", "codegen", *v1beta1)
    assert out.returncode == 0, out.stderr
    assert "note: Sprocket exists in another version: v1beta1 is served, not stored" in out.stdout
    assert python(repo, "-m", "codegen").returncode == 0
    crd = yaml.safe_load((repo / f"config/crd/full/{GROUP}_sprockets.yaml").read_text())
    assert [(v["name"], v["served"], v["storage"]) for v in crd["spec"]["versions"]] == [
        ("v1alpha1", True, True), ("v1beta1", True, False)]
