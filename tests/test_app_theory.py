"""The home page tells ALS with the session's data: it opens without a click, shows a real excerpt
of R with its gaps, the objectives, the update, and links to every page that shows an idea."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from streamlit.testing.v1 import AppTest

import als_core as ac

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def open_home(**params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def charts(at: AppTest) -> list[go.Figure]:
    """The page's plotly figures, decoded (arrays travel base64-encoded in the spec)."""
    return [pio.from_json(chart.proto.spec) for chart in at.get("plotly_chart")]


def decoded(value) -> np.ndarray:
    """A plotly array as sent to the browser: a list, or base64 ``bdata`` with dtype/shape."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        if isinstance(shape, str):
            shape = tuple(int(n) for n in shape.split(","))
        return flat.reshape(shape) if shape else flat
    return np.asarray(value, dtype=float)


def test_the_app_opens_on_the_theory_page_with_the_current_data():
    at = open_home()
    assert at.title[0].value == "How ALS works"
    ratings = ac.load_sample("movie_night")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Users"] == f"{ratings.n_users:,}"
    assert metrics["Cells missing"] == f"{1 - ratings.density:.1%}"
    assert not at.error


def test_the_objectives_and_the_update_are_written_out():
    at = open_home()
    latex = [element.value for element in at.latex]
    assert any(r"\lVert x_u\rVert^2 + \sum_i \lVert y_i\rVert^2" in t for t in latex)  # plain
    assert any(r"n_u\lVert x_u\rVert^2" in t for t in latex)  # weighted
    assert any(r"\mu - b_u - b_i" in t for t in latex)  # biases
    assert any(r"x_u = \Big(\sum_{i \in \text{rated}(u)} y_i y_i^\top" in t for t in latex)


def test_each_idea_links_to_the_page_that_shows_it():
    at = open_home()
    targets = {link.proto.page for link in at.page_link}
    assert {"data", "train", "reconstruction", "latent", "update", "replay", "add_yourself"} <= (
        targets
    )


def test_the_excerpt_of_R_shows_gaps_as_question_marks_not_zeros():
    """On the tiny sample the excerpt is the whole 5 × 6 table: 19 ratings and 11 gaps."""
    at = open_home(data="sample:tiny")
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
    z = decoded(heatmap.z)
    assert np.isnan(z[~observed]).all()
    np.testing.assert_array_equal(z[observed], dense[observed])
