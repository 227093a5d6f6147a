"""Where the upstream KServe reference is: ``shared/`` beside the repository (a clean clone
in CI has it checked out next to the repo), found from this file, never at one fixed path.

Tests comparing against upstream call :func:`reference`: a missing reference FAILS the test,
it does not skip it (a skip would let a clean clone pass without comparing anything)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
KSERVE = SHARED / "reference" / "kserve"


def reference(*parts: str) -> Path:
    """``shared/reference/kserve/<parts>``; fails the calling test when it is not there."""
    path = KSERVE.joinpath(*parts)
    if not path.exists():
        pytest.fail(
            f"upstream reference {path} is missing: check out shared/ beside the repository "
            f"({ROOT.parent})",
            pytrace=False,
        )
    return path


def shared(*parts: str) -> Path:
    """``shared/<parts>`` (tools such as crd-parity); fails the calling test when absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"{path} is missing: check out shared/ beside the repository", pytrace=False)
    return path
