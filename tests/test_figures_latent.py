"""dashboard.figures.latent: the shared map and the score breakdown (data in, Figure out)."""

from __future__ import annotations

import numpy as np
import plotly.io as pio
import pytest

import als_core as ac
from als_core import embed
from dashboard.figures import latent as figs


def _projection(n_users=40, n_items=30, k=4, seed=0):
    rng = np.random.default_rng(seed)
    X, Y = rng.normal(size=(n_users, k)), rng.normal(size=(n_items, k))
    return X, Y, embed.shared_projection(X, Y)


def _labels(n, prefix):
    return np.array([f"{prefix} {j}" for j in range(n)], dtype=object)


def _by_name(fig, name):
    return [t for t in fig.data if t.name == name]


def test_users_and_items_are_drawn_at_their_shared_projection():
    X, Y, proj = _projection()
    colour = np.linspace(1, 5, len(Y))
    fig = figs.latent_figure(
        proj,
        item_labels=_labels(len(Y), "item"),
        user_labels=_labels(len(X), "user"),
        item_colour=colour,
        item_colour_title="mean rating",
        user_activity=np.arange(len(X)),
        uirevision="fixed",
    )
    users, items = fig.data[0], fig.data[1]
    np.testing.assert_allclose(np.c_[users.x, users.y], proj.users)
    np.testing.assert_allclose(np.c_[items.x, items.y], proj.items)
    np.testing.assert_allclose(items.marker.color, colour)
    assert items.marker.coloraxis == "coloraxis" and users.marker.coloraxis == "coloraxis2"
    assert list(items.text) == list(_labels(len(Y), "item"))
    assert fig.layout.uirevision == "fixed"
    assert fig.layout.yaxis.scaleanchor == "x"  # one unit is one unit on both axes
    assert fig.layout.xaxis.title.text.startswith("PC1")


def test_categories_get_one_trace_each_covering_every_item():
    X, Y, proj = _projection()
    genres = np.array(["Drama", "Comedy", "Horror"], dtype=object)[np.arange(len(Y)) % 3]
    fig = figs.latent_figure(
        proj,
        item_labels=_labels(len(Y), "item"),
        user_labels=_labels(len(X), "user"),
        item_colour=genres,
        item_colour_title="genre",
        categorical=True,
        user_activity=np.ones(len(X)),
    )
    for genre in ("Drama", "Comedy", "Horror"):
        (trace,) = _by_name(fig, genre)
        expected = proj.items[genres == genre]
        np.testing.assert_allclose(np.c_[trace.x, trace.y], expected)


def test_chosen_item_neighbours_user_and_recommendations_are_highlighted():
    X, Y, proj = _projection()
    fig = figs.latent_figure(
        proj,
        item_labels=_labels(len(Y), "item"),
        user_labels=_labels(len(X), "user"),
        item_colour=np.zeros(len(Y)),
        item_colour_title="popularity",
        user_activity=np.ones(len(X)),
        chosen_item=3,
        neighbours=[5, 7],
        chosen_user=2,
        recommended=[1, 8, 9],
    )
    (star,) = _by_name(fig, "chosen item")
    np.testing.assert_allclose([star.x[0], star.y[0]], proj.items[3])
    assert star.text[0] == "item 3"
    (near,) = _by_name(fig, "nearest neighbours (cosine)")
    np.testing.assert_allclose(np.c_[near.x, near.y], proj.items[[5, 7]])
    (who,) = _by_name(fig, "chosen user")
    np.testing.assert_allclose([who.x[0], who.y[0]], proj.users[2])
    (recs,) = _by_name(fig, "recommended for the user")
    np.testing.assert_allclose(np.c_[recs.x, recs.y], proj.items[[1, 8, 9]])


def test_k1_puts_users_and_items_on_separate_rows():
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(6, 1)), rng.normal(size=(4, 1))
    proj = embed.shared_projection(X, Y)
    fig = figs.latent_figure(
        proj,
        item_labels=_labels(4, "item"),
        user_labels=_labels(6, "user"),
        item_colour=np.zeros(4),
        item_colour_title="x",
        user_activity=np.ones(6),
    )
    users, items = fig.data[0], fig.data[1]
    np.testing.assert_allclose(users.x, X[:, 0])
    assert set(users.y) == {0.0} and set(items.y) == {1.0}


def test_huge_maps_are_sampled_into_one_webgl_figure_and_keep_highlights():
    X, Y, proj = _projection(n_users=6040, n_items=9000, k=8)
    chosen = 8999
    fig = figs.latent_figure(
        proj,
        item_labels=_labels(len(Y), "item"),
        user_labels=_labels(len(X), "user"),
        item_colour=np.arange(len(Y), dtype=float),
        item_colour_title="popularity",
        user_activity=np.ones(len(X)),
        chosen_item=chosen,
        neighbours=[0, 1],
    )
    users, items = fig.data[0], fig.data[1]
    assert len(users.x) == figs.MAX_USERS_DRAWN and len(items.x) == figs.MAX_ITEMS_DRAWN
    # One trace type for the whole map: SVG highlights would hide under a WebGL cloud.
    assert {t.type for t in fig.data} == {"scattergl"}
    (star,) = _by_name(fig, "chosen item")
    np.testing.assert_allclose([star.x[0], star.y[0]], proj.items[chosen])
    assert len(pio.to_json(fig, validate=False)) < 5_000_000


@pytest.mark.parametrize("biases", [True, False])
def test_contributions_are_a_waterfall_from_mu_that_ends_on_each_score(biases):
    """Each recommendation's bars chain: the first starts at μ (0 without biases), each next one
    where the previous ended, and the last ends on the score the model ranks by."""
    rng = np.random.default_rng(2)
    u, i = np.nonzero(rng.random((20, 15)) < 0.4)
    r = ac.Ratings.from_codes(u, i, rng.integers(1, 6, len(u)).astype(float), shape=(20, 15))
    model = ac.ALS(k=3, lam=0.3, iterations=3, biases=biases, seed=0).fit(r)
    explained = ac.explain_recommendations(model, 4, n=5)
    labels = _labels(15, "item")
    fig = figs.contributions_figure(explained, item_labels=labels)
    bars = [t for t in fig.data if t.type == "bar"]
    expected_parts = ["user bias", "item bias"] if biases else []
    assert [b.name for b in bars] == expected_parts + ["factor 1", "factor 2", "factor 3"]
    segments: dict[str, list[tuple[float, float]]] = {}
    for bar in bars:
        for x, base, y in zip(bar.x, bar.base, bar.y, strict=True):
            segments.setdefault(y, []).append((base, base + x))
    recs = model.recommend(4, n=5)
    mu = model.global_mean_ if biases else 0.0
    for rank, item, score in zip(recs["rank"], recs["item"], recs["score"], strict=True):
        chain = segments[f"{rank}. {labels[item]}"]
        assert chain[0][0] == pytest.approx(mu, abs=1e-12)
        for (_, end), (start, _) in zip(chain, chain[1:], strict=False):
            assert start == pytest.approx(end, abs=1e-12)
        assert chain[-1][1] == pytest.approx(score, abs=1e-9)
        # Independent: μ + b_u + b_i + Σ x_uf y_if from the factors themselves.
        x, y = model.user_factors_[4], model.item_factors_[item]
        direct = mu + x @ y
        if biases:
            direct += model.user_bias_[4] + model.item_bias_[item]
        assert chain[-1][1] == pytest.approx(direct, abs=1e-9)
    (tick,) = [t for t in fig.data if t.type == "scatter"]
    np.testing.assert_allclose(tick.x, recs["score"])
    assert fig.layout.barmode == "group"  # one lane per part: no bar hides another
    (start_line,) = fig.layout.shapes
    assert start_line.x0 == pytest.approx(mu)


def test_the_chosen_item_and_user_carry_their_names_on_tags_at_their_points():
    X, Y, proj = _projection()
    items = _labels(len(Y), "item")
    items[5] = "<b>Heat</b> & Co (1995)"  # a title with tag-like text is shown as written
    fig = figs.latent_figure(
        proj,
        item_labels=items,
        user_labels=_labels(len(X), "user"),
        item_colour=np.ones(len(Y)),
        item_colour_title="mean rating",
        user_activity=np.arange(len(X)),
        chosen_item=5,
        chosen_user=3,
    )
    tags = {a.text: (a.x, a.y) for a in fig.layout.annotations if a.showarrow}
    assert tags["&lt;b&gt;Heat&lt;/b&gt; &amp; Co (1995)"] == pytest.approx(tuple(proj.items[5]))
    assert tags["user 3"] == pytest.approx(tuple(proj.users[3]))
    (star,) = _by_name(fig, "chosen item")
    # The hover shows the same name, escaped the same way (plotly reads tags in hovers too).
    assert list(star.text) == ["&lt;b&gt;Heat&lt;/b&gt; &amp; Co (1995)"]


def test_long_titles_are_cut_on_the_waterfall_rows_and_shown_whole_on_hover():
    rng = np.random.default_rng(3)
    u, i = np.nonzero(rng.random((20, 15)) < 0.4)
    r = ac.Ratings.from_codes(u, i, rng.integers(1, 6, len(u)).astype(float), shape=(20, 15))
    model = ac.ALS(k=2, lam=0.3, iterations=3, biases=True, seed=0).fit(r)
    explained = ac.explain_recommendations(model, 4, n=5)
    # A MovieLens latest-small title: 90 characters would take half the chart's width.
    long = (
        "Women on the Verge of a Nervous Breakdown "
        "(Mujeres al borde de un ataque de nervios) (1988)"
    )
    labels = np.array([f"{long} #{j}" for j in range(15)], dtype=object)
    fig = figs.contributions_figure(explained, item_labels=labels)
    recs = model.recommend(4, n=5)
    (tick,) = [t for t in fig.data if t.type == "scatter"]
    rows = list(tick.y)
    assert len(rows) == len(recs) and len(set(rows)) == len(rows)
    for row, rank in zip(rows, recs["rank"], strict=True):
        prefix = f"{rank}. "
        assert row.startswith(prefix) and row.endswith("…")
        assert len(row) - len(prefix) <= figs.WATERFALL_LABEL_CHARS
        assert long.startswith(row[len(prefix) : -1])
    assert list(tick.customdata) == [labels[i] for i in recs["item"]]
    for bar in (t for t in fig.data if t.type == "bar"):
        for (start, end, name), x, base, y in zip(
            bar.customdata, bar.x, bar.base, bar.y, strict=True
        ):
            assert (start, end) == pytest.approx((base, base + x))
            assert name == labels[recs["item"][rows.index(y)]]
