"""Implicit-feedback ALS: exact against a dense solve, CG against exact, the objective without
densifying against the dense sum, ranking metrics against hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import als_core as ac
from als_core.implicit import (
    ImplicitALS,
    implicit_half_step,
    implicit_objective,
    ranking_metrics_from_factors,
)


def counts(seed: int = 0, n_users: int = 30, n_items: int = 20, density: float = 0.25):
    """Random interaction counts 1..9, a few stored zeros, and one user with nothing."""
    rng = np.random.default_rng(seed)
    mask = rng.random((n_users, n_items)) < density
    mask[3] = False  # an empty row
    rows, cols = np.nonzero(mask)
    values = rng.integers(1, 10, size=len(rows)).astype(float)
    values[::7] = 0.0  # stored zeros: observed, but preference 0 and confidence 1
    return ac.Ratings.from_codes(rows, cols, values, shape=(n_users, n_items))


def dense_half_step(R: sp.csr_matrix, F: np.ndarray, lam: float, alpha: float) -> np.ndarray:
    """The textbook solve with the full n_cols × n_cols confidence matrix of every row."""
    dense = R.toarray()
    out = np.zeros((R.shape[0], F.shape[1]))
    for u in range(R.shape[0]):
        C = np.diag(1.0 + alpha * dense[u])
        p = (dense[u] > 0).astype(float)
        out[u] = np.linalg.solve(F.T @ C @ F + lam * np.eye(F.shape[1]), F.T @ C @ p)
    return out


def dense_objective(R, X, Y, lam, alpha) -> float:
    dense = R.toarray()
    C = 1.0 + alpha * dense
    P = (dense > 0).astype(float)
    return float(np.sum(C * (P - X @ Y.T) ** 2) + lam * (np.sum(X * X) + np.sum(Y * Y)))


@pytest.mark.parametrize("side", ["users", "items"])
def test_exact_half_step_matches_the_dense_solve(side):
    r = counts(1)
    R = r.matrix if side == "users" else r.matrix.T.tocsr()
    F = np.random.default_rng(2).standard_normal((R.shape[1], 4)) * 0.3
    got = implicit_half_step(R, F, 0.5, 3.0)
    expected = dense_half_step(R, F, 0.5, 3.0)
    np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-12)


def test_exact_half_step_in_float32_is_close():
    r = counts(3)
    F = np.random.default_rng(4).standard_normal((r.n_items, 3)).astype(np.float32)
    got = implicit_half_step(r.matrix, F, 0.5, 2.0)
    assert got.dtype == np.float32
    expected = dense_half_step(r.matrix, F.astype(np.float64), 0.5, 2.0)
    np.testing.assert_allclose(got, expected, rtol=2e-3, atol=2e-4)


def test_cg_reaches_the_exact_solution_and_stays_there():
    r = counts(5)
    k = 5
    F = np.random.default_rng(6).standard_normal((r.n_items, k)) * 0.3
    exact = implicit_half_step(r.matrix, F, 0.2, 4.0)
    # In exact arithmetic CG solves a k × k system in k steps; allow a few more for rounding.
    cg = implicit_half_step(r.matrix, F, 0.2, 4.0, solver="cg", cg_steps=k + 3)
    np.testing.assert_allclose(cg, exact, rtol=1e-6, atol=1e-9)
    warm = implicit_half_step(r.matrix, F, 0.2, 4.0, solver="cg", current=exact, cg_steps=2)
    np.testing.assert_allclose(warm, exact, rtol=1e-8, atol=1e-12)
    # A few cold steps only approximate it.
    rough = implicit_half_step(r.matrix, F, 0.2, 4.0, solver="cg", cg_steps=1)
    assert np.abs(rough - exact).max() > 1e-4


def test_objective_without_densifying_equals_the_dense_sum():
    r = counts(7)
    rng = np.random.default_rng(8)
    X = rng.standard_normal((r.n_users, 3))
    Y = rng.standard_normal((r.n_items, 3))
    data, reg = implicit_objective(r.matrix, X, Y, 0.3, 5.0)
    assert data + reg == pytest.approx(dense_objective(r.matrix, X, Y, 0.3, 5.0), rel=1e-12)


@pytest.mark.parametrize("solver", ["cholesky", "cg"])
def test_fit_objective_never_rises_and_matches_the_dense_sum(solver):
    r = counts(9)
    m = ImplicitALS(k=4, lam=0.5, alpha=3.0, iterations=8, solver=solver).fit(r)
    objective = m.history_["objective"].to_numpy()
    assert len(objective) == 16
    assert np.all(np.diff(objective) <= 1e-10 * objective[:-1])
    expected = dense_objective(r.matrix, m.user_factors_, m.item_factors_, 0.5, 3.0)
    assert objective[-1] == pytest.approx(expected, rel=1e-10)


def test_first_users_half_step_starts_from_als_random_items():
    r = counts(10)
    m = ImplicitALS(k=3, lam=0.5, alpha=2.0, iterations=1, seed=4, init_scale=0.2)
    seen = {}

    def callback(event):
        seen.setdefault("X", event.model.user_factors_.copy())
        event.stop()

    m.fit(r, callback=callback)
    Y0 = ac.ALS(k=3, iterations=0, seed=4, init_scale=0.2).fit(r).item_factors_
    np.testing.assert_allclose(seen["X"], dense_half_step(r.matrix, Y0, 0.5, 2.0), rtol=1e-8)
    assert m.stop_reason_ == "callback" and len(m.history_) == 1


def test_cg_fit_ends_close_to_exact_fit():
    r = counts(11)
    exact = ImplicitALS(k=3, lam=0.5, alpha=2.0, iterations=30).fit(r)
    cg = ImplicitALS(k=3, lam=0.5, alpha=2.0, iterations=30, solver="cg", cg_steps=3).fit(r)
    assert cg.history_["objective"].iloc[-1] == pytest.approx(
        exact.history_["objective"].iloc[-1], rel=1e-3
    )


def test_recommend_excludes_seen_and_explain_adds_up():
    r = counts(12)
    m = ImplicitALS(k=4, lam=0.5, alpha=3.0, iterations=6).fit(r)
    user = 0
    seen = set(r.matrix[user].indices)
    recs = m.recommend(user, n=5)
    assert not seen & set(recs["item"])
    assert recs["score"].is_monotonic_decreasing
    item = int(recs["item"].iloc[0])
    why = m.explain(user, item, n=100)
    # The contributions split the score of x_u re-solved exactly against the current items.
    x = implicit_half_step(r.matrix, m.item_factors_, 0.5, 3.0)[user]
    assert why["contribution"].sum() == pytest.approx(x @ m.item_factors_[item], rel=1e-10)
    assert why.attrs["score"] == pytest.approx(x @ m.item_factors_[item], rel=1e-10)
    positive = {int(i) for i, v in zip(*_row(r, user), strict=True) if v > 0}
    assert set(why["item"]) == positive
    assert why["contribution"].is_monotonic_decreasing
    # Each contribution is y_iᵀ W_u y_j c_uj with W_u built densely.
    dense = r.matrix.toarray()[user]
    Y = m.item_factors_
    W = np.linalg.inv(Y.T @ np.diag(1 + 3.0 * dense) @ Y + 0.5 * np.eye(4))
    j = int(why["item"].iloc[0])
    expected = Y[item] @ W @ Y[j] * (1 + 3.0 * dense[j])
    assert why["contribution"].iloc[0] == pytest.approx(expected, rel=1e-9)
    assert len(m.explain(user, item, n=2)) == 2
    similar = m.similar_items(item, n=3)
    unit = Y / np.linalg.norm(Y, axis=1, keepdims=True)
    cosine = unit @ unit[item]
    cosine[item] = -np.inf
    assert similar["item"].tolist() == np.argsort(-cosine)[:3].tolist()


def _row(r, u):
    lo, hi = r.matrix.indptr[u], r.matrix.indptr[u + 1]
    return r.matrix.indices[lo:hi], r.matrix.data[lo:hi]


class _FixedRecommender:
    def __init__(self, lists):
        self.lists = lists

    def recommend(self, user_idx, n=10, *, exclude_seen=True):
        return pd.DataFrame({"item": self.lists[user_idx][:n]})


def test_ranking_metrics_match_hand_computed_values():
    # Held out: user 0 -> items {1, 3}; user 1 -> item {0}; user 2 has nothing held out.
    heldout = ac.Ratings.from_codes([0, 0, 1], [1, 3, 0], [1.0, 1.0, 1.0], shape=(3, 5))
    model = _FixedRecommender({0: [3, 2, 1], 1: [4, 2, 0], 2: [0, 1, 2]})
    got = ac.ranking_metrics(model, heldout, n=3)
    # user 0: hits at ranks 1 and 3 -> P = 2/3, R = 1, DCG = 1 + 1/log2(4) = 1.5,
    #         ideal = 1 + 1/log2(3); user 1: hit at rank 3 -> P = 1/3, R = 1, NDCG = 0.5.
    ndcg0 = 1.5 / (1 + 1 / np.log2(3))
    assert got["precision@3"] == pytest.approx((2 / 3 + 1 / 3) / 2)
    assert got["recall@3"] == pytest.approx(1.0)
    assert got["ndcg@3"] == pytest.approx((ndcg0 + 0.5) / 2)
    assert got["users"] == 2


def test_vectorised_ranking_metrics_match_hand_computed_values():
    # Two users, four items, one factor: scores are user × item.
    X = np.array([[1.0], [-1.0]])
    Y = np.array([[4.0], [3.0], [2.0], [1.0]])
    train = ac.Ratings.from_codes([0, 1], [0, 3], [1.0, 1.0], shape=(2, 4))
    heldout = ac.Ratings.from_codes([0, 1, 1], [2, 1, 0], [1.0, 1.0, 1.0], shape=(2, 4))
    # user 0 ranks 1, 2, 3 (0 seen): hit at rank 2. user 1 ranks 2, 1, 0 (3 seen): hits at 2, 3.
    got = ranking_metrics_from_factors(X, Y, train, heldout, n=2)
    assert got["precision@2"] == pytest.approx((1 / 2 + 1 / 2) / 2)
    assert got["recall@2"] == pytest.approx((1 + 1 / 2) / 2)
    ndcg0 = (1 / np.log2(3)) / 1.0
    ndcg1 = (1 / np.log2(3)) / (1 + 1 / np.log2(3))
    assert got["ndcg@2"] == pytest.approx((ndcg0 + ndcg1) / 2)


@pytest.mark.parametrize("min_rating", [None, 5.0])
def test_vectorised_ranking_metrics_equal_the_library_loop(min_rating):
    r = counts(13, n_users=60, n_items=30, density=0.3)
    train, valid = ac.split(r, fraction=0.3, seed=0)
    m = ImplicitALS(k=4, lam=0.5, alpha=2.0, iterations=5).fit(train, valid)
    slow = ac.ranking_metrics(m, valid, n=5, min_rating=min_rating)
    fast = ranking_metrics_from_factors(
        m.user_factors_, m.item_factors_, train, valid, n=5, min_rating=min_rating
    )
    pd.testing.assert_series_equal(slow.astype(float), fast.astype(float), rtol=1e-12)
    if min_rating is None:
        # The history's last validation metrics are the same numbers.
        last = m.history_.iloc[-1]
        assert last["ndcg_at_n"] == pytest.approx(ac.ranking_metrics(m, valid, n=10)["ndcg@10"])


def test_bad_inputs_say_what_is_wrong():
    negative = ac.Ratings.from_codes([0, 1], [0, 1], [1.0, -2.0], shape=(2, 2))
    with pytest.raises(ValueError, match="values ≥ 0"):
        ImplicitALS(k=1).fit(negative)
    r = counts()
    with pytest.raises(ValueError, match="solver"):
        ImplicitALS(solver="lu").fit(r)
    with pytest.raises(ValueError, match="alpha"):
        ImplicitALS(alpha=-1).fit(r)
    with pytest.raises(ValueError, match="cg_steps"):
        ImplicitALS(solver="cg", cg_steps=0).fit(r)
    with pytest.raises(ac.NotFittedError):
        ImplicitALS().recommend(0)


def test_threshold_interactions_keeps_only_the_liked_ratings_in_the_same_index_space():
    ratings = ac.load_sample("movie_night")
    liked = ac.threshold_interactions(ratings, 4.0)
    assert liked.shape == ratings.shape
    np.testing.assert_array_equal(liked.user_ids, ratings.user_ids)
    dense, kept = ratings.matrix.toarray(), liked.matrix.toarray()
    observed = np.zeros(dense.shape, dtype=bool)
    observed[ratings.matrix.nonzero()] = True
    np.testing.assert_array_equal(kept[observed & (dense >= 4.0)], dense[observed & (dense >= 4.0)])
    assert liked.nnz == int(np.sum(observed & (dense >= 4.0))) < ratings.nnz
    assert ac.threshold_interactions(ratings, None) is ratings
    with pytest.raises(ValueError, match="min_rating must be a finite number"):
        ac.threshold_interactions(ratings, float("nan"))


def test_because_you_liked_credits_only_liked_items_after_the_threshold():
    """Without a threshold a 1-star rating is an interaction and can be credited; with one,
    every item in an explanation is one the user rated at least the threshold."""
    ratings = ac.load_sample("movie_night")
    every = ac.ImplicitALS(k=3, lam=1.0, alpha=5.0, iterations=8, seed=0).fit(ratings)
    liked = ac.ImplicitALS(k=3, lam=1.0, alpha=5.0, iterations=8, seed=0).fit(
        ac.threshold_interactions(ratings, 4.0)
    )
    dense = ratings.matrix.toarray()
    credited_low = 0
    for user in range(0, 300, 15):
        for model, floor in ((every, None), (liked, 4.0)):
            item = int(model.recommend(user, n=1)["item"].iloc[0])
            frame = model.explain(user, item, n=50)
            own = dense[user, frame["item"].to_numpy()]
            if floor is None:
                credited_low += int(np.sum(own < 4.0))
            else:
                assert (own >= floor).all()
    assert credited_low > 0  # the bug the threshold removes does happen on these data
