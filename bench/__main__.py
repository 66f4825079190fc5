"""Run benchmarks: ``python -m bench`` (= ``make bench``) runs the default set, ``python -m bench
acd`` one, ``python -m bench erlang`` the slow whole-product run (opt-in: about 8 minutes).

A benchmark is a module ``bench/<name>_bench.py`` with a ``main()``; when it returns its figures
(a dict), they are written to ``var/bench/<name>.json`` next to the printed table.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path

from bench.common import machine, write_json

#: Run only when named: they take minutes and start the whole product.
OPT_IN = ("erlang",)


def available() -> list[str]:
    """Names of the benchmarks in this package."""
    here = str(Path(__file__).parent)
    return sorted(
        m.name.removesuffix("_bench")
        for m in pkgutil.iter_modules([here])
        if m.name.endswith("_bench")
    )


def default() -> list[str]:
    """What ``python -m bench`` runs with no names: all but the opt-in ones."""
    return [name for name in available() if name not in OPT_IN]


def main(argv: list[str]) -> int:
    """Run the named benchmarks (the default set when none)."""
    names = argv or default()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; have: {', '.join(available())}")
        return 2
    for name in names:
        start = time.monotonic()
        where = machine()
        figures = importlib.import_module(f"bench.{name}_bench").main()
        if isinstance(figures, dict):
            figures = {"machine": where, "seconds": round(time.monotonic() - start, 1), **figures}
            print(f"→ {write_json(name, figures)}\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
