"""The generator: planted truth, settings honoured, reproducible, never dense for big sizes."""

import numpy as np
import pytest

import als_core as ac
from als_core.synthetic import sample_pairs


def test_shapes_density_scale_and_rounding_are_honoured():
    d = ac.synthetic(
        n_users=120,
        n_items=80,
        rank=4,
        density=0.15,
        noise=0.4,
        scale=(1, 5),
        rounding=0.5,
        seed=3,
    )
    r = d.ratings
    assert isinstance(r, ac.Ratings)
    assert r.shape == (120, 80)
    assert r.nnz == round(0.15 * 120 * 80)
    assert d.user_factors.shape == (120, 4) and d.item_factors.shape == (80, 4)
    assert r.matrix.data.min() >= 1 and r.matrix.data.max() <= 5
    # half stars: twice every value is a whole number
    np.testing.assert_array_equal(2 * r.matrix.data, np.round(2 * r.matrix.data))
    # every user and every item has at least one rating
    assert r.user_counts().min() >= 1 and r.item_counts().min() >= 1


def test_noise_free_unclipped_ratings_equal_the_true_factors_product():
    d = ac.synthetic(
        n_users=40, n_items=30, rank=3, density=0.3, noise=0.0, rounding=None, clip=False, seed=1
    )
    rows, cols, vals = d.ratings.coo()
    X, Y = d.user_factors, d.item_factors
    independent = np.array([X[u] @ Y[i] for u, i in zip(rows, cols, strict=True)])
    np.testing.assert_allclose(vals, independent, rtol=0, atol=1e-12)
    np.testing.assert_allclose(d.true_observed(), independent, rtol=0, atol=1e-12)
    dense = d.true_matrix()
    np.testing.assert_allclose(dense[rows, cols], independent, rtol=0, atol=1e-12)
    assert np.linalg.matrix_rank(dense) == 3


def test_noise_has_the_requested_standard_deviation():
    d = ac.synthetic(
        n_users=200,
        n_items=200,
        rank=2,
        density=0.5,
        noise=0.25,
        rounding=None,
        clip=False,
        seed=2,
    )
    residual = d.ratings.matrix.data - d.true_observed()
    # 20,000 draws: the sample sd of N(0, 0.25²) is within ±3% with overwhelming probability
    assert abs(residual.std() - 0.25) < 0.0075
    assert abs(residual.mean()) < 0.01


def test_true_values_sit_around_the_middle_of_the_scale():
    d = ac.synthetic(n_users=300, n_items=300, rank=5, density=0.2, seed=4, scale=(1, 5))
    truth = d.true_observed()
    assert abs(truth.mean() - 3.0) < 0.15
    assert 0.5 < truth.std() < 1.3  # spread over the scale, not collapsed, not saturated


def test_same_seed_same_data_other_seed_other_data():
    a = ac.synthetic(n_users=50, n_items=40, seed=7)
    b = ac.synthetic(n_users=50, n_items=40, seed=7)
    c = ac.synthetic(n_users=50, n_items=40, seed=8)
    assert a.ratings.fingerprint() == b.ratings.fingerprint()
    np.testing.assert_array_equal(a.user_factors, b.user_factors)
    assert a.ratings.fingerprint() != c.ratings.fingerprint()


def test_popularity_skew_concentrates_ratings_on_few_items():
    flat = ac.synthetic(n_users=400, n_items=200, density=0.05, popularity_skew=0.0, seed=0)
    skewed = ac.synthetic(n_users=400, n_items=200, density=0.05, popularity_skew=1.2, seed=0)

    def top_share(r):  # share of ratings on the 10% most rated items
        counts = np.sort(r.item_counts())[::-1]
        return counts[:20].sum() / counts.sum()

    assert top_share(flat.ratings) < 0.2
    assert top_share(skewed.ratings) > 0.4


def test_planted_clusters_are_tight_in_taste_space():
    d = ac.synthetic(n_users=50, n_items=120, rank=4, clusters=4, cluster_spread=0.2, seed=0)
    taste = d.item_factors[:, 1:]
    groups = d.item_groups
    assert set(groups.tolist()) == {0, 1, 2, 3}
    centres = np.array([taste[groups == g].mean(axis=0) for g in range(4)])
    within = np.mean(np.linalg.norm(taste - centres[groups], axis=1))
    between = np.mean(
        [np.linalg.norm(centres[a] - centres[b]) for a in range(4) for b in range(a + 1, 4)]
    )
    assert within < 0.5 * between


