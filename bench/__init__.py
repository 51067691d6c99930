"""Benchmarks of oms against a real PostgreSQL: `make bench` or `python -m bench --help`.

Each benchmark is registered by name in `bench.__main__`; it returns a `BenchReport` that is
printed as a table and written to `var/bench/<name>.json`.
"""
