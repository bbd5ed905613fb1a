"""The talk in a real headless Chromium at 1280×720: the default talk walked with PageDown (each
slide's figure entirely on the screen, a screenshot of each), the other keys, the link naming the
slide across a reload, the speaker notes (the slide does not move) and the speaker view that
follows the talk from a second window; and, from a fresh session that walked nothing, the
offline deck prepared in one click, downloaded and opened with every network request refused.

Needs Debian's chromium and the playwright package; without either the test is skipped with
the reason. Screenshots and the deck go to $ALS_ARTIFACTS (default: a temporary folder).
"""

from __future__ import annotations

import re

import pytest

from dashboard import talks

TIMEOUT_MS = 60_000
WIDTH, HEIGHT = 1280, 720
DEFAULT = talks.default_talk()
N = len(DEFAULT)
#: The offline deck must stay well under this (plotly.js alone is about 4.7 MB).
DECK_LIMIT_BYTES = 15_000_000

pytestmark = pytest.mark.browser


def on_slide(page, number: int) -> dict:
    """Wait until slide ``number`` shows its drawn figure; the figure's box on the screen."""
    page.locator(".st-key-talk_progress").get_by_text(f"{number} / {N}", exact=True).wait_for()
    plot = page.locator(".st-key-talk_stage .js-plotly-plot").first
    plot.locator(".main-svg").first.wait_for()
    page.wait_for_timeout(700)  # the keys are bound once the run has settled
    return plot.bounding_box()


def assert_on_screen(box: dict, where: str) -> None:
    top, bottom = box["y"], box["y"] + box["height"]
    assert top >= 0 and bottom <= HEIGHT, f"{where}: the figure spans {top:.0f}-{bottom:.0f} px"
    assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH, f"{where}: wider than the screen"
    assert box["height"] >= 0.5 * HEIGHT, f"{where}: only {box['height']:.0f} px tall"


