"""The numbers that describe a dataset: its size, scale and mean, notes on empty rows, and each
item's and user's counts and means (numpy, pandas and als_core only, no Streamlit). The Data
page shows them; the Latent page colours and ranks with them; Add yourself offers the most
rated items first."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

import als_core as ac
from als_core import embed

#: The item-information table shows this many items at most.
ITEM_INFO_ROWS = 500


@dataclass(frozen=True)
class Summary:
    """A dataset at a glance."""

    n_users: int
    n_items: int
    n_ratings: int
    density: float
    rating_scale: tuple[float, float]
    #: The mean rating; None without ratings.
    mean: float | None
    #: The reader's notes, then one on users and items without ratings (when there are any).
    notes: list[str]


def mean_rating(ratings: ac.Ratings) -> float | None:
    """The mean of every rating; None without ratings."""
    return float(ratings.matrix.data.mean()) if ratings.nnz else None


def summary(ratings: ac.Ratings) -> Summary:
    """Size, density, scale, mean rating and notes of ``ratings``.

    Parameters
    ----------
    ratings : ac.Ratings

    Returns
    -------
    Summary
    """
    notes = list(ratings.notes)
    empty_users = int(np.sum(ratings.user_counts() == 0))
    empty_items = int(np.sum(ratings.item_counts() == 0))
    if empty_users or empty_items:
        notes.append(f"{empty_users} user(s) and {empty_items} item(s) have no ratings")
    return Summary(
        n_users=ratings.n_users,
        n_items=ratings.n_items,
        n_ratings=ratings.nnz,
        density=ratings.density,
        rating_scale=ratings.rating_scale,
        mean=mean_rating(ratings),
        notes=notes,
    )


def item_info_table(ratings: ac.Ratings, rows: int = ITEM_INFO_ROWS) -> pd.DataFrame | None:
    """The first ``rows`` items' information (title, genres, …) with their number of ratings
    in front; None when the data carry no item information."""
    if ratings.item_info is None:
        return None
    info = ratings.item_info.head(rows).copy()
    info.insert(0, "ratings", ratings.item_counts()[: len(info)])
    return info


@dataclass(frozen=True)
class DatasetFacts:
    """Per-item and per-user numbers of one dataset that the map and the tables show."""

    item_counts: np.ndarray
    #: Each item's mean rating; an item without ratings gets the overall mean.
    item_means: np.ndarray
    user_counts: np.ndarray


def dataset_facts(ratings: ac.Ratings) -> DatasetFacts:
    """Counts and mean ratings of every item and every user's number of ratings.

    Parameters
    ----------
    ratings : ac.Ratings
        The session's dataset (all ratings: training and validation).

    Returns
    -------
    DatasetFacts
    """
    item_summary = embed.item_summary(ratings)
    mean = item_summary["mean_rating"].to_numpy()
    overall = mean_rating(ratings) or 0.0
    return DatasetFacts(
        item_counts=item_summary["n_ratings"].to_numpy(),
        item_means=np.where(np.isfinite(mean), mean, overall),
        user_counts=ratings.user_counts(),
    )


def popular_items(counts: np.ndarray, n: int) -> np.ndarray:
    """The n most rated items, most rated first (ties to the lower index)."""
    counts = np.asarray(counts)
    return np.lexsort((np.arange(len(counts)), -counts))[:n]
