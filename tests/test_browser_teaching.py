"""The teaching pages in a real headless Chromium: home, one update by hand (stepping), the replay
playing by itself, add yourself, presenter mode from a link; screenshots of each.

Needs Debian's chromium and the playwright package; without either the test is skipped with
the reason. Screenshots go to $ALS_ARTIFACTS (default: a temporary folder).
"""

from __future__ import annotations

import pytest

from tests.browser_support import chromium_missing, free_port, launched_chromium, streamlit_server

#: This helper's ports (other helpers use 8601-8639); any free one of them.
PORTS = range(8641, 8660)
TIMEOUT_MS = 30_000

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    if reason := chromium_missing():
        pytest.skip(reason)
    with launched_chromium() as b:
        yield b


@pytest.fixture(scope="module")
def server(browser, tmp_path_factory):
    try:
        port = free_port(PORTS)
    except OSError:
        pytest.skip(f"no free port in {PORTS.start}-{PORTS.stop - 1}")
    with streamlit_server(tmp_path_factory.mktemp("server") / "server.log", port=port) as url:
        yield url


def open_page(browser, url: str, heading: str, *, charts: int = 1, height: int = 1400):
    """A new session on ``url``, once its heading and first ``charts`` charts are drawn."""
    page = browser.new_page(viewport={"width": 1440, "height": height})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    page.get_by_role("heading", name=heading, exact=True).wait_for()
    for n in range(charts):
        page.locator('[data-testid="stPlotlyChart"] .main-svg').nth(n).wait_for()
    assert page.locator('[data-testid="stException"]').count() == 0
    return page


def chart_title(page, text: str):
    return page.locator(".gtitle", has_text=text).first


def test_teaching_pages_in_chromium(server, browser, screenshots):
    home = open_page(browser, f"{server}/", "How ALS works", charts=3, height=2200)
    assert home.get_by_text("is not a zero").count() == 1
    home.screenshot(path=screenshots / "teach_1_home.png")
    assert "page=home" in home.url  # the scene is written into the address bar
    home.close()

    update = open_page(
        browser, f"{server}/update?data=sample:tiny&split=none&it=4", "One update by hand", charts=2
    )
    full = update.locator(".gtitle", has_text="the update").first
    full.wait_for()
    total = int(full.text_content().split(" of ")[1].split(" ")[0])
    update.get_by_role("button", name="◀ back").click()
    chart_title(update, f"After {total - 1} of {total} ratings").wait_for()
    update.get_by_text(f"Step {total - 1}:").wait_for()
    update.screenshot(path=screenshots / "teach_2_update.png", full_page=True)
    assert f"step={total - 1}" in update.url and "who=" in update.url
    update.close()

    replay = open_page(browser, f"{server}/replay?data=sample:tiny&it=3", "Iteration replay")
    chart_title(replay, "Latent map: random start").wait_for()
    replay.get_by_role("button", name="Play").click()
    # The fragment's timer advances the frames by itself, without any click.
    chart_title(replay, "Latent map: iteration 1: items solved").wait_for()
    replay.screenshot(path=screenshots / "teach_3_replay.png", full_page=True)
    replay.close()

    you = open_page(browser, f"{server}/add_yourself", "Add yourself")
    you.get_by_role("button", name="Fill in an example").click()
    you.get_by_text("Users whose tastes point the same way").wait_for()
    chart_title(you, "Your predicted top items").wait_for()
    you.screenshot(path=screenshots / "teach_4_add_yourself.png", full_page=True)
    you.close()

    shown = open_page(browser, f"{server}/update?data=sample:tiny&present=1", "One update by hand")
    assert not shown.locator('[data-testid="stSidebar"]').is_visible()
    shown.get_by_role("link", name="Iteration replay").wait_for()  # the page menu is on top
    shown.get_by_role("button", name="Exit presenter mode").wait_for()
    shown.screenshot(path=screenshots / "teach_5_presenter.png")
    shown.close()
