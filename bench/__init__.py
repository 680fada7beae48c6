"""On-demand benchmarks: `python -m bench` lists them, `python -m bench NAME` runs one.

Each benchmark is a module of this package that defines DESCRIPTION,
`add_arguments(parser)` and `run(args) -> dict`; bench/__main__.py finds it by
its module name and writes what `run` returns to bench/results/NAME-<time>.json.
"""
