"""Holdout splits: exact partitions of the observed ratings in the same index space."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import random_ratings, triples

import als_core as ac


@pytest.fixture(scope="module")
def timed() -> ac.Ratings:
    """40 users x 30 items with distinct timestamps and a few users with a single rating."""
    rng = np.random.default_rng(4)
    r = random_ratings(rng, 40, 30, 0.25, min_per_row=1)
    stamps = rng.permutation(r.nnz).astype(np.float64) * 60.0
    return ac.Ratings.from_codes(*r.coo(), shape=r.shape, timestamps=stamps)


def _assert_exact_partition(r: ac.Ratings, train: ac.Ratings, valid: ac.Ratings) -> None:
    assert train.shape == valid.shape == r.shape
    assert train.user_ids is r.user_ids and valid.item_ids is r.item_ids
    assert train.nnz + valid.nnz == r.nnz
    a, b = triples(train), triples(valid)
    assert not a & b
    assert a | b == triples(r)


@pytest.mark.parametrize("fraction", [0.0, 0.2, 0.5])
def test_random_split_partitions_exactly(timed, fraction):
    result = ac.split(timed, method="random", fraction=fraction, seed=1)
    train, valid = result
    _assert_exact_partition(timed, train, valid)
    assert valid.nnz == round(fraction * timed.nnz)
    assert result.train is train and result.validation is valid
    # timestamps travel with their ratings
    stamp = dict(zip(zip(*timed.coo()[:2], strict=True), timed.timestamps, strict=True))
    for part in (train, valid):
        u, i, _ = part.coo()
        assert [stamp[p] for p in zip(u, i, strict=True)] == part.timestamps.tolist()


def test_random_split_is_seeded(timed):
    a = ac.split(timed, seed=3).validation.fingerprint()
    assert a == ac.split(timed, seed=3).validation.fingerprint()
    assert a != ac.split(timed, seed=4).validation.fingerprint()


@pytest.mark.parametrize("n", [1, 2])
def test_per_user_holds_out_n_ratings_of_each_user_with_more(timed, n):
    train, valid = ac.split(timed, method="per_user", n_per_user=n, seed=0)
    _assert_exact_partition(timed, train, valid)
    counts = timed.user_counts()
    expected = np.where(counts > n, n, 0)
    np.testing.assert_array_equal(valid.user_counts(), expected)


def test_per_user_fraction(timed):
    train, valid = ac.split(timed, method="per_user", n_per_user=None, fraction=0.3, seed=0)
    _assert_exact_partition(timed, train, valid)
    np.testing.assert_array_equal(
        valid.user_counts(), np.floor(timed.user_counts() * 0.3).astype(int)
    )


@pytest.mark.parametrize("n", [1, 3])
def test_by_time_holds_out_each_users_latest_ratings(timed, n):
    train, valid = ac.split(timed, method="by_time", n_per_user=n)
    _assert_exact_partition(timed, train, valid)
    frame = timed.to_frame(labels=False)
    frame["count"] = frame.groupby("user")["item"].transform("size")
    latest = frame[frame["count"] > n].sort_values("timestamp").groupby("user").tail(n)
    expected = set(zip(latest["user"], latest["item"], latest["rating"], strict=True))
    assert triples(valid) == expected
    # and every held-out rating is later than every training rating of the same user
    held = valid.to_frame(labels=False).groupby("user")["timestamp"].min()
    kept = train.to_frame(labels=False).groupby("user")["timestamp"].max()
    both = pd.concat([held, kept], axis=1, keys=["held", "kept"]).dropna()
    assert (both["held"] > both["kept"]).all()


def test_by_time_needs_timestamps():
    r = random_ratings(np.random.default_rng(0), 5, 5, 0.6)
    with pytest.raises(ac.RatingsError, match="needs timestamps.*per_user"):
        ac.split(r, method="by_time")


def test_cold_users_and_items_are_counted():
    # user 2 and items 2, 3 have a single rating each.
    r = ac.Ratings.from_codes(
        [0, 0, 1, 1, 2, 3, 3],
        [0, 1, 0, 1, 2, 3, 0],
        [1.0, 2, 3, 4, 5, 1, 2],
        timestamps=[1, 2, 1, 2, 1, 2, 1],
    )
    result = ac.split(r, method="random", fraction=0.0)
    assert (result.cold_users, result.cold_items) == (0, 0)
    found = set()
    for seed in range(20):
        train, valid = result = ac.split(r, method="random", fraction=0.5, seed=seed)
        # independent count from the two parts: users/items with validation ratings only
        rows_t, cols_t, _ = train.coo()
        rows_v, cols_v, _ = valid.coo()
        cold_u = len(set(rows_v.tolist()) - set(rows_t.tolist()))
        cold_i = len(set(cols_v.tolist()) - set(cols_t.tolist()))
        assert (result.cold_users, result.cold_items) == (cold_u, cold_i)
        found.add((cold_u > 0, cold_i > 0))
    assert (True, True) in found  # the check above did see cold users and items
    by_time = ac.split(r, method="by_time", n_per_user=1)
    # held out: (0,1), (1,1), (3,3); user 2 keeps its only rating; items 1 and 3 have none left
    assert triples(by_time.validation) == {(0, 1, 2.0), (1, 1, 4.0), (3, 3, 1.0)}
    assert (by_time.cold_users, by_time.cold_items) == (0, 2)
    assert "0 user(s) and 2 item(s) have no training rating" in by_time.report()


def test_bad_arguments_are_rejected(timed):
    with pytest.raises(ValueError, match="method must be one of"):
        ac.split(timed, method="stratified")
    with pytest.raises(ValueError, match="fraction"):
        ac.split(timed, fraction=1.0)
    with pytest.raises(ValueError, match="n_per_user"):
        ac.split(timed, method="per_user", n_per_user=-1)
    with pytest.raises(TypeError, match="ac.Ratings"):
        ac.split(timed.matrix)
