"""`python -m bench documents` at toy size: it runs end to end and its last line is the
JSON the issue asks for (the real figures are in docs/benchmarks.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_documents_bench_runs_and_prints_its_figures() -> None:
    small = ["--clients", "3", "--pages", "6", "--pdf-mb", "0.5", "--documents", "2"]
    finished = subprocess.run(
        [sys.executable, "-m", "bench", "documents", *small, "--page-images", "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    figures = json.loads(finished.stdout.strip().splitlines()[-1])
    for key in ("clients", "cold_s", "cached_s", "static_s", "cached_over_static",
                "page_render_p50_ms", "page_cached_p50_ms", "targets"):  # fmt: skip
        assert key in figures
    assert figures["clients"] == 3
    assert figures["pack_pages"] == 7  # the cover and the six pages
    assert figures["failures"] == 0, finished.stdout
    assert figures["targets"]["cold_200_under_60s"] is None  # not answered with 3 clients
