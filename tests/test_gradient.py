"""Gradient descent and SGD: same objective and start as ALS, a correct gradient, a falling
objective, and the stopping rules."""

from __future__ import annotations

import numpy as np
import pytest

import als_core as ac
from als_core.als import initial_factors
from als_core.gradient import RATE_CANDIDATES, SGD, GradientDescent, _Problem


def planted(
    *,
    n_users: int = 60,
    n_items: int = 40,
    rank: int = 3,
    density: float = 0.4,
    sigma: float = 0.1,
    seed: int = 0,
    min_per_row: int = 2,
) -> tuple[ac.Ratings, np.ndarray, np.ndarray]:
    """Ratings 3 + (U Vᵀ)/√rank + noise on a random pattern where every user and item has at
    least ``min_per_row`` ratings (so no row is empty)."""
    rng = np.random.default_rng(seed)
    U = rng.standard_normal((n_users, rank))
    V = rng.standard_normal((n_items, rank))
    mask = rng.random((n_users, n_items)) < density
    for u in range(n_users):
        mask[u, rng.choice(n_items, size=min_per_row, replace=False)] = True
    for i in range(n_items):
        mask[rng.choice(n_users, size=min_per_row, replace=False), i] = True
    rows, cols = np.nonzero(mask)
    values = 3.0 + (U[rows] * V[cols]).sum(axis=1) / np.sqrt(rank)
    values = values + sigma * rng.standard_normal(len(rows))
    return ac.Ratings.from_codes(rows, cols, values, shape=(n_users, n_items)), U, V


@pytest.fixture(scope="module")
def data() -> tuple[ac.Ratings, ac.Ratings]:
    ratings, _, _ = planted()
    return ac.split(ratings, fraction=0.2, seed=1)


def test_initial_factors_are_exactly_those_of_als(data):
    train, _ = data
    als = ac.ALS(k=4, lam=0.3, iterations=0, seed=7, init_scale=0.2).fit(train)
    X, Y, _ = initial_factors(train.n_users, train.n_items, 4, seed=7, init_scale=0.2)
    np.testing.assert_array_equal(X, als.user_factors_)
    np.testing.assert_array_equal(Y, als.item_factors_)
    for model in (GradientDescent, SGD):
        m = model(k=4, lam=0.3, iterations=0, seed=7, init_scale=0.2).fit(train)
        np.testing.assert_array_equal(m.user_factors_, als.user_factors_)
        np.testing.assert_array_equal(m.item_factors_, als.item_factors_)


@pytest.mark.parametrize("regularization", ["plain", "weighted"])
@pytest.mark.parametrize("biases", [False, True])
def test_gradient_matches_central_differences(data, regularization, biases):
    train, _ = data
    R = train.matrix
    problem = _Problem(R, 0.7, regularization, biases)
    rng = np.random.default_rng(3)
    X = rng.standard_normal((R.shape[0], 3)) * 0.5
    Y = rng.standard_normal((R.shape[1], 3)) * 0.5
    bu = rng.standard_normal(R.shape[0]) * 0.3 if biases else None
    bi = rng.standard_normal(R.shape[1]) * 0.3 if biases else None
    params = (X, Y, bu, bi)
    _, _, e = problem.value(params)
    grad = problem.gradient(params, e)

    def f(p):
        d, r, _ = problem.value(p)
        return d + r

    h = 1e-6
    for part, (u, c) in [(0, (5, 1)), (1, (7, 2)), (2, (3, None)), (3, (11, None))]:
        if params[part] is None:
            continue
        index = (u, c) if c is not None else (u,)
        plus = [None if p is None else p.copy() for p in params]
        minus = [None if p is None else p.copy() for p in params]
        plus[part][index] += h
        minus[part][index] -= h
        numeric = (f(tuple(plus)) - f(tuple(minus))) / (2 * h)
        assert grad[part][index] == pytest.approx(numeric, rel=1e-6, abs=1e-5)


@pytest.mark.parametrize("regularization", ["plain", "weighted"])
@pytest.mark.parametrize("biases", [False, True])
def test_reported_objective_is_the_als_objective(data, regularization, biases):
    train, _ = data
    for model in (
        GradientDescent(k=3, lam=0.5, iterations=15, regularization=regularization, biases=biases),
        SGD(k=3, lam=0.5, iterations=5, regularization=regularization, biases=biases),
    ):
        model.fit(train)
        expected = ac.objective(
            train,
            model.user_factors_,
            model.item_factors_,
            0.5,
            regularization,
            user_bias=model.user_bias_,
            item_bias=model.item_bias_,
            global_mean=model.global_mean_,
        )
        last = model.history_.iloc[-1]
        assert last["objective"] == pytest.approx(expected.total, rel=1e-10)
        assert last["data_term"] == pytest.approx(expected.data, rel=1e-10)


