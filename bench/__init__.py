"""Benchmarks: ``python -m bench NAME [options]`` prints one JSON object of figures, last.

Figures carry their units in their names (``p99_ms``, ``rps``). Each benchmark measures a
baseline in the same run (e.g. the bare ``/healthz`` round trip), so a figure can be read
against this machine at this moment rather than against a number from elsewhere.
"""
