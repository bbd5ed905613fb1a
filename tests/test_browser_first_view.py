"""The home page in a real Chromium: a new session's first chart comes first, and the rest of
the page (every chart, the last section) follows by itself, without a click; the hidden chart
that makes the browser load plotly.js early is never seen and is gone once the run ends.

Needs Debian's chromium and the playwright package (skipped with the reason without them).
"""

from __future__ import annotations

import pytest

from dashboard import first_view

pytestmark = pytest.mark.browser

TIMEOUT_MS = 60_000
CHARTS = '[data-testid="stPlotlyChart"] .main-svg'
WARM = f".st-key-{first_view.WARM_KEY}"


def test_the_home_page_draws_its_first_chart_then_the_rest_by_itself(
    app_url, chromium, screenshots
):
    page = chromium.new_page(viewport={"width": 1280, "height": 720})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(app_url)
    page.locator(CHARTS).first.wait_for()
    assert not page.locator(WARM).is_visible()  # hidden while it is there
    page.screenshot(path=screenshots / "first_view_1280.png")
    page.get_by_role("heading", name="9 · Cold start: a user with no ratings").wait_for()
    page.wait_for_function(f"document.querySelectorAll('{CHARTS}').length >= 4")
    assert page.get_by_role("heading", name="1 · R: a table that is mostly holes").count() == 1
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator(WARM).count() == 0
    page.screenshot(path=screenshots / "first_view_whole_1280.png", full_page=True)
    page.close()
