"""Add yourself: a few star ratings, one half-step against the trained item factors, and the
page shows where you land, your top items and the users most like you."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import als_core as ac
from als_core import embed
from dashboard import fold_in
from dashboard.settings import DEFAULT_SETTINGS, FitResult, fit_model
from tests.app_support import chart, figure_array, open_app


@pytest.fixture(scope="module")
def fitted() -> FitResult:
    return fit_model(ac.load_sample("movie_night"), dict(DEFAULT_SETTINGS))


def test_fold_in_is_one_ridge_solve_and_scores_everything(fitted):
    """Independent check: dense least squares on [y_i, 1] with targets r − μ − b_i."""
    model = fitted.model
    items = np.array([3, 10, 42, 77])
    ratings = np.array([5.0, 4.5, 1.0, 2.0])
    placed = fold_in.fold_in_user(model, items, ratings, n_top=6, n_users=4)
    D = np.hstack([model.item_factors_[items], np.ones((len(items), 1))])
    t = ratings - model.global_mean_ - model.item_bias_[items]
    w = np.linalg.solve(D.T @ D + model.lam * np.eye(D.shape[1]), D.T @ t)
    np.testing.assert_allclose(placed.factors, w[:-1], atol=1e-10)
    assert placed.bias == pytest.approx(w[-1], abs=1e-10)
    expected = model.global_mean_ + w[-1] + model.item_bias_ + model.item_factors_ @ w[:-1]
    np.testing.assert_allclose(placed.scores, expected, atol=1e-10)
    # Top items: the best scores among the items not rated, best first.
    assert not set(placed.top) & set(items)
    unrated = np.setdiff1d(np.arange(len(expected)), items)
    best = unrated[np.argsort(-expected[unrated], kind="stable")][:6]
    np.testing.assert_array_equal(np.sort(placed.top), np.sort(best))
    assert np.all(np.diff(placed.scores[placed.top]) <= 0)
    # Nearest users: the highest cosine similarity between factor vectors.
    X = model.user_factors_
    norms = np.linalg.norm(X, axis=1)  # users without training ratings have zero factors
    cosine = np.zeros(len(X))
    nonzero = norms > 0
    cosine[nonzero] = X[nonzero] @ w[:-1] / (norms[nonzero] * np.linalg.norm(w[:-1]))
    np.testing.assert_array_equal(placed.neighbours, np.argsort(-cosine, kind="stable")[:4])
    np.testing.assert_allclose(placed.similarity, cosine[placed.neighbours], atol=1e-12)


def test_stars_map_onto_the_rating_scale():
    assert fold_in.stars_to_rating(1, (0.5, 5.0)) == 0.5
    assert fold_in.stars_to_rating(5, (0.5, 5.0)) == 5.0
    assert fold_in.stars_to_rating(3, (1.0, 5.0)) == 3.0


def open_page() -> AppTest:
    return open_app(params={"page": "add_yourself"})


def test_without_ratings_the_page_asks_for_some_and_shows_the_map():
    at = open_page()
    assert at.title[0].value == "Add yourself"
    assert "Rate at least one item" in at.info[0].value
    assert len(at.feedback) == 12  # the 12 most rated items by default
    assert {e.key for e in at.get("plotly_chart")} == {"you_map_chart", "you_cold_chart"}


def test_a_newcomer_without_ratings_is_shown_mu_plus_item_bias(fitted):
    """Cold start: x = 0 and b = 0, so the scores are μ + b_i (recomputed from the model's own
    biases); the page says one rating is enough."""
    at = open_page()
    model = fitted.model
    cold = chart(at, "you_cold_chart").data[0]
    order = np.lexsort((-model.item_counts_, -(model.global_mean_ + model.item_bias_)))[:10]
    names = embed.item_labels(ac.load_sample("movie_night"))
    assert list(cold.y) == list(names[order])
    np.testing.assert_allclose(
        figure_array(cold.x), model.global_mean_ + model.item_bias_[order], atol=1e-12
    )
    said = "\n".join(m.value for m in at.markdown)
    assert "μ + b_i" in said and "One rating is enough" in said


def test_rating_items_places_you_with_top_items_and_neighbours(fitted):
    at = open_page()
    at.feedback[0].set_value(4).run()  # 5 stars
    at.feedback[1].set_value(0).run()  # 1 star
    assert not at.exception
    assert not at.info
    tables = at.dataframe
    neighbours = tables[0].value
    assert list(neighbours.columns) == ["user", "cosine similarity", "ratings"]
    assert len(neighbours) == 5
    assert np.all(np.diff(neighbours["cosine similarity"].to_numpy()) <= 1e-12)
    fitted_table = tables[1].value
    assert list(fitted_table["stars"]) == [5, 1]
    low, high = ac.load_sample("movie_night").rating_scale
    np.testing.assert_allclose(fitted_table["as a rating"], [high, low])
    assert len(at.get("plotly_chart")) == 2  # the map with you, and your top items


def test_example_and_clear_buttons():
    at = open_page()
    at.button(key="you_example").click().run()
    rated = [f.value for f in at.feedback if f.value is not None]
    assert len(rated) == 12 and set(rated) <= {0, 4}
    assert len(at.dataframe) == 2
    at.button(key="you_clear").click().run()
    assert all(f.value is None for f in at.feedback)
    assert "Rate at least one item" in at.info[0].value
