"""Figures for the teaching pages (theory, one update by hand, replay, add yourself).

Pure functions: arrays in, plotly Figure out. Small matrices carry their numbers in the cells so
that on the tiny sample every value can be read off and checked by hand; above ``ANNOTATE_UP_TO``
rows or columns the numbers move to the hover.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .. import formulas
from ..formulas import short_number
from ..text import plotly_escape
from . import (
    ITEM_COLOR,
    MUTED_COLOR,
    USER_COLOR,
    category_colours,
    shown_names,
    style,
    training,
)

#: Matrices up to this many rows and columns show their numbers in the cells.
ANNOTATE_UP_TO = 12
#: Grey of a missing rating (a gap, never a zero), as on the Reconstruction page.
MISSING_COLOUR = "#d0d3d8"
RATING_SCALE = "Viridis"
FACTOR_SCALE = "RdBu"
ACTUAL_COLOUR = "#111111"
AFTER_COLOUR = USER_COLOR
BEFORE_COLOUR = MUTED_COLOR
YOU_COLOUR = "#e8590c"


#: A short, readable number for a cell (the formulas write matrices the same way).
fmt = short_number


def _cell_text(values: np.ndarray) -> np.ndarray:
    return np.vectorize(fmt, otypes=[object])(np.asarray(values, dtype=np.float64))


def _symmetric_limit(*arrays: np.ndarray) -> float:
    finite = [np.abs(a[np.isfinite(a)]) for a in arrays if np.size(a)]
    finite = [a for a in finite if a.size]
    limit = max((float(a.max()) for a in finite), default=0.0)
    return limit if limit > 0 else 1.0


# --------------------------------------------------------------------------------- update by hand
def system_figure(
    A: np.ndarray,
    B: np.ndarray,
    x: np.ndarray | None,
    *,
    names: Sequence[str],
    title: str,
    a_title: str = "A = Σ y yᵀ + λI",
    b_title: str = "B = Σ r y",
    x_title: str = "x = A⁻¹B",
    height: int | None = None,
) -> go.Figure:
    """The k×k system of one update as three annotated heatmaps: A · x = B.

    ``names`` label the unknowns (x₁ … x_k, then b with biases). ``x`` may be None (not solved
    yet). A and B share one diverging colour scale centred at 0; x has its own.
    """
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64).reshape(-1, 1)
    names = list(names)
    width = len(names)
    annotate = width <= ANNOTATE_UP_TO
    fig = make_subplots(
        rows=1,
        cols=3,
        # x and B stay readable next to a big A: each at least a sixth of A's width.
        column_widths=[max(width, 1), max(1.0, width / 6), max(1.0, width / 6)],
        horizontal_spacing=0.07,
        subplot_titles=(a_title, x_title, b_title),
    )
    limit = _symmetric_limit(A, B)
    shared = {"colorscale": FACTOR_SCALE, "zmin": -limit, "zmax": limit, "showscale": False}
    fig.add_trace(
        go.Heatmap(
            z=A,
            x=names,
            y=names,
            text=_cell_text(A) if annotate else None,
            texttemplate="%{text}" if annotate else None,
            hovertemplate="A[%{y}, %{x}] = %{z:.6g}<extra></extra>",
            xgap=2,
            ygap=2,
            **shared,
        ),
        row=1,
        col=1,
    )
    x_values = (
        np.full((width, 1), np.nan) if x is None else np.asarray(x, dtype=np.float64).reshape(-1, 1)
    )
    x_limit = _symmetric_limit(x_values)
    fig.add_trace(
        go.Heatmap(
            z=x_values,
            x=["x"],
            y=names,
            text=_cell_text(x_values) if annotate else None,
            texttemplate="%{text}" if annotate else None,
            hovertemplate="%{y} = %{z:.6g}<extra>solution</extra>",
            colorscale="PuOr",
            zmin=-x_limit,
            zmax=x_limit,
            showscale=False,
            xgap=2,
            ygap=2,
        ),
        row=1,
        col=2,
    )
    fig.add_trace(
        go.Heatmap(
            z=B,
            x=["B"],
            y=names,
            text=_cell_text(B) if annotate else None,
            texttemplate="%{text}" if annotate else None,
            hovertemplate="B[%{y}] = %{z:.6g}<extra></extra>",
            xgap=2,
            ygap=2,
            **shared,
        ),
        row=1,
        col=3,
    )
    for col in (1, 2, 3):
        fig.update_yaxes(autorange="reversed", row=1, col=col, showgrid=False)
        fig.update_xaxes(showgrid=False, row=1, col=col)
    fig.update_xaxes(showticklabels=False, row=1, col=2)
    fig.update_xaxes(showticklabels=False, row=1, col=3)
    fig.update_yaxes(showticklabels=False, row=1, col=3)
    size = height or int(min(560, 150 + 48 * max(width, 2)))
    style(fig, title=title, height=size)
    fig.update_layout(margin={"t": 80})
    fig.update_annotations(yshift=6)
    return fig


#: Longest item name the predictions figure writes level under its column (6 columns share
#: about 530 px at 1280 px wide).
LEVEL_LABEL_CHARS = 12


def predictions_figure(
    labels: Sequence[str],
    actual: np.ndarray,
    before: np.ndarray,
    after: np.ndarray,
    *,
    held_out: np.ndarray | None = None,
    title: str,
    rating_scale: tuple[float, float] | None = None,
) -> go.Figure:
    """This row's ratings and its predictions before and after the update, one column each.

    ``held_out`` (bool per entry) marks validation ratings the update did not see: they are
    drawn hollow. Grey lines join each prediction before the update to the one after.
    """
    # Level labels only when they fit: 6 titles of 19 characters ran into each other.
    crowded = len(labels) > 6 or max((len(str(v)) for v in labels), default=0) > LEVEL_LABEL_CHARS
    labels = list(shown_names(labels))  # the user's names: shown as written
    actual = np.asarray(actual, dtype=np.float64)
    before = np.asarray(before, dtype=np.float64)
    after = np.asarray(after, dtype=np.float64)
    held = np.zeros(len(labels), dtype=bool) if held_out is None else np.asarray(held_out, bool)
    fig = go.Figure()
    for i, label in enumerate(labels):
        fig.add_trace(
            go.Scatter(
                x=[label, label],
                y=[before[i], after[i]],
                mode="lines",
                line={"color": "#ced4da", "width": 2},
                hoverinfo="skip",
                showlegend=False,
            )
        )
    fig.add_trace(
        go.Scatter(
            x=labels,
            y=before,
            mode="markers",
            name="predicted before",
            marker={"color": BEFORE_COLOUR, "size": 10, "symbol": "circle-open", "line_width": 2},
            hovertemplate="%{x}<br>before: %{y:.3f}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=labels,
            y=after,
            mode="markers",
            name="predicted after",
            marker={"color": AFTER_COLOUR, "size": 11},
            hovertemplate="%{x}<br>after: %{y:.3f}<extra></extra>",
        )
    )
    for mask, name, symbol in (
        (~held, "actual rating (used)", "diamond"),
        (held, "actual rating (held out, not used)", "diamond-open"),
    ):
        if mask.any():
            fig.add_trace(
                go.Scatter(
                    x=np.asarray(labels, dtype=object)[mask],
                    y=actual[mask],
                    mode="markers",
                    name=name,
                    marker={"color": ACTUAL_COLOUR, "size": 12, "symbol": symbol, "line_width": 2},
                    hovertemplate="%{x}<br>actual: %{y:g}<extra></extra>",
                )
            )
    if rating_scale is not None:
        lo, hi = rating_scale
        fig.add_hrect(y0=lo, y1=hi, fillcolor="#f1f3f5", line_width=0, layer="below")
    fig.update_xaxes(type="category", tickangle=-30 if crowded else 0)
    fig.update_yaxes(title="rating")
    style(fig, title=title, height=400)
    # Beside the plot: the points fill the whole width, so no corner inside is free.
    fig.update_layout(
        legend={"x": 1.01, "xanchor": "left", "y": 1.0, "yanchor": "top", "bgcolor": "#fff"},
        margin={"r": 10},
    )
    return fig


# --------------------------------------------------------------------------------- theory
HELD_OUT_COLOUR = "#ff2bd6"  # as the Reconstruction page marks validation ratings
HELD_OUT_NAME = "held out for validation (the model never saw it)"


def _held_out_marks(
    held_out: np.ndarray | None, x: Sequence[str], y: Sequence[str], *, size: int
) -> go.Scatter | None:
    """Outlines on the held-out cells of a small heatmap (None when there are none)."""
    if held_out is None or not np.any(held_out):
        return None
    rows, cols = np.nonzero(np.asarray(held_out, dtype=bool))
    return go.Scatter(
        x=np.asarray(x, dtype=object)[cols],
        y=np.asarray(y, dtype=object)[rows],
        mode="markers",
        name=HELD_OUT_NAME,
        marker={
            "symbol": "square-open",
            "size": size,
            "color": HELD_OUT_COLOUR,
            "line": {"width": 2.5, "color": HELD_OUT_COLOUR},
        },
        hoverinfo="skip",
    )


def excerpt_figure(
    values: np.ndarray,
    *,
    user_labels: Sequence[str],
    item_labels: Sequence[str],
    title: str,
    rating_scale: tuple[float, float],
    predicted: np.ndarray | None = None,
    held_out: np.ndarray | None = None,
) -> go.Figure:
    """A small piece of R: observed ratings coloured and printed, missing cells grey with "?".

    With ``predicted`` the missing cells show the model's guess in grey italics instead.
    ``held_out`` (bool, same shape) outlines the ratings held out for validation: they are in
    the table but the model never saw them (with ``predicted``, its guess is printed under
    the rating).
    """
    values = np.asarray(values, dtype=np.float64)
    text = np.where(np.isnan(values), "?", _cell_text(values)).astype(object)
    if predicted is not None:
        guess = np.char.add("<i>", np.char.add(_cell_text(predicted).astype(str), "</i>"))
        text = np.where(np.isnan(values), guess.astype(object), text)
        if held_out is not None:
            both = np.char.add(np.char.add(_cell_text(values).astype(str), "<br>"), guess)
            text = np.where(np.asarray(held_out, bool), both.astype(object), text)
    lo, hi = rating_scale
    x = list(shown_names(item_labels))
    y = list(shown_names(user_labels))
    fig = go.Figure(
        go.Heatmap(
            z=values,
            x=x,
            y=y,
            text=text,
            texttemplate="%{text}",
            colorscale=RATING_SCALE,
            zmin=lo,
            zmax=hi,
            xgap=2,
            ygap=2,
            hoverongaps=True,
            colorbar={"title": {"text": "rating"}, "thickness": 12},
            hovertemplate="%{y} · %{x}<br>%{text}<extra></extra>",
            showlegend=False,
        )
    )
    marks = _held_out_marks(held_out, x, y, size=26)
    if marks is not None:
        fig.add_trace(marks)
    fig.update_layout(plot_bgcolor=MISSING_COLOUR)
    fig.update_yaxes(autorange="reversed", showgrid=False)
    fig.update_xaxes(showgrid=False, tickangle=-30)
    height = int(min(600, 230 + 36 * len(user_labels)))
    return style(fig, title=title, height=height)


def factorization_figure(
    R: np.ndarray,
    X: np.ndarray,
    Y: np.ndarray,
    *,
    user_labels: Sequence[str],
    item_labels: Sequence[str],
    rating_scale: tuple[float, float],
    title: str,
    target_title: str = "R",
    diverging: bool = False,
    held_out: np.ndarray | None = None,
) -> go.Figure:
    """What X · Yᵀ fits, drawn as three matrices with their sizes: the target, user factors and
    item factors.

    ``R`` is the target on the rated cells (NaN elsewhere): the ratings themselves, or with
    biases the ratings minus μ + b_u + b_i (``target_title`` names it; ``diverging`` draws it
    on a scale centred at 0 instead of the rating scale). ``held_out`` outlines validation
    ratings.
    """
    R = np.asarray(R, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    Yt = np.asarray(Y, dtype=np.float64).T
    k = X.shape[1]
    factor_names = [f"f{f + 1}" for f in range(k)]
    fig = make_subplots(
        rows=1,
        cols=3,
        column_widths=[R.shape[1], max(k, 1) * 1.6, R.shape[1]],
        horizontal_spacing=0.05,
        subplot_titles=(
            target_title if target_title != "R" else f"R ({R.shape[0]} × {R.shape[1]} shown)",
            f"≈ X ({R.shape[0]} × {k})",
            f"· Yᵀ ({k} × {R.shape[1]})",
        ),
    )
    users = list(shown_names(user_labels))
    items = list(shown_names(item_labels))
    if diverging:
        span = _symmetric_limit(R)
        scale = {"colorscale": FACTOR_SCALE, "zmin": -span, "zmax": span}
    else:
        scale = {"colorscale": RATING_SCALE, "zmin": rating_scale[0], "zmax": rating_scale[1]}
    fig.add_trace(
        go.Heatmap(
            z=R,
            x=items,
            y=users,
            showscale=False,
            xgap=1,
            ygap=1,
            hovertemplate="%{y} · %{x}: %{z:.3f}<extra>" + target_title + "</extra>",
            showlegend=False,
            **scale,
        ),
        row=1,
        col=1,
    )
    marks = _held_out_marks(held_out, items, users, size=16)
    if marks is not None:
        fig.add_trace(marks, row=1, col=1)
    limit = _symmetric_limit(X, Yt)
    for col, z, x, y, name in ((2, X, factor_names, users, "X"), (3, Yt, items, factor_names, "Y")):
        annotate = z.size <= 160
        fig.add_trace(
            go.Heatmap(
                z=z,
                x=x,
                y=y,
                colorscale=FACTOR_SCALE,
                zmin=-limit,
                zmax=limit,
                showscale=False,
                xgap=1,
                ygap=1,
                text=_cell_text(z) if annotate else None,
                texttemplate="%{text}" if annotate else None,
                hovertemplate="%{y} · %{x}: %{z:.3f}<extra>" + name + "</extra>",
                showlegend=False,
            ),
            row=1,
            col=col,
        )
    fig.update_layout(plot_bgcolor=MISSING_COLOUR)
    for col in (1, 2, 3):
        fig.update_yaxes(autorange="reversed", showgrid=False, row=1, col=col)
        fig.update_xaxes(showgrid=False, tickangle=-45, row=1, col=col)
    fig.update_yaxes(showticklabels=False, row=1, col=2)
    fig.update_yaxes(showticklabels=True, row=1, col=3)
    fig.update_xaxes(showticklabels=False, row=1, col=1)
    fig.update_xaxes(showticklabels=False, row=1, col=3)
    style(fig, title=title, height=int(min(560, 240 + 30 * R.shape[0])))
    fig.update_layout(margin={"t": 80})
    return fig


# --------------------------------------------------------------------------------- replay
def mark_moment(
    fig: go.Figure, *, x: float, y: float | None, label: str, start_y: float | None = None
) -> go.Figure:
    """Mark where the replay is on a loss curve (a vertical line and a ringed point).

    ``start_y`` adds the objective of the random start at x = 0, which the history lacks.
    """
    if start_y is not None and np.isfinite(start_y):
        fig.add_trace(
            go.Scatter(
                x=[0.0],
                y=[start_y],
                mode="markers",
                name="random start",
                marker={"color": "#495057", "size": 8, "symbol": "square"},
                hovertemplate="random start<br>objective %{y:,.5g}<extra></extra>",
            )
        )
    fig.add_vline(x=x, line={"color": YOU_COLOUR, "width": 2, "dash": "dash"})
    if y is not None and np.isfinite(y):
        fig.add_trace(
            go.Scatter(
                x=[x],
                y=[y],
                mode="markers",
                name=f"now: {label}",
                marker={
                    "color": "rgba(0,0,0,0)",
                    "size": 18,
                    "line": {"color": YOU_COLOUR, "width": 3},
                },
                hovertemplate=label + "<br>objective %{y:,.5g}<extra></extra>",
            )
        )
    return fig


def replay_objective_figure(
    history: pd.DataFrame,
    form: formulas.Form,
    *,
    moment: tuple[int, str] | None,
    moment_label: str,
    start_objective: float,
    kept: tuple[int, str, str] | None = None,
    height: int = 520,
) -> go.Figure:
    """The objective after every half-step with the replay's moment marked on it.

    ``moment`` is the (iteration, side) of the frame shown, None for the random start (drawn at
    x = 0 with ``start_objective``, which the history lacks); ``kept`` is the (iteration, side,
    label) of the half-step whose factors the model kept, marked when early stopping kept one
    before the end.
    """
    fig = training.objective_figure(history, form)
    positions = training.half_step_positions(history)
    x, y = 0.0, start_objective
    if moment is not None:
        row = training.half_step_row(history, *moment)
        x, y = float(positions[row]), float(history["objective"].iloc[row])
    if kept is not None:
        iteration, side, label = kept
        mark_kept(
            fig, x=float(positions[training.half_step_row(history, iteration, side)]), label=label
        )
    mark_moment(fig, x=x, y=y, label=moment_label, start_y=start_objective)
    fig.update_layout(height=height)
    return fig


def mark_kept(fig: go.Figure, *, x: float, label: str) -> go.Figure:
    """Mark the half-step whose factors the model kept (early stopping) on a loss curve."""
    fig.add_vline(
        x=x,
        line={"color": "#2b8a3e", "width": 2, "dash": "dot"},
        annotation={"text": f"kept: {label}", "font": {"color": "#2b8a3e"}},
        annotation_position="top right",
    )
    return fig


def add_point(
    fig: go.Figure,
    xy: np.ndarray,
    *,
    name: str,
    colour: str = YOU_COLOUR,
    symbol: str = "star",
    size: int = 22,
) -> go.Figure:
    """Put one labelled point on a latent map (e.g. "you", after a fold-in)."""
    xy = np.asarray(xy, dtype=np.float64).ravel()
    fig.add_trace(
        go.Scatter(
            x=[xy[0]],
            y=[xy[1] if len(xy) > 1 else 0.0],
            mode="markers+text",
            name=name,
            text=[name],
            textposition="top center",
            textfont={"size": 15, "color": colour},
            marker={"color": colour, "size": size, "symbol": symbol, "line": {"color": "#fff"}},
            hovertemplate=name + "<br>(%{x:.3f}, %{y:.3f})<extra></extra>",
        )
    )
    return fig


def scores_figure(
    labels: Sequence[str], scores: np.ndarray, *, title: str, highlight: str = ITEM_COLOR
) -> go.Figure:
    """Horizontal bars of predicted scores, best at the top."""
    labels = list(shown_names(labels))
    scores = np.asarray(scores, dtype=np.float64)
    fig = go.Figure(
        go.Bar(
            x=scores,
            y=labels,
            orientation="h",
            marker_color=highlight,
            text=[f"{s:.2f}" for s in scores],
            textposition="auto",
            hovertemplate="%{y}<br>predicted %{x:.3f}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(title="predicted rating")
    style(fig, title=title, height=int(160 + 28 * len(labels)))
    fig.update_layout(showlegend=False)
    return fig


# --------------------------------------------------------------------------------- the map
#: Above this many points a map switches to WebGL.
WEBGL_ABOVE = 1500
MAX_POINTS = 3000


def map_figure(
    users: np.ndarray,
    items: np.ndarray,
    *,
    user_labels: Sequence[str],
    item_labels: Sequence[str],
    item_groups: Sequence[str] | None = None,
    axis_titles: tuple[str, str] = ("axis 1", "axis 2"),
    axis_range: tuple[float, float] | None = None,
    title: str = "",
    height: int = 520,
    uirevision: str = "map",
    seed: int = 0,
) -> go.Figure:
    """Users (grey dots) and items (diamonds, coloured by group when given) in one 2-D basis.

    ``users`` (n_users, 2) and ``items`` (n_items, 2) are coordinates of one shared projection.
    Big data are sampled (seeded, so a demo repeats) to at most ``MAX_POINTS`` of each.
    ``axis_range`` fixes both axes (a replay keeps one camera for every frame).
    """
    users = np.asarray(users, dtype=np.float64)
    items = np.asarray(items, dtype=np.float64)
    user_labels = np.asarray(user_labels, dtype=object)
    item_labels = np.asarray(item_labels, dtype=object)
    rng = np.random.default_rng(seed)
    shown_users = _sample_rows(len(users), rng)
    shown_items = _sample_rows(len(items), rng)
    Scatter = go.Scattergl if len(shown_users) + len(shown_items) > WEBGL_ABOVE else go.Scatter
    fig = go.Figure()
    fig.add_trace(
        Scatter(
            x=users[shown_users, 0],
            y=users[shown_users, 1],
            mode="markers",
            name="users",
            marker={"color": "#adb5bd", "size": 6, "opacity": 0.7},
            text=shown_names(user_labels[shown_users]),
            hovertemplate="%{text}<extra>user</extra>",
        )
    )
    if item_groups is None:
        groups = np.full(len(items), "items", dtype=object)
    else:
        groups = np.asarray(item_groups, dtype=object)
    item_size, item_opacity = (10, 1.0) if len(shown_items) <= 300 else (6, 0.8)
    # The app's one colour per category, over every item (the Latent page's colours too).
    colours = category_colours(groups)
    drawn = {str(g) for g in groups[shown_items]}
    for group in [g for g in colours if g in drawn]:
        mask = shown_items[groups[shown_items].astype(str) == group]
        fig.add_trace(
            Scatter(
                x=items[mask, 0],
                y=items[mask, 1],
                mode="markers",
                name=plotly_escape(group),
                marker={
                    "color": ITEM_COLOR if item_groups is None else colours[group],
                    "size": item_size,
                    "opacity": item_opacity,
                    "symbol": "diamond",
                    "line": {"color": "#ffffff", "width": 0.6},
                },
                text=shown_names(item_labels[mask]),
                hovertemplate="%{text}<extra>" + plotly_escape(group) + "</extra>",
            )
        )
    fig.update_xaxes(title=axis_titles[0], zeroline=True, zerolinecolor="#ced4da")
    fig.update_yaxes(title=axis_titles[1], zeroline=True, zerolinecolor="#ced4da", scaleanchor="x")
    if axis_range is not None:
        fig.update_xaxes(range=list(axis_range))
        fig.update_yaxes(range=list(axis_range))
    style(fig, title=title or None, height=height)
    fig.update_layout(
        uirevision=uirevision,
        legend={"orientation": "v", "x": 1.02, "xanchor": "left", "y": 1.0, "yanchor": "top"},
        margin={"r": 140},
    )
    return fig


def _sample_rows(n: int, rng: np.random.Generator) -> np.ndarray:
    if n <= MAX_POINTS:
        return np.arange(n)
    return np.sort(rng.choice(n, size=MAX_POINTS, replace=False))


def highlight_points(
    fig: go.Figure,
    xy: np.ndarray,
    labels: Sequence[str],
    *,
    name: str,
    colour: str,
    symbol: str = "circle-open",
    size: int = 14,
) -> go.Figure:
    """Ring a few points of a map (nearest users, recommended items) with their names."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    fig.add_trace(
        go.Scatter(
            x=xy[:, 0],
            y=xy[:, 1],
            mode="markers",
            name=name,
            marker={"color": colour, "size": size, "symbol": symbol, "line": {"width": 2.5}},
            text=list(shown_names(labels)),
            hovertemplate="%{text}<extra>" + name + "</extra>",
        )
    )
    return fig
