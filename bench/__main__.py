"""Run benchmarks: ``python -m bench`` runs all, ``python -m bench acd`` one.

A benchmark is a module ``bench/<name>_bench.py`` with a ``main() -> None``.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def available() -> list[str]:
    """Names of the benchmarks in this package."""
    here = str(Path(__file__).parent)
    return sorted(
        m.name.removesuffix("_bench")
        for m in pkgutil.iter_modules([here])
        if m.name.endswith("_bench")
    )


def main(argv: list[str]) -> int:
    """Run the named benchmarks (all when none)."""
    names = argv or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; have: {', '.join(available())}")
        return 2
    for name in names:
        importlib.import_module(f"bench.{name}_bench").main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
