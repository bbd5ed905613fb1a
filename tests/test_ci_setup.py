"""The test run is replayable: CI picks a derandomised Hypothesis profile by name."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]


def test_the_ci_profile_is_derandomised_and_ci_chooses_it():
    ci = settings.get_profile("ci")
    assert ci.derandomize and ci.deadline is None
    assert not settings.get_profile("dev").derandomize
    script = (ROOT / ".ci" / "run").read_text()
    assert script.index("export HYPOTHESIS_PROFILE=ci") < script.index("python -m pytest")


def test_the_environment_variable_chooses_the_profile():
    code = (
        "import sys; sys.path.insert(0, 'tests'); import conftest; "
        "from hypothesis import settings; print(settings.default.derandomize)"
    )
    env = {**os.environ, "HYPOTHESIS_PROFILE": "ci"}
    shown = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert shown.stdout.strip() == "True"
