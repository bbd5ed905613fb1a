"""Add yourself: a new user folded in from a few star ratings by one half-step against the
trained item factors; where they land on the map, what the model recommends them and which
users are most like them.

Plain computations on a fitted model (numpy, pandas and als_core only, no Streamlit), so the
page stays short and the tests can hold every number to the library's own fold-in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

import als_core as ac


def stars_to_rating(stars: int, scale: tuple[float, float]) -> float:
    """1–5 stars onto the data's rating scale (1 star = lowest, 5 = highest), linearly."""
    lo, hi = float(scale[0]), float(scale[1])
    if not hi > lo:
        return lo
    return lo + (float(stars) - 1.0) / 4.0 * (hi - lo)


@dataclass(frozen=True)
class FoldIn:
    """A new user placed by one half-step against the trained item factors."""

    items: np.ndarray
    ratings: np.ndarray
    factors: np.ndarray  # (k,)
    bias: float
    scores: np.ndarray  # predicted score for every item (unclipped)
    top: np.ndarray  # recommended item indices, best first (rated ones excluded)
    neighbours: np.ndarray  # user indices, most similar first
    similarity: np.ndarray

    def fitted(self) -> np.ndarray:
        """The fold-in's predictions for the items it was given."""
        return self.scores[self.items]


def fold_in_user(
    model: ac.ALS, items: np.ndarray, ratings: np.ndarray, *, n_top: int = 10, n_users: int = 5
) -> FoldIn:
    """Place a new user from (item, rating) pairs, score every item and find similar users.

    Scores are μ + b + b_i + x·y_i (the model's prediction rule, unclipped so the order at the
    top is kept); neighbours are the users with the highest cosine similarity of factors.
    """
    items = np.asarray(items, dtype=np.int64)
    ratings = np.asarray(ratings, dtype=np.float64)
    x, b = model.fold_in(items, ratings)
    Y = np.asarray(model.item_factors_, dtype=np.float64)
    scores = Y @ np.asarray(x, dtype=np.float64)
    if model.biases:
        scores = scores + float(model.global_mean_) + b + np.asarray(model.item_bias_)
    candidates = np.setdiff1d(np.arange(len(Y)), items)
    order = np.lexsort((-np.asarray(model.item_counts_)[candidates], -scores[candidates]))
    top = candidates[order][:n_top]
    X = np.asarray(model.user_factors_, dtype=np.float64)
    stacked = np.vstack([X, np.asarray(x, dtype=np.float64)[None, :]])
    idx, sim = ac.embed.cosine_neighbours(stacked, len(X), n=n_users)
    return FoldIn(
        items=items,
        ratings=ratings,
        factors=np.asarray(x, dtype=np.float64),
        bias=float(b),
        scores=scores,
        top=top,
        neighbours=idx,
        similarity=sim,
    )


def example_stars(items: np.ndarray, groups: np.ndarray | None) -> list[int]:
    """A clear taste to demo with, in stars (1–5) for ``items``: five stars for the first
    item's group and one for the rest (without groups: the first half five, the rest one)."""
    if groups is not None:
        liked = groups[items[0]]
        return [5 if groups[i] == liked else 1 for i in items]
    return [5 if j < len(items) // 2 else 1 for j in range(len(items))]


@dataclass(frozen=True)
class Placement:
    """A new user's (item, stars) folded in: where they land and what follows from it."""

    fold: FoldIn
    stars: np.ndarray  # 1–5, per rated item
    #: the stars as ratings on the data's scale (``stars_to_rating``)
    values: np.ndarray
    #: the new user's point on the map (``projection.transform`` of their factors)
    position: np.ndarray
    #: the nearest users: user, cosine similarity, training ratings
    similar: pd.DataFrame
    #: the rated items: item, stars, as a rating, the model's fit
    fitted: pd.DataFrame


def place_new_user(
    model: ac.ALS,
    train: ac.Ratings,
    projection: ac.Projection,
    chosen: list[tuple[int, int]],
    *,
    scale: tuple[float, float],
    item_names: np.ndarray,
    user_names: np.ndarray,
    n_top: int = 10,
    n_users: int = 5,
) -> Placement:
    """Fold in a new user from (item, stars) pairs and tabulate the result.

    Parameters
    ----------
    model : ac.ALS
        The fitted model; its item factors stay fixed.
    train : ac.Ratings
        Its training ratings (the neighbours' numbers of ratings).
    projection : ac.Projection
        The map the new user is placed on.
    chosen : list of (int, int)
        (item index, stars from 1 to 5); empty for a cold start (x = 0, b = 0).
    scale : (float, float)
        The data's rating scale, which the stars are spread over.
    item_names, user_names : numpy.ndarray
        Display names, index-aligned.
    n_top, n_users : int
        Recommendations and nearest users to find.

    Returns
    -------
    Placement
    """
    items = np.array([i for i, _ in chosen], dtype=np.int64)
    stars = np.array([s for _, s in chosen], dtype=np.int64)
    values = np.array([stars_to_rating(s, scale) for s in stars], dtype=np.float64)
    fold = fold_in_user(model, items, values, n_top=n_top, n_users=n_users)
    similar = pd.DataFrame(
        {
            "user": user_names[fold.neighbours],
            "cosine similarity": fold.similarity,
            "ratings": train.user_counts()[fold.neighbours],
        }
    )
    fitted = pd.DataFrame(
        {
            "item": item_names[items],
            "stars": stars,
            "as a rating": values,
            "model's fit": fold.fitted(),
        }
    )
    return Placement(
        fold=fold,
        stars=stars,
        values=values,
        position=projection.transform(fold.factors)[0],
        similar=similar,
        fitted=fitted,
    )
