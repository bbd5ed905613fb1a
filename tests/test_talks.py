"""Talks as data: the default talk, the JSON file and its checks, the code in the link, the
offline deck's HTML, and the rooms a speaker view follows (no Streamlit here)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import plotly.graph_objects as go
import plotly.offline
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard import deck, talk_rooms, talks

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = talks.default_talk()


def test_the_talks_pages_are_the_apps_pages():
    app = (ROOT / "app.py").read_text()
    files = re.findall(r'st\.Page\("(pages/[a-z_]+\.py)"', app)
    assert set(talks.PAGE_FILES.values()) == set(files) - {"pages/talk.py"}
    for page, path in talks.PAGE_FILES.items():
        assert page == "home" or path == f"pages/{page}.py"  # the URL path is the file's name


def test_every_figure_a_slide_can_show_is_drawn_by_its_page():
    for page, figures in talks.FIGURES.items():
        source = (ROOT / talks.PAGE_FILES[page]).read_text()
        for key in figures:
            assert f'key="{key}"' in source, (page, key)
    for key in talks.EXPERIMENT_SECTIONS:
        assert key in talks.FIGURES["experiments"]


def test_the_default_talk_tells_the_story_on_the_sessions_data():
    assert 10 <= len(DEFAULT) <= 14
    assert len({(s.page, s.figure) for s in DEFAULT.slides}) == len(DEFAULT)  # no repeats
    for slide in DEFAULT.slides:
        assert slide.figure in talks.FIGURES[slide.page]
        assert slide.title and len(slide.note) > 40
        # Page choices only: never a dataset or model settings, so it follows the session.
        assert not {"data", "gen", "k", "lam", "it"} & set(slide.params)
    pages = [s.page for s in DEFAULT.slides]
    assert pages[0] == "data" and pages[-1] == "add_yourself"


def test_a_talk_survives_json_and_the_link():
    edited = (
        DEFAULT.replace_slide(3, DEFAULT.slides[3].with_params({"frame": "7"}))
        .moved(0, 4)
        .deleted(2)
        .added(
            talks.Slide(
                title="Mine <b>&amp;</b>",
                page="latent",
                figure="latent_map",
                params={"data": "sample:tiny", "k": "3", "item": "Ana~Ben"},
                note="A note\nover two lines.",
            )
        )
    )
    assert talks.read_talk(talks.talk_json(edited)) == edited
    assert talks.read_talk(talks.talk_json(edited).encode()) == edited
    assert talks.read_talk_code(talks.talk_code(edited)) == edited
    # Slides of the default talk travel as their numbers: the link stays short.
    assert len(talks.talk_code(DEFAULT)) < 200
    assert talks.code_for_link(edited) is not None


@given(
    title=st.text(max_size=talks.MAX_TITLE).map(str.strip).filter(bool),
    note=st.text(max_size=300).map(str.strip),
    value=st.text(max_size=50),
)
def test_any_title_note_and_view_value_round_trips(title, note, value):
    talk = talks.Talk(
        title="T",
        slides=(
            talks.Slide(
                title=title, page="update", figure="update_system_chart", params={"who": value}
            ),
        ),
    )
    slide = talks.Slide(title=title, page="update", figure="update_system_chart", note=note)
    talk = talk.added(slide)
    assert talks.read_talk(talks.talk_json(talk)) == talk
    assert talks.read_talk_code(talks.talk_code(talk)) == talk


def test_the_figure_decides_an_experiment_slides_section():
    document = DEFAULT.as_dict()
    document["slides"][9]["view"] = {"section": "recovery"}  # the compare slide
    assert talks.talk_from_dict(document).slides[9].params["section"] == "compare"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xfe\x00", "not text"),
        (b"{", "not valid JSON (line 1"),
        (b"[]", "not a talk saved by ALS Explorer"),
        (json.dumps({"format": "something-else"}).encode(), "not a talk saved"),
        (json.dumps({"format": talks.FORMAT, "version": 9}).encode(), "version 9"),
        (json.dumps({"format": talks.FORMAT, "version": 1}).encode(), 'no list of "slides"'),
        (b" " * (talks.MAX_FILE_BYTES + 1), "at most"),
    ],
)
def test_a_bad_file_says_what_is_wrong(data, message):
    with pytest.raises(talks.TalkError, match=re.escape(message)):
        talks.read_talk(data)


def slide_entry(**changes) -> bytes:
    entry = {**DEFAULT.slides[0].as_dict(), **changes}
    return json.dumps({"format": talks.FORMAT, "version": 1, "slides": [entry]}).encode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (slide_entry(page="nowhere"), "slide 1 names the page 'nowhere'"),
        (slide_entry(figure="latent_map"), "slide 1 asks for the figure 'latent_map'"),
        (slide_entry(view=["k", 3]), "slide 1's view must be an object"),
        (slide_entry(view={"k": [3]}), "view parameter 'k' must be text or a number"),
        (slide_entry(view={"who": "x" * 2000}), "view parameter 'who' is too long"),
        (slide_entry(title=3), "slide 1's title must be text"),
        (slide_entry(note="n" * (talks.MAX_NOTE + 1)), "slide 1's note has"),
        (
            json.dumps(
                {"format": talks.FORMAT, "version": 1, "slides": [1] * (talks.MAX_SLIDES + 1)}
            ).encode(),
            f"at most {talks.MAX_SLIDES}",
        ),
    ],
)
def test_a_bad_slide_says_which_and_why(data, message):
    with pytest.raises(talks.TalkError, match=re.escape(message)):
        talks.read_talk(data)


def test_a_slide_without_a_title_is_named_after_its_figure():
    talk = talks.read_talk(slide_entry(title="  "))
    assert talk.slides[0].title == talks.figure_label("data", "data_pattern_chart")


@pytest.mark.parametrize("code", ["", "!!!", "eJwrSS0u0c3MS8nMS9cpLinKzEsHAEZSB1E", "A" * 8000])
def test_a_damaged_link_says_so(code):
    with pytest.raises(talks.TalkError):
        talks.read_talk_code(code)


def test_moving_a_slide_keeps_every_slide_once():
    moved = DEFAULT.moved(0, 99)
    assert moved.slides[-1] == DEFAULT.slides[0]
    assert sorted(s.title for s in moved.slides) == sorted(s.title for s in DEFAULT.slides)
    assert DEFAULT.moved(5, -3).slides[0] == DEFAULT.slides[5]


# ----------------------------------------------------------------------------- the deck
def test_the_offline_deck_is_one_page_with_plotly_once_and_every_slide():
    talk = talks.Talk(
        title="Deck </title><script>alert(1)</script>",
        slides=(
            talks.Slide(title="One <b>", page="data", figure="data_pattern_chart", note="A & B"),
            talks.Slide(title="Two", page="train", figure="train_objective_chart"),
            talks.Slide(title="Three", page="latent", figure="latent_map"),
        ),
    )
    tricky = go.Figure(go.Bar(x=["</script><b>"], y=[1]), layout={"height": 400, "width": 600})
    page = deck.deck_html(talk, [tricky, go.Figure(go.Scatter(x=[1], y=[2])), None])
    assert page.count(plotly.offline.get_plotlyjs()) == 1
    assert page.count('<section class="slide"') == 3
    assert "<script>alert(1)" not in page and "One &lt;b&gt;" in page and "A &amp; B" in page
    assert "was not collected" in page  # the third slide had no figure
    data = re.search(r'<script type="application/json" id="figures">(.*?)</script>', page, re.S)
    figures = json.loads(data.group(1))
    assert figures[2] is None
    assert figures[0]["data"][0]["x"] == ["</script><b>"]  # intact, yet no "<" in the page
    assert "height" not in figures[0]["layout"] and "width" not in figures[0]["layout"]
    # Margins grow to fit long tick labels (Streamlit's theme does it in the app).
    assert figures[0]["layout"]["yaxis"]["automargin"] is True
    assert figures[0]["layout"]["xaxis"]["automargin"] is True
    for key in ("PageDown", "ArrowRight", "PageUp", "ArrowLeft", "Home", "End"):
        assert f'"{key}"' in deck.DECK_JS


# ----------------------------------------------------------------------------- rooms
def test_a_speaker_view_finds_only_its_own_room():
    token, other = talk_rooms.new_token(), talk_rooms.new_token()
    assert token != other and len(token) >= 20
    assert talk_rooms.read(token) is None
    talk_rooms.publish(token, DEFAULT, 3)
    first = talk_rooms.read(token)
    talk_rooms.publish(token, DEFAULT, 4)
    room = talk_rooms.read(token)
    assert (room.talk, room.number, room.started) == (DEFAULT, 4, first.started)
    assert talk_rooms.read(other) is None


def test_rooms_are_bounded():
    tokens = [talk_rooms.new_token() for _ in range(talk_rooms.MAX_ROOMS + 5)]
    for token in tokens:
        talk_rooms.publish(token, DEFAULT, 1)
    assert talk_rooms.read(tokens[0]) is None
    assert talk_rooms.read(tokens[-1]) is not None
