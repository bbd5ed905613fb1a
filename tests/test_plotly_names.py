"""Names from outside the app reach plotly figures as text, never as markup or templates.

Plotly reads ``<a href>``, ``<b>``, ``<br>``, ``<span style>`` and entities in every text it
draws and fills ``%{…}`` in templates. Each figure that shows users', items' or categories' names
is built with hostile names; every string of its JSON (traces, axes, titles, legends, hovers,
annotations) is then checked: no hostile name is left raw, and the escaped name is there.
"""

from __future__ import annotations

import html
import json
import re

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from hypothesis import given
from hypothesis import strategies as st

import als_core as ac
from als_core import embed
from dashboard import deck, talks
from dashboard import experiment_work as work
from dashboard.figures import data as data_figs
from dashboard.figures import experiments as experiment_figs
from dashboard.figures import latent as latent_figs
from dashboard.figures import teaching as figs
from dashboard.figures.reconstruction import reconstruction_figure
from dashboard.text import plotly_escape
from tests.test_figures_reconstruction import _small_case as small_case

HOSTILE = [
    '<a href="javascript:alert(1)">x</a>',
    "Tom & Jerry <3",
    "50%{y} off <b>bold</b>",
    "$9.99 <br>(2008)",
    '<span style="font-size:90px">big</span>',
]
#: Pieces that must never appear raw in a figure built with HOSTILE names.
RAW = ["<a ", "</a>", "<b>bold", "Tom & ", "Jerry <3", "%{y} off", "$9.99", "<br>(2008)", "<span"]


def shown_by_plotly(text: str) -> str:
    """What plotly shows for a text without tags: its entities decoded (plotly's own rule:
    numeric entities and a few named ones, amp, lt and gt among them)."""
    named = {"amp": "&", "lt": "<", "gt": ">", "nbsp": "\xa0"}

    def decode(m: re.Match) -> str:
        body = m.group(1)
        if body.startswith("#x"):
            return chr(int(body[2:], 16))
        if body.startswith("#"):
            return chr(int(body[1:]))
        return named.get(body, m.group(0))

    return re.sub(r"&(#\d+|#x[\da-fA-F]+|[a-z]+);", decode, text)


# ----------------------------------------------------------------------------- the helper
@given(st.text())
def test_plotly_shows_the_escaped_text_as_written(value):
    escaped = plotly_escape(value)
    assert shown_by_plotly(escaped) == value
    # Nothing left that plotly reads as a tag, a template or LaTeX.
    assert "<" not in escaped and ">" not in escaped
    assert "%" not in escaped and "$" not in escaped


def test_hostile_names_become_entities():
    assert plotly_escape('<a href="x">y</a>') == '&lt;a href="x"&gt;y&lt;/a&gt;'
    assert plotly_escape("Tom & Jerry <3") == "Tom &amp; Jerry &lt;3"
    assert plotly_escape("100%{y}") == "100&#37;{y}"
    assert plotly_escape(12) == "12"
    assert plotly_escape("Amélie") == "Amélie"  # plain names are unchanged


# ----------------------------------------------------------------------------- the figures
def strings(fig) -> list[str]:
    """Every string in the figure's JSON (plotly's own, as sent to the browser)."""
    out: list[str] = []

    def walk(node):
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(json.loads(fig.to_json()))
    return out


def assert_names_escaped(fig, names=HOSTILE):
    texts = strings(fig)
    for text in texts:
        for raw in RAW:
            assert raw not in text, f"{raw!r} left raw in {text!r}"
    joined = "\n".join(texts)
    for name in names:
        assert plotly_escape(name) in joined, f"{name!r} is not shown"


def hostile(n: int) -> np.ndarray:
    return np.array([f"{HOSTILE[j % len(HOSTILE)]} #{j}" for j in range(n)], dtype=object)


@pytest.fixture(scope="module")
def fitted():
    """(ratings, train, validation, model with biases): the reconstruction tests' small case."""
    return small_case(biases=True)


@pytest.mark.parametrize("categorical", [False, True])
def test_latent_map_and_breakdown(fitted, categorical):
    r, train, _, model = fitted
    proj = embed.shared_projection(model.user_factors_, model.item_factors_)
    genres = np.array(HOSTILE, dtype=object)[np.arange(r.n_items) % len(HOSTILE)]
    fig = latent_figs.latent_figure(
        proj,
        item_labels=hostile(r.n_items),
        user_labels=hostile(r.n_users),
        item_colour=genres if categorical else np.arange(r.n_items, dtype=float),
        item_colour_title="genre" if categorical else "mean rating",
        categorical=categorical,
        user_activity=train.user_counts(),
        chosen_item=0,
        neighbours=[1, 2],
        chosen_user=1,
        recommended=[3, 4],
    )
    assert_names_escaped(fig)
    tags = [a.text for a in fig.layout.annotations]
    assert plotly_escape(hostile(r.n_items)[0]) in tags  # the chosen item's name tag
    if categorical:
        assert {plotly_escape(g) for g in HOSTILE} <= {t.name for t in fig.data}
    explained = ac.explain_recommendations(model, 0, n=3)
    assert_names_escaped(
        latent_figs.contributions_figure(explained, item_labels=hostile(r.n_items)),
        names=[hostile(r.n_items)[i] for i in explained["item"].unique()],
    )


