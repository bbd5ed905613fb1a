"""The Reconstruction page in AppTest: it loads from app.py and its controls change the picture."""

from __future__ import annotations

import numpy as np
from streamlit.testing.v1 import AppTest

import als_core as ac
from als_core import embed
from tests.app_support import captions, chart_spec, figure_array

PAGE = "pages/reconstruction.py"
MOVIE_NIGHT = ac.load_sample("movie_night")
USER_NAMES = embed.user_labels(MOVIE_NIGHT)
ITEM_NAMES = embed.item_labels(MOVIE_NIGHT)
USER_INDEX = {name: u for u, name in enumerate(USER_NAMES)}
ITEM_INDEX = {name: i for i, name in enumerate(ITEM_NAMES)}


def panels(at: AppTest) -> list[dict]:
    return [t for t in chart_spec(at, "recon_chart")["data"] if t["type"] == "heatmap"]


def dense(ratings: ac.Ratings) -> np.ndarray:
    out = np.full(ratings.shape, np.nan)
    rows, cols, vals = ratings.coo()
    out[rows, cols] = vals
    return out


def test_opens_on_cells_with_gaps_for_missing_ratings(at):
    R, P, E = panels(at)
    users = [USER_INDEX[name] for name in R["y"]]
    items = [ITEM_INDEX[name] for name in R["x"]]
    assert len(users) == len(items) == 60
    assert set(users) == set(embed.most_active(MOVIE_NIGHT.user_counts(), 60))
    expected = dense(MOVIE_NIGHT)[np.ix_(users, items)]
    actual = figure_array(R["z"]).astype(float)
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))  # gaps, not zeros
    np.testing.assert_allclose(actual[~np.isnan(expected)], expected[~np.isnan(expected)])
    predicted = figure_array(P["z"]).astype(float)
    residual = figure_array(E["z"]).astype(float)
    assert np.all(np.isfinite(predicted))
    observed = ~np.isnan(expected)
    np.testing.assert_allclose(residual[observed], (expected - predicted)[observed], atol=1e-4)
    assert "every cell drawn" in captions(at) and "Grey" in captions(at)


def test_ordering_by_activity_puts_the_most_active_first(at):
    at.radio(key="recon_order").set_value("activity").run()
    assert not at.exception
    R = panels(at)[0]
    counts = MOVIE_NIGHT.user_counts()
    shown = [counts[USER_INDEX[name]] for name in R["y"]]
    assert shown == sorted(shown, reverse=True)
    item_counts = MOVIE_NIGHT.item_counts()
    shown_items = [item_counts[ITEM_INDEX[n]] for n in R["x"]]
    assert shown_items == sorted(shown_items, reverse=True)
    at.radio(key="recon_order").set_value("given").run()
    given = panels(at)[0]["y"]
    indices = [USER_INDEX[name] for name in given]
    assert indices == sorted(indices)


def test_subset_size_changes_the_grid_and_big_views_become_blocks(at):
    at.slider(key="recon_n_users").set_value(25).run()
    at.slider(key="recon_n_items").set_value(30).run()
    assert not at.exception
    R = panels(at)[0]
    assert (len(R["y"]), len(R["x"])) == (25, 30)
    assert "25 users × 30 items" in captions(at)
    at.slider(key="recon_n_users").set_value(MOVIE_NIGHT.n_users).run()
    assert not at.exception
    R = panels(at)[0]
    assert len(R["y"]) <= 200 and R["y"][0].startswith("users #1–2")
    assert "averaged in blocks of 2 users" in captions(at)


def test_a_chosen_user_joins_the_picture(at):
    outsider = next(
        name
        for u, name in enumerate(USER_NAMES)
        if u not in set(embed.most_active(MOVIE_NIGHT.user_counts(), 60))
    )
    at.multiselect(key="recon_users").select(outsider).run()
    assert not at.exception
    R = panels(at)[0]
    assert outsider in R["y"] and len(R["y"]) == 61
