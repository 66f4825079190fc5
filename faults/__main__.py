"""``python -m faults [scenario ...]``: run fault scenarios, print a table, exit 1 on a
violated invariant. ``--quick`` plays short windows (as the CI test does), ``--json`` prints
one JSON object, ``--list`` names the scenarios."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any

from faults.runner import FULL, QUICK, SCENARIOS, render, run


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run, print; the exit status."""
    parser = argparse.ArgumentParser(prog="python -m faults", description=__doc__)
    parser.add_argument("scenarios", nargs="*", help="names (default: all); see --list")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument("--quick", action="store_true", help="short windows (CI size)")
    parser.add_argument("--scale", type=float, default=1.0, help="stretch every phase")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--keep", type=Path, default=None, help="keep data and logs in this dir")
    args = parser.parse_args(argv)
    if args.list:
        for s in SCENARIOS.values():
            print(f"{s.name:<14} {s.title}")
        return 0
    unknown = [n for n in args.scenarios if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenarios {unknown}; known: {', '.join(SCENARIOS)}")
    names = args.scenarios or list(SCENARIOS)
    timing = (QUICK if args.quick else FULL).scaled(args.scale)

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # stop the product's processes on the way out

    signal.signal(signal.SIGTERM, on_term)
    echo = None if args.json else (lambda line: print(line, file=sys.stderr, flush=True))
    results = run(names, timing, seed=args.seed, echo=echo, workdir=args.keep)
    if args.json:
        print(json.dumps({"timing": timing.__dict__, "results": results}, default=str))
    else:
        print(render(results))
    return 1 if any(r["violations"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