def test_teaching_maps_scores_and_highlights(fitted):
    r, _, _, model = fitted
    users, items = model.user_factors_, model.item_factors_
    groups = np.array(HOSTILE, dtype=object)[np.arange(r.n_items) % len(HOSTILE)]
    names = {"user_labels": hostile(r.n_users), "item_labels": hostile(r.n_items)}
    fig = figs.map_figure(users, items, item_groups=groups, **names)
    figs.highlight_points(fig, items[:3], hostile(3), name="your top 3", colour="#000")
    assert_names_escaped(fig)
    assert_names_escaped(figs.scores_figure(HOSTILE, np.arange(5.0), title="top"))


def test_theory_and_update_figures():
    values = np.where(np.eye(5, 4) > 0, 4.0, np.nan)
    kwargs = {"user_labels": HOSTILE, "item_labels": HOSTILE[:4], "rating_scale": (1, 5)}
    assert_names_escaped(figs.excerpt_figure(values, title="R", **kwargs))
    assert_names_escaped(
        figs.excerpt_figure(values, title="R", predicted=np.full((5, 4), 3.0), **kwargs)
    )
    X, Y = np.ones((5, 2)), np.ones((4, 2))
    assert_names_escaped(figs.factorization_figure(values, X, Y, title="XY", **kwargs))
    n = len(HOSTILE)
    predictions = figs.predictions_figure(
        HOSTILE,
        np.full(n, 4.0),
        np.full(n, 3.0),
        np.full(n, 3.5),
        held_out=np.arange(n) % 2 == 0,
        title="before and after",
    )
    assert_names_escaped(predictions)


def test_reconstruction_cells_and_blocks(fitted):
    r, train, valid, model = fitted
    users, items = np.arange(r.n_users), np.arange(r.n_items)
    kwargs = {
        "user_labels": hostile(r.n_users),
        "item_labels": hostile(r.n_items),
        "rating_scale": r.rating_scale,
    }
    cells = ac.reconstruction_grid(model, train, valid, users, items)
    assert_names_escaped(reconstruction_figure(cells, **kwargs), names=list(hostile(r.n_users)))
    blocks = ac.reconstruction_grid(model, train, valid, users, items, max_rows=4, max_cols=4)
    fig = reconstruction_figure(blocks, **kwargs)
    assert_names_escaped(fig, names=[])
    assert any(plotly_escape(hostile(r.n_users)[0]) in s for s in strings(fig))


def test_data_pattern_names_the_ids_of_a_small_table():
    r = ac.Ratings.from_frame(
        pd.DataFrame({"user": HOSTILE, "item": HOSTILE[::-1], "rating": [1.0, 2, 3, 4, 5]})
    )
    fig = data_figs.sparsity_figure(r.matrix, user_labels=r.user_ids, item_labels=r.item_ids)
    assert_names_escaped(fig)


def test_implicit_explanation(fitted):
    _, train, _, _ = fitted
    model = ac.ImplicitALS(k=2, lam=1.0, alpha=5.0, iterations=3).fit(train)
    labels = hostile(train.n_items)
    item = int(model.recommend(0, n=1)["item"][0])
    frame = work.explanation(model, 0, item, labels, n=4)
    fig = experiment_figs.explanation_figure(frame, item_label=labels[item])
    assert_names_escaped(fig, names=[labels[item], *frame["label"]])


def test_a_plain_name_is_drawn_unchanged():
    """Escaping changes only what plotly would misread: ordinary titles stay as they are."""
    fig = figs.scores_figure(["Amélie (2001)", "Heat"], np.array([4.0, 3.0]), title="top")
    assert list(fig.data[0].y) == ["Amélie (2001)", "Heat"]
    assert html.unescape(plotly_escape("Tom & Jerry")) == "Tom & Jerry"


def test_the_offline_deck_carries_the_escaped_names():
    """The deck embeds the figures as drawn: names stay escaped in its JSON, for plotly.js."""
    talk = talks.Talk(
        title="Names", slides=(talks.Slide(title="Top", page="latent", figure="latent_map"),)
    )
    page = deck.deck_html(talk, [figs.scores_figure(HOSTILE, np.arange(5.0), title="top")])
    data = re.search(r'<script type="application/json" id="figures">(.*?)</script>', page, re.S)
    (figure,) = json.loads(data.group(1))
    assert_names_escaped(go.Figure(figure))
