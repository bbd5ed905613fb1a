"""R beside the predictions R̂ beside the residual: pure figure code (a grid in, a plotly Figure
out). The panel titles follow the model's settings (``formulas``): R̂ = μ + b_u + b_i + XYᵀ with
biases, clipped to the rating scale as ``predict`` clips.

The grid comes from ``ac.reconstruction_grid``: at most ~200 × 200 cells or blocks whatever the
data size, so the figure stays small (a few hundred kB to ~2 MB of JSON) and the browser never
has to draw millions of cells. Missing ratings are NaN, so the heatmap leaves them as gaps over a
grey background instead of colouring them as zeros.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

import als_core as ac

from .. import formulas
from . import short_names, shown_names

MISSING_COLOUR = "#b4b4b4"  # the plot background, seen through NaN cells (no rating)
RATING_SCALE = "Viridis"
RESIDUAL_SCALE = "RdBu"  # red: the model predicts too high; blue: too low
VALIDATION_COLOUR = "#ff2bd6"
RATINGS_TITLE = "R: observed ratings"
#: Above this many categories per axis, tick labels are hidden (hover still names every cell).
MAX_TICK_LABELS = 40
#: Tick labels are cut to this many characters (the hover names the cell in full): a long
#: title, rotated under the panels, would otherwise squeeze the plots and run off the figure.
MAX_LABEL_CHARS = 22
#: Each colour bar's share of the panels' height (the two stand one above the other).
COLORBAR_LENGTH = 0.46
#: Typical width of one panel in the wide layout (sizes the validation markers).
PANEL_WIDTH_PX = 340


def reconstruction_figure(
    grid: ac.ReconstructionGrid,
    *,
    user_labels: Sequence[str] | np.ndarray,
    item_labels: Sequence[str] | np.ndarray,
    rating_scale: tuple[float, float],
    order_note: str = "",
    uirevision: str = "reconstruction",
    height: int = 560,
    form: formulas.Form | None = None,
) -> go.Figure:
    """Three panels side by side: R, the predictions R̂ (same colour scale) and the residual
    R − R̂ (diverging). ``form`` (the model's settings) names R̂ in the titles.

    ``user_labels`` / ``item_labels`` name every user / item of the dataset (index order);
    ``rating_scale`` (lo, hi) fixes the shared colour scale of R and XYᵀ. In a cell grid,
    validation ratings are outlined in R and in the residual; in a block grid the hover tells
    how many ratings of each block are observed and held out.
    """
    row_names = _axis_names(grid.row_groups(), np.asarray(user_labels, dtype=object), "users")
    col_names = _axis_names(grid.column_groups(), np.asarray(item_labels, dtype=object), "items")
    rows, cols = list(shown_names(row_names)), list(shown_names(col_names))
    show_x = len(cols) <= MAX_TICK_LABELS
    show_y = len(rows) <= MAX_TICK_LABELS
    # The categories keep the full names; tick labels that are too long are cut (an alias of
    # the category, so plotly still thins the labels to the panel's width).
    x_alias = tick_aliases(col_names, MAX_LABEL_CHARS) if show_x else {}
    y_alias = tick_aliases(row_names, MAX_LABEL_CHARS) if show_y else {}
    lo, hi = float(rating_scale[0]), float(rating_scale[1])
    if not hi > lo:
        lo, hi = lo - 0.5, hi + 0.5
    form = form or formulas.Form()
    titles = (RATINGS_TITLE, formulas.predictions_panel(form), formulas.residual_panel())
    fig = make_subplots(
        rows=1,
        cols=3,
        shared_yaxes=True,
        horizontal_spacing=0.02,
        subplot_titles=titles,
    )
    # Numbers travel as float32 typed arrays (base64 in the JSON) and each panel carries only
    # what its own z lacks. The observed rating is the one short text per cell ("4.5",
    # "missing"), so a missing rating reads "missing" in the hover instead of "NaN"; the
    # residual panel only hovers on rated cells and takes the number.
    actual = grid.actual.astype(np.float32)
    predicted = grid.predicted.astype(np.float32)
    residual = grid.residual.astype(np.float32)
    actual_text = _actual_text(grid)
    what = "cell" if grid.is_cells else "block"
    mean = "" if grid.is_cells else "mean "
    r_custom, r_tail = predicted, f"{mean}predicted: %{{customdata:.2f}}"
    if not grid.is_cells:
        counts = np.stack([grid.n_observed, grid.n_validation], axis=-1).astype(np.float32)
        r_custom = np.concatenate([predicted[..., None], counts], axis=-1)
        r_tail = (
            f"{mean}predicted: %{{customdata[0]:.2f}}<br>ratings in this block: "
            "%{customdata[1]:.0f} (validation: %{customdata[2]:.0f})"
        )
    residual_body = (
        f"{mean}actual: %{{customdata[0]:.2f}}<br>{mean}predicted: %{{customdata[1]:.2f}}"
        "<br>residual: %{z:+.2f}"
    )
    if x_alias or y_alias:
        # An alias names the hovered cell's axis label too, so the full names travel in each
        # cell's text instead (only here: short names cost nothing per cell).
        names = _cell_names(rows, cols)
        with_actual = names + f"<br>{mean}actual: " + actual_text
        texts = (with_actual, with_actual, names)
        bodies = (r_tail, f"{mean}predicted: %{{z:.2f}}", residual_body)
        head = "%{text}<br>"
    else:
        texts = (actual_text, actual_text, None)
        bodies = (
            f"{mean}actual: %{{text}}<br>" + r_tail,
            f"{mean}actual: %{{text}}<br>{mean}predicted: %{{z:.2f}}",
            residual_body,
        )
        head = "%{y}<br>%{x}<br>"
    panels = zip(
        (actual, predicted, residual),
        (r_custom, None, np.stack([actual, predicted], axis=-1)),
        texts,
        bodies,
        ("R", "R̂", "R − R̂"),
        strict=True,
    )
    for col, (z, custom, text, body, name) in enumerate(panels, start=1):
        fig.add_trace(
            go.Heatmap(
                z=z,
                x=cols,
                y=rows,
                customdata=custom,
                text=text,
                coloraxis="coloraxis2" if col == 3 else "coloraxis",
                hoverongaps=col != 3,
                hovertemplate=head + body + f"<extra>{name}</extra>",
                name=name,
            ),
            row=1,
            col=col,
        )
    if grid.is_cells:
        for col in (1, 3):
            marker = _validation_markers(grid, rows, cols, height)
            if marker is not None:
                marker.showlegend = col == 1
                fig.add_trace(marker, row=1, col=col)
    limit = _residual_limit(grid.residual, hi - lo)
    fig.update_layout(
        height=height,
        # Plotly grows the bottom margin to fit the rotated item names and the axis title
        # (automargin): nothing else hangs below the panels, so nothing can cover them.
        margin={"l": 45, "r": 10, "t": 62, "b": 40},
        plot_bgcolor=MISSING_COLOUR,
        uirevision=uirevision,
        coloraxis={
            "colorscale": RATING_SCALE,
            "cmin": lo,
            "cmax": hi,
            "colorbar": _colorbar("rating<br>(R and R̂)", upper=True),
        },
        coloraxis2={
            "colorscale": RESIDUAL_SCALE,
            "cmin": -limit,
            "cmax": limit,
            "cmid": 0.0,
            "colorbar": _colorbar("actual −<br>predicted", upper=False),
        },
        # Above the panel titles, at the top of the figure.
        legend={
            "orientation": "h",
            "x": 0.0,
            "xanchor": "left",
            "yref": "container",
            "y": 1.0,
            "yanchor": "top",
        },
        font={"family": "Source Sans Pro, sans-serif", "size": 13},
        meta={"grid": "cells" if grid.is_cells else f"blocks of {grid.block[0]}×{grid.block[1]}"},
    )
    for c in (1, 2, 3):
        fig.update_xaxes(
            type="category",
            showticklabels=show_x,
            labelalias=x_alias or None,
            tickangle=-60,
            automargin=True,
            showgrid=False,
            zeroline=False,
            ticks="",
            matches="x" if c > 1 else None,
            # Fixed ranges: the marker trace would otherwise pad the axes with empty margins.
            range=[-0.5, len(cols) - 0.5],
            title_text=_axis_title("items", grid.col_bounds, order_note) if c == 2 else None,
            row=1,
            col=c,
        )
    fig.update_yaxes(
        type="category",
        range=[len(rows) - 0.5, -0.5],
        showticklabels=False,
        ticks="",
        showgrid=False,
        zeroline=False,
    )
    # Names on the first panel only: the others share its rows (and would print over it).
    fig.update_yaxes(
        title_text=_axis_title("users", grid.row_bounds, order_note),
        showticklabels=show_y,
        labelalias=y_alias or None,
        automargin=True,
        row=1,
        col=1,
    )
    fig.update_annotations(font={"color": "#222", "size": 14})
    fig.layout.annotations[0].update(
        text=f"{RATINGS_TITLE} ({what}s: {grid.shape[0]}×{grid.shape[1]})"
    )
    return fig


def _axis_names(groups: list[np.ndarray], labels: np.ndarray, noun: str) -> list[str]:
    """One unique category per grid row/column (not escaped yet): the name, or the range of a
    block."""
    if all(len(g) == 1 for g in groups):
        return [str(labels[g[0]]) for g in groups]
    out, start = [], 0
    for g in groups:
        out.append(f"{noun} #{start + 1}–{start + len(g)} ({labels[g[0]]} …)")
        start += len(g)
    return out


def tick_aliases(names: Sequence[str], limit: int) -> dict[str, str]:
    """{shown name: its tick label} for the names longer than ``limit`` characters (both
    escaped for plotly, as the categories are; ``figures.short_names`` cuts them)."""
    full, short = shown_names(names), short_names(names, limit)
    return {f: s for f, s in zip(full, short, strict=True) if f != s}


def _cell_names(rows: list[str], cols: list[str]) -> np.ndarray:
    """Each cell's "row<br>column" (names as shown), for the hover."""
    return np.asarray(rows, dtype=object)[:, None] + "<br>" + np.asarray(cols, dtype=object)


def _actual_text(grid: ac.ReconstructionGrid) -> np.ndarray:
    """The observed rating of each grid cell as hover text: "4.5", "4.5 (validation)",
    "3.62" (a block mean) or "missing"."""
    text = np.full(grid.shape, "missing", dtype=object)
    observed = grid.n_observed > 0
    if grid.is_cells:
        held = observed & (grid.n_validation > 0)
        text[observed] = [f"{v:g}" for v in grid.actual[observed]]
        text[held] = [f"{v:g} (validation)" for v in grid.actual[held]]
    else:
        text[observed] = [f"{v:.2f}" for v in grid.actual[observed]]
    return text


def _axis_title(noun: str, bounds: np.ndarray, order_note: str) -> str:
    title = noun + (f", {order_note}" if order_note else "")
    sizes = np.diff(bounds)
    if sizes.max() > 1:
        title += f" (means of {run_length(bounds)})"
    return title


def run_length(bounds: np.ndarray) -> str:
    """How many rows or columns one block averages: "31" or "18–19"."""
    sizes = np.diff(bounds)
    lo, hi = int(sizes.min()), int(sizes.max())
    return str(hi) if lo == hi else f"{lo}–{hi}"


def _validation_markers(
    grid: ac.ReconstructionGrid, rows: list[str], cols: list[str], height: int
) -> go.Scatter | None:
    r, c = np.nonzero(grid.n_validation > 0)
    if len(r) == 0:
        return None
    # Rough size of one cell on screen: an outline when cells are big enough to show one,
    # a small solid dot otherwise (an outline around a 2-pixel cell hides its neighbours).
    cell_px = min((height - 130) / grid.shape[0], PANEL_WIDTH_PX / grid.shape[1])
    if cell_px >= 5:
        marker = {
            "symbol": "square-open",
            "size": min(cell_px, 18),
            "color": VALIDATION_COLOUR,
            "line": {"width": 1.5 if cell_px < 12 else 2, "color": VALIDATION_COLOUR},
        }
    else:
        marker = {"symbol": "circle", "size": max(2.5, 0.8 * cell_px), "color": VALIDATION_COLOUR}
    trace = go.Scattergl if len(r) > 1500 else go.Scatter
    return trace(
        x=np.asarray(cols, dtype=object)[c],
        y=np.asarray(rows, dtype=object)[r],
        mode="markers",
        marker=marker,
        name="validation rating (held out)",
        legendgroup="validation",
        hoverinfo="skip",
    )


def _residual_limit(residual: np.ndarray, span: float) -> float:
    finite = np.abs(residual[np.isfinite(residual)])
    if finite.size == 0:
        return max(0.5, span / 2)
    return float(max(0.25, np.quantile(finite, 0.99)))


def _colorbar(title: str, *, upper: bool) -> dict:
    """An upright colour bar right of the panels, in the upper or the lower half: out of the
    way of the item names below the panels, however long they are. Its title, beside it, is
    on two lines so that it is no taller than the bar on a short (presenter-mode) figure."""
    return {
        "title": {"text": title, "side": "right"},
        "orientation": "v",
        "x": 1.0,
        "xref": "paper",
        "xanchor": "left",
        "xpad": 12,
        "y": 1.0 if upper else 0.0,
        "yref": "paper",
        "yanchor": "top" if upper else "bottom",
        "len": COLORBAR_LENGTH,
        "thickness": 12,
    }
