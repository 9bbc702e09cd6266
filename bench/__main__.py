"""``python -m bench [name ...] [--scale S]``: each benchmark in a process of its own, one
result line each, then the total time."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NAMES = ("deadline_rush", "backoffice", "sweep", "delivery", "pairing", "engine", "peer")


def run_one(name: str, scale: float) -> int:
    module = importlib.import_module(f"bench.{name}")
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as folder:
        result = module.run(scale, Path(folder))
    print(result.line(), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("names", nargs="*", help=f"any of {', '.join(NAMES)} (default: all)")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="fraction of the programme-scale sizes (a smoke run: 0.001)")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    names = args.names or list(NAMES)
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        parser.error(f"unknown benchmark: {', '.join(unknown)}")
    if args.one:
        return run_one(names[0], args.scale)
    start = time.perf_counter()
    failures = 0
    for name in names:
        # A process per benchmark: its memory peak and its app are its own.
        proc = subprocess.run([sys.executable, "-m", "bench", "--one", name,
                               "--scale", str(args.scale)], capture_output=True, text=True)
        lines = [line for line in proc.stdout.splitlines() if line.startswith(f"{name} ")]
        if proc.returncode or not lines:
            failures += 1
            sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-5000:])
            print(f"{name} ratio=nan target=? MISS error=exit{proc.returncode}", flush=True)
        else:
            print(lines[-1], flush=True)
    print(f"total seconds={time.perf_counter() - start:.0f}", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
