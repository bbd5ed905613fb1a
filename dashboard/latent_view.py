"""The Latent page's numbers: what colours the items, an item's nearest neighbours, a user's
recommendations and the tables that show them (numpy, pandas and als_core only, no Streamlit).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

import als_core as ac
from als_core import embed

from .data_summary import DatasetFacts, popular_items
from .settings import FitResult

#: β of the shrunk similarity n_ij / (n_ij + β) · cosine (n_ij: users who rated both).
SHRINKAGE = 10.0


def most_first(names: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``names`` ordered by ``counts``, largest first (ties keep their order)."""
    return np.asarray(names)[popular_items(counts, len(counts))]


def item_colour(
    colour_by: str, facts: DatasetFacts, genres: np.ndarray | None
) -> tuple[np.ndarray | None, str, bool]:
    """What colours the items on the map: (values, legend title, categorical?).

    ``colour_by`` is ``"genre"``, ``"mean rating"`` or ``"popularity"`` (log₁₀(1 + ratings)).
    """
    if colour_by == "genre":
        return genres, "genre", True
    if colour_by == "mean rating":
        return facts.item_means, "mean rating", False
    return np.log10(1 + facts.item_counts), "log₁₀(1 + ratings)", False


def steady(projection: ac.Projection, previous: ac.Projection | None) -> ac.Projection:
    """A new PCA map turned to match the previous one, so a refit (another λ, seed or k > 2)
    does not flip or spin the picture. Raw factors (k ≤ 2) are shown as they are."""
    if projection.method == "pca" and getattr(previous, "method", None) == "pca":
        return ac.align_projection(projection, previous)
    return projection


@dataclass(frozen=True)
class LatentView:
    """Everything the Latent page shows for one chosen item and user."""

    item: int
    user: int
    #: ``ac.nearest_neighbours``' table for the chosen item.
    neighbours: pd.DataFrame
    #: ``ac.explain_recommendations`` for the chosen user (one row per score part).
    explained: pd.DataFrame
    #: One row per recommendation: rank, item, score.
    recommendations: pd.DataFrame
    neighbour_table: pd.DataFrame
    recommendation_table: pd.DataFrame
    #: ‖y‖ of the chosen item and its number of training ratings.
    chosen_length: float
    chosen_train_ratings: int
    #: The chosen user's ratings, training and validation (left out of the recommendations).
    user_seen: int


def latent_view(
    fit: FitResult,
    ratings: ac.Ratings,
    facts: DatasetFacts,
    *,
    item_names: np.ndarray,
    genres: np.ndarray | None,
    item: int,
    user: int,
    n: int,
    shrunk: bool,
) -> LatentView:
    """The chosen item's ``n`` nearest neighbours and the chosen user's ``n`` recommendations.

    Parameters
    ----------
    fit : FitResult
        The session's fit (its model, training and validation ratings).
    ratings : ac.Ratings
        The whole dataset.
    facts : DatasetFacts
        ``data_summary.dataset_facts(ratings)``.
    item_names : numpy.ndarray
        Display names, index-aligned with the items.
    genres : numpy.ndarray or None
        Each item's category, if the data have them.
    item, user : int
        The chosen item and user (indices).
    n : int
        Neighbours and recommendations to list.
    shrunk : bool
        Rank neighbours by the shrunk cosine (``SHRINKAGE``) instead of the cosine.

    Returns
    -------
    LatentView
        Neighbours ranked by similarity; recommendations among the items the user rated
        neither in training nor in validation, best score first.
    """
    model = fit.model
    item, user = int(item), int(user)
    neighbours = ac.nearest_neighbours(
        model.item_factors_,
        item,
        n=n,
        labels=item_names,
        support=embed.co_ratings(fit.train, item),
        shrinkage=SHRINKAGE if shrunk else 0.0,
    )
    held_out = (
        fit.validation.matrix[user].indices if fit.validation is not None else np.array([], int)
    )
    explained = ac.explain_recommendations(model, user, n=n, exclude=held_out)
    recs = explained.drop_duplicates("rank")
    train_counts = fit.train.item_counts()
    return LatentView(
        item=item,
        user=user,
        neighbours=neighbours,
        explained=explained,
        recommendations=recs,
        neighbour_table=neighbour_table(
            neighbours, train_counts, facts, genres=genres, shrunk=shrunk
        ),
        recommendation_table=recommendation_table(
            recs, item_names, genres, rating_scale=ratings.rating_scale
        ),
        chosen_length=float(np.linalg.norm(model.item_factors_[item])),
        chosen_train_ratings=int(train_counts[item]),
        user_seen=int(ratings.user_counts()[user]),
    )


def neighbour_table(
    neighbours: pd.DataFrame,
    train_counts: np.ndarray,
    facts: DatasetFacts,
    *,
    genres: np.ndarray | None,
    shrunk: bool,
) -> pd.DataFrame:
    """The neighbours as shown: similarity (and the plain cosine when shrunk), ‖y‖, training
    ratings, ratings shared with the chosen item, genre, mean rating; indexed by rank."""
    index = neighbours["index"].to_numpy()
    table = pd.DataFrame(
        {
            "item": neighbours["label"],
            "similarity": neighbours["similarity"].round(3),
            "cosine": neighbours["cosine"].round(3),
            "length ‖y‖": neighbours["length"].round(3),
            "ratings": train_counts[index],
            "rated both": neighbours["support"],
        }
    )
    if not shrunk:
        table = table.drop(columns="cosine")
    if genres is not None:
        table["genre"] = genres[index]
    table["mean rating"] = facts.item_means[index].round(2)
    table.index = neighbours["rank"]
    return table


def recommendation_table(
    recs: pd.DataFrame,
    item_names: np.ndarray,
    genres: np.ndarray | None,
    *,
    rating_scale: tuple[float, float],
) -> pd.DataFrame:
    """The recommendations as shown: item, genre, the unclipped score and the predicted rating
    (the score clipped to the rating scale); indexed by rank."""
    items = recs["item"].to_numpy()
    scores = recs["score"].to_numpy()
    lo, hi = rating_scale
    table = pd.DataFrame(
        {
            "item": item_names[items],
            "score": scores.round(3),
            "predicted rating": np.clip(scores, lo, hi).round(2),
        }
    )
    if genres is not None:
        table.insert(1, "genre", genres[items])
    table.index = recs["rank"].to_numpy()
    return table
