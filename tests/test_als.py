"""The ALS estimator: history, recovery, determinism, stopping rules, callback, snapshots and
the methods used after a fit (predict, recommend, similar_*, fold_in)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import dense_predictions, low_rank_problem, random_ratings
from hypothesis import given, settings
from hypothesis import strategies as st

import als_core as ac
from als_core.reference import reference_fit, reference_half_step


@pytest.fixture(scope="module")
def small():
    """60 x 40 random ratings in [1, 5] with a validation split."""
    r = random_ratings(np.random.default_rng(7), 60, 40, 0.3, min_per_row=2)
    train, valid = ac.split(r, method="random", fraction=0.2, seed=3)
    return r, train, valid


def _biases_kwargs(model: ac.ALS) -> dict:
    return {
        "user_bias": model.user_bias_,
        "item_bias": model.item_bias_,
        "global_mean": model.global_mean_,
    }


# ----------------------------------------------------------------------------- history
@settings(max_examples=12, deadline=None)
@given(
    n_users=st.integers(2, 25),
    n_items=st.integers(2, 25),
    density=st.floats(0.1, 0.9),
    k=st.integers(1, 4),
    lam=st.sampled_from([0.0, 1e-3, 0.1, 2.0]),
    penalty=st.sampled_from([("plain", 0.0), ("weighted", 0.0), ("weighted", 3.0)]),
    biases=st.booleans(),
    dtype=st.sampled_from([np.float64, np.float32]),
    seed=st.integers(0, 1000),
)
def test_history_objective_equals_direct_objective_and_never_rises(
    n_users, n_items, density, k, lam, penalty, biases, dtype, seed
):
    # Each history row's objective equals ac.objective recomputed from that half-step's
    # snapshot to rel·(|objective| + Σr²·1e-6), rel = 1e-9 in float64 and 1e-4 in float32 (the
    # solver's data term is summed from float32 residuals; Σr² covers a fit that is almost
    # exact). It never rises by more than that same tolerance.
    regularization, damping = penalty
    k = min(k, n_users, n_items)
    r = random_ratings(np.random.default_rng(seed), n_users, n_items, density)
    model = ac.ALS(
        k=k,
        lam=lam,
        iterations=4,
        regularization=regularization,
        damping=damping,
        biases=biases,
        dtype=dtype,
        snapshots=True,
        seed=seed,
    ).fit(r)
    h = model.history_
    snaps = model.snapshots_
    assert len(snaps) == len(h) == 8
    rel = 1e-9 if dtype == np.float64 else 1e-4
    # float32 residuals carry ~eps32 of each rating, so near an exact fit (λ = 0) its data term
    # is only known to ~eps32·Σr²: that, not rel·1e-6·Σr², is its floor.
    sum_sq = float(r.matrix.data @ r.matrix.data)
    floor = 1e-6 * sum_sq if dtype == np.float64 else 10 * np.finfo(np.float32).eps * sum_sq / rel
    for row, snap in zip(h.itertuples(), snaps, strict=True):
        assert (snap.iteration, snap.side) == (row.iteration, row.side)
        terms = ac.objective(
            r,
            snap.user_factors,
            snap.item_factors,
            lam,
            regularization,
            user_bias=snap.user_bias,
            item_bias=snap.item_bias,
            global_mean=model.global_mean_,
            damping=damping,
        )
        scale = abs(terms.total) + floor
        assert abs(row.objective - terms.total) <= rel * scale
        assert abs(row.data_term - terms.data) <= rel * scale
        assert abs(row.regularization_term - terms.regularization) <= rel * scale
    objective = h["objective"].to_numpy()
    assert np.all(np.diff(objective) <= rel * (np.abs(objective[:-1]) + floor))


def test_history_columns_and_derived_values(small):
    # train_rmse = sqrt(data_term / nnz) and validation_rmse = RMSE of the clipped predictions,
    # both checked against independent computations to 1e-12 relative.
    _, train, valid = small
    model = ac.ALS(k=3, lam=0.5, iterations=3, biases=True, snapshots=True).fit(train, valid)
    h = model.history_
    assert list(h.columns) == [
        "iteration",
        "side",
        "objective",
        "data_term",
        "regularization_term",
        "train_rmse",
        "validation_rmse",
        "seconds",
        "elapsed",
    ]
    assert h["iteration"].tolist() == [1, 1, 2, 2, 3, 3]
    assert h["side"].tolist() == ["users", "items"] * 3
    np.testing.assert_allclose(
        h["objective"], h["data_term"] + h["regularization_term"], rtol=1e-12
    )
    np.testing.assert_allclose(h["train_rmse"], np.sqrt(h["data_term"] / train.nnz), rtol=1e-12)
    users, items, values = valid.coo()
    lo, hi = train.rating_scale
    for row, snap in zip(h.itertuples(), model.snapshots_, strict=True):
        raw = (
            model.global_mean_
            + snap.user_bias[users]
            + snap.item_bias[items]
            + np.einsum("nk,nk->n", snap.user_factors[users], snap.item_factors[items])
        )
        expected = np.sqrt(np.mean((values - np.clip(raw, lo, hi)) ** 2))
        assert row.validation_rmse == pytest.approx(expected, rel=1e-12)
    assert (h["seconds"] >= 0).all() and h["elapsed"].is_monotonic_increasing


def test_fit_follows_the_reference_loop_step_by_step(small):
    # Same seed and init scale: ALS without biases equals the article's loop; factors to 1e-8
    # relative, objectives to 1e-9 relative.
    r, _, _ = small
    for regularization, damping in (("plain", 0.0), ("weighted", 0.0), ("weighted", 4.0)):
        settings = {"regularization": regularization, "damping": damping}
        X, Y, objectives = reference_fit(r.matrix, k=3, lam=0.3, iterations=3, seed=5, **settings)
        model = ac.ALS(k=3, lam=0.3, iterations=3, seed=5, **settings)
        model.fit(r)
        np.testing.assert_allclose(model.user_factors_, X, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(model.item_factors_, Y, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(model.history_["objective"], objectives, rtol=1e-9)


# ----------------------------------------------------------------------------- recovery
def test_noise_free_low_rank_matrix_is_recovered():
    # Rank 3, 30% of entries observed, k = 3, λ = 1e-9: RMSE on ALL entries (observed or not)
    # against the true matrix must be below 1e-3.
    p = low_rank_problem(n_users=60, n_items=50, rank=3, observed_fraction=0.3, seed=0)
    model = ac.ALS(k=3, lam=1e-9, iterations=30, seed=0).fit(p.observed)
    users, items = np.meshgrid(np.arange(60), np.arange(50), indexing="ij")
    predicted = model.predict(users, items, clip=False)
    assert predicted.shape == p.truth.shape
    assert np.sqrt(np.mean((predicted - p.truth) ** 2)) < 1e-3
    # and the estimator's predictions are the factor products (independent dense product)
    np.testing.assert_allclose(predicted, dense_predictions(model), rtol=1e-12, atol=1e-12)


def test_noisy_low_rank_matrix_reaches_the_noise_floor():
    # Noise σ = 0.5. λ is chosen on a validation part; the chosen model's validation RMSE and its
    # RMSE on a separate test part both end within 10% of σ.
    sigma = 0.5
    p = low_rank_problem(
        n_users=300, n_items=250, rank=3, observed_fraction=0.3, noise=sigma, seed=1
    )
    train, held = ac.split(p.observed, fraction=0.2, seed=0)
    valid, test = ac.split(held, fraction=0.5, seed=1)
    fits = {
        lam: ac.ALS(k=3, lam=lam, iterations=12, seed=0).fit(train, validation=valid)
        for lam in (0.1, 1.0, 10.0)
    }
    best_lam = min(fits, key=lambda lam: fits[lam].history_["validation_rmse"].iloc[-1])
    best = fits[best_lam]
    assert abs(best.history_["validation_rmse"].iloc[-1] - sigma) <= 0.1 * sigma
    assert abs(ac.evaluate(best, test, clip=False)["rmse"] - sigma) <= 0.1 * sigma


# ----------------------------------------------------------------------------- determinism
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_same_seed_gives_bit_identical_fit(small, dtype):
    _, train, valid = small

    def fit(seed):
        model = ac.ALS(k=4, lam=0.2, iterations=4, biases=True, dtype=dtype, seed=seed)
        return model.fit(train, validation=valid)

    a, b = fit(11), fit(11)
    assert a.user_factors_.dtype == dtype
    for attr in ("user_factors_", "item_factors_", "user_bias_", "item_bias_"):
        assert np.array_equal(getattr(a, attr), getattr(b, attr)), attr
    for column in ("objective", "data_term", "regularization_term", "validation_rmse"):
        assert np.array_equal(a.history_[column], b.history_[column]), column
    c = fit(12)
    assert not np.array_equal(a.user_factors_, c.user_factors_)


def test_different_seed_gives_different_start(small):
    _, train, _ = small
    start = {seed: ac.ALS(k=4, iterations=0, seed=seed).fit(train).item_factors_ for seed in (0, 1)}
    assert not np.array_equal(start[0], start[1])
    # the start is seed -> default_rng -> standard normal users, then items, times init_scale
    rng = np.random.default_rng(1)
    rng.standard_normal((train.n_users, 4))
    np.testing.assert_array_equal(start[1], rng.standard_normal((train.n_items, 4)) * 0.1)


# ----------------------------------------------------------------------------- stopping
def test_fixed_number_of_iterations(small):
    _, train, valid = small
    model = ac.ALS(k=3, iterations=5).fit(train, validation=valid)
    assert model.n_iter_ == 5 and len(model.history_) == 10
    assert model.stop_reason_ == "iterations"


def test_tol_stops_early_on_a_converged_problem():
    # A noise-free rank-2 problem with λ = 1 converges in a few dozen iterations; with
    # tol = 1e-6 the fit must stop long before 200, at the first iteration whose relative
    # objective change is below tol.
    p = low_rank_problem(n_users=40, n_items=30, rank=2, observed_fraction=0.5, seed=2)
    model = ac.ALS(k=2, lam=1.0, iterations=200, tol=1e-6).fit(p.observed)
    assert model.stop_reason_ == "tol"
    assert model.n_iter_ < 200
    per_iteration = model.history_.query("side == 'items'")["objective"].to_numpy()
    change = np.abs(np.diff(per_iteration)) / np.abs(per_iteration[:-1])
    assert change[-1] < 1e-6
    assert np.all(change[:-1] >= 1e-6)


def test_patience_stops_when_validation_stops_improving_and_keeps_the_best(small):
    # A large k with almost no regularisation overfits 60 x 40 random ratings, so validation RMSE
    # rises after a few iterations. The model must stop `patience` iterations after the best one
    # and hold exactly the factors of the best iteration (compared with its snapshot).
    _, train, valid = small
    model = ac.ALS(k=12, lam=1e-3, iterations=40, patience=2, snapshots=True, seed=1)
    model.fit(train, validation=valid)
    assert model.stop_reason_ == "patience"
    per_iteration = model.history_.query("side == 'items'")
    best_row = per_iteration.loc[per_iteration["validation_rmse"].idxmin()]
    assert model.best_iteration_ == best_row["iteration"]
    assert model.n_iter_ == model.best_iteration_ + 2
    assert model.n_iter_ < 40
    snap = next(
        s for s in model.snapshots_ if (s.iteration, s.side) == (model.best_iteration_, "items")
    )
    np.testing.assert_array_equal(model.user_factors_, snap.user_factors)
    np.testing.assert_array_equal(model.item_factors_, snap.item_factors)
    assert ac.evaluate(model, valid)["rmse"] == pytest.approx(best_row["validation_rmse"], 1e-12)
    assert model.best_validation_rmse_ == pytest.approx(best_row["validation_rmse"], 1e-12)


def test_callback_gets_one_event_per_half_step_in_order(small):
    _, train, valid = small
    events: list[ac.FitEvent] = []
    model = ac.ALS(k=3, iterations=3).fit(train, validation=valid, callback=events.append)
    assert [(e.iteration, e.side) for e in events] == [
        (1, "users"),
        (1, "items"),
        (2, "users"),
        (2, "items"),
        (3, "users"),
        (3, "items"),
    ]
    assert [e.objective for e in events] == model.history_["objective"].tolist()
    assert [e.fraction_done for e in events] == pytest.approx(
        [1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6, 1]
    )
    assert all(e.model is model for e in events)


def test_callback_stop_ends_the_fit(small):
    _, train, _ = small
    seen = []

    def stop_after_three(event: ac.FitEvent) -> None:
        seen.append((event.iteration, event.side))
        if len(seen) == 3:
            event.stop()

    model = ac.ALS(k=3, iterations=10).fit(train, callback=stop_after_three)
    assert seen == [(1, "users"), (1, "items"), (2, "users")]
    assert len(model.history_) == 3
    assert model.stop_reason_ == "callback"
    # the model holds the factors of the last completed half-step (users of iteration 2)
    assert np.all(np.isfinite(model.user_factors_))


# ----------------------------------------------------------------------------- snapshots
def test_snapshots_are_off_by_default(small):
    _, train, _ = small
    assert ac.ALS(k=2, iterations=2).fit(train).snapshots_ is None


@pytest.mark.parametrize("budget_snapshots", [2.5, 5.5, 9.0])
def test_snapshots_are_bounded_and_span_the_whole_fit(small, budget_snapshots):
    _, train, _ = small
    k, iterations = 3, 25
    one = (train.n_users + train.n_items) * k * 8
    budget = int(budget_snapshots * one)
    model = ac.ALS(
        k=k, iterations=iterations, snapshots=True, snapshot_max_bytes=budget, seed=0
    ).fit(train)
    snaps = model.snapshots_
    total = sum(s.user_factors.nbytes + s.item_factors.nbytes for s in snaps)
    assert total <= budget
    assert len(snaps) >= 2
    steps = [2 * (s.iteration - 1) + (s.side == "items") for s in snaps]
    assert steps == sorted(set(steps))  # in fit order, no repeats
    assert (snaps[0].iteration, snaps[0].side) == (1, "users")
    assert (snaps[-1].iteration, snaps[-1].side) == (iterations, "items")
    np.testing.assert_array_equal(snaps[-1].user_factors, model.user_factors_)
    np.testing.assert_array_equal(snaps[-1].item_factors, model.item_factors_)


# ----------------------------------------------------------------------------- using a fit
@pytest.fixture(scope="module")
def fitted(small):
    _, train, valid = small
    return ac.ALS(k=4, lam=0.3, iterations=6, biases=True, seed=2).fit(train), train


def test_predict_clips_to_the_training_scale_unless_asked_not_to(fitted):
    model, train = fitted
    original = model.user_factors_.copy()
    try:
        model.user_factors_ = original * 40  # push raw scores far outside [min, max]
        users, items = np.meshgrid(np.arange(train.n_users), np.arange(train.n_items))
        raw = dense_predictions(model)[users, items]
        lo, hi = train.rating_scale
        assert (raw < lo).any() and (raw > hi).any()
        np.testing.assert_allclose(model.predict(users, items, clip=False), raw, rtol=1e-12)
        np.testing.assert_allclose(model.predict(users, items), np.clip(raw, lo, hi), rtol=1e-12)
    finally:
        model.user_factors_ = original


def test_predict_broadcasts_and_checks_indices(fitted):
    model, train = fitted
    out = model.predict(np.array([[0], [1]]), np.array([0, 1, 2]))
    assert out.shape == (2, 3)
    with pytest.raises(IndexError, match="user index"):
        model.predict([train.n_users], [0])
    with pytest.raises(ValueError, match="integers"):
        model.predict([0.5], [0])
    with pytest.raises(ac.NotFittedError, match="fit"):
        ac.ALS().predict([0], [0])


@pytest.mark.parametrize("user", [0, 5, 17])
def test_recommend_matches_brute_force(fitted, user):
    model, train = fitted
    scores = dense_predictions(model)[user]
    seen = set(train.matrix.indices[train.matrix.indptr[user] : train.matrix.indptr[user + 1]])
    unseen = [i for i in np.argsort(-scores, kind="stable") if i not in seen]
    recs = model.recommend(user, n=7)
    assert list(recs.columns) == ["rank", "item", "item_id", "score"]
    assert recs["item"].tolist() == unseen[:7]
    np.testing.assert_allclose(recs["score"], scores[unseen[:7]], rtol=1e-12)
    assert recs["rank"].tolist() == list(range(1, 8))
    assert recs["score"].is_monotonic_decreasing
    assert not seen & set(recs["item"])
    everything = model.recommend(user, n=train.n_items, exclude_seen=False)
    assert everything["item"].tolist() == list(np.argsort(-scores, kind="stable"))


def _brute_force_cosine(F: np.ndarray, idx: int, n: int) -> tuple[list[int], np.ndarray]:
    sims = np.array(
        [F[j] @ F[idx] / (np.linalg.norm(F[j]) * np.linalg.norm(F[idx])) for j in range(len(F))]
    )
    others = [j for j in np.argsort(-sims, kind="stable") if j != idx][:n]
    return others, sims[others]


def test_similar_items_and_users_match_brute_force_cosine(fitted):
    model, _ = fitted
    for item in (0, 9):
        expected, sims = _brute_force_cosine(model.item_factors_, item, 5)
        got = model.similar_items(item, n=5)
        assert got["item"].tolist() == expected
        np.testing.assert_allclose(got["similarity"], sims, rtol=1e-12)
    for user in (3, 30):
        expected, sims = _brute_force_cosine(model.user_factors_, user, 6)
        got = model.similar_users(user, n=6)
        assert got["user"].tolist() == expected
        np.testing.assert_allclose(got["similarity"], sims, rtol=1e-12)


@pytest.mark.parametrize(
    ("regularization", "biases"),
    [("plain", False), ("weighted", False), ("plain", True), ("weighted", True)],
)
def test_fold_in_equals_one_half_step_row(small, regularization, biases):
    # Folding in a user's own training ratings gives that user's row of one more users
    # half-step against the final item factors (reference loop; 1e-9 relative).
    _, train, _ = small
    model = ac.ALS(
        k=3, lam=0.4, iterations=3, regularization=regularization, biases=biases, seed=0
    ).fit(train)
    user = 4
    R = train.matrix
    items = R.indices[R.indptr[user] : R.indptr[user + 1]]
    ratings = R.data[R.indptr[user] : R.indptr[user + 1]]
    x, b = model.fold_in(items[::-1], ratings[::-1])  # order of the pairs must not matter
    kwargs = (
        {"biases": True, "fixed_bias": model.item_bias_, "global_mean": model.global_mean_}
        if biases
        else {}
    )
    ref = reference_half_step(R, model.item_factors_, 0.4, regularization, **kwargs)
    ref_x, ref_b = ref if biases else (ref, np.zeros(len(ref)))
    np.testing.assert_allclose(x, ref_x[user], rtol=1e-9, atol=1e-12)
    assert b == pytest.approx(ref_b[user], rel=1e-9, abs=1e-12)


def test_fold_in_rejects_bad_input(fitted):
    model, _ = fitted
    with pytest.raises(ValueError, match="as many"):
        model.fold_in([0, 1], [4.0])
    with pytest.raises(ValueError, match="finite"):
        model.fold_in([0], [np.nan])
    with pytest.raises(ValueError, match="once"):
        model.fold_in([1, 1], [3.0, 4.0])


def test_score_parts_add_up(fitted):
    model, _ = fitted
    parts = model.score_parts(2, 3)
    total = parts["global_mean"] + parts["user_bias"] + parts["item_bias"] + parts["factors"].sum()
    assert total == pytest.approx(parts["score"], rel=1e-12)
    assert parts["score"] == pytest.approx(dense_predictions(model)[2, 3], rel=1e-12)


def test_labels_travel_with_the_model():
    df = pd.DataFrame(
        {"user": ["ann", "bob", "ann", "cy"], "item": [10, 20, 20, 10], "rating": [5, 3, 4, 1.0]}
    )
    r = ac.Ratings.from_frame(df)
    model = ac.ALS(k=1, iterations=2).fit(r)
    assert model.recommend(1, n=1)["item_id"].tolist() == [10]
    assert set(model.similar_users(0, n=2)["user_id"]) == {"bob", "cy"}
