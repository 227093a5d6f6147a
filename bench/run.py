"""Run benchmarks: ``python -m bench.run`` runs every ``bench/bench_*.py``; ``python -m bench.run
workqueue leader`` runs only those (``bench_workqueue``, ``bench_leader``...).

Each module's ``main()`` prints its table and records its figures; a module that fails is
reported and the others still run (exit status 1 if any failed).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from pathlib import Path

from bench._results import RESULTS_PATH, load, print_table


def available() -> list[str]:
    """Names of the benchmark modules, without the ``bench_`` prefix."""
    here = Path(__file__).resolve().parent
    return sorted(p.stem.removeprefix("bench_") for p in here.glob("bench_*.py"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    names = available()
    if args.list:
        print("\n".join(names))
        return 0
    selected = args.names or names
    unknown = [n for n in selected if n.removeprefix("bench_") not in names]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(names)}")
    failed: list[str] = []
    for name in selected:
        name = name.removeprefix("bench_")
        print(f"\n== bench_{name}", flush=True)
        t0 = time.perf_counter()
        try:
            module = importlib.import_module(f"bench.bench_{name}")
            module.main()
        except Exception:
            traceback.print_exc()
            failed.append(name)
        print(f"   ({time.perf_counter() - t0:.1f} s)", flush=True)
    results = load()
    if results:
        print()
        print_table(results, title=f"All recorded figures ({RESULTS_PATH})")
    if failed:
        print(f"\nFAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
