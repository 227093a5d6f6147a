"""``python -m codegen [--out config/crd] [--check]``."""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

from . import generate, write


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m codegen", description=__doc__)
    ap.add_argument("--out", type=Path, default=Path("config/crd"), help="output root")
    ap.add_argument("--check", action="store_true", help="fail if the files on disk differ")
    ap.add_argument(
        "--max-desc-len",
        type=int,
        default=None,
        help="truncate descriptions like controller-gen crd:maxDescLen (0: none, as upstream)",
    )
    args = ap.parse_args(argv)
    files = generate(max_desc_len=args.max_desc_len)
    if args.check:
        stale = 0
        for rel, text in files.items():
            path = args.out / rel
            have = path.read_text(encoding="utf-8") if path.exists() else ""
            if have != text:
                stale += 1
                diff = difflib.unified_diff(
                    have.splitlines(True), text.splitlines(True), str(path), "generated", n=1
                )
                sys.stdout.writelines(list(diff)[:60])
        if stale:
            print(f"{stale} CRD file(s) stale; run: python -m codegen", file=sys.stderr)
            return 1
        return 0
    for path in write(args.out, files):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
