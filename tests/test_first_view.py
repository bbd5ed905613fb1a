"""A session's first run stops the home page at its fold; the rerun the browser then asks for
(here: the next run) draws the whole page, and every page after that is drawn whole."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

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


def warm_script():
    import streamlit as st

    from dashboard import first_view

    first_view.warm_up()
    if st.session_state.get("then_end"):
        first_view.end()


def test_a_first_run_starts_with_a_hidden_empty_chart_that_its_end_removes():
    at = AppTest.from_function(warm_script).run()
    (chart,) = at.sidebar.get("plotly_chart")
    assert chart.key == first_view.WARM_KEY
    assert json.loads(chart.proto.spec)["data"][0]["x"] == []  # nothing to draw
    (style,) = at.get("html")
    assert f".st-key-{first_view.WARM_KEY} {{display: none}}" in style.proto.body
    at.session_state["then_end"] = True
    at.run()  # still a first run (DONE_KEY unset): drawn again, then removed by end()
    assert not list(at.get("plotly_chart"))
    at.run()  # a later run draws no warm-up chart at all
    assert not list(at.get("plotly_chart"))


def test_the_warm_up_comes_before_numpy_scipy_and_pandas_are_imported():
    # In a fresh interpreter: the module app.py imports first loads none of the data stack ...
    code = (
        "import sys, streamlit, dashboard.first_view, dashboard.presenter; "
        "print(sorted({'numpy', 'scipy', 'pandas'} & set(sys.modules)))"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
    # ... and app.py calls warm_up() and sends its menu (until a run calls st.navigation, the
    # browser lists the pages/ folder's file names) before it imports the library and the rest.
    body = ast.parse((root / "app.py").read_text()).body
    (warm,) = [i for i, node in enumerate(body) if "first_view.warm_up()" in ast.unparse(node)]
    assert "= start_navigation()" in ast.unparse(body[warm])
    imported_before = {
        name
        for node in body[:warm]
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for name in (
            [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else [f"{node.module}.{a.name}" for a in node.names]
        )
    }
    assert imported_before == {
        "__future__.annotations",
        "logging",
        "streamlit",
        "dashboard.first_view",
        "dashboard.presenter",
    }
    assert any(
        isinstance(node, ast.Import) and node.names[0].name == "als_core" for node in body[warm:]
    )
