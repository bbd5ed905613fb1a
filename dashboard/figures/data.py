"""Figures for the Data page: rating histogram, activity per user and item, sparsity pattern.

Every function aggregates before drawing, so the figure stays small (tens of kilobytes to a few
hundred) whatever the size of the data: counts per rating value, at most a few hundred points per
activity curve, at most MAX_PATTERN_CELLS cells in the sparsity picture.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import scipy.sparse as sp

from . import ITEM_COLOR, RATING_SCALE, USER_COLOR, log_ticks, shown_names, style

#: Above this many distinct values the histogram uses equal-width bins instead of one bar each.
MAX_DISTINCT_BARS = 40
#: Points kept per activity curve (log-spaced ranks, so the head and the tail both show).
ACTIVITY_POINTS = 300
#: Below this many rows and columns each cell is drawn; above, cells are aggregated into blocks.
EXACT_PATTERN_SIDE = 400
#: The aggregated sparsity picture has at most this many blocks per side.
PATTERN_BLOCKS = 200


def rating_histogram(values: np.ndarray, *, bins: int = 30) -> go.Figure:
    """How many ratings have each value (one bar per value when there are few distinct ones)."""
    values = np.asarray(values, dtype=np.float64)
    distinct, counts = np.unique(values, return_counts=True)
    if len(distinct) <= MAX_DISTINCT_BARS:
        x, y = distinct, counts
        width = float(np.min(np.diff(distinct))) * 0.8 if len(distinct) > 1 else 0.8
    else:
        y, edges = np.histogram(values, bins=bins)
        x = (edges[:-1] + edges[1:]) / 2
        width = float(edges[1] - edges[0])
    fig = go.Figure(
        go.Bar(
            x=x,
            y=y,
            width=width,
            marker_color=USER_COLOR,
            hovertemplate="rating %{x:g}: %{y:,} ratings<extra></extra>",
        )
    )
    fig.update_xaxes(title="rating")
    # Counts are whole numbers: no 0.2 steps on tiny data.
    fig.update_yaxes(title="number of ratings", dtick=1 if np.max(y, initial=0) <= 8 else None)
    return style(fig, title="Rating values", legend=False)


def _log_spaced_ranks(n: int, points: int) -> np.ndarray:
    """Indices 0..n-1 spaced evenly on a log scale (all of them when n ≤ points)."""
    if n <= points:
        return np.arange(n)
    ranks = np.unique(np.round(np.logspace(0, np.log10(n), points)).astype(np.int64) - 1)
    return np.clip(ranks, 0, n - 1)


def activity_figure(user_counts: np.ndarray, item_counts: np.ndarray) -> go.Figure:
    """Ratings per user and per item, sorted from most to least active, on log-log axes.

    A straight falling line is a power law (a few very active users, a long tail); the curve's
    last point shows how many ratings the least active user or item has.
    """
    fig = go.Figure()
    for label, counts, color in (
        ("users", user_counts, USER_COLOR),
        ("items", item_counts, ITEM_COLOR),
    ):
        ordered = np.sort(np.asarray(counts))[::-1]
        ordered = ordered[ordered > 0]  # log axes cannot show zero; zeros are reported elsewhere
        keep = _log_spaced_ranks(len(ordered), ACTIVITY_POINTS)
        fig.add_trace(
            go.Scatter(
                x=keep + 1,
                y=ordered[keep],
                mode="lines",
                name=f"ratings per {label[:-1]}",
                line={"color": color, "width": 2},
                hovertemplate=(
                    f"most active {label[:-1]} no. %{{x:,}}: %{{y:,}} ratings<extra></extra>"
                ),
            )
        )
    top = max([int(np.max(c)) for c in (user_counts, item_counts) if len(c)] + [1])
    longest = max(len(user_counts), len(item_counts), 1)
    fig.update_xaxes(type="log", title="rank (1 = most ratings)", tickvals=log_ticks(1, longest))
    fig.update_yaxes(type="log", title="number of ratings", tickvals=log_ticks(1, top))
    return style(fig, title="Ratings per user and per item")


def activity_order(matrix: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Row and column orders from most to least ratings (stable, so ties keep given order)."""
    row_counts = np.diff(matrix.indptr)
    col_counts = np.bincount(matrix.indices, minlength=matrix.shape[1])
    return (
        np.argsort(-row_counts, kind="stable"),
        np.argsort(-col_counts, kind="stable"),
    )


