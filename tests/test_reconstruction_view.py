"""Which users and items a reconstruction shows (dashboard.reconstruction_view), held to
direct computations: top-n by counting, orders by sorting, RMSE cell by cell (tolerance 1e-6:
the grid keeps its residuals in float32, about 7 significant digits on errors below 5)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import als_core as ac
from als_core import embed
from dashboard import reconstruction_view as rv
from dashboard.settings import DEFAULT_SETTINGS, fit_model

TOL = 1e-6


@pytest.fixture(scope="module")
def ratings() -> ac.Ratings:
    return ac.load_sample("movie_night")


@pytest.fixture(scope="module")
def fit(ratings):
    return fit_model(ratings, {**DEFAULT_SETTINGS, "iterations": 4})


def top_by_count(counts, n):
    """The n largest counts, ties to the lower index, by sorting Python tuples."""
    return sorted(sorted(range(len(counts)), key=lambda j: (-counts[j], j))[:n])


def test_the_most_active_plus_the_picked_ones_in_activity_order(ratings, fit):
    user_counts, item_counts = ratings.user_counts(), ratings.item_counts()
    users, items = rv.shown_rows_and_columns(
        ratings, fit.model, n_users=7, n_items=5, order="activity", extra_users=[299, 3]
    )
    assert sorted(users) == sorted(set(top_by_count(user_counts, 7)) | {299, 3})
    assert sorted(items) == top_by_count(item_counts, 5)
    # Most ratings first; ties keep index order.
    assert list(users) == sorted(users, key=lambda u: (-user_counts[u], u))
    assert list(items) == sorted(items, key=lambda i: (-item_counts[i], i))
    assert users.dtype == np.int64 == items.dtype


def test_given_order_is_index_order_and_leading_factor_follows_the_pattern(ratings, fit):
    users, items = rv.shown_rows_and_columns(
        ratings, fit.model, n_users=6, n_items=6, order="given"
    )
    assert list(users) == top_by_count(ratings.user_counts(), 6)
    lead_users, lead_items = rv.shown_rows_and_columns(
        ratings, fit.model, n_users=6, n_items=6, order="leading factor"
    )
    u_score, i_score, _ = embed.leading_pattern(fit.model.user_factors_, fit.model.item_factors_)
    assert sorted(lead_users) == list(users)
    assert list(u_score[lead_users]) == sorted(u_score[lead_users], reverse=True)
    assert list(i_score[lead_items]) == sorted(i_score[lead_items], reverse=True)


def test_the_grid_holds_the_chosen_cells_and_its_rmse_is_cell_by_cell(ratings, fit):
    grid = rv.reconstruction(fit, ratings, n_users=20, n_items=15, order="given")
    assert grid.is_cells and grid.shape == (20, 15)
    lo, hi = ratings.rating_scale
    train = fit.train.matrix.toarray()
    valid = fit.validation.matrix.toarray()
    squares = {"training": [], "validation": []}
    for u in grid.users:
        for i in grid.items:
            predicted = min(max(float(fit.model.predict([u], [i])[0]), lo), hi)
            if valid[u, i]:
                squares["validation"].append((valid[u, i] - predicted) ** 2)
            elif train[u, i]:
                squares["training"].append((train[u, i] - predicted) ** 2)
    expected = {name: math.sqrt(sum(s) / len(s)) for name, s in squares.items() if s}
    shown = dict(rv.shown_rmse(grid))
    assert shown.keys() == expected.keys() == {"training", "validation"}
    for name in expected:
        assert abs(shown[name] - expected[name]) <= TOL


def test_a_block_grid_has_no_cell_rmse(ratings, fit):
    grid = rv.reconstruction(fit, ratings, n_users=300, n_items=120, order="given")
    assert not grid.is_cells  # above CELL_LIMIT users: runs averaged into blocks
    assert grid.shape[0] <= rv.CELL_LIMIT
    assert rv.shown_rmse(grid) == []
