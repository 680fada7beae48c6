"""`python -m bench` lists the benchmarks; `python -m bench NAME [options]` runs one."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from types import ModuleType

import bench
from bench.common import write_results

# Modules of the package that are helpers, not benchmarks.
HELPERS = frozenset({"common"})


def benchmarks() -> dict[str, ModuleType]:
    """Every benchmark module by name: a new module is picked up without registering it."""
    found = {}
    for info in pkgutil.iter_modules(bench.__path__):
        if info.name.startswith("_") or info.name in HELPERS:
            continue
        module = importlib.import_module(f"bench.{info.name}")
        if callable(getattr(module, "run", None)):
            found[info.name] = module
    return dict(sorted(found.items()))


def main(argv: list[str] | None = None) -> int:
    found = benchmarks()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    sub = parser.add_subparsers(dest="name", metavar="NAME")
    for name, module in found.items():
        module.add_arguments(
            sub.add_parser(
                name,
                help=module.DESCRIPTION,
                description=module.__doc__,
                formatter_class=argparse.RawDescriptionHelpFormatter,
            )
        )
    args = parser.parse_args(argv)
    if args.name is None:
        print("Benchmarks (run one with `python -m bench NAME`, options with `python -m bench NAME -h`):")
        for name, module in found.items():
            print(f"  {name:12} {module.DESCRIPTION}")
        return 0
    results = found[args.name].run(args)
    path = write_results(args.name, results)
    print(f"\nResults written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