def test_gradient_descent_never_rises_and_gets_close_to_als(data):
    train, valid = data
    gd = GradientDescent(k=3, lam=0.5, iterations=400).fit(train, valid)
    objective = gd.history_["objective"].to_numpy()
    assert np.all(np.diff(objective) <= 1e-12 * objective[:-1])
    assert objective[-1] < 0.1 * gd.initial_objective_
    als = ac.ALS(k=3, lam=0.5, iterations=100).fit(train)
    # Same objective, same start: a long line-searched descent ends near ALS's minimum.
    assert objective[-1] == pytest.approx(als.history_["objective"].iloc[-1], rel=0.02)
    assert (gd.history_["evaluations"] >= 1).all()


def test_gradient_descent_validation_rmse_is_that_of_its_predictions(data):
    train, valid = data
    gd = GradientDescent(k=3, lam=0.5, iterations=30).fit(train, valid)
    users, items, values = valid.coo()
    expected = np.sqrt(np.mean((values - gd.predict(users, items)) ** 2))
    assert gd.history_["validation_rmse"].iloc[-1] == pytest.approx(expected, rel=1e-12)


def test_sgd_objective_falls_on_a_planted_problem(data):
    train, valid = data
    sgd = SGD(k=3, lam=0.5, iterations=40, seed=2).fit(train, valid)
    objective = sgd.history_["objective"].to_numpy()
    assert objective[-1] < 0.1 * sgd.initial_objective_
    # An epoch that would raise the objective is undone (and the rate halved).
    assert np.all(np.diff(objective) <= 0)
    assert sgd.learning_rate_ in RATE_CANDIDATES
    assert sgd.history_["elapsed"].iloc[0] >= sgd.tuning_seconds_
    rates = sgd.history_["step_size"].to_numpy()
    assert np.all(np.diff(rates) <= 0)  # the schedule only decays


def test_sgd_schedule_with_a_fixed_rate():
    ratings, _, _ = planted(seed=4)
    sgd = SGD(k=2, lam=0.2, iterations=4, learning_rate=0.01, decay=0.5).fit(ratings)
    expected = [0.01 / (1 + 0.5 * e) for e in range(4)]
    # Halvings only happen after a rejected epoch; none on this easy problem at a small rate.
    np.testing.assert_allclose(sgd.history_["step_size"], expected, rtol=1e-12)
    assert sgd.tuning_seconds_ < 0.05


def test_sgd_is_reproducible_for_a_seed(data):
    train, _ = data
    a = SGD(k=3, iterations=3, seed=5).fit(train)
    b = SGD(k=3, iterations=3, seed=5).fit(train)
    np.testing.assert_array_equal(a.user_factors_, b.user_factors_)


def test_callback_stops_both_methods(data):
    train, _ = data
    for model in (GradientDescent(k=3, iterations=50), SGD(k=3, iterations=50)):
        seen = []

        def callback(event, seen=seen):
            seen.append(event.iteration)
            if event.iteration == 3:
                event.stop()

        model.fit(train, callback=callback)
        assert seen == [1, 2, 3]
        assert len(model.history_) == 3
        assert model.stop_reason_ == "callback"


def test_max_seconds_and_tol_stop_early(data):
    train, _ = data
    gd = GradientDescent(k=3, iterations=100_000, max_seconds=0.05).fit(train)
    assert gd.stop_reason_ == "seconds"
    assert gd.history_["elapsed"].iloc[-1] >= 0.05
    gd = GradientDescent(k=3, iterations=100_000, tol=1e-3).fit(train)
    assert gd.stop_reason_ == "tol"


def test_models_predict_and_recommend_like_als(data):
    train, _ = data
    gd = GradientDescent(k=3, iterations=10).fit(train)
    recs = gd.recommend(0, n=5)
    assert list(recs.columns) == ["rank", "item", "item_id", "score"]
    assert not set(recs["item"]) & set(train.matrix[0].indices)
    assert "GradientDescent(" in repr(gd)


def test_bad_settings_say_what_is_wrong(data):
    train, _ = data
    with pytest.raises(ValueError, match="learning_rate"):
        SGD(learning_rate=-1).fit(train)
    with pytest.raises(ValueError, match="batch_size"):
        SGD(batch_size=0).fit(train)
    with pytest.raises(ValueError, match="initial_step"):
        GradientDescent(initial_step=0).fit(train)
    with pytest.raises(ValueError, match="lam"):
        GradientDescent(lam=-1).fit(train)
    with pytest.raises(ac.NotFittedError, match="SGD"):
        SGD().predict([0], [0])
