"""Hypothesis example counts by profile: a CI run stays inside its time budget, a long run
(`make test-long`, OMS_HYPOTHESIS_PROFILE=long) tries ten times as many cases.

Every property test asks `examples(n)` for its count rather than writing a literal, so the one
profile setting scales them all.
"""

from __future__ import annotations

import os

from hypothesis import settings

PROFILE = os.environ.get("OMS_HYPOTHESIS_PROFILE", "ci")
SCALE = {"ci": 1, "long": 10}
if PROFILE not in SCALE:
    raise RuntimeError(f"OMS_HYPOTHESIS_PROFILE must be one of {sorted(SCALE)}, not {PROFILE!r}")

settings.register_profile("ci", deadline=None, print_blob=True)
settings.register_profile("long", deadline=None, print_blob=True)
settings.load_profile(PROFILE)


def examples(n: int) -> int:
    """`n` examples in CI; more in the long run."""
    return n * SCALE[PROFILE]
