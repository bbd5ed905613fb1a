"""What every test shares: the checkout on the import path, the ``at`` fixture (a new app
session on the test module's ``PAGE``), and a fixed Hypothesis profile.

Hypothesis profiles: ``dev`` (the default, random examples) and ``ci`` (derandomised: the same
examples on every run, so a red run can be replayed). Choose one with the environment variable
HYPOTHESIS_PROFILE; .ci/run sets it to ``ci``.
"""

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Tests import the project's packages from the checkout, without an install step.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.app_support import open_app  # noqa: E402
from tests.kernel_support import (  # noqa: E402, F401 (fixtures)
    _kernel_states,
    kernel_build,
    kernel_builds,
    kernel_compiler,
)

settings.register_profile("dev", deadline=None)
settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture
def at(request: pytest.FixtureRequest):
    """A new session's first run on the module's ``PAGE`` (e.g. "pages/train.py")."""
    return open_app(getattr(request.module, "PAGE", None))
