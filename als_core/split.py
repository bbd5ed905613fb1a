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

    Train and validation keep the full index space (same users, items and shape), so a model
    fitted on train predicts validation's pairs directly.

    Parameters
    ----------
    ratings : Ratings
        The observed ratings.
    method : {"random", "per_user", "by_time"}, default "random"
        - ``"random"``: a ``fraction`` of all ratings, chosen uniformly.
        - ``"per_user"``: ``n_per_user`` random ratings of each user (the article holds out
          one), or when ``n_per_user`` is None a ``fraction`` of each user's ratings; users
          with no more than ``n_per_user`` ratings keep them all for training.
        - ``"by_time"``: each user's last ``n_per_user`` ratings by timestamp (or their last
          ``fraction`` when ``n_per_user`` is None); needs timestamps.
    fraction : float, default 0.2
        Share held out, in [0, 1) (``"random"``, or the other methods with
        ``n_per_user=None``).
    n_per_user : int or None, default 1
        Ratings held out per user by ``"per_user"`` and ``"by_time"``.
    seed : int or None, default 0
        The randomness of the choice; the same seed gives the same split.

    Returns
    -------
    Split
        ``(train, validation)``, two ``Ratings``; ``.cold_users`` and ``.cold_items`` count
        who has validation ratings but no training rating, ``.report()`` says it in words.

    Raises
    ------
    TypeError
        ``ratings`` is not ``Ratings``.
    ValueError
        An unknown method, or ``fraction`` or ``n_per_user`` out of range.
    RatingsError
        ``"by_time"`` on ratings without timestamps.

    Examples
    --------
    >>> import pandas as pd
    >>> import als_core as ac
    >>> df = pd.DataFrame({"user": [1, 1, 1, 2, 2, 2], "item": list("abcabc"),
    ...                    "rating": [5.0, 4.0, 1.0, 2.0, 3.0, 5.0]})
    >>> train, valid = ac.split(ac.Ratings.from_frame(df), method="per_user", seed=0)
    >>> train.nnz, valid.nnz, train.shape == valid.shape
    (4, 2, True)
    >>> valid.user_counts().tolist()  # one rating of each user held out
    [1, 1]
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
