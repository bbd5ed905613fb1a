"""The Talk page in AppTest: the default talk walked slide by slide (each slide draws exactly its
one figure), the link naming the slide, a view added from a page and then reordered, retitled
and deleted, and a talk saved as JSON and loaded back (a bad file changes nothing)."""

from __future__ import annotations

import json
import re

from streamlit.testing.v1 import AppTest

from dashboard import talks
from tests.app_support import chart_keys, open_app, rerun, shown

PAGE = "pages/talk.py"
DEFAULT = talks.default_talk()


def shown_talk(at: AppTest) -> talks.Talk:
    return at.session_state["talk_deck"]


def counter(at: AppTest) -> str:
    (text,) = [m.value for m in at.markdown if re.fullmatch(r"\*\*\d+ / \d+\*\*", m.value)]
    return text.strip("*")


def slide_title(at: AppTest) -> str:
    """The slide's title as shown (Markdown, its special characters escaped: shown as typed)."""
    shown = next(m.value[3:] for m in at.markdown if m.value.startswith("## "))
    return re.sub(r"\\(.)", r"\1", shown)


def press(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click()
    return rerun(at, errors_ok=False)


def test_the_default_talk_walks_its_twelve_slides_each_with_its_one_figure(at):
    assert 10 <= len(DEFAULT) <= 14
    assert at.session_state["presenter_on"] is True  # a talk is given in presenter mode
    for number, slide in enumerate(DEFAULT.slides, start=1):
        assert counter(at) == f"{number} / {len(DEFAULT)}"
        assert slide_title(at) == slide.title
        # Only the slide's figure is drawn (the rest of its page runs off the slide).
        assert chart_keys(at) == {slide.figure}, (number, slide.page)
        assert at.query_params["slide"] == str(number)
        assert not at.error and not at.exception
        if number < len(DEFAULT):
            press(at, "talk_next")
    assert at.button(key="talk_next").disabled
    press(at, "talk_key_home")
    assert counter(at) == f"1 / {len(DEFAULT)}"
    press(at, "talk_key_end")
    assert counter(at) == f"{len(DEFAULT)} / {len(DEFAULT)}"
    press(at, "talk_back")
    assert counter(at) == f"{len(DEFAULT) - 1} / {len(DEFAULT)}"


def test_the_link_names_the_slide():
    at = open_app(params={"page": "talk", "slide": "6"})
    assert counter(at) == f"6 / {len(DEFAULT)}"
    assert chart_keys(at) == {DEFAULT.slides[5].figure}
    at = open_app(params={"page": "talk", "slide": "99"})  # past the end: the last slide
    assert counter(at) == f"{len(DEFAULT)} / {len(DEFAULT)}"


def test_a_shared_link_carries_its_talk_and_a_damaged_one_falls_back_to_the_default():
    mine = DEFAULT.moved(10, 0).deleted(5)
    at = open_app(params={"page": "talk", "slide": "1", "talk": talks.talk_code(mine)})
    assert shown_talk(at) == mine
    assert chart_keys(at) == {DEFAULT.slides[10].figure}  # "Missing is not zero" comes first
    assert counter(at) == f"1 / {len(mine)}"
    at = open_app(params={"page": "talk", "talk": "not-a-talk"})
    assert shown_talk(at) == DEFAULT
    assert any("talk could not be opened" in w.value for w in at.warning)


def test_a_change_made_on_a_slide_stays_with_that_slide():
    at = open_app(params={"page": "talk", "slide": "5"})  # the replay, from the random start
    assert shown_talk(at).slides[4].params["frame"] == "0"
    at.select_slider(key="replay_frame").set_value(6)
    rerun(at)
    press(at, "talk_next")
    press(at, "talk_back")
    assert at.session_state["replay_frame"] == 6  # back on the slide, as it was left
    assert shown_talk(at).slides[4].params["frame"] == "6"
    # ...and in the link, which now carries the changed talk.
    code = at.query_params["talk"]
    assert talks.read_talk_code(code).slides[4].params["frame"] == "6"


def test_a_view_is_added_then_moved_retitled_and_deleted():
    at = open_app("pages/latent.py")
    item = at.selectbox(key="latent_item").options[3]
    at.selectbox(key="latent_item").set_value(item)
    rerun(at)
    at.button(key="talk_add_view").click()
    rerun(at)
    talk = shown_talk(at)
    assert len(talk) == len(DEFAULT) + 1
    added = talk.slides[-1]
    assert (added.page, added.figure) == ("latent", "latent_map")
    assert added.params["item"] == item and added.params["data"] == "sample:movie_night"

    at.switch_page(PAGE)
    rerun(at)
    press(at, "talk_key_end")
    n = len(DEFAULT) + 1
    assert counter(at) == f"{n} / {n}"
    assert at.session_state["latent_item"] == item  # the slide's view, as it was added
    press(at, "talk_move_up")
    assert counter(at) == f"{n - 1} / {n}"
    assert shown_talk(at).slides[n - 2] == added
    assert shown_talk(at).slides[n - 1] == DEFAULT.slides[-1]

    at.text_input(key="talk_w_title").set_value("My favourite corner")
    rerun(at)
    assert shown_talk(at).slides[n - 2].title == "My favourite corner"
    assert slide_title(at) == "My favourite corner"
    at.text_area(key="talk_w_note").set_value("Point at the star.")
    rerun(at)
    assert shown_talk(at).slides[n - 2].note == "Point at the star."

    press(at, "talk_delete")
    assert [s.title for s in shown_talk(at).slides] == [s.title for s in DEFAULT.slides]
    assert counter(at) == f"{n - 1} / {n - 1}"


def test_a_talk_saved_as_json_loads_back_and_a_bad_file_changes_nothing():
    at = open_app(params={"page": "talk", "slide": "2"})
    press(at, "talk_move_up")
    at.text_input(key="talk_w_title").set_value("What ALS minimises")
    rerun(at)
    saved = talks.talk_json(shown_talk(at))
    assert json.loads(saved)["format"] == talks.FORMAT

    fresh = open_app(params={"page": "talk"})
    for bad, why in (
        (b"{not json", "not valid JSON"),
        (b'{"slides": []}', "not a talk saved by ALS Explorer"),
        (saved.replace('"page": "train"', '"page": "nowhere"').encode(), "'nowhere'"),
    ):
        fresh.file_uploader(key="talk_w_upload").set_value(("talk.json", bad, "application/json"))
        rerun(fresh)
        assert any(why in shown(w.value) and "unchanged" in w.value for w in fresh.warning), why
        assert shown_talk(fresh) == DEFAULT  # nothing lost
    fresh.file_uploader(key="talk_w_upload").set_value(
        ("my-talk.json", saved.encode(), "application/json")
    )
    rerun(fresh, errors_ok=False)
    assert shown_talk(fresh) == shown_talk(at)
    assert slide_title(fresh) == "What ALS minimises"
    assert any("Loaded" in s.value for s in fresh.success)


def test_an_empty_talk_says_how_to_add_slides():
    at = open_app(params={"page": "talk"})
    press(at, "talk_empty")
    assert len(shown_talk(at)) == 0
    assert any("Add this view to the talk" in i.value for i in at.info)
    assert not chart_keys(at)
    press(at, "talk_default")
    assert shown_talk(at) == DEFAULT