def sparsity_figure(
    matrix: sp.csr_matrix,
    *,
    order: str = "given",
    user_labels: np.ndarray | None = None,
    item_labels: np.ndarray | None = None,
) -> go.Figure:
    """Which cells are observed. Small matrices show every cell coloured by its rating, with
    missing cells left blank; large ones show the share of observed cells in each block.

    ``order``: ``"given"`` (as loaded) or ``"activity"`` (most active users and items first).
    """
    matrix = sp.csr_matrix(matrix)
    n_users, n_items = matrix.shape
    rows_order, cols_order = (
        activity_order(matrix) if order == "activity" else (np.arange(n_users), np.arange(n_items))
    )
    # Reorder once; both drawings below then work in display order.
    shown = matrix[rows_order][:, cols_order].tocoo()
    if n_users <= EXACT_PATTERN_SIDE and n_items <= EXACT_PATTERN_SIDE:
        return _exact_pattern(shown, rows_order, cols_order, user_labels, item_labels)
    return _block_pattern(shown)


def _exact_pattern(
    shown: sp.coo_matrix,
    rows_order: np.ndarray,
    cols_order: np.ndarray,
    user_labels: np.ndarray | None,
    item_labels: np.ndarray | None,
) -> go.Figure:
    n_users, n_items = shown.shape
    z = np.full((n_users, n_items), np.nan)  # NaN = missing: drawn as a gap, never as 0
    z[shown.row, shown.col] = shown.data
    users = np.asarray(user_labels)[rows_order] if user_labels is not None else rows_order
    items = np.asarray(item_labels)[cols_order] if item_labels is not None else cols_order
    fig = go.Figure(
        go.Heatmap(
            # float32 halves the payload; ratings need no more precision than that.
            z=z.astype(np.float32),
            # Positions, not one label string per cell (that tripled the payload).
            x=np.arange(n_items),
            y=np.arange(n_users),
            colorscale=RATING_SCALE,
            colorbar={"title": "rating", "thickness": 12},
            hoverongaps=False,
            hovertemplate="row %{y}, column %{x}<br>rating %{z:g}<extra></extra>",
        )
    )
    if n_users <= 60 and n_items <= 60:
        # Few enough to name: hover and ticks show the original ids.
        fig.update_traces(
            x=list(shown_names(items)),  # ids from the file: shown as written
            y=list(shown_names(users)),
            hovertemplate="user %{y} · item %{x}<br>rating %{z:g}<extra></extra>",
        )
        fig.update_xaxes(type="category")
        fig.update_yaxes(type="category")
    small = n_users <= 60 and n_items <= 60
    fig.update_yaxes(autorange="reversed", title=f"users ({n_users:,})", showticklabels=small)
    fig.update_xaxes(title=f"items ({n_items:,})", showticklabels=small)
    fig.update_layout(plot_bgcolor="#F1F3F5")
    return style(fig, title="Observed ratings (blank = missing)", height=420, legend=False)


def block_density(coo: sp.coo_matrix, blocks: int = PATTERN_BLOCKS) -> tuple[np.ndarray, int, int]:
    """Share of observed cells in each block of a grid at most ``blocks`` × ``blocks``.

    Returns (density array, rows per block, columns per block). Blocks at the bottom and right
    edges may be smaller; their share is taken over the cells they really contain.
    """
    n_rows, n_cols = coo.shape
    row_step = max(1, int(np.ceil(n_rows / blocks)))
    col_step = max(1, int(np.ceil(n_cols / blocks)))
    grid_rows = int(np.ceil(n_rows / row_step))
    grid_cols = int(np.ceil(n_cols / col_step))
    flat = (coo.row // row_step) * grid_cols + coo.col // col_step
    counts = np.bincount(flat, minlength=grid_rows * grid_cols).reshape(grid_rows, grid_cols)
    row_sizes = np.minimum(row_step, n_rows - np.arange(grid_rows) * row_step)
    col_sizes = np.minimum(col_step, n_cols - np.arange(grid_cols) * col_step)
    return counts / np.outer(row_sizes, col_sizes), row_step, col_step


def _block_pattern(shown: sp.coo_matrix) -> go.Figure:
    n_users, n_items = shown.shape
    density, row_step, col_step = block_density(shown)
    fig = go.Figure(
        go.Heatmap(
            z=np.round(density, 5),
            x0=col_step / 2,
            dx=col_step,
            y0=row_step / 2,
            dy=row_step,
            colorscale="Blues",
            colorbar={"title": "share<br>observed", "thickness": 12},
            hovertemplate=(
                f"users ~%{{y:,.0f}} (blocks of {row_step}), items ~%{{x:,.0f}} "
                f"(blocks of {col_step})<br>%{{z:.2%}} observed<extra></extra>"
            ),
        )
    )
    fig.update_yaxes(autorange="reversed", title=f"users ({n_users:,})")
    fig.update_xaxes(title=f"items ({n_items:,})")
    return style(
        fig,
        title=f"Share of observed cells, in blocks of {row_step} users × {col_step} items",
        height=420,
        legend=False,
    )
