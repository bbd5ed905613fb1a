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

# Hypothesis derandomises every profile when it sees a CI environment variable; the dev profile
# says it wants random examples so it means the same thing everywhere.
settings.register_profile("dev", derandomize=False, deadline=None)
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


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium under Playwright for a module's browser tests (skipped with the reason
    when it or playwright is missing)."""
    from tests.browser_support import chromium_missing, launched_chromium

    if reason := chromium_missing():
        pytest.skip(reason)
    with launched_chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """A fresh Streamlit server of the app for a module's browser tests; its URL."""
    from tests.browser_support import streamlit_server

    with streamlit_server(tmp_path_factory.mktemp("server") / "server.log") as url:
        yield url


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    """Where browser tests save screenshots: $ALS_ARTIFACTS, else a temporary folder."""
    folder = Path(os.environ.get("ALS_ARTIFACTS", tmp_path_factory.mktemp("artifacts")))
    folder.mkdir(parents=True, exist_ok=True)
    return folder
