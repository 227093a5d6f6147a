"""hack/build-k8s.sh: bad input gives one clear message, never a hang."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "hack" / "build-k8s.sh"


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120
    )


def _base_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "KUBEBUILDER_ASSETS"}
    env["KSERVE_PY_CACHE"] = str(tmp_path / "cache")
    return env


def test_missing_go_toolchain_is_named(tmp_path: Path) -> None:
    env = _base_env(tmp_path)
    env["PATH"] = "/usr/bin:/bin"
    if shutil.which("go", path=env["PATH"]):
        pytest.skip("go is installed in /usr/bin here")
    out = _run(env)
    assert out.returncode == 1
    assert "ERROR: no Go toolchain on PATH" in out.stderr
    assert out.stdout == ""


def test_refused_module_is_named(tmp_path: Path) -> None:
    if not shutil.which("go"):
        pytest.skip("needs go")
    env = _base_env(tmp_path)
    # An empty module cache and no proxy: the first download is refused.
    env["GOMODCACHE"] = str(tmp_path / "modcache")
    env["GOPROXY"] = "off"
    out = _run(env)
    assert out.returncode == 1
    assert "the Go module proxy refused a module" in out.stderr
    assert not list((tmp_path / "cache").glob("bin/*/etcd")), "no half-built binary is cached"
    subprocess.run(["chmod", "-R", "u+w", str(tmp_path)], check=False)


def test_prebuilt_assets_are_used_as_is(tmp_path: Path) -> None:
    assets = tmp_path / "assets"
    assets.mkdir()
    for b in (
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kubectl",
        "kwok",
    ):
        (assets / b).write_text("#!/bin/sh\n")
        (assets / b).chmod(0o755)
    env = _base_env(tmp_path)
    env["KUBEBUILDER_ASSETS"] = str(assets)
    out = _run(env)
    assert out.returncode == 0
    assert out.stdout.strip().splitlines()[-1] == str(assets)
