"""The offline deck from a fresh session: one click prepares every slide's figure from its
view (with progress), the download is then offered, and the deck has every slide's figure,
title and note; the session comes back to its slide, data and settings as they were."""

from __future__ import annotations

import json
import re
from html import escape as html_escape

from dashboard import deck, talks
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
    assert any("offline deck is ready: 12 slides" in shown(t.value) for t in at.toast)
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
