"""Baselines: global mean, bias-only, zero-filled SVD and popularity, each against an independent
dense computation."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import als_core as ac
from als_core.baselines import Popularity, ZeroFilledSVD, recommend_from_scores


def random_ratings(seed: int = 0, n_users: int = 25, n_items: int = 15, density: float = 0.4):
    rng = np.random.default_rng(seed)
    mask = rng.random((n_users, n_items)) < density
    mask[:, 0] = True  # every user has a rating
    mask[0, :] = True  # every item has a rating
    rows, cols = np.nonzero(mask)
    values = rng.integers(1, 6, size=len(rows)).astype(float)
    return ac.Ratings.from_codes(rows, cols, values, shape=(n_users, n_items))


def test_global_mean_predicts_the_training_mean():
    r = random_ratings()
    m = ac.GlobalMean().fit(r)
    np.testing.assert_allclose(m.predict([0, 3], [1, 2]), r.matrix.data.mean())


def test_bias_only_solves_its_ridge_problem():
    r = random_ratings(1)
    lam = 2.0
    m = ac.BiasOnly(lam=lam, iterations=300).fit(r)
    # Dense normal equations of Σ (r − μ − b_u − b_i)² + λ(Σ b_u² + Σ b_i²), μ fixed.
    users, items, values = r.coo()
    n_u, n_i = r.shape
    A = np.zeros((len(values), n_u + n_i))
    A[np.arange(len(values)), users] = 1.0
    A[np.arange(len(values)), n_u + items] = 1.0
    mu = values.mean()
    b = np.linalg.solve(A.T @ A + lam * np.eye(n_u + n_i), A.T @ (values - mu))
    np.testing.assert_allclose(m.user_bias_, b[:n_u], atol=1e-8)
    np.testing.assert_allclose(m.item_bias_, b[n_u:], atol=1e-8)


@pytest.mark.parametrize("fill", ["zero", "mean"])
def test_zero_filled_svd_is_the_truncated_svd_of_the_filled_matrix(fill):
    r = random_ratings(2)
    k = 4
    m = ZeroFilledSVD(k=k, fill=fill).fit(r)
    dense = r.matrix.toarray()
    mu = r.matrix.data.mean()
    observed = np.zeros(r.shape, dtype=bool)
    observed[r.coo()[0], r.coo()[1]] = True
    filled = dense if fill == "zero" else np.where(observed, dense, mu)
    centred = filled - (mu if fill == "mean" else 0.0)
    U, s, Vt = np.linalg.svd(centred)
    truncated = (U[:, :k] * s[:k]) @ Vt[:k] + (mu if fill == "mean" else 0.0)
    np.testing.assert_allclose(m.singular_values_, s[:k], rtol=1e-8)
    users, items = np.meshgrid(np.arange(r.n_users), np.arange(r.n_items), indexing="ij")
    np.testing.assert_allclose(m.predict(users, items, clip=False), truncated, atol=1e-8)
    clipped = m.predict(users, items)
    assert clipped.min() >= 1.0 and clipped.max() <= 5.0


def test_zero_filled_svd_pulls_missing_cells_towards_zero_and_loses_to_als():
    rng = np.random.default_rng(5)
    n_users, n_items, rank = 80, 50, 2
    U = rng.standard_normal((n_users, rank))
    V = rng.standard_normal((n_items, rank))
    mask = rng.random((n_users, n_items)) < 0.3
    rows, cols = np.nonzero(mask)
    values = np.clip(3.0 + 0.7 * (U[rows] * V[cols]).sum(axis=1), 1, 5)
    r = ac.Ratings.from_codes(rows, cols, values, shape=(n_users, n_items))
    train, valid = ac.split(r, fraction=0.2, seed=0)
    svd = ZeroFilledSVD(k=3).fit(train, valid)
    als = ac.ALS(k=3, lam=1.0, iterations=30, biases=True).fit(train, valid)
    users, items, actual = valid.coo()
    raw = svd.predict(users, items, clip=False)
    # Held-out cells were zeros in the factorised matrix: their raw predictions sit far below
    # the observed ratings (all ≥ 1), and the RMSE is far worse than ALS's.
    assert np.median(raw) < 0.5 * np.median(actual)
    assert svd.validation_rmse_ > 2 * als.history_["validation_rmse"].iloc[-1]


def test_zero_filled_svd_checks_k_and_fill():
    r = random_ratings()
    with pytest.raises(ValueError, match="k must be"):
        ZeroFilledSVD(k=15).fit(r)
    with pytest.raises(ValueError, match="fill"):
        ZeroFilledSVD(fill="median").fit(r)
    with pytest.raises(ac.NotFittedError):
        ZeroFilledSVD().predict([0], [0])


def test_popularity_recommends_most_rated_unseen_items():
    # Item 2 rated 3 times, item 0 twice, item 1 once, item 3 never.
    R = sp.csr_matrix(
        np.array([[5.0, 0, 4, 0], [3, 0, 2, 0], [0, 1, 1, 0]]),
    )
    r = ac.Ratings.from_matrix(R)
    m = Popularity().fit(r)
    assert m.recommend(2, n=4)["item"].tolist() == [0, 3]  # 2 and 1 were seen by user 2
    assert m.recommend(2, n=4, exclude_seen=False)["item"].tolist() == [2, 0, 1, 3]


def test_recommend_from_scores_breaks_ties_by_popularity():
    seen = sp.csr_matrix((1, 4))
    frame = recommend_from_scores(
        np.array([1.0, 2.0, 2.0, 0.5]),
        seen,
        0,
        3,
        exclude_seen=True,
        item_ids=np.array(["a", "b", "c", "d"]),
        popularity=np.array([0, 1, 5, 0]),
    )
    assert frame["item_id"].tolist() == ["c", "b", "a"]
    assert frame["rank"].tolist() == [1, 2, 3]
