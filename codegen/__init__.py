"""CRD generation: ``python -m codegen`` writes ``config/crd/full`` and ``config/crd/minimal``.

Kinds are discovered with ``runtime.resource.discover("apis")`` (every ``CustomResource``
subclass with ``__crd__`` defined in a module below ``apis/``). ``generate()`` returns
``{relative path: YAML text}``; ``write()`` puts them on disk; ``--check`` compares instead.
"""

from __future__ import annotations

from pathlib import Path

from runtime.resource import discover

from .crd import build_all, file_name, limit_descriptions, minimal, to_yaml

__all__ = ["generate", "write"]


def generate(package: str = "apis", *, max_desc_len: int | None = None) -> dict[str, str]:
    """``{"full/<file>.yaml": text, "minimal/<file>.yaml": text}`` for every discovered kind.

    ``max_desc_len`` truncates descriptions like controller-gen's ``crd:maxDescLen`` (0 drops
    them, as upstream KServe does); ``None`` (the project default) keeps them."""
    crds = build_all(discover(package))
    out: dict[str, str] = {}
    for crd in crds.values():
        if max_desc_len is not None:
            crd = limit_descriptions(crd, max_desc_len)
        name = file_name(crd)
        out[f"full/{name}"] = to_yaml(crd)
        out[f"minimal/{name}"] = to_yaml(minimal(crd))
    return dict(sorted(out.items()))


def write(root: Path, files: dict[str, str]) -> list[Path]:
    """Write ``files`` below ``root``; return the paths whose content changed."""
    changed = []
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed
