"""dashboard.figures.reconstruction: R / XYᵀ / residual panels (data in, Figure out)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

import als_core as ac
from als_core import embed
from dashboard.figures.reconstruction import reconstruction_figure

MAX_FIGURE_BYTES = 5_000_000


def _small_case(biases=False):
    rng = np.random.default_rng(0)
    n_users, n_items = 25, 18
    mask = rng.random((n_users, n_items)) < 0.35
    mask[np.arange(n_users), rng.integers(0, n_items, n_users)] = True
    u, i = np.nonzero(mask)
    r = ac.Ratings.from_codes(u, i, rng.integers(1, 6, len(u)).astype(float))
    train, valid = ac.split(r, fraction=0.25, seed=0)
    model = ac.ALS(k=2, lam=0.5, iterations=3, biases=biases, seed=0).fit(train)
    return r, train, valid, model


def _heatmaps(fig: go.Figure) -> list[go.Heatmap]:
    return [t for t in fig.data if t.type == "heatmap"]


def _figure(r, grid):
    return reconstruction_figure(
        grid,
        user_labels=embed.user_labels(r),
        item_labels=embed.item_labels(r),
        rating_scale=r.rating_scale,
    )


def test_cell_figure_shows_missing_as_nan_predictions_everywhere_and_residual_on_observed():
    r, train, valid, model = _small_case()
    users, items = np.arange(r.n_users)[::-1], np.arange(r.n_items)
    grid = ac.reconstruction_grid(model, train, valid, users, items)
    fig = _figure(r, grid)
    R, P, E = _heatmaps(fig)
    observed = np.zeros(r.shape, dtype=bool)
    observed[r.coo()[0], r.coo()[1]] = True
    observed = observed[np.ix_(users, items)]
    dense = r.matrix.toarray()[np.ix_(users, items)]
    z = np.asarray(R.z, dtype=float)
    np.testing.assert_array_equal(np.isnan(z), ~observed)  # gaps, never zeros
    np.testing.assert_allclose(z[observed], dense[observed], atol=1e-6)
    pred = model.predict(users[:, None], items[None, :])
    np.testing.assert_allclose(np.asarray(P.z, dtype=float), pred, atol=1e-5)
    e = np.asarray(E.z, dtype=float)
    assert np.all(np.isnan(e[~observed]))
    np.testing.assert_allclose(e[observed], (dense - pred)[observed], atol=1e-5)
    # R and XYᵀ share one colour scale fixed to the rating range; the residual diverges at 0.
    assert R.coloraxis == P.coloraxis == "coloraxis" and E.coloraxis == "coloraxis2"
    assert (fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax) == r.rating_scale
    residual_axis = fig.layout.coloraxis2
    assert residual_axis.cmid == 0 and residual_axis.cmin == -residual_axis.cmax
    # Rows and columns are named after the users and items, in display order.
    assert list(R.y) == list(embed.user_labels(r)[users])
    assert list(R.x) == list(embed.item_labels(r)[items])
    for trace in (R, P, E):
        assert "actual" in trace.hovertemplate and "predicted" in trace.hovertemplate
    # The hover names a missing rating as missing (not "NaN"), and marks held-out ones.
    text = np.asarray(R.text, dtype=object)
    assert set(text[~observed]) == {"missing"}
    held = np.zeros(r.shape, dtype=bool)
    held[valid.coo()[0], valid.coo()[1]] = True
    held = held[np.ix_(users, items)]
    assert all(t.endswith("(validation)") for t in text[held])
    trained = observed & ~held
    assert [float(t) for t in text[trained]] == dense[trained].tolist()


def test_validation_cells_are_marked_on_r_and_the_residual():
    r, train, valid, model = _small_case()
    users, items = np.arange(r.n_users), np.arange(r.n_items)
    grid = ac.reconstruction_grid(model, train, valid, users, items)
    fig = _figure(r, grid)
    markers = [t for t in fig.data if t.type in ("scatter", "scattergl")]
    assert len(markers) == 2 and {m.xaxis for m in markers} == {"x", "x3"}
    vu, vi, _ = valid.coo()
    names_u, names_i = embed.user_labels(r), embed.item_labels(r)
    expected = {(names_i[i], names_u[u]) for u, i in zip(vu, vi, strict=True)}
    for m in markers:
        assert set(zip(m.x, m.y, strict=True)) == expected
        assert len(m.x) == valid.nnz


def test_no_validation_means_no_markers():
    r, train, _, model = _small_case()
    grid = ac.reconstruction_grid(model, train, None, np.arange(5), np.arange(6))
    fig = _figure(r, grid)
    assert [t.type for t in fig.data] == ["heatmap"] * 3


def test_block_figure_names_ranges_and_reports_counts_in_the_hover():
    r, train, valid, model = _small_case(biases=True)
    grid = ac.reconstruction_grid(
        model, train, valid, np.arange(r.n_users), np.arange(r.n_items), max_rows=5, max_cols=4
    )
    fig = _figure(r, grid)
    R = _heatmaps(fig)[0]
    assert len(R.y) == grid.shape[0] and R.y[0].startswith("users #1–5")
    assert "ratings in this block" in R.hovertemplate
    custom = np.asarray(R.customdata, dtype=float)
    np.testing.assert_array_equal(custom[..., 1], grid.n_observed)
    np.testing.assert_array_equal(custom[..., 2], grid.n_validation)
    assert not [t for t in fig.data if t.type != "heatmap"]  # no per-cell markers on blocks


@pytest.fixture(scope="module")
def movielens_1m_sized():
    """6,040 × 3,706 users × items and 1,000,000 ratings with random factors (no real fit)."""
    rng = np.random.default_rng(1)
    n_users, n_items, nnz = 6040, 3706, 1_000_000
    flat = rng.choice(n_users * n_items, nnz, replace=False)
    r = ac.Ratings.from_codes(
        flat // n_items,
        flat % n_items,
        rng.integers(1, 6, nnz).astype(float),
        shape=(n_users, n_items),
    )
    train, valid = ac.split(r, fraction=0.2, seed=0)
    model = ac.ALS(k=16, iterations=0, init_scale=0.5, seed=0).fit(train)  # random factors
    return r, train, valid, model


def test_payload_stays_bounded_on_movielens_1m_sized_data(movielens_1m_sized):
    r, train, valid, model = movielens_1m_sized
    user_names, item_names = embed.user_labels(r), embed.item_labels(r)
    views = {
        "everything": (np.arange(r.n_users), np.arange(r.n_items)),
        "top 200 × 200": (
            embed.most_active(r.user_counts(), 200),
            embed.most_active(r.item_counts(), 200),
        ),
    }
    for name, (users, items) in views.items():
        grid = ac.reconstruction_grid(model, train, valid, users, items)
        assert grid.shape[0] <= 200 and grid.shape[1] <= 200, name
        fig = reconstruction_figure(
            grid, user_labels=user_names, item_labels=item_names, rating_scale=r.rating_scale
        )
        size = len(pio.to_json(fig, validate=False))
        assert size < MAX_FIGURE_BYTES, f"{name}: {size / 1e6:.1f} MB of figure JSON"
    assert grid.is_cells


# ------------------------------------------------------------------ long names under the panels
LONG = "Dr. Strangelove or: How I Learned to Stop Worrying & Love the Bomb (1964)"


def _long_named_figure():
    """The small case with long item titles (two that share their first 30 characters, one
    with an ampersand) and one long user name."""
    r, train, valid, model = _small_case()
    items = [f"item {i}" for i in range(r.n_items)]
    items[0] = LONG
    items[1] = "Star Wars: Episode IV - A New Hope (1977)"
    items[2] = "Star Wars: Episode V - The Empire Strikes Back (1980)"
    users = [f"user {u}" for u in range(r.n_users)]
    users[3] = "A user whose name goes on and on and on"
    grid = ac.reconstruction_grid(model, train, valid, np.arange(r.n_users), np.arange(r.n_items))
    fig = reconstruction_figure(
        grid, user_labels=users, item_labels=items, rating_scale=r.rating_scale
    )
    return fig, grid, users, items


def _cut(name: str, limit: int) -> str:
    """The expected tick label, written out independently of the figure code."""
    if len(name) <= limit:
        return name
    return name[: limit - 1].rstrip() + "…"


def test_long_names_are_cut_on_the_ticks_and_whole_in_the_hover():
    from dashboard.figures.reconstruction import MAX_LABEL_CHARS
    from dashboard.text import plotly_escape

    fig, grid, users, items = _long_named_figure()
    R, P, E = _heatmaps(fig)
    # The categories are the full (escaped) names, so cells stay distinct.
    assert list(R.x) == [plotly_escape(n) for n in items]
    assert list(R.y) == [plotly_escape(n) for n in users]
    # Only the long names get a tick label of their own: at most MAX_LABEL_CHARS characters.
    expected_x = {plotly_escape(n): plotly_escape(_cut(n, MAX_LABEL_CHARS)) for n in items
                  if len(n) > MAX_LABEL_CHARS}  # fmt: skip
    assert len(expected_x) == 3
    for axis in ("xaxis", "xaxis2", "xaxis3"):
        assert fig.layout[axis].labelalias == expected_x
    assert fig.layout.yaxis.labelalias == {
        plotly_escape(users[3]): plotly_escape(_cut(users[3], MAX_LABEL_CHARS))
    }
    for short in expected_x.values():
        assert len(short.replace("&amp;", "&")) <= MAX_LABEL_CHARS and short.endswith("…")
    # An alias would also rename the hovered cell's axis label: each cell names itself in full.
    for trace in (R, P, E):
        assert trace.hovertemplate.startswith("%{text}<br>") and "%{x}" not in trace.hovertemplate
        text = np.asarray(trace.text, dtype=object)
        for u, i in [(0, 0), (3, 2), (5, 1)]:
            assert text[u, i].startswith(f"{plotly_escape(users[u])}<br>{plotly_escape(items[i])}")
    rated = np.argwhere(grid.n_observed > 0)[0]
    assert np.asarray(R.text, dtype=object)[tuple(rated)].endswith(
        f"actual: {grid.actual[tuple(rated)]:g}"
    )


def test_short_names_keep_plain_ticks_and_hover():
    r, train, valid, model = _small_case()
    grid = ac.reconstruction_grid(model, train, valid, np.arange(r.n_users), np.arange(r.n_items))
    fig = _figure(r, grid)
    assert fig.layout.xaxis.labelalias is None and fig.layout.yaxis.labelalias is None
    assert fig.data[0].hovertemplate.startswith("%{y}<br>%{x}<br>")


def test_nothing_but_the_axis_title_hangs_below_the_panels():
    """The rotated item names grow the bottom margin (automargin); the colour bars stand right
    of the panels, one above the other, and the legend sits above them: nothing else is placed
    below the plots, whatever the names' length or the figure's height."""
    fig, *_ = _long_named_figure()
    right_edge = max(fig.layout[a].domain[1] for a in ("xaxis", "xaxis2", "xaxis3"))
    bars = [fig.layout.coloraxis.colorbar, fig.layout.coloraxis2.colorbar]
    spans = []
    for bar in bars:
        assert (
            bar.orientation == "v" and bar.xref in (None, "paper") and bar.yref in (None, "paper")
        )
        assert bar.x >= right_edge and bar.xanchor == "left"
        low = bar.y - bar.len if bar.yanchor == "top" else bar.y
        spans.append((low, low + bar.len))
        assert low >= 0 and low + bar.len <= 1  # within the panels' height
    (low1, high1), (low2, high2) = sorted(spans)
    assert high1 <= low2  # one above the other, not overlapping
    legend = fig.layout.legend
    assert legend.yref == "container" and legend.y == 1 and legend.yanchor == "top"
    for axis in ("xaxis", "xaxis2", "xaxis3"):
        assert fig.layout[axis].automargin is True
