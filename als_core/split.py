"""Holdout splits of observed ratings. Train and validation keep the full index space."""

from __future__ import annotations

import numpy as np

from .errors import RatingsError
from .ratings import Ratings

SPLIT_METHODS = ("random", "per_user", "by_time")


class Split(tuple):
    """``(train, validation)`` that also reports who was left without training ratings.

    Unpacks like a pair; ``cold_users`` / ``cold_items`` count the users / items that have
    validation ratings but no training rating (the model predicts them from the global mean
    and whatever bias is known).
    """

    def __new__(cls, train: Ratings, validation: Ratings) -> Split:
        return super().__new__(cls, (train, validation))

    @property
    def train(self) -> Ratings:
        return self[0]

    @property
    def validation(self) -> Ratings:
        return self[1]

    @property
    def cold_users(self) -> int:
        return int(np.sum((self[0].user_counts() == 0) & (self[1].user_counts() > 0)))

    @property
    def cold_items(self) -> int:
        return int(np.sum((self[0].item_counts() == 0) & (self[1].item_counts() > 0)))

    def report(self) -> str:
        """A one-line summary for people."""
        return (
            f"{self[0].nnz} training and {self[1].nnz} validation ratings; "
            f"{self.cold_users} user(s) and {self.cold_items} item(s) have no training rating"
        )


def split(
    ratings: Ratings,
    method: str = "random",
    fraction: float = 0.2,
    *,
    n_per_user: int | None = 1,
    seed: int | None = 0,
) -> Split:
    """Hold out some observed ratings for validation.

    - ``"random"``: a ``fraction`` of all ratings, chosen uniformly.
    - ``"per_user"``: ``n_per_user`` random ratings of each user (the article holds out one), or
      when ``n_per_user`` is None a ``fraction`` of each user's ratings; users with no more than
      ``n_per_user`` ratings keep them all for training.
    - ``"by_time"``: each user's last ``n_per_user`` ratings by timestamp (or their last
      ``fraction`` when ``n_per_user`` is None); needs timestamps.
    """
    if not isinstance(ratings, Ratings):
        raise TypeError(f"split expects ac.Ratings, got {type(ratings).__name__}")
    if method not in SPLIT_METHODS:
        raise ValueError(f"method must be one of {SPLIT_METHODS}, got {method!r}")
    if not (0.0 <= float(fraction) < 1.0):
        raise ValueError(f"fraction must be in [0, 1), got {fraction!r}")
    if n_per_user is not None and (int(n_per_user) != n_per_user or n_per_user < 0):
        raise ValueError(f"n_per_user must be an integer ≥ 0 or None, got {n_per_user!r}")
    rng = np.random.default_rng(seed)
    nnz = ratings.nnz
    if method == "random":
        held = np.zeros(nnz, dtype=bool)
        held[rng.permutation(nnz)[: int(round(fraction * nnz))]] = True
    else:
        if method == "by_time":
            if ratings.timestamps is None:
                raise RatingsError(
                    "split(method='by_time') needs timestamps; these ratings have none. "
                    "Use method='per_user' or 'random', or load a timestamp column"
                )
            key = ratings.timestamps
        else:
            key = rng.random(nnz)
        held = _last_per_row(ratings, key, n_per_user, fraction)
    return Split(ratings.select(~held), ratings.select(held))


def _last_per_row(
    ratings: Ratings, key: np.ndarray, n_per_user: int | None, fraction: float
) -> np.ndarray:
    """Mark, in each row, the entries with the largest ``key`` (ties broken by position)."""
    counts = ratings.user_counts()
    rows = np.repeat(np.arange(ratings.n_users), counts)
    order = np.lexsort((np.arange(len(key)), key, rows))  # by row, then key ascending
    starts = np.repeat(ratings.matrix.indptr[:-1], counts)
    rank_from_end = counts[rows] - 1 - (np.arange(len(key)) - starts)  # within row, sorted
    if n_per_user is None:
        take = np.floor(counts * fraction).astype(np.int64)
    else:
        take = np.where(counts > n_per_user, n_per_user, 0)
    held_sorted = rank_from_end < take[rows]
    held = np.zeros(len(key), dtype=bool)
    held[order] = held_sorted
    return held
