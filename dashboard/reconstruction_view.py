"""Which users and items a reconstruction shows, in which order, and the numbers its caption
gives (numpy and als_core only, no Streamlit). The Reconstruction and Iteration replay pages
both pick their rows and columns here."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

import als_core as ac
from als_core import embed

from .settings import FitResult

#: Up to this many users × items every cell is drawn with its own hover; above, blocks.
CELL_LIMIT = 200


def shown_rows_and_columns(
    ratings: ac.Ratings,
    model: ac.ALS,
    *,
    n_users: int,
    n_items: int,
    order: str,
    extra_users: Iterable[int] = (),
    extra_items: Iterable[int] = (),
) -> tuple[np.ndarray, np.ndarray]:
    """The ``n_users`` most active users and ``n_items`` most rated items (plus the extra ones
    picked), ordered for display.

    Parameters
    ----------
    ratings : ac.Ratings
        The whole dataset (activity counts training and validation ratings).
    model : ac.ALS
        The fitted model (its factors order rows and columns by ``"leading factor"``).
    n_users, n_items : int
        How many of the most active users and most rated items.
    order : {"given", "activity", "leading factor"}
        As ``ac.embed.order_rows_and_columns`` orders them.
    extra_users, extra_items : iterable of int
        More users and items to show whatever their activity.

    Returns
    -------
    users, items : numpy.ndarray of int64
    """
    user_counts, item_counts = ratings.user_counts(), ratings.item_counts()
    users = np.union1d(embed.most_active(user_counts, n_users), np.asarray(list(extra_users)))
    items = np.union1d(embed.most_active(item_counts, n_items), np.asarray(list(extra_items)))
    return embed.order_rows_and_columns(
        users.astype(np.int64),
        items.astype(np.int64),
        by=order,
        user_counts=user_counts,
        item_counts=item_counts,
        user_factors=model.user_factors_,
        item_factors=model.item_factors_,
    )


def reconstruction(
    fit: FitResult,
    ratings: ac.Ratings,
    *,
    n_users: int,
    n_items: int,
    order: str,
    extra_users: Iterable[int] = (),
    extra_items: Iterable[int] = (),
) -> ac.ReconstructionGrid:
    """The reconstruction of ``shown_rows_and_columns``: every cell up to ``CELL_LIMIT`` rows
    and columns, blocks above."""
    users, items = shown_rows_and_columns(
        ratings,
        fit.model,
        n_users=n_users,
        n_items=n_items,
        order=order,
        extra_users=extra_users,
        extra_items=extra_items,
    )
    return ac.reconstruction_grid(
        fit.model,
        fit.train,
        fit.validation,
        users,
        items,
        max_rows=CELL_LIMIT,
        max_cols=CELL_LIMIT,
    )


def shown_rmse(grid: ac.ReconstructionGrid) -> list[tuple[str, float]]:
    """("training", RMSE) and ("validation", RMSE) of the clipped predictions on the shown
    cells, each only when such cells are shown (a block grid shows none)."""
    parts = [
        ("training", grid.cell_rmse(held_out=False)),
        ("validation", grid.cell_rmse(held_out=True)),
    ]
    return [(name, float(value)) for name, value in parts if not np.isnan(value)]