def test_big_sizes_stay_sparse_and_true_matrix_is_refused():
    d = ac.synthetic(n_users=20_000, n_items=5_000, rank=5, density=0.002, seed=0)
    assert d.ratings.nnz == 200_000
    with pytest.raises(ac.RatingsError, match="true_values"):
        d.true_matrix()
    # spot-check a few pairs against the factors
    np.testing.assert_allclose(
        d.true_values([0, 19_999], [4_999, 0]),
        [d.user_factors[0] @ d.item_factors[4_999], d.user_factors[19_999] @ d.item_factors[0]],
    )


def test_sampled_pairs_are_distinct_and_cover_rows_and_columns_both_ways():
    rng = np.random.default_rng(0)
    uw = np.full(30, 1 / 30)
    iw = np.linspace(1, 5, 20)
    iw /= iw.sum()
    rows, cols = sample_pairs(rng, uw, iw, 200)
    keys = rows * 20 + cols
    assert len(np.unique(keys)) == 200
    assert len(np.unique(rows)) == 30 and len(np.unique(cols)) == 20


def test_rejection_sampler_gives_distinct_pairs_above_the_exact_limit():
    rng = np.random.default_rng(1)
    n_users, n_items = 3_000, 1_000  # 3M cells: above the exact-sampling limit
    uw = np.full(n_users, 1 / n_users)
    iw = 1 / np.arange(1, n_items + 1)
    iw /= iw.sum()
    rows, cols = sample_pairs(rng, uw, iw, 30_000)
    keys = rows * n_items + cols
    assert len(keys) == 30_000 and len(np.unique(keys)) == 30_000


@pytest.mark.parametrize(
    "bad",
    [
        {"n_users": 1},
        {"rank": 0},
        {"density": 0},
        {"density": 1.5},
        {"noise": -1},
        {"scale": (5, 1)},
        {"rounding": 0},
        {"clusters": 3, "rank": 1},
    ],
)
def test_bad_settings_raise_ratings_error_naming_the_setting(bad):
    settings = {"n_users": 20, "n_items": 20, "rank": 2, "seed": 0} | bad
    with pytest.raises(ac.RatingsError, match=next(iter(bad))):
        ac.synthetic(**settings)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        # the link ?data=synthetic&gen=n_users:1000000,n_items:1000000,density:0.5
        ({"n_users": 1_000_000, "n_items": 1_000_000, "density": 0.5},
         r"500,000,000,000 ratings .* more than the limit of 2,000,000"),
        ({"n_users": 2_001, "n_items": 1_000, "density": 1.0},
         r"about 2,001,000 ratings .* limit of 2,000,000"),
        # one rating, but factor arrays of 10^9 rows
        ({"n_users": 10**9, "n_items": 2, "density": 10**-9},
         r"true-factor entries, more than the limit of 10,000,000"),
        ({"n_users": 60_000, "n_items": 60_000, "rank": 200, "density": 1e-4},
         r"24,000,000 true-factor entries"),
    ],
)  # fmt: skip
def test_sizes_over_the_library_limits_are_refused_before_any_work(settings, message):
    with pytest.raises(ac.RatingsError, match=message):
        ac.synthetic(**{"rank": 2, "seed": 0} | settings)


def test_the_largest_allowed_size_is_generated():
    from als_core.synthetic import MAX_SYNTHETIC_RATINGS

    d = ac.synthetic(n_users=2_000, n_items=1_000, rank=2, density=1.0, seed=0)
    assert d.ratings.nnz == 2_000_000 == MAX_SYNTHETIC_RATINGS


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"n_users": float("nan")}, "n_users must be a whole number"),
        ({"n_users": 2.5}, "n_users must be a whole number"),
        ({"n_items": True}, "n_items must be a whole number"),
        ({"rank": "3"}, "rank must be a whole number"),
        ({"density": float("nan")}, "density must be a finite number"),
        ({"noise": float("inf")}, "noise must be a finite number"),
        ({"seed": -1}, r"seed must be ≥ 0"),
        ({"scale": (1.0,)}, "scale must be two finite numbers"),
        ({"scale": (1.0, float("inf"))}, "scale must be two finite numbers"),
        # sizes too large for a float: counted exactly, refused by the size limit
        ({"n_users": 10**400, "n_items": 3, "density": 1e-300}, "more than the limit"),
        ({"n_users": 10**308, "n_items": 10**308}, r"about 1\.0e\+299 ratings"),
    ],
)
def test_odd_values_are_refused_in_words_naming_the_setting(bad, message):
    """A link's generator settings reach synthetic() as written: none may end in a Python
    error (OverflowError, IndexError, numpy's seed message) instead of a RatingsError."""
    settings = {"n_users": 20, "n_items": 20, "rank": 2, "seed": 0} | bad
    with pytest.raises(ac.RatingsError, match=message):
        ac.synthetic(**settings)
