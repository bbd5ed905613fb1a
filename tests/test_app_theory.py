"""The home page tells ALS with the session's data: it opens without a click, shows a real excerpt
of R with its gaps, the objectives, the update, and links to every page that shows an idea."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from streamlit.testing.v1 import AppTest

import als_core as ac
from tests.app_support import figure_array, open_app


def charts(at: AppTest) -> list[go.Figure]:
    """The page's plotly figures, decoded (arrays travel base64-encoded in the spec)."""
    return [pio.from_json(chart.proto.spec) for chart in at.get("plotly_chart")]


def test_the_app_opens_on_the_theory_page_with_the_current_data():
    at = open_app()
    assert at.title[0].value == "How ALS works"
    ratings = ac.load_sample("movie_night")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Users"] == f"{ratings.n_users:,}"
    assert metrics["Cells missing"] == f"{1 - ratings.density:.1%}"
    assert not at.error


def test_the_objectives_and_the_update_are_written_out():
    at = open_app()
    latex = [element.value for element in at.latex]
    assert any(r"\lVert x_u\rVert^2 + \sum_i \lVert y_i\rVert^2" in t for t in latex)  # plain
    assert any(r"n_u\lVert x_u\rVert^2" in t for t in latex)  # weighted
    assert any(r"\mu - b_u - b_i" in t for t in latex)  # biases
    assert any(r"x_u = \Big(\sum_{i \in \text{rated}(u)} y_i y_i^\top" in t for t in latex)


def test_each_idea_links_to_the_page_that_shows_it():
    at = open_app()
    targets = {link.proto.page for link in at.page_link}
    assert {"data", "train", "reconstruction", "latent", "update", "replay", "add_yourself"} <= (
        targets
    )


def test_the_excerpt_of_R_shows_gaps_as_question_marks_not_zeros():
    """On the tiny sample the excerpt is the whole 5 × 6 table: 19 ratings and 11 gaps."""
    at = open_app(params=dict(data="sample:tiny"))
    tiny = ac.load_sample("tiny")
    dense = tiny.matrix.toarray()
    observed = np.zeros(dense.shape, dtype=bool)
    observed[tiny.matrix.nonzero()] = True
    excerpt = next(fig for fig in charts(at) if fig.layout.title.text.startswith("R: the"))
    heatmap = excerpt.data[0]
    text = np.array(heatmap.text, dtype=object)
    assert text.shape == dense.shape
    assert int(np.sum(text == "?")) == int((~observed).sum()) == 11
    # The gaps are NaN (drawn as gaps), never zeros; the ratings are the real values.
    z = figure_array(heatmap.z)
    assert np.isnan(z[~observed]).all()
    np.testing.assert_array_equal(z[observed], dense[observed])
