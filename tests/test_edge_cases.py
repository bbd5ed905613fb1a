"""The edge cases of issue 2, each a named test with an independent check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from helpers import dense_row_system, random_ratings

import als_core as ac

SETTINGS = [
    {"regularization": "plain", "biases": False},
    {"regularization": "plain", "biases": True},
    {"regularization": "weighted", "biases": False},
    {"regularization": "weighted", "biases": True, "damping": 5.0},
]


@pytest.fixture(scope="module")
def with_cold() -> ac.Ratings:
    """6 x 5 ratings where user 5 and item 4 have no ratings at all."""
    rng = np.random.default_rng(0)
    rows, cols = np.nonzero(rng.random((5, 4)) < 0.7)
    values = rng.choice([1.0, 2.0, 3.0, 4.0, 5.0], size=len(rows))
    return ac.Ratings.from_codes(rows, cols, values, shape=(6, 5))


@pytest.mark.parametrize("settings", SETTINGS)
def test_users_and_items_without_training_ratings(with_cold, settings):
    # Zero factor (and zero bias) for the cold user and item; prediction = global mean + the
    # bias that is known (biases=True), or the training mean (biases=False); never NaN.
    assert with_cold.user_counts()[5] == 0 and with_cold.item_counts()[4] == 0
    model = ac.ALS(k=2, lam=0.5, iterations=3, **settings).fit(with_cold)
    assert np.all(model.user_factors_[5] == 0) and np.all(model.item_factors_[4] == 0)
    mean = float(with_cold.matrix.data.mean())
    warm_user, warm_item = 0, 0
    pairs = np.array([[5, warm_item], [warm_user, 4], [5, 4]])
    got = model.predict(pairs[:, 0], pairs[:, 1], clip=False)
    if settings["biases"]:
        assert model.user_bias_[5] == 0 and model.item_bias_[4] == 0
        expected = [
            mean + model.item_bias_[warm_item],
            mean + model.user_bias_[warm_user],
            mean,
        ]
    else:
        expected = [mean, mean, mean]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert model.global_mean_ == (pytest.approx(mean) if settings["biases"] else 0.0)
    scores = model.scores(5)
    assert np.all(np.isfinite(scores))
    recs = model.recommend(5, n=3)
    assert len(recs) == 3 and recs["score"].notna().all()


def test_cold_items_in_a_split_are_predicted_without_nan():
    r = random_ratings(np.random.default_rng(1), 30, 40, 0.08)
    result = ac.split(r, fraction=0.3, seed=0)
    assert result.cold_items > 0
    for biases in (False, True):
        model = ac.ALS(k=2, lam=1.0, iterations=3, biases=biases).fit(result.train)
        scores = ac.evaluate(model, result.validation)
        assert np.isfinite(scores["rmse"]) and np.isfinite(scores["mae"])


@pytest.mark.parametrize("biases", [False, True])
def test_lambda_zero_rank_deficient_systems_get_the_least_norm_solution(biases):
    # λ = 0 with (a) rows with fewer ratings than unknowns and (b) fixed factors whose columns are
    # linearly dependent, so every system is singular. Each row must equal the minimum-norm
    # least-squares solution pinv(F_I) t_u (1e-8 relative to its size), and be finite.
    rng = np.random.default_rng(2)
    r = random_ratings(rng, 25, 12, 0.25)
    base = rng.standard_normal((12, 2))
    Y = np.column_stack([base, base[:, 0] + base[:, 1]])  # rank 2 with k = 3
    bias = rng.standard_normal(12)
    kwargs = {"biases": True, "fixed_bias": bias, "global_mean": 3.0} if biases else {}
    result = ac.als_half_step(r, Y, 0.0, **kwargs)
    W = np.column_stack(result) if biases else result
    assert np.all(np.isfinite(W))
    R = r.matrix
    assert (np.diff(R.indptr) < W.shape[1]).any()  # some rows have fewer ratings than unknowns
    for u in range(R.shape[0]):
        cols = R.indices[R.indptr[u] : R.indptr[u + 1]]
        F = np.hstack([Y[cols], np.ones((len(cols), 1))]) if biases else Y[cols]
        t = R.data[R.indptr[u] : R.indptr[u + 1]] - ((3.0 + bias[cols]) if biases else 0.0)
        expected = np.linalg.pinv(F) @ t
        assert np.allclose(W[u], expected, rtol=0, atol=1e-8 * max(1.0, np.abs(expected).max()))
        lstsq = np.linalg.lstsq(F, t, rcond=None)[0] if len(cols) else np.zeros(W.shape[1])
        assert np.allclose(W[u], lstsq, rtol=0, atol=1e-8 * max(1.0, np.abs(lstsq).max()))


def test_lambda_zero_fit_is_finite_and_never_raises_the_objective():
    r = random_ratings(np.random.default_rng(3), 20, 15, 0.3)
    model = ac.ALS(k=4, lam=0.0, iterations=5).fit(r)
    assert np.all(np.isfinite(model.user_factors_)) and np.all(np.isfinite(model.item_factors_))
    objective = model.history_["objective"].to_numpy()
    assert np.all(np.diff(objective) <= 1e-9 * objective[:-1])


@pytest.mark.parametrize("settings", SETTINGS)
def test_k_larger_than_a_users_number_of_ratings(settings):
    # Users with 1 or 2 ratings and k = 5: each user row after the last users half-step solves
    # its own normal equations against the item factors of that moment (dense residual < 1e-10).
    rng = np.random.default_rng(4)
    r = random_ratings(rng, 12, 10, 0.6)
    keep = np.ones(r.nnz, dtype=bool)
    for u, n_keep in ((0, 1), (1, 2)):
        start, stop = r.matrix.indptr[u], r.matrix.indptr[u + 1]
        keep[start + n_keep : stop] = False
    r = r.select(keep)
    assert r.user_counts()[0] == 1 and r.user_counts()[1] == 2
    model = ac.ALS(k=5, lam=0.3, iterations=3, snapshots=True, **settings).fit(r)
    snap = next(s for s in reversed(model.snapshots_) if s.side == "users")
    before = model.snapshots_[model.snapshots_.index(snap) - 1]  # the items step it solved against
    for u in (0, 1):
        A, b = dense_row_system(
            r.matrix,
            before.item_factors,
            u,
            0.3,
            settings["regularization"],
            biases=settings["biases"],
            fixed_bias=before.item_bias,
            global_mean=model.global_mean_,
            damping=settings.get("damping", 0.0),
        )
        w = snap.user_factors[u]
        if settings["biases"]:
            w = np.append(w, snap.user_bias[u])
        assert np.linalg.norm(A @ w - b) <= 1e-10 * (np.linalg.norm(b) + 1.0)


def test_k_larger_than_min_users_items_is_a_clear_error():
    r = random_ratings(np.random.default_rng(5), 3, 8, 0.7, min_per_row=1)
    with pytest.raises(ValueError, match=r"k=4 is larger than min\(n_users, n_items\).*k ≤ 3"):
        ac.ALS(k=4).fit(r)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="k must be a positive integer"):
            ac.ALS(k=bad).fit(r)


@pytest.mark.parametrize("settings", SETTINGS)
def test_constant_ratings(settings):
    r = random_ratings(np.random.default_rng(6), 15, 12, 0.5, low=3.0, high=3.0, min_per_row=1)
    assert set(r.matrix.data) == {3.0}
    model = ac.ALS(k=2, lam=0.01, iterations=10, **settings).fit(r)
    users, items, _ = r.coo()
    raw = model.predict(users, items, clip=False)
    if settings["biases"]:
        # residuals after μ are all zero, so every solve returns exactly zero
        assert np.all(model.user_factors_ == 0) and np.all(model.user_bias_ == 0)
        np.testing.assert_allclose(raw, 3.0, rtol=1e-12)
    else:
        assert np.sqrt(np.mean((raw - 3.0) ** 2)) < 0.05
    # the rating scale is a single value, so clipped predictions are exactly it
    assert np.all(model.predict(users, items) == 3.0)


@pytest.mark.parametrize("shape", [(1, 7), (7, 1)])
@pytest.mark.parametrize("biases", [False, True])
def test_single_user_or_single_item(shape, biases):
    rng = np.random.default_rng(7)
    values = rng.uniform(1, 5, size=max(shape))
    rows, cols = (
        (np.zeros(7, int), np.arange(7)) if shape[0] == 1 else (np.arange(7), np.zeros(7, int))
    )
    r = ac.Ratings.from_codes(rows, cols, values, shape=shape)
    model = ac.ALS(k=1, lam=1e-8, iterations=10, biases=biases).fit(r)
    predicted = model.predict(rows, cols, clip=False)
    # rank 1 (plus biases) fits one row or one column of ratings exactly
    assert np.sqrt(np.mean((predicted - values) ** 2)) < 1e-3
    with pytest.raises(ValueError, match="larger than min"):
        ac.ALS(k=2).fit(r)
    if shape[0] == 1:
        assert len(model.similar_users(0, n=5)) == 0
        assert model.recommend(0, n=3, exclude_seen=False)["item"].tolist() == list(
            np.argsort(-model.scores(0), kind="stable")[:3]
        )


def test_zero_iterations_leaves_the_seeded_start():
    r = random_ratings(np.random.default_rng(8), 10, 6, 0.5)
    model = ac.ALS(k=2, iterations=0, snapshots=True, seed=9, init_scale=0.5).fit(r)
    rng = np.random.default_rng(9)
    np.testing.assert_array_equal(model.user_factors_, rng.standard_normal((10, 2)) * 0.5)
    np.testing.assert_array_equal(model.item_factors_, rng.standard_normal((6, 2)) * 0.5)
    assert len(model.history_) == 0
    assert list(model.history_.columns)[:3] == ["iteration", "side", "objective"]
    assert model.n_iter_ == 0 and model.snapshots_ == []
    assert np.all(np.isfinite(model.predict([0, 1], [2, 3])))


def test_nan_or_inf_in_the_input_is_a_clear_error_at_the_boundary():
    df = pd.DataFrame({"user": [1, 2], "item": [1, 1], "rating": [4.0, np.nan]})
    with pytest.raises(ac.RatingsError, match="not finite numbers"):
        ac.Ratings.from_frame(df)
    with pytest.raises(ac.RatingsError, match="NaN or infinite"):
        ac.Ratings.from_codes([0, 1], [0, 0], [4.0, np.inf])
    with pytest.raises(ac.RatingsError, match="NaN or infinite"):
        ac.Ratings.from_matrix(sp.csr_matrix(np.array([[1.0, np.nan]])))
    bad = sp.csr_matrix((np.array([1.0, -np.inf]), np.array([0, 1]), np.array([0, 1, 2])))
    with pytest.raises(ValueError, match="NaN or infinite"):
        ac.ALS(k=1).fit(bad)
    with pytest.raises(ValueError, match="NaN or infinite"):
        ac.als_half_step(bad, np.ones((2, 1)), 0.1)
    good = ac.Ratings.from_codes([0, 1], [0, 1], [1.0, 2.0])
    with pytest.raises(ValueError, match="NaN or infinite"):
        ac.ALS(k=1).fit(good, validation=bad)
    with pytest.raises(ValueError, match="lam must be a finite number"):
        ac.ALS(k=1, lam=np.nan).fit(good)


def test_dense_input_is_refused_with_a_reason():
    with pytest.raises(TypeError, match="cannot tell missing from zero"):
        ac.ALS(k=1).fit(np.ones((3, 3)))


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_factors_are_finite_or_a_named_error_is_raised():
    # Ratings near the float64 limit overflow the Gram matrices: the fit must say so. Ratings
    # refuses them (ac.MAX_ABS_RATING), so they come here as a bare scipy matrix.
    rows, cols, values = [0, 0, 1, 1, 2], [0, 1, 0, 1, 1], [1e300, -1e300, 2e300, 5, 1e300]
    with pytest.raises(ac.RatingsError, match="larger in size than 1e\\+14"):
        ac.Ratings.from_codes(rows, cols, values)
    huge = sp.csr_matrix((values, (rows, cols)), shape=(3, 2))
    with pytest.raises(ac.NonFiniteFactorsError, match="NaN or infinite factors"):
        ac.ALS(k=2, lam=0.1, iterations=3).fit(huge)
    # and ordinary fits over many settings end with finite factors
    r = random_ratings(np.random.default_rng(10), 20, 15, 0.3)
    for lam in (0.0, 1e-6, 1.0):
        for settings in SETTINGS:
            for dtype in (np.float64, np.float32):
                model = ac.ALS(k=3, lam=lam, iterations=3, dtype=dtype, **settings).fit(r)
                for name in ("user_factors_", "item_factors_", "user_bias_", "item_bias_"):
                    value = getattr(model, name)
                    assert value is None or np.all(np.isfinite(value)), (lam, settings, name)


def test_non_finite_factors_error_is_raised_even_when_the_solver_misbehaves(monkeypatch):
    # Whatever produces them, NaN factors never leave fit silently.
    import als_core.als as als_module

    real = als_module.solve_rows

    def poisoned(*args, **kwargs):
        solution, data_term = real(*args, **kwargs)
        solution = solution.copy()
        solution[0, 0] = np.nan
        return solution, data_term

    monkeypatch.setattr(als_module, "solve_rows", poisoned)
    r = random_ratings(np.random.default_rng(11), 8, 6, 0.5)
    with pytest.raises(ac.NonFiniteFactorsError):
        ac.ALS(k=2, iterations=2).fit(r)


def test_iterations_zero_predicts_cold_rows_from_the_mean_not_from_noise():
    # Users/items without training ratings start at the zero factor, so before any half-step
    # they are predicted exactly as after one: μ plus the known biases (all 0 at the start).
    rng = np.random.default_rng(3)
    rows = np.array([0, 0, 1, 1, 2])
    cols = np.array([0, 1, 1, 2, 0])
    r = ac.Ratings.from_codes(rows, cols, rng.uniform(1, 5, 5), shape=(4, 4))
    model = ac.ALS(k=2, iterations=0, biases=True, seed=1).fit(r)
    assert np.all(model.user_factors_[3] == 0) and np.all(model.item_factors_[3] == 0)
    expected = float(r.matrix.data.mean())
    np.testing.assert_allclose(model.predict([3, 3, 0], [0, 2, 3]), expected, rtol=1e-12)


def test_a_callback_stop_after_a_whole_iteration_still_counts_it_as_best():
    r = random_ratings(np.random.default_rng(4), 30, 20, 0.4)
    train, valid = ac.split(r, fraction=0.3, seed=0)

    def stop_after_first_iteration(event):
        if event.iteration == 1 and event.side == "items":
            event.stop()

    model = ac.ALS(k=2, lam=1.0, iterations=5, seed=0).fit(
        train, valid, callback=stop_after_first_iteration
    )
    assert model.stop_reason_ == "callback"
    assert model.best_iteration_ == 1
    assert model.best_validation_rmse_ == model.history_["validation_rmse"].iloc[-1]