def test_the_default_talk_with_keys_and_notes(app_url, chromium, screenshots):
    context = chromium.new_context(
        viewport={"width": WIDTH, "height": HEIGHT}, accept_downloads=True
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{app_url}/talk")
    for number, slide in enumerate(DEFAULT.slides, start=1):
        box = on_slide(page, number)
        assert_on_screen(box, f"slide {number} ({slide.title})")
        assert page.get_by_role("heading", name=slide.title).is_visible()
        page.screenshot(path=screenshots / f"talk_slide_{number:02d}.png")
        if slide.figure == "replay_map_chart":  # the slide is live: Play animates its figure
            page.get_by_role("button", name="Play").click()
            page.locator(".st-key-talk_stage .gtitle", has_text="iteration 2").wait_for()
            page.get_by_role("button", name="Pause").click()
        page.keyboard.press("PageDown")
    on_slide(page, N)  # PageDown on the last slide stays there
    assert page.locator('[data-testid="stException"]').count() == 0

    for key, number in (
        ("PageUp", N - 1),
        ("ArrowLeft", N - 2),
        ("ArrowRight", N - 1),
        ("Space", N),
        ("Home", 1),
        ("End", N),
    ):
        page.keyboard.press(key)
        on_slide(page, number)
    assert re.search(rf"[?&]slide={N}(&|$)", page.url)
    page.reload()  # the link names the slide
    on_slide(page, N)

    # Speaker notes: the note and the next title below the slide, which does not move.
    page.keyboard.press("Home")
    before = on_slide(page, 1)
    page.get_by_role("button", name="Talk").click()
    page.get_by_text("Speaker notes").click()
    notes = page.locator(".st-key-talk_notes")
    notes.get_by_text(DEFAULT.slides[0].note).wait_for()
    notes.get_by_text(DEFAULT.slides[1].title).wait_for()
    page.keyboard.press("Escape")  # close the menu
    assert on_slide(page, 1) == before
    # The speaker view on a second screen follows the talk.
    link = notes.get_by_role("link", name="Speaker view for a second screen")
    speaker = context.new_page()
    speaker.set_default_timeout(TIMEOUT_MS)
    speaker.goto(f"{app_url}/{link.get_attribute('href')}")
    view = speaker.locator(".st-key-talk_speaker_note")
    view.get_by_text(DEFAULT.slides[0].note).wait_for()
    page.keyboard.press("PageDown")
    on_slide(page, 2)
    view.get_by_text(DEFAULT.slides[1].note).wait_for()
    speaker.screenshot(path=screenshots / "talk_speaker_view.png")
    speaker.close()

    context.close()


def test_a_fresh_session_exports_the_whole_talk_as_an_offline_deck(
    app_url, chromium, screenshots, tmp_path
):
    """No walking: one click in the Talk menu prepares every slide's figure, then the deck
    downloads, and opens with every network request refused."""
    context = chromium.new_context(
        viewport={"width": WIDTH, "height": HEIGHT}, accept_downloads=True
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{app_url}/talk")
    on_slide(page, 1)
    page.get_by_role("button", name="Talk").click()
    page.get_by_role("button", name=re.compile("Prepare the offline deck")).click()
    page.get_by_text(re.compile("Preparing the offline deck: slide")).first.wait_for()
    page.screenshot(path=screenshots / "talk_deck_preparing.png")
    # The slide's editor does not linger under the build's progress.
    assert not page.get_by_text("Edit this talk").is_visible()
    page.get_by_text(re.compile("offline deck is ready")).wait_for(timeout=5 * TIMEOUT_MS)
    box = on_slide(page, 1)  # back on the slide it was on
    # Said above the slide, which still fits the screen; nothing covers the menus or counter.
    assert page.locator('[data-testid="stToast"]').count() == 0
    assert_on_screen(box, "the slide below the ready notice")
    notice = page.locator('[data-testid="stAlert"]').filter(has_text="offline deck is ready")
    assert notice.bounding_box()["y"] + notice.bounding_box()["height"] <= box["y"]
    page.get_by_text("Edit this talk").wait_for()  # back below the slide
    page.get_by_role("button", name="Talk").click()
    with page.expect_download() as download:
        page.get_by_role("button", name=re.compile("offline")).click()
    page.screenshot(path=screenshots / "talk_deck_ready.png")
    deck = tmp_path / "deck.html"
    download.value.save_as(deck)
    size = deck.stat().st_size
    print(f"offline deck of the default talk: {size / 1e6:.2f} MB")
    assert size < DECK_LIMIT_BYTES
    html = deck.read_text(encoding="utf-8")
    assert html.count('<section class="slide"') == N
    assert html.count("* plotly.js v") == 1  # plotly.js once, for every figure
    assert "was not collected" not in html
    assert page.locator('[data-testid="stException"]').count() == 0
    context.close()

    offline = chromium.new_context(viewport={"width": WIDTH, "height": HEIGHT}, offline=True)
    requested: list[str] = []
    offline.route(
        "http*://**/*", lambda route: (requested.append(route.request.url), route.abort())
    )
    shown = offline.new_page()
    shown.on("request", lambda r: requested.append(r.url) if not r.url.startswith("file:") else 0)
    shown.goto(deck.as_uri())
    assert shown.locator("section.slide").count() == N
    for number in range(1, N + 1):
        if number > 1:
            shown.keyboard.press("PageDown")
        visible = shown.locator("section.slide:not([hidden])")
        assert visible.get_attribute("data-slide") == str(number)
        visible.locator(".main-svg").first.wait_for()  # every slide draws its figure
        assert visible.locator(".figure").bounding_box()["height"] > 0.5 * HEIGHT
        for tick in visible.locator(".ytick text").all():  # long labels fit in the margin
            assert tick.bounding_box()["x"] >= 0, f"slide {number}: {tick.text_content()}"
        shown.screenshot(path=screenshots / f"talk_offline_deck_{number:02d}.png")
    shown.keyboard.press("Home")
    assert shown.locator("section.slide:not([hidden])").get_attribute("data-slide") == "1"
    assert requested == []
    offline.close()
