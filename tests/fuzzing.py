"""Hypothesis settings shared by the fuzz tests (tests/test_fuzz_*.py, docs/fuzzing.md).

``HYPOTHESIS_PROFILE=ci`` (the default): fixed seeds (the same examples on every run, so a
red CI is reproducible) and few examples, so the whole set runs in minutes.
``HYPOTHESIS_PROFILE=deep``: random seeds and ``HOINGHI_FUZZ_SCALE`` (default 20) times the
examples, for a longer hunt on a developer's machine.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, settings

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
DEEP = PROFILE == "deep"
SCALE = int(os.environ.get("HOINGHI_FUZZ_SCALE", "20" if DEEP else "1"))

# No example database: a run leaves nothing in the work tree, and a failure prints the
# seed and example that reproduce it.
_COMMON: dict[str, Any] = {
    "database": None,
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}


def fuzz_settings(max_examples: int, **overrides: Any) -> settings:
    """``max_examples`` in CI, scaled up in the deep profile; seeds fixed unless deep."""
    options = {**_COMMON, "derandomize": not DEEP, "deadline": None}
    options.update(overrides)
    return settings(max_examples=max_examples * SCALE, **options)
