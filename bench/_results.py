"""Benchmark result bookkeeping: one flat JSON object ``name -> number`` in ``.bench/results.json``.

Figure names carry their unit (``workqueue_ops_per_s``, ``manager_rss_idle_mb``,
``webhook_latency_p99_ms``) so the file needs no schema. ``record`` merges, so benchmarks can
run one at a time and the file keeps the latest figure of each.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

__all__ = ["RESULTS_PATH", "format_table", "load", "print_table", "record"]

RESULTS_PATH = Path(
    os.environ.get(
        "BENCH_RESULTS", Path(__file__).resolve().parent.parent / ".bench" / "results.json"
    )
)


def load(path: Path | None = None) -> dict[str, float]:
    """The recorded figures (empty if none yet)."""
    p = path or RESULTS_PATH
    try:
        data = json.loads(p.read_text())
    except FileNotFoundError:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{p}: expected a JSON object")
    return {str(k): float(v) for k, v in data.items()}


def record(figures: Mapping[str, float], path: Path | None = None) -> dict[str, float]:
    """Merge ``figures`` into the results file (atomically) and return the merged contents."""
    p = path or RESULTS_PATH
    for name, value in figures.items():
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise TypeError(f"figure {name!r} must be a number, got {value!r}")
    merged = load(p)
    merged.update({k: float(v) for k, v in figures.items()})
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=".results.", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(dict(sorted(merged.items())), f, indent=2)
        f.write("\n")
    os.replace(tmp, p)
    return merged


def _fmt(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:,.2f}"
    return f"{value:.4g}"


def format_table(figures: Mapping[str, float], title: str | None = None) -> str:
    """A two-column text table of figures, names left, values right-aligned."""
    rows = [(name, _fmt(float(v))) for name, v in figures.items()]
    w1 = max([len("figure"), *(len(r[0]) for r in rows)])
    w2 = max([len("value"), *(len(r[1]) for r in rows)])
    lines = []
    if title:
        lines.append(title)
    lines.append(f"{'figure':<{w1}}  {'value':>{w2}}")
    lines.append(f"{'-' * w1}  {'-' * w2}")
    lines.extend(f"{n:<{w1}}  {v:>{w2}}" for n, v in rows)
    return "\n".join(lines)


def print_table(figures: Mapping[str, float], title: str | None = None) -> None:
    print(format_table(figures, title), flush=True)
