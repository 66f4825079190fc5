"""Helpers shared by the benchmarks: percentiles, latency summaries, the machine, JSON output.

Pure functions (unit-tested in ``tests/test_bench.py``) and the few lines that write a
benchmark's figures to ``var/bench/<name>.json``.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: Where ``python -m bench`` writes each benchmark's figures (one JSON file per benchmark).
OUT_DIR = Path("var") / "bench"


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0 ≤ q ≤ 1) of ``values``, nearest rank (no interpolation)."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile {q} is not between 0 and 1")
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return float(ordered[rank - 1])


def summary(samples: Sequence[float]) -> dict[str, float]:
    """p50, p99, mean and count of latency samples (same unit as the samples)."""
    return {
        "p50": percentile(samples, 0.50),
        "p99": percentile(samples, 0.99),
        "mean": sum(samples) / len(samples),
        "n": float(len(samples)),
    }


def ratio(numerator: float, denominator: float) -> float | None:
    """``numerator / denominator``, None when the denominator is zero."""
    return numerator / denominator if denominator else None


def cpu_model() -> str:
    """The CPU's model name (Linux), else what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def machine() -> dict[str, Any]:
    """Where and when the figures were taken (the commit, the load before the run)."""
    git = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git or "?",
        "python": platform.python_version(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "load_before": round(os.getloadavg()[0], 2),
    }


def write_json(name: str, figures: dict[str, Any], out_dir: Path = OUT_DIR) -> Path:
    """Write ``figures`` to ``<out_dir>/<name>.json``; the path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(figures, indent=2, sort_keys=True, default=str) + "\n")
    return path
