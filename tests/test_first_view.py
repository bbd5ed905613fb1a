"""A session's first run stops the home page at its fold; the rerun the browser then asks for
(here: the next run) draws the whole page, and every page after that is drawn whole."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from dashboard import first_view, talks
from tests.app_support import chart_keys, chart_spec, open_app, rerun, sidebar_text

FIRST_RUN = {first_view.DONE_KEY: False}
#: The home page's charts after its fold, drawn by every run but a session's first.
BELOW_THE_FOLD = {"theory_factors_chart", "theory_filled_chart", "theory_gauge_chart"}


def subheaders(at: AppTest) -> list[str]:
    return [s.value for s in at.subheader]


def trigger_mounted(at: AppTest) -> bool:
    """Whether the run mounted the component that asks for the rerun once a chart is drawn."""
    return [e.key for e in at.get("bidi_component")] == ["shell_first_view_trigger"]


def skeletons(at: AppTest) -> int:
    return len(at.get("skeleton"))


def test_the_first_run_of_a_session_stops_the_home_page_at_its_fold():
    at = open_app(state=FIRST_RUN)
    assert chart_keys(at) == {"theory_excerpt_chart"}
    assert subheaders(at) == ["1 · R: a table that is mostly holes"]
    assert any("**not a zero**" in m.value for m in at.markdown)  # section 1's text is there
    assert trigger_mounted(at) and skeletons(at) == 1  # the rest's place, until it comes
    # The frame around the page is complete: the sidebar's dataset and model, the link.
    assert "Dataset" in sidebar_text(at) and "validation RMSE" in sidebar_text(at)
    assert at.query_params["page"] == "home"
    assert not at.exception and not at.error


def test_the_next_run_draws_the_whole_page_with_the_same_first_chart():
    at = open_app(state=FIRST_RUN)
    first = chart_spec(at, "theory_excerpt_chart")
    rerun(at)  # what the component's trigger asks for
    assert chart_keys(at) >= {"theory_excerpt_chart", *BELOW_THE_FOLD}
    assert chart_spec(at, "theory_excerpt_chart") == first
    assert "9 · Cold start: a user with no ratings" in subheaders(at)
    assert not trigger_mounted(at) and skeletons(at) == 0


def test_a_session_that_starts_on_another_page_gets_the_home_page_whole():
    at = open_app("pages/train.py", state=FIRST_RUN)
    assert "train_objective_chart" in chart_keys(at)  # that page is never folded
    at.switch_page("pages/theory.py")
    rerun(at)
    assert chart_keys(at) >= {"theory_excerpt_chart", *BELOW_THE_FOLD}


def test_a_talks_slide_shows_a_figure_from_below_the_fold_on_a_first_run():
    slide = talks.Slide(title="R ≈ X·Yᵀ", page="home", figure="theory_factors_chart")
    talk = talks.Talk(title="One slide", slides=(slide,))
    at = open_app("pages/talk.py", state={**FIRST_RUN, "talk_deck": talk})
    assert chart_keys(at) == {"theory_factors_chart"}
