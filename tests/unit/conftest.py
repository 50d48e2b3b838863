"""Hypothesis profiles for the unit tests, chosen by COZYKART_HYPOTHESIS_PROFILE.

`mutation` (set by scripts/mutation): no deadline, so a mutant that only makes a
property test slower is never counted as killed; derandomized, so every mutant
meets the same examples and a run's figures are reproducible; no example
database, so one mutant's failures never steer the next mutant's examples.
Without the variable, Hypothesis's defaults apply (tests that are slow on a
loaded machine set their own `deadline=None`).
"""

from __future__ import annotations

import os

from hypothesis import settings

HYPOTHESIS_PROFILE_ENV = "COZYKART_HYPOTHESIS_PROFILE"

settings.register_profile("mutation", deadline=None, derandomize=True, database=None, print_blob=False)

if profile := os.environ.get(HYPOTHESIS_PROFILE_ENV, "").strip():
    settings.load_profile(profile)
