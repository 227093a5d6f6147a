"""Benchmarks: ``python -m bench.run [name ...]`` (``make bench``).

Each ``bench/bench_<name>.py`` module has a ``main()`` that measures, prints a table and
merges its figures into ``.bench/results.json`` with :func:`bench._results.record`.
"""
