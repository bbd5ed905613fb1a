"""The offline deck from a fresh session: one click prepares every slide's figure from its
view (with progress), the download is then offered, and the deck has every slide's figure,
title and note; the session comes back to its slide, data and settings as they were."""

from __future__ import annotations

import json
import re
from html import escape as html_escape

from dashboard import deck, deck_build, talk_view, talks
from tests.app_support import chart, open_app, shown

DEFAULT = talks.default_talk()
#: A fresh session prepares twelve slides in one run of the test (the experiments included).
BUILD_TIMEOUT = 900


def deck_figures(at) -> list:
    kept = at.session_state["talk_figures"]
    return [kept[n][2] if n in kept else None for n in range(1, len(DEFAULT) + 1)]


def test_a_fresh_session_prepares_the_whole_default_talk_and_offers_the_deck():
    at = open_app(params={"page": "talk", "slide": "3"})
    settings = dict(at.session_state["train_settings"])
    fingerprint = at.session_state["data_fingerprint"]
    offline = at.get("download_button")
    (button,) = [b for b in offline if b.key == "talk_offline"]
    assert button.proto.disabled  # only the third slide's figure is drawn
    prepare = at.button(key="talk_build_deck")
    assert f"({len(DEFAULT) - 1} of {len(DEFAULT)} figures to draw)" in prepare.label
    prepare.click()
    at.run(timeout=BUILD_TIMEOUT)
    assert not at.exception, [e.message for e in at.exception]

    (button,) = [b for b in at.get("download_button") if b.key == "talk_offline"]
    assert not button.proto.disabled
    assert not [b for b in at.button if b.key == "talk_build_deck"]
    assert not at.toast  # a toast would cover the Talk menu and the slide counter
    assert any("offline deck is ready: 12 slides" in shown(s.value) for s in at.success)
    # Back where it was: the same slide, data and settings.
    assert "**3 / 12**" in [m.value for m in at.markdown]
    assert at.session_state["train_settings"] == settings
    assert at.session_state["data_fingerprint"] == fingerprint

    figures = deck_figures(at)
    assert all(fig is not None for fig in figures)
    # Each figure is its slide's, exactly as walking the talk draws it.
    for number, (slide, fig) in enumerate(zip(DEFAULT.slides, figures, strict=True), start=1):
        walked = chart(open_app(params={"page": "talk", "slide": str(number)}), slide.figure)
        assert fig.data, slide.title
        assert json.loads(fig.to_json())["data"] == json.loads(walked.to_json())["data"], (
            slide.title
        )
        assert fig.layout.title.text == walked.layout.title.text, slide.title
    html = deck.deck_html(DEFAULT, figures)
    assert html.count('<section class="slide"') == len(DEFAULT)
    assert "was not collected" not in html
    assert html.count("* plotly.js v") == 1
    data = json.loads(re.search(r'id="figures">(.*?)</script>', html, re.S).group(1))
    assert len(data) == len(DEFAULT) and all(entry["data"] for entry in data)
    for slide in DEFAULT.slides:
        assert html_escape(slide.title) in html and html_escape(slide.note) in html
    size = len(html.encode("utf-8"))
    print(f"offline deck of the default talk: {size / 1e6:.2f} MB")
    assert size < 15_000_000


def stage_reserve(at) -> int:
    """The pixels the talk's stage leaves to the rest of the screen, read from its CSS."""
    (css,) = [h.proto.body for h in at.get("html") if ".st-key-talk_stage " in h.proto.body]
    return int(re.search(r"calc\(100vh - (\d+)px\)", css).group(1))


def keyed_block(at, key: str):
    """The container drawn with ``key`` (its id ends in the key), in the app or a block."""

    def walk(node):
        if str(getattr(getattr(node, "proto", None), "id", "")).endswith(f"-{key}"):
            yield node
        for child in getattr(node, "children", {}).values():
            yield from walk(child)

    (block,) = walk(getattr(at, "main", at))
    return block


def test_the_ready_deck_is_said_above_the_slide_which_still_fits_and_no_toast_covers_it():
    two = talks.Talk(title="Two slides", slides=DEFAULT.slides[:2])
    at = open_app(params={"page": "talk", "slide": "2"}, state={"talk_w_notes": True})
    at.session_state["talk_deck"] = two
    at.run()
    assert stage_reserve(at) == talk_view.STAGE_RESERVE_PX  # no notice: the whole screen
    at.button(key="talk_build_deck").click()
    at.run(timeout=BUILD_TIMEOUT)
    assert not at.exception, [e.message for e in at.exception]
    assert not at.toast
    (notice,) = at.success
    assert shown(notice.value) == (
        "The offline deck is ready: 2 slides. Download it from the Talk menu."
    )
    # The notice sits above the stage in the page, and the stage gives up its height.
    order = [type(node).__name__ for node in at.main.children.values()]
    assert order.index("Success") < next(
        j for j, node in enumerate(at.main.children.values())
        if str(getattr(node.proto, "id", "")).endswith("-talk_stage")
    )  # fmt: skip
    assert stage_reserve(at) == talk_view.STAGE_RESERVE_PX + talk_view.NOTICE_PX
    # Once: the next run has no notice and the whole screen again.
    at.run()
    assert not at.success and stage_reserve(at) == talk_view.STAGE_RESERVE_PX
    # The part below the stage is one container, the one the build's CSS hides while it runs
    # (its runs end in a rerun, and the last slide's editor would stay on screen).
    below = keyed_block(at, deck_build.BELOW_STAGE_KEY)
    assert [e.label for e in below.get("expander")] == ["Edit this talk"]
    keyed_block(below, "talk_notes")  # the speaker notes (turned on) are in it too
    assert (
        f"<style>.st-key-{deck_build.BELOW_STAGE_KEY} {{ display: none !important; }}</style>"
    ) == deck_build.HIDE_BELOW_STAGE_CSS
