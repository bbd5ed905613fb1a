"""Accuracy and ranking metrics."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .ratings import Ratings


def _pair(actual: Any, predicted: Any) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(actual, dtype=np.float64).ravel()
    p = np.asarray(predicted, dtype=np.float64).ravel()
    if a.shape != p.shape:
        raise ValueError(f"actual and predicted differ in length: {a.shape} vs {p.shape}")
    if a.size == 0:
        raise ValueError("cannot score an empty set of ratings")
    return a, p


def rmse(actual: Any, predicted: Any) -> float:
    """Root mean squared error."""
    a, p = _pair(actual, predicted)
    return float(np.sqrt(np.mean((a - p) ** 2)))


def mae(actual: Any, predicted: Any) -> float:
    """Mean absolute error."""
    a, p = _pair(actual, predicted)
    return float(np.mean(np.abs(a - p)))


def evaluate(model: Any, ratings: Ratings, *, clip: bool = True) -> dict[str, float]:
    """RMSE and MAE of ``model.predict`` on every observed rating of ``ratings``."""
    users, items, values = ratings.coo()
    pred = model.predict(users, items, clip=clip)
    return {"rmse": rmse(values, pred), "mae": mae(values, pred), "n": int(len(values))}


def precision_at_n(recommended: Sequence[Any], relevant: Iterable[Any], n: int) -> float:
    """Share of the first n recommendations that are relevant (divides by n)."""
    if n < 1:
        raise ValueError(f"n must be ≥ 1, got {n}")
    rel = set(relevant)
    return sum(1 for x in list(recommended)[:n] if x in rel) / n


def recall_at_n(recommended: Sequence[Any], relevant: Iterable[Any], n: int) -> float:
    """Share of the relevant items found among the first n recommendations."""
    if n < 1:
        raise ValueError(f"n must be ≥ 1, got {n}")
    rel = set(relevant)
    if not rel:
        return float("nan")
    return sum(1 for x in list(recommended)[:n] if x in rel) / len(rel)


def ndcg_at_n(recommended: Sequence[Any], relevant: Iterable[Any], n: int) -> float:
    """Normalised discounted cumulative gain with binary relevance."""
    if n < 1:
        raise ValueError(f"n must be ≥ 1, got {n}")
    rel = set(relevant)
    if not rel:
        return float("nan")
    gains = [1.0 / np.log2(r + 2) for r, x in enumerate(list(recommended)[:n]) if x in rel]
    ideal = sum(1.0 / np.log2(r + 2) for r in range(min(n, len(rel))))
    return float(sum(gains) / ideal)


def ranking_metrics(
    model: Any, heldout: Ratings, n: int = 10, *, min_rating: float | None = None
) -> pd.Series:
    """Mean precision@n, recall@n and NDCG@n over users with held-out items.

    An item counts as relevant when the user rated it in ``heldout`` (at least ``min_rating``
    when given). Recommendations exclude the items seen in training.
    """
    users, items, values = heldout.coo()
    keep = np.ones(len(values), dtype=bool) if min_rating is None else values >= min_rating
    frame = pd.DataFrame({"user": users[keep], "item": items[keep]})
    rows = []
    for user, group in frame.groupby("user", sort=True):
        recs = model.recommend(int(user), n=n, exclude_seen=True)["item"].tolist()
        relevant = group["item"].tolist()
        rows.append(
            (
                precision_at_n(recs, relevant, n),
                recall_at_n(recs, relevant, n),
                ndcg_at_n(recs, relevant, n),
            )
        )
    if not rows:
        raise ValueError("no held-out ratings to rank against")
    arr = np.array(rows)
    return pd.Series(
        {
            f"precision@{n}": arr[:, 0].mean(),
            f"recall@{n}": arr[:, 1].mean(),
            f"ndcg@{n}": arr[:, 2].mean(),
            "users": len(rows),
        }
    )
