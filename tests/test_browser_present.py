"""Presenter mode on a projector, in a real headless Chromium: on every page, at 1280×720 and at
1920×1080, the page's main figure is entirely on the first screen (no scrolling), and it grows
with the screen. Screenshots of each page at both sizes.

Needs Debian's chromium and the playwright package; without either the test is skipped with
the reason. Screenshots go to $ALS_ARTIFACTS (default: a temporary folder).
"""

from __future__ import annotations

import pytest

from dashboard import talks

TIMEOUT_MS = 45_000
SCREENS = ((1280, 720), (1920, 1080))
#: Each page (its URL path and the link's choices) and the key of its main figure (the one a
#: talk's slide of that page shows first).
MAIN_FIGURES = {
    **{
        "" if page == "home" else page: talks.main_figure(page)
        for page in talks.PAGE_FILES
        if page != "experiments"
    },
    "experiments?section=missing": "exp_missing_bars",  # the quickest experiment to run
}

pytestmark = pytest.mark.browser


def figure_box(page, key: str) -> dict:
    """The drawn plot of the chart with ``key`` (its box in the viewport), once plotly has
    laid it out at the current window size."""
    plot = page.locator(f".st-key-{key} .js-plotly-plot").first
    plot.locator(".main-svg").first.wait_for()
    page.wait_for_timeout(600)  # plotly's resize to a new window height is debounced
    return plot.bounding_box()


def assert_on_first_screen(box: dict, width: int, height: int, where: str) -> None:
    top, bottom = box["y"], box["y"] + box["height"]
    assert top >= 0 and bottom <= height, f"{where}: figure spans {top:.0f}-{bottom:.0f} px"
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"{where}: wider than the screen"
    # Sized to the screen, not shrunk to a thumbnail to fit.
    assert box["height"] >= 0.45 * height, f"{where}: only {box['height']:.0f} px tall"


def test_every_main_figure_fits_the_first_screen(app_url, chromium, screenshots):
    context = chromium.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    for path, key in MAIN_FIGURES.items():
        sep = "&" if "?" in path else "?"
        page.set_viewport_size({"width": 1280, "height": 720})
        page.goto(f"{app_url}/{path}{sep}present=1")
        page.get_by_role("button", name="Exit presenter mode").wait_for()
        if key.startswith("exp_"):  # an experiment draws its figure once it has run
            page.get_by_role("button", name="Run").click()
        name = path.split("?")[0] or "home"
        heights = []
        for width, height in SCREENS:
            page.set_viewport_size({"width": width, "height": height})
            box = figure_box(page, key)
            assert_on_first_screen(box, width, height, f"{name} at {width}×{height}")
            heights.append(box["height"])
            page.screenshot(path=screenshots / f"present_{name}_{width}x{height}.png")
        assert heights[1] > heights[0] + 200, f"{name}: the figure did not grow with the screen"
        assert page.locator('[data-testid="stException"]').count() == 0
    context.close()
