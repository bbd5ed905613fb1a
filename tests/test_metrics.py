"""Metrics against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import als_core as ac


def test_rmse_and_mae_by_hand():
    actual = [1.0, 2.0, 3.0, 4.0]
    predicted = [1.0, 2.5, 1.0, 5.0]
    # errors 0, 0.5, -2, 1 -> squares 0, 0.25, 4, 1 (mean 1.3125); absolutes mean 3.5 / 4
    assert ac.rmse(actual, predicted) == pytest.approx(math.sqrt(1.3125), rel=1e-15)
    assert ac.mae(actual, predicted) == pytest.approx(0.875, rel=1e-15)
    assert ac.rmse(np.array([[2.0]]), [2.0]) == 0.0


def test_rmse_and_mae_reject_mismatched_or_empty_input():
    with pytest.raises(ValueError, match="differ in length"):
        ac.rmse([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="empty"):
        ac.mae([], [])


RECS = ["a", "b", "c", "d", "e"]
RELEVANT = {"b", "d", "x"}


@pytest.mark.parametrize(
    ("n", "precision", "recall", "ndcg"),
    [
        # hits at ranks 2 and 4 (positions 1 and 3 from zero); 3 relevant items in all
        (1, 0.0, 0.0, 0.0),
        (2, 1 / 2, 1 / 3, (1 / math.log2(3)) / (1 + 1 / math.log2(3))),
        (
            4,
            2 / 4,
            2 / 3,
            (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3) + 1 / math.log2(4)),
        ),
        # n beyond the list: precision still divides by n
        (10, 2 / 10, 2 / 3, (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3) + 0.5)),
    ],
)
def test_ranking_metrics_by_hand(n, precision, recall, ndcg):
    assert ac.precision_at_n(RECS, RELEVANT, n) == pytest.approx(precision, rel=1e-15)
    assert ac.recall_at_n(RECS, RELEVANT, n) == pytest.approx(recall, rel=1e-15)
    assert ac.ndcg_at_n(RECS, RELEVANT, n) == pytest.approx(ndcg, rel=1e-15)


def test_perfect_ranking_scores_one():
    assert ac.ndcg_at_n(["b", "d", "x", "a"], RELEVANT, 3) == pytest.approx(1.0)
    assert ac.precision_at_n(["b", "d", "x"], RELEVANT, 3) == 1.0
    assert ac.recall_at_n(["b", "d", "x"], RELEVANT, 3) == 1.0


def test_ranking_metrics_edge_cases():
    assert math.isnan(ac.recall_at_n(RECS, [], 3))
    assert math.isnan(ac.ndcg_at_n(RECS, [], 3))
    with pytest.raises(ValueError, match="n must be"):
        ac.precision_at_n(RECS, RELEVANT, 0)


class _FixedModel:
    """A stand-in model with known predictions and recommendations."""

    def predict(self, users, items, *, clip=True):
        return np.asarray(users, dtype=float) + 2.0 * np.asarray(items, dtype=float)

    def recommend(self, user, n=10, exclude_seen=True):
        order = {0: [2, 1, 0], 1: [0, 1, 2]}[user]
        return pd.DataFrame({"item": order[:n]})


def test_evaluate_scores_every_observed_rating():
    r = ac.Ratings.from_codes([0, 0, 1], [0, 2, 1], [1.0, 4.0, 2.0])
    # predictions u + 2i: 0, 4, 3 -> errors 1, 0, -1
    assert ac.evaluate(_FixedModel(), r) == pytest.approx(
        {"rmse": math.sqrt(2 / 3), "mae": 2 / 3, "n": 3}
    )


def test_ranking_metrics_average_over_users():
    heldout = ac.Ratings.from_codes([0, 0, 1], [2, 0, 2], [5.0, 2.0, 4.0], shape=(2, 3))
    # user 0: recs [2, 1], relevant {0, 2}: P=1/2, R=1/2, NDCG=1/(1+1/log2 3)
    # user 1: recs [0, 1], relevant {2}: all 0
    got = ac.ranking_metrics(_FixedModel(), heldout, n=2)
    assert got["precision@2"] == pytest.approx(0.25)
    assert got["recall@2"] == pytest.approx(0.25)
    assert got["ndcg@2"] == pytest.approx(0.5 / (1 + 1 / math.log2(3)))
    assert got["users"] == 2
    # only ratings >= 4 relevant: user 0 relevant {2} (hit at rank 1), user 1 {2} (miss)
    strict = ac.ranking_metrics(_FixedModel(), heldout, n=2, min_rating=4.0)
    assert strict["precision@2"] == pytest.approx(0.25)
    assert strict["recall@2"] == pytest.approx(0.5)
    assert strict["ndcg@2"] == pytest.approx(0.5)
