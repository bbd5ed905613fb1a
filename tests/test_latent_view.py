"""The Latent page's numbers (dashboard.latent_view) against direct, loop-by-loop computations."""

from __future__ import annotations

import math

import numpy as np
import pytest

import als_core as ac
from als_core import embed
from dashboard import data_summary, latent_view
from dashboard.settings import DEFAULT_SETTINGS, fit_model
from tests.helpers import random_ratings

TOL = 1e-12  # float64 sums of a few numbers, computed in another order


@pytest.fixture(scope="module")
def ratings() -> ac.Ratings:
    r = random_ratings(np.random.default_rng(3), 30, 25, 0.3, min_per_row=2)
    # One item nobody rated: its mean falls back to the overall mean.
    dense = r.matrix.toarray()
    dense[:, 7] = 0.0
    rows, cols = np.nonzero(dense)
    return ac.Ratings.from_codes(rows, cols, dense[rows, cols], shape=dense.shape)


@pytest.fixture(scope="module")
def fit(ratings):
    return fit_model(ratings, {**DEFAULT_SETTINGS, "k": 4, "iterations": 6, "fraction": 0.2})


def test_most_first_orders_by_count_then_position():
    names = np.array(["a", "b", "c", "d", "e"])
    counts = np.array([2, 5, 2, 9, 5])
    expected = [names[j] for j in sorted(range(5), key=lambda j: (-counts[j], j))]
    assert list(latent_view.most_first(names, counts)) == expected == ["d", "b", "e", "a", "c"]


def test_item_colour_by_popularity_is_log_of_one_plus_count(ratings):
    facts = data_summary.dataset_facts(ratings)
    values, title, categorical = latent_view.item_colour("popularity", facts, None)
    expected = [math.log10(1 + c) for c in facts.item_counts]
    assert np.max(np.abs(values - expected)) <= TOL and not categorical
    assert title == "log₁₀(1 + ratings)"
    genres = np.array(["x"] * ratings.n_items)
    assert latent_view.item_colour("genre", facts, genres)[0] is genres
    assert latent_view.item_colour("mean rating", facts, genres)[0] is facts.item_means


def test_steady_turns_a_pca_map_to_the_previous_one_and_leaves_raw_factors(fit):
    model = fit.model
    previous = ac.shared_projection(model.user_factors_, model.item_factors_)
    flipped = ac.shared_projection(-model.user_factors_, -model.item_factors_)
    turned = latent_view.steady(flipped, previous)
    # A sign flip of every factor is undone exactly (up to rounding of the rotation).
    assert np.max(np.abs(turned.items - previous.items)) <= 1e-9
    assert latent_view.steady(flipped, None) is flipped
    raw = ac.shared_projection(model.user_factors_[:, :2], model.item_factors_[:, :2])
    assert raw.method == "raw"
    assert latent_view.steady(raw, previous) is raw


def view_of(fit, ratings, *, item, user, n, shrunk):
    return latent_view.latent_view(
        fit,
        ratings,
        data_summary.dataset_facts(ratings),
        item_names=embed.item_labels(ratings),
        genres=None,
        item=item,
        user=user,
        n=n,
        shrunk=shrunk,
    )


@pytest.mark.parametrize("shrunk", [False, True])
def test_neighbours_are_the_most_similar_items_by_direct_cosine(fit, ratings, shrunk):
    item, n = 3, 5
    view = view_of(fit, ratings, item=item, user=0, n=n, shrunk=shrunk)
    Y = fit.model.item_factors_
    train = fit.train.matrix.toarray() != 0
    scores, shared = {}, {}
    for j in range(len(Y)):
        if j == item:
            continue
        lengths = np.linalg.norm(Y[j]) * np.linalg.norm(Y[item])
        cosine = float(Y[j] @ Y[item]) / lengths if lengths > 0 else 0.0  # a zero vector: 0
        both = int(np.sum(train[:, j] & train[:, item]))
        shared[j] = both
        # Plain cosine is the cosine whatever the co-raters; only the shrunk one uses them.
        scores[j] = cosine * both / (both + latent_view.SHRINKAGE) if shrunk else cosine
    best = sorted(scores, key=lambda j: (-scores[j], j))[:n]
    assert list(view.neighbours["index"]) == best
    if not shrunk:
        # The case that matters: a close item that shares no training rater with the chosen one.
        assert any(shared[j] == 0 for j in best)
    assert list(view.neighbour_table["rated both"]) == [shared[j] for j in best]
    table = view.neighbour_table
    assert list(table.index) == list(range(1, n + 1))
    assert np.max(np.abs(table["similarity"].to_numpy() - [scores[j] for j in best])) <= 5e-4
    assert ("cosine" in table.columns) == shrunk
    assert list(table["ratings"]) == [int(train[:, j].sum()) for j in best]
    assert view.chosen_train_ratings == int(train[:, item].sum())
    assert abs(view.chosen_length - math.sqrt(sum(v * v for v in Y[item]))) <= TOL


def test_recommendations_are_the_best_unrated_items_by_the_models_prediction(fit, ratings):
    user, n = 2, 4
    view = view_of(fit, ratings, item=0, user=user, n=n, shrunk=False)
    rated = set(np.flatnonzero(ratings.matrix.toarray()[user]))
    candidates = [i for i in range(ratings.n_items) if i not in rated]
    m = fit.model
    assert m.biases  # the default settings: μ + b_u + b_i + x·y
    score = {
        i: m.global_mean_ + m.user_bias_[user] + m.item_bias_[i]
        + float(m.user_factors_[user] @ m.item_factors_[i])
        for i in candidates
    }  # fmt: skip
    best = sorted(candidates, key=lambda i: -score[i])[:n]
    assert list(view.recommendations["item"]) == best
    assert view.user_seen == len(rated)
    table = view.recommendation_table
    lo, hi = ratings.rating_scale
    assert list(table.index) == list(range(1, n + 1))
    assert np.max(np.abs(table["score"].to_numpy() - [score[i] for i in best])) <= 5e-4
    clipped = [min(max(score[i], lo), hi) for i in best]
    assert np.max(np.abs(table["predicted rating"].to_numpy() - clipped)) <= 5e-3
