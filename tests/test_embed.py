"""als_core.embed: the shared map, alignment, neighbours, explained scores, reconstruction grid."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import als_core as ac
from als_core import embed


def _random_ratings(n_users=30, n_items=20, density=0.3, seed=0, **info) -> ac.Ratings:
    rng = np.random.default_rng(seed)
    mask = rng.random((n_users, n_items)) < density
    mask[np.arange(n_users), rng.integers(0, n_items, n_users)] = True
    u, i = np.nonzero(mask)
    values = rng.integers(1, 6, len(u)).astype(float)
    return ac.Ratings.from_codes(u, i, values, shape=(n_users, n_items), **info)


@pytest.fixture(scope="module")
def fitted():
    ratings = _random_ratings()
    train, valid = ac.split(ratings, fraction=0.2, seed=1)
    model = ac.ALS(k=3, lam=0.5, iterations=4, seed=0).fit(train)
    return ratings, train, valid, model


# --------------------------------------------------------------------------------- projection
def test_shared_pca_matches_an_eigendecomposition_of_the_stacked_covariance():
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(40, 5)), rng.normal(size=(25, 5)) + 0.5
    proj = embed.shared_projection(X, Y)
    stacked = np.vstack([X, Y])
    centred = stacked - stacked.mean(axis=0)
    evals, evecs = np.linalg.eigh(centred.T @ centred)
    top = evecs[:, ::-1][:, :2]
    expected = centred @ top
    got = np.vstack([proj.users, proj.items])
    for j in range(2):  # eigenvectors are defined up to sign
        sign = np.sign(got[:, j] @ expected[:, j])
        np.testing.assert_allclose(got[:, j], sign * expected[:, j], atol=1e-10)
    np.testing.assert_allclose(proj.explained, evals[::-1][:2] / evals.sum(), rtol=1e-10)
    assert proj.method == "pca"
    # The same basis places users and items: transform reproduces both.
    np.testing.assert_allclose(proj.transform(X), proj.users, atol=1e-12)
    np.testing.assert_allclose(proj.transform(Y), proj.items, atol=1e-12)


def test_items_only_pca_uses_the_item_basis_for_users_too():
    rng = np.random.default_rng(4)
    X, Y = rng.normal(size=(50, 4)) * 3, rng.normal(size=(30, 4))
    proj = embed.shared_projection(X, Y, fit_on="items")
    np.testing.assert_allclose(proj.center, Y.mean(axis=0), atol=1e-12)
    _, _, vt = np.linalg.svd(Y - Y.mean(axis=0), full_matrices=False)
    np.testing.assert_allclose(np.abs(proj.basis), np.abs(vt[:2].T), atol=1e-10)
    np.testing.assert_allclose(proj.users, (X - Y.mean(axis=0)) @ proj.basis, atol=1e-12)


def test_k2_shows_raw_factors_and_k1_has_a_zero_second_axis():
    rng = np.random.default_rng(5)
    X, Y = rng.normal(size=(6, 2)), rng.normal(size=(4, 2))
    raw = embed.shared_projection(X, Y)
    assert raw.method == "raw"
    np.testing.assert_array_equal(raw.users, X)
    np.testing.assert_array_equal(raw.items, Y)
    one = embed.shared_projection(X[:, :1], Y[:, :1])
    assert one.method == "raw-1d"
    np.testing.assert_array_equal(one.users[:, 0], X[:, 0])
    assert np.all(one.items[:, 1] == 0)


def test_alignment_undoes_a_random_rotation_and_reflection():
    rng = np.random.default_rng(6)
    X, Y = rng.normal(size=(40, 6)), rng.normal(size=(30, 6))
    previous = embed.shared_projection(X, Y)
    q, _ = np.linalg.qr(rng.normal(size=(2, 2)))
    q = q @ np.diag([1.0, -1.0])  # include a reflection (a sign flip of one axis)
    turned = embed.Projection(
        users=previous.users @ q,
        items=previous.items @ q,
        center=previous.center,
        basis=previous.basis @ q,
        explained=previous.explained,
        method="pca",
    )
    aligned = embed.align_projection(turned, previous)
    np.testing.assert_allclose(aligned.users, previous.users, atol=1e-10)
    np.testing.assert_allclose(aligned.items, previous.items, atol=1e-10)
    np.testing.assert_allclose(aligned.basis, previous.basis, atol=1e-10)


def test_alignment_keeps_a_slightly_changed_fit_close_to_the_previous_picture():
    rng = np.random.default_rng(7)
    X, Y = rng.normal(size=(60, 5)), rng.normal(size=(40, 5))
    before = embed.shared_projection(X, Y)
    after = embed.shared_projection(-X + 0.01 * rng.normal(size=X.shape), -Y)  # all signs flip
    aligned = embed.align_projection(after, before)
    moved = np.linalg.norm(
        np.vstack([aligned.users, aligned.items]) - np.vstack([before.users, before.items])
    )
    assert moved < 0.05 * np.linalg.norm(np.vstack([before.users, before.items]))
    # Distances within the picture are unchanged by the alignment.
    np.testing.assert_allclose(
        np.linalg.norm(aligned.users[:, None] - aligned.items[None], axis=2),
        np.linalg.norm(after.users[:, None] - after.items[None], axis=2),
        atol=1e-10,
    )


def test_alignment_of_different_point_sets_changes_nothing():
    rng = np.random.default_rng(8)
    a = embed.shared_projection(rng.normal(size=(5, 3)), rng.normal(size=(4, 3)))
    b = embed.shared_projection(rng.normal(size=(6, 3)), rng.normal(size=(4, 3)))
    assert embed.align_projection(a, b) is a
    assert embed.align_projection(a, None) is a


# --------------------------------------------------------------------------------- neighbours
def test_cosine_neighbours_match_brute_force_including_a_zero_row():
    rng = np.random.default_rng(9)
    F = rng.normal(size=(25, 4))
    F[7] = 0.0
    for index in (0, 7, 24):
        idx, sim = embed.cosine_neighbours(F, index, n=6)
        brute = []
        for j in range(len(F)):
            if j == index:
                continue
            nj, ni = np.linalg.norm(F[j]), np.linalg.norm(F[index])
            brute.append((-(F[j] @ F[index] / (nj * ni)) if nj and ni else -0.0, j))
        brute.sort()
        np.testing.assert_array_equal(idx, [j for _, j in brute[:6]])
        np.testing.assert_allclose(sim, [-s for s, _ in brute[:6]], atol=1e-12)
        assert index not in idx


def test_nearest_neighbours_table_uses_labels():
    F = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [-1.0, 0.0]])
    table = embed.nearest_neighbours(F, 0, n=3, labels=np.array(["a", "b", "c", "d"]))
    assert table["label"].tolist() == ["b", "c", "d"]
    assert table["rank"].tolist() == [1, 2, 3]
    assert table["similarity"].iloc[-1] == pytest.approx(-1.0)


@pytest.mark.parametrize("beta", [0.0, 4.0])
def test_nearest_neighbours_shrink_only_with_a_positive_beta(beta):
    rng = np.random.default_rng(11)
    F = rng.normal(size=(12, 3))
    support = rng.integers(0, 6, size=12)
    support[[2, 5, 9]] = 0  # rows that share no rater with row 0
    table = embed.nearest_neighbours(F, 0, n=11, support=support, shrinkage=beta)
    unit = F / np.linalg.norm(F, axis=1, keepdims=True)
    cosine = unit @ unit[0]
    expected = cosine * support / (support + beta) if beta > 0 else cosine
    order = sorted(range(1, 12), key=lambda j: (-expected[j], j))
    assert table["index"].tolist() == order
    np.testing.assert_allclose(table["similarity"], expected[order], atol=1e-12)
    np.testing.assert_allclose(table["cosine"], cosine[order], atol=1e-12)
    assert table["support"].tolist() == support[order].tolist()


# --------------------------------------------------------------------------------- recommendations
@pytest.mark.parametrize("biases", [False, True])
def test_contributions_sum_to_each_recommendation_score(biases):
    ratings = _random_ratings(seed=2)
    model = ac.ALS(k=4, lam=0.3, iterations=3, biases=biases, seed=0).fit(ratings)
    table = embed.explain_recommendations(model, 5, n=7)
    recs = model.recommend(5, n=7)
    assert table["rank"].nunique() == 7
    sums = table.groupby("rank")["contribution"].sum().to_numpy()
    np.testing.assert_allclose(sums, recs["score"].to_numpy(), atol=1e-10)
    factor_rows = table[table["part"].str.startswith("factor")]
    first = factor_rows[factor_rows["rank"] == 1]["contribution"].to_numpy()
    item = int(recs["item"].iloc[0])
    np.testing.assert_allclose(
        first, model.user_factors_[5] * model.item_factors_[item], atol=1e-12
    )
    assert ("user bias" in set(table["part"])) == biases
    seen = set(ratings.matrix[5].indices)
    assert not seen & set(table["item"])


def test_extra_exclusions_drop_items_and_keep_the_ranking():
    ratings = _random_ratings(seed=4)
    model = ac.ALS(k=3, lam=0.3, iterations=2, seed=0).fit(ratings)
    full = model.recommend(2, n=8)
    drop = full["item"].to_numpy()[[0, 3]]
    table = embed.explain_recommendations(model, 2, n=6, exclude=drop)
    kept = table.drop_duplicates("rank")
    expected = [i for i in full["item"] if i not in set(drop)][:6]
    assert kept["item"].tolist() == expected
    assert kept["rank"].tolist() == list(range(1, 7))


def test_cold_start_scores_are_explained_by_a_fallback_part():
    ratings = _random_ratings(seed=3)
    keep = np.repeat(np.arange(ratings.n_users), ratings.user_counts()) != 0
    train = ratings.select(keep)  # user 0 has no training ratings
    model = ac.ALS(k=2, lam=0.3, iterations=2, seed=0).fit(train)
    table = embed.explain_recommendations(model, 0, n=3)
    assert "cold-start fallback" in set(table["part"])
    sums = table.groupby("rank")["contribution"].sum().to_numpy()
    np.testing.assert_allclose(sums, model.recommend(0, n=3)["score"], atol=1e-10)


# --------------------------------------------------------------------------------- labels
def test_labels_use_titles_make_duplicates_unique_and_genres_take_the_first():
    info = pd.DataFrame(
        {"Title": ["Alien", "Heat", "Alien", None], "genres": ["Horror|Sci-Fi", "Crime", "", None]}
    )
    r = ac.Ratings.from_codes([0, 0], [0, 3], [4.0, 2.0], shape=(1, 4), item_info=info)
    labels = embed.item_labels(r)
    assert labels.tolist() == ["Alien [0]", "Heat", "Alien [2]", "item 3"]  # no title: its id
    assert embed.item_genres(r).tolist() == ["Horror", "Crime", "(none)", "(none)"]
    assert embed.user_labels(r).tolist() == ["user 0"]
    plain = ac.Ratings.from_codes([0], [1], [3.0], shape=(1, 2))
    assert embed.item_labels(plain).tolist() == ["item 0", "item 1"]
    named = ac.Ratings.from_frame(
        pd.DataFrame({"user": ["ann"], "item": ["Heat"], "rating": [4.0]})
    )
    assert embed.item_labels(named).tolist() == ["Heat"]
    assert embed.user_labels(named).tolist() == ["ann"]
    assert embed.item_genres(plain) is None


def test_item_summary_counts_and_means_with_unrated_items_nan():
    r = ac.Ratings.from_codes([0, 1, 1], [0, 0, 2], [4.0, 2.0, 5.0], shape=(2, 3))
    s = embed.item_summary(r)
    assert s["n_ratings"].tolist() == [2, 0, 1]
    assert s["mean_rating"].iloc[0] == pytest.approx(3.0)
    assert np.isnan(s["mean_rating"].iloc[1])


# --------------------------------------------------------------------------------- ordering
def test_most_active_is_the_top_n_by_count_in_index_order():
    counts = np.array([5, 1, 9, 5, 0, 7])
    np.testing.assert_array_equal(embed.most_active(counts, 3), [0, 2, 5])
    np.testing.assert_array_equal(embed.most_active(counts, 4), [0, 2, 3, 5])
    np.testing.assert_array_equal(embed.most_active(counts, None), np.arange(6))
    with pytest.raises(ValueError, match="at least 1"):
        embed.most_active(counts, 0)


def test_leading_pattern_matches_the_svd_of_the_doubly_centred_prediction_matrix():
    rng = np.random.default_rng(10)
    X, Y = rng.normal(size=(30, 4)), rng.normal(size=(20, 4))
    u1, v1, share = embed.leading_pattern(X, Y)
    P = X @ Y.T
    C = P - P.mean(axis=0) - P.mean(axis=1, keepdims=True) + P.mean()
    U, s, Vt = np.linalg.svd(C)
    sign = np.sign(u1 @ U[:, 0])
    np.testing.assert_allclose(u1, sign * U[:, 0], atol=1e-10)
    np.testing.assert_allclose(v1, sign * Vt[0], atol=1e-10)
    assert share == pytest.approx(s[0] ** 2 / np.sum(s**2), rel=1e-10)


def test_ordering_by_leading_factor_makes_planted_blocks_contiguous():
    rng = np.random.default_rng(11)
    user_group = rng.permutation(np.repeat([0, 1], 20))
    item_group = rng.permutation(np.repeat([0, 1], 15))
    tastes = np.array([[1.0, 0.0], [0.0, 1.0]])
    X = tastes[user_group] + 0.05 * rng.normal(size=(40, 2))
    Y = tastes[item_group] + 0.05 * rng.normal(size=(30, 2))
    users, items = embed.order_rows_and_columns(
        np.arange(40), np.arange(30), by="leading factor", user_factors=X, item_factors=Y
    )
    # One switch from one group to the other along each axis: the groups form blocks.
    assert np.count_nonzero(np.diff(user_group[users])) == 1
    assert np.count_nonzero(np.diff(item_group[items])) == 1


def test_ordering_by_activity_is_descending_and_stable():
    users, items = embed.order_rows_and_columns(
        np.array([3, 1, 2]),
        np.array([0, 2]),
        by="activity",
        user_counts=np.array([0, 4, 4, 9]),
        item_counts=np.array([1, 0, 8]),
    )
    np.testing.assert_array_equal(users, [3, 1, 2])
    np.testing.assert_array_equal(items, [2, 0])
    with pytest.raises(ValueError, match="by must be one of"):
        embed.order_rows_and_columns(users, items, by="colour")


# --------------------------------------------------------------------------------- reconstruction
def test_dense_predictions_equal_model_predict(fitted):
    ratings, train, _, model = fitted
    users, items = np.arange(ratings.n_users), np.arange(ratings.n_items)
    expected = model.predict(users[:, None], items[None, :])
    np.testing.assert_allclose(embed.dense_predictions(model, users, items), expected, atol=1e-12)
    biased = ac.ALS(k=2, lam=0.3, iterations=2, biases=True, seed=0).fit(train)
    np.testing.assert_allclose(
        embed.dense_predictions(biased, users, items),
        biased.predict(users[:, None], items[None, :]),
        atol=1e-12,
    )


def test_cell_grid_keeps_missing_as_nan_and_marks_validation(fitted):
    ratings, train, valid, model = fitted
    users = np.array([4, 0, 9, 2])
    items = np.arange(ratings.n_items)[::-1]
    grid = embed.reconstruction_grid(model, train, valid, users, items, dtype=np.float64)
    assert grid.is_cells and grid.shape == (4, ratings.n_items)
    dense = ratings.matrix.toarray()
    observed = np.zeros_like(dense, dtype=bool)
    observed[ratings.coo()[0], ratings.coo()[1]] = True
    sub_obs = observed[np.ix_(users, items)]
    np.testing.assert_array_equal(~np.isnan(grid.actual), sub_obs)
    np.testing.assert_array_equal(grid.actual[sub_obs], dense[np.ix_(users, items)][sub_obs])
    held = np.zeros_like(observed)
    held[valid.coo()[0], valid.coo()[1]] = True
    np.testing.assert_array_equal(grid.n_validation.astype(bool), held[np.ix_(users, items)])
    pred = model.predict(users[:, None], items[None, :])
    np.testing.assert_allclose(grid.predicted, pred, atol=1e-12)
    np.testing.assert_allclose(
        grid.residual[sub_obs], (dense[np.ix_(users, items)] - pred)[sub_obs], atol=1e-12
    )
    assert np.all(np.isnan(grid.residual[~sub_obs]))


def test_a_stored_zero_rating_is_drawn_as_zero_not_missing():
    r = ac.Ratings.from_codes([0, 0, 1], [0, 1, 1], [0.0, 3.0, 1.0], shape=(2, 2))
    model = ac.ALS(k=1, lam=0.1, iterations=2, seed=0).fit(r)
    grid = embed.reconstruction_grid(model, r, None, np.arange(2), np.arange(2))
    assert grid.actual[0, 0] == 0.0 and np.isnan(grid.actual[1, 0])


def test_block_grid_averages_match_brute_force(fitted):
    ratings, train, valid, model = fitted
    users, items = np.arange(ratings.n_users)[::-1], np.arange(ratings.n_items)
    grid = embed.reconstruction_grid(
        model, train, valid, users, items, max_rows=7, max_cols=6, dtype=np.float64
    )
    bh, bw = grid.block
    assert (bh, bw) == (5, 4) and grid.shape == (6, 5)
    dense = ratings.matrix.toarray()[np.ix_(users, items)]
    observed = np.zeros(ratings.shape, dtype=bool)
    observed[ratings.coo()[0], ratings.coo()[1]] = True
    observed = observed[np.ix_(users, items)]
    pred = model.predict(users[:, None], items[None, :])
    for a in range(grid.shape[0]):
        for b in range(grid.shape[1]):
            rs, cs = slice(a * bh, (a + 1) * bh), slice(b * bw, (b + 1) * bw)
            obs = observed[rs, cs]
            assert grid.n_observed[a, b] == obs.sum()
            assert grid.predicted[a, b] == pytest.approx(pred[rs, cs].mean(), abs=1e-12)
            if obs.any():
                assert grid.actual[a, b] == pytest.approx(dense[rs, cs][obs].mean(), abs=1e-12)
                resid = (dense[rs, cs] - pred[rs, cs])[obs].mean()
                assert grid.residual[a, b] == pytest.approx(resid, abs=1e-12)
            else:
                assert np.isnan(grid.actual[a, b]) and np.isnan(grid.residual[a, b])
    assert [len(g) for g in grid.row_groups()] == [5] * 6
    np.testing.assert_array_equal(np.concatenate(grid.column_groups()), items)


def test_uneven_sizes_make_blocks_that_differ_by_at_most_one(fitted):
    ratings, train, valid, model = fitted
    users, items = np.arange(ratings.n_users), np.arange(ratings.n_items)
    grid = embed.reconstruction_grid(model, train, valid, users, items, max_rows=8, max_cols=3)
    rows = [len(g) for g in grid.row_groups()]
    cols = [len(g) for g in grid.column_groups()]
    assert len(rows) <= 8 and len(cols) <= 3
    assert max(rows) - min(rows) <= 1 and max(cols) - min(cols) <= 1
    assert sum(rows) == ratings.n_users and sum(cols) == ratings.n_items
    assert grid.n_observed.sum() == ratings.nnz
    # The mean prediction of the whole grid, weighted by block size, is the plain mean.
    weights = np.outer(rows, cols)
    overall = model.predict(users[:, None], items[None, :]).mean()
    assert (grid.predicted * weights).sum() / weights.sum() == pytest.approx(overall, rel=1e-6)
