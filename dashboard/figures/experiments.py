"""Figures for the Experiments page and the implicit section of the Train page.

Pure functions: frames and arrays from ``als_core.experiments`` (or an estimator's history) in,
a plotly Figure out. Nothing here computes a model or a metric.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..text import plotly_escape
from . import MUTED_COLOR, TRAIN_COLOR, VALIDATION_COLOR, log_ticks, shown_names, style

#: One colour per method, the same on every chart of the page.
METHOD_COLORS = {
    "ALS": "#2F9E44",
    "gradient descent": "#1C7ED6",
    "SGD": "#E8590C",
    "zero-filled SVD": "#C2255C",
    "mean-filled SVD": "#F59F00",
    "ALS (observed only)": "#2F9E44",
    "global mean": "#868E96",
    "bias only": "#F59F00",
    "ALS (no biases)": "#74B816",
    "ALS (with biases)": "#2F9E44",
    "popularity": "#868E96",
    "ALS (explicit, biases)": "#74B816",
    "implicit ALS (exact)": "#7048E8",
}
FALLBACK_COLORS = ["#7048E8", "#1098AD", "#D6336C", "#5C940D", "#495057"]
ACTUAL_COLOR = "#212529"
USER_ANGLE_COLOR = "#4C6EF5"
ITEM_ANGLE_COLOR = "#F08C00"
#: The two RMSE series the bar chart, the sweep curve and the recovery figure draw:
#: (table column, legend name, colour).
RMSE_SERIES = (
    ("train_rmse", "train RMSE", TRAIN_COLOR),
    ("validation_rmse", "validation RMSE", VALIDATION_COLOR),
)


def method_color(method: str, index: int = 0) -> str:
    """The method's colour; methods not listed (e.g. "implicit ALS (CG, 3 steps)") cycle."""
    return METHOD_COLORS.get(method, FALLBACK_COLORS[index % len(FALLBACK_COLORS)])


# --------------------------------------------------------------------------------- compare
STEP_TITLE = "step (ALS: iterations, half-steps at .5 · GD: gradient steps · SGD: epochs)"


def compare_figure(frame: pd.DataFrame, *, x: str = "seconds", log_x: bool = True) -> go.Figure:
    """Objective (log scale) and validation RMSE of every method, side by side, against
    wall-clock ``"seconds"`` or ``"step"``.

    ``frame`` is ``compare_methods``' output (method, step, seconds, objective, train_rmse,
    validation_rmse). On a log x axis the shared start (step 0, 0 s) cannot be drawn and is left
    out; its objective is in the hover of each method's first point.
    """
    if x not in ("seconds", "step"):
        raise ValueError(f"x must be 'seconds' or 'step', got {x!r}")
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("Objective (log scale)", "Validation RMSE"),
        horizontal_spacing=0.08,
    )
    unit = "s" if x == "seconds" else ""
    for index, (method, group) in enumerate(frame.groupby("method", sort=False)):
        if log_x:
            group = group[group[x] > 0]
        color = method_color(method, index)
        for col, column, fmt in ((1, "objective", ",.5g"), (2, "validation_rmse", ".4f")):
            fig.add_trace(
                go.Scatter(
                    x=group[x],
                    y=group[column],
                    name=method,
                    legendgroup=method,
                    showlegend=col == 1,
                    mode="lines",
                    line={"color": color, "width": 2},
                    customdata=np.column_stack([group["step"], group["seconds"]]),
                    hovertemplate=(
                        f"{method}<br>step %{{customdata[0]:g}}, %{{customdata[1]:.3f}} s"
                        f"<br>{column.replace('_', ' ')} %{{y:{fmt}}}<extra></extra>"
                    ),
                ),
                row=1,
                col=col,
            )
    positive = frame["objective"][frame["objective"] > 0]
    ticks = log_ticks(positive.min(), positive.max()) if len(positive) else []
    fig.update_yaxes(type="log", tickvals=ticks or None, row=1, col=1)
    fig.update_yaxes(title="RMSE", row=1, col=2)
    title = "wall-clock seconds" if x == "seconds" else STEP_TITLE
    if log_x:
        title += " (log scale)"
    # Labelled values instead of plotly's "0.001s 2 5 0.01s 2 5" minor labels.
    drawn = frame[x][frame[x] > 0]
    x_ticks = log_ticks(drawn.min(), drawn.max()) if log_x and len(drawn) else []
    fig.update_xaxes(type="log" if log_x else "linear", title=title, ticksuffix=unit)
    if x_ticks:  # plotly leaves the suffix off labels it is given as values: written out here
        fig.update_xaxes(tickvals=x_ticks, ticktext=[f"{t:g}{unit}" for t in x_ticks])
    return style(fig, title="Same objective, same start, same λ", height=420)


# --------------------------------------------------------------------------------- bars
def rmse_bars(table: pd.DataFrame, *, title: str) -> go.Figure:
    """Train and validation RMSE per method (``table``: method, train_rmse, validation_rmse),
    values printed on the bars."""
    fig = go.Figure()
    for column, name, color in RMSE_SERIES:
        fig.add_trace(
            go.Bar(
                x=table["method"],
                y=table[column],
                name=name,
                marker_color=color,
                text=[f"{v:.3f}" for v in table[column]],
                textposition="outside",
                hovertemplate="%{x}<br>" + name + " %{y:.4f}<extra></extra>",
            )
        )
    top = float(np.nanmax(table[["train_rmse", "validation_rmse"]].to_numpy())) if len(table) else 1
    fig.update_layout(barmode="group", bargap=0.3)
    fig.update_yaxes(title="RMSE (lower is better)", range=[0, top * 1.18])
    return style(fig, title=title, height=380)


# --------------------------------------------------------------------------------- missing
def prediction_histogram(
    actual: np.ndarray,
    predictions: Mapping[str, np.ndarray],
    *,
    scale: tuple[float, float] | None = None,
    bin_width: float = 0.5,
) -> go.Figure:
    """The held-out ratings and each method's predictions for the same (user, item) pairs, as
    overlaid histograms with shared bins. ``scale`` draws the rating scale's ends."""
    values = [np.asarray(actual, dtype=float)] + [
        np.asarray(p, dtype=float) for p in predictions.values()
    ]
    low = min(float(np.min(v)) for v in values if len(v))
    high = max(float(np.max(v)) for v in values if len(v))
    # Bins centred on multiples of the width, so half-star ratings sit in the middle of a bar.
    start = (np.floor(low / bin_width - 0.5) + 0.5) * bin_width
    end = (np.ceil(high / bin_width + 0.5) + 0.5) * bin_width
    bins = {"start": start, "end": end, "size": bin_width}
    fig = go.Figure()
    fig.add_trace(
        go.Histogram(
            x=actual,
            xbins=bins,
            name="actual held-out ratings",
            marker={"color": "rgba(0,0,0,0)", "line": {"color": ACTUAL_COLOR, "width": 2}},
            hovertemplate="actual %{x}: %{y} ratings<extra></extra>",
        )
    )
    for index, (method, values_) in enumerate(predictions.items()):
        fig.add_trace(
            go.Histogram(
                x=values_,
                xbins=bins,
                name=f"{method} predictions",
                marker_color=method_color(method, index),
                opacity=0.55,
                hovertemplate=f"{method}<br>" + "%{x}: %{y} predictions<extra></extra>",
            )
        )
    if scale is not None:
        for edge in scale:
            fig.add_vline(x=edge, line={"color": MUTED_COLOR, "dash": "dot", "width": 1})
    fig.update_layout(barmode="overlay")
    fig.update_xaxes(title="rating")
    fig.update_yaxes(title="held-out pairs")
    return style(fig, title="What each method predicts for the held-out pairs", height=380)


# --------------------------------------------------------------------------------- sweep
def lam_label(lam: float) -> str:
    return f"{lam:g}"


def sweep_heatmap(grid: pd.DataFrame, best: Mapping | None = None) -> go.Figure:
    """Validation RMSE over the k × λ grid (rows k, columns λ as labels, so λ = 0 fits too),
    values printed in the cells, the best cell outlined and starred."""
    table = grid.pivot(index="k", columns="lam", values="validation_rmse").sort_index()
    table = table.reindex(sorted(table.columns), axis=1)
    train = grid.pivot(index="k", columns="lam", values="train_rmse").reindex_like(table)
    x = [lam_label(v) for v in table.columns]
    y = [str(int(v)) for v in table.index]
    z = table.to_numpy()
    text = [["" if np.isnan(v) else f"{v:.3f}" for v in row] for row in z]
    fig = go.Figure(
        go.Heatmap(
            x=x,
            y=y,
            z=z,
            text=text,
            texttemplate="%{text}",
            customdata=train.to_numpy(),
            colorscale="Viridis",
            reversescale=True,
            colorbar={"title": {"text": "validation<br>RMSE"}},
            hovertemplate=(
                "k = %{y}, λ = %{x}<br>validation RMSE %{z:.4f}<br>train RMSE "
                "%{customdata:.4f}<extra></extra>"
            ),
            xgap=2,
            ygap=2,
        )
    )
    if best:
        bx, by = lam_label(float(best["lam"])), str(int(best["k"]))
        ix, iy = x.index(bx), y.index(by)
        text[iy][ix] = "★ " + text[iy][ix]
        fig.data[0].text = text
        fig.add_shape(
            type="rect",
            x0=ix - 0.5,
            x1=ix + 0.5,
            y0=iy - 0.5,
            y1=iy + 0.5,
            line={"color": "#E03131", "width": 3},
        )
    fig.update_xaxes(title="λ", type="category")
    fig.update_yaxes(title="k", type="category")
    fig.update_layout(showlegend=False)
    return style(fig, title="Validation RMSE for every k and λ", height=80 + 36 * max(4, len(y)))


def sweep_curve(grid: pd.DataFrame, *, along: str, at: float) -> go.Figure:
    """Train and validation RMSE along ``"lam"`` (at k = ``at``) or ``"k"`` (at λ = ``at``).

    The side of the best point where the model is too flexible (small λ, large k) is shaded as
    overfitting, the other as underfitting; sides without points are not shaded.
    """
    if along not in ("lam", "k"):
        raise ValueError(f"along must be 'lam' or 'k', got {along!r}")
    fixed = "k" if along == "lam" else "lam"
    curve = grid[np.isclose(grid[fixed].astype(float), float(at))].sort_values(along)
    if along == "lam":
        curve = curve[curve["lam"] > 0]  # a log axis cannot show λ = 0
    xs = curve[along].to_numpy(dtype=float)
    fig = go.Figure()
    for column, name, color in RMSE_SERIES:
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=curve[column],
                name=name,
                mode="lines+markers",
                line={"color": color, "width": 2},
                hovertemplate=f"{'λ' if along == 'lam' else 'k'} = %{{x:g}}: {name} "
                "%{y:.4f}<extra></extra>",
            )
        )
    if len(curve):
        best_at = float(xs[int(np.argmin(curve["validation_rmse"].to_numpy()))])
        best_val = float(curve["validation_rmse"].min())
        fig.add_trace(
            go.Scatter(
                x=[best_at],
                y=[best_val],
                mode="markers",
                name="best validation",
                marker={
                    "symbol": "star",
                    "size": 14,
                    "color": "white",
                    "line": {"color": VALIDATION_COLOR, "width": 2},
                },
                hovertemplate="best validation RMSE %{y:.4f}<extra></extra>",
            )
        )
        _shade_regimes(
            fig,
            xs,
            best_at,
            flexible_side="low" if along == "lam" else "high",
            log_x=along == "lam",
        )
    if along == "lam":
        positive = xs[xs > 0]
        lam_ticks = log_ticks(positive.min(), positive.max()) if len(positive) else []
        fig.update_xaxes(type="log", title="λ (log scale)", tickvals=lam_ticks or None)
        title = f"λ curve at k = {int(at)}"
    else:
        fig.update_xaxes(title="k", dtick=1 if len(xs) <= 16 else None)
        title = f"k curve at λ = {at:g}"
    fig.update_yaxes(title="RMSE")
    return style(fig, title=title, height=360)


def _shade_regimes(
    fig: go.Figure, xs: np.ndarray, best_at: float, *, flexible_side: str, log_x: bool
) -> None:
    """Shade both sides of the best point. Annotations on a log axis take log10 positions
    (shapes take data values), so they are placed by hand."""
    low, high = float(xs.min()), float(xs.max())
    sides = {"low": (low, best_at), "high": (best_at, high)}
    for side, (x0, x1) in sides.items():
        if x1 <= x0:
            continue
        overfit = side == flexible_side
        fig.add_shape(
            type="rect",
            xref="x",
            yref="paper",
            x0=x0,
            x1=x1,
            y0=0,
            y1=1,
            fillcolor="#FFE3E3" if overfit else "#E7F5FF",
            opacity=0.6,
            layer="below",
            line_width=0,
        )
        middle = np.sqrt(x0 * x1) if log_x else (x0 + x1) / 2
        fig.add_annotation(
            x=np.log10(middle) if log_x else middle,
            y=1,
            xref="x",
            yref="paper",
            yanchor="top",
            showarrow=False,
            text="overfitting" if overfit else "underfitting",
            font={"color": MUTED_COLOR},
        )


# --------------------------------------------------------------------------------- recovery
def recovery_figure(table: pd.DataFrame, *, true_rank: int, sigma: float | None) -> go.Figure:
    """Left: largest and mean principal angle between learned and true user / item subspaces.
    Right: train and validation RMSE against the noise floor σ and the truth's own RMSE
    (``oracle_rmse``). A dotted line marks the true rank on both."""
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("Angle to the true subspace (degrees)", "RMSE vs the noise floor"),
        horizontal_spacing=0.1,
    )
    k = table["k"]
    for side, color in (("user", USER_ANGLE_COLOR), ("item", ITEM_ANGLE_COLOR)):
        for stat, dash in (("max", "solid"), ("mean", "dot")):
            fig.add_trace(
                go.Scatter(
                    x=k,
                    y=table[f"{side}_angle_{stat}_deg"],
                    name=f"{side}s: {'largest' if stat == 'max' else 'mean'} angle",
                    mode="lines+markers",
                    line={"color": color, "dash": dash, "width": 2},
                    hovertemplate=f"k = %{{x}}: {side} {stat} angle %{{y:.1f}}°<extra></extra>",
                ),
                row=1,
                col=1,
            )
    for column, name, color in RMSE_SERIES:
        fig.add_trace(
            go.Scatter(
                x=k,
                y=table[column],
                name=name,
                mode="lines+markers",
                line={"color": color, "width": 2},
                hovertemplate=f"k = %{{x}}: {name} %{{y:.4f}}<extra></extra>",
            ),
            row=1,
            col=2,
        )
    floors = []
    if sigma is not None and np.isfinite(sigma):
        floors.append((float(sigma), f"noise σ = {sigma:g}", "dash"))
    oracle = table["oracle_rmse"].dropna()
    if len(oracle):
        floors.append((float(oracle.iloc[0]), "true factors' RMSE", "dot"))
    for value, name, dash in floors:
        fig.add_trace(
            go.Scatter(
                x=[k.min(), k.max()],
                y=[value, value],
                name=name,
                mode="lines",
                line={"color": ACTUAL_COLOR, "dash": dash, "width": 1.5},
                hovertemplate=f"{name}: {value:.4f}<extra></extra>",
            ),
            row=1,
            col=2,
        )
    for col in (1, 2):
        fig.add_vline(x=true_rank, line={"color": MUTED_COLOR, "dash": "dot"}, row=1, col=col)
    fig.update_xaxes(title=f"k (dotted: the true rank, {true_rank})", dtick=1)
    fig.update_yaxes(title="degrees", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title="RMSE", rangemode="tozero", row=1, col=2)
    fig.update_layout(legend={"y": -0.2, "yanchor": "top", "x": 0, "xanchor": "left"})
    fig.update_layout(legend_orientation="h")
    return style(fig, title="Recovering planted factors as k passes the true rank", height=460)


# --------------------------------------------------------------------------------- ranking
RANKING_METRICS = ("precision", "recall", "ndcg")
METRIC_COLORS = {"precision": "#4C6EF5", "recall": "#12B886", "ndcg": "#AE3EC9"}


def ranking_figure(table: pd.DataFrame, *, n: int) -> go.Figure:
    """precision@n, recall@n and NDCG@n per method (``ranking_table``'s output) as grouped bars."""
    fig = go.Figure()
    for metric in RANKING_METRICS:
        column = f"{metric}@{n}"
        label = f"{'NDCG' if metric == 'ndcg' else metric}@{n}"
        fig.add_trace(
            go.Bar(
                x=table["method"],
                y=table[column],
                name=label,
                marker_color=METRIC_COLORS[metric],
                text=[f"{v:.3f}" for v in table[column]],
                textposition="outside",
                hovertemplate="%{x}<br>" + label + " %{y:.4f}<extra></extra>",
            )
        )
    values = table[[f"{m}@{n}" for m in RANKING_METRICS]].to_numpy(dtype=float)
    top = float(np.nanmax(values)) if values.size else 1.0
    fig.update_layout(barmode="group", bargap=0.25)
    fig.update_yaxes(title="higher is better", range=[0, max(top, 1e-9) * 1.2])
    return style(fig, title=f"Top-{n} recommendations vs held-out interactions", height=400)


def explanation_figure(frame: pd.DataFrame, *, item_label: str) -> go.Figure:
    """The "because you liked …" chart: each of the user's items' contribution to the
    recommended item's score (``ImplicitALS.explain`` output plus a ``label`` column), largest
    on top."""
    rows = frame.iloc[::-1]
    item_label = plotly_escape(item_label)  # names from the data: shown as written
    colors = ["#7048E8" if v >= 0 else MUTED_COLOR for v in rows["contribution"]]
    fig = go.Figure(
        go.Bar(
            x=rows["contribution"],
            y=list(shown_names(rows["label"])),
            orientation="h",
            marker_color=colors,
            customdata=np.column_stack([rows["similarity"], rows["confidence"]]),
            hovertemplate=(
                "%{y}<br>contribution %{x:.4f}<br>= similarity %{customdata[0]:.4f} × "
                "confidence %{customdata[1]:.3g}<extra></extra>"
            ),
            showlegend=False,
        )
    )
    fig.update_xaxes(title=f"contribution to the score of “{item_label}”")
    fig.update_yaxes(title=None, automargin=True)
    return style(fig, title=f"Because you liked … → {item_label}", height=90 + 34 * len(rows))


# --------------------------------------------------------------------------------- implicit fit
def implicit_history_figure(
    history: pd.DataFrame, *, n: int, popularity: Mapping[str, float] | None = None
) -> go.Figure:
    """Implicit ALS while it trains: the confidence-weighted objective after every half-step
    (log scale, left) and precision/recall/NDCG@n on held-out interactions after every full
    iteration (right), with popularity's values as dashed lines."""
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("Objective Σ c·(p − x·y)² + λ(…) (log scale)", f"Ranking at N = {n}"),
        horizontal_spacing=0.1,
    )
    offset = np.where(history["side"].to_numpy() == "users", -0.5, 0.0)
    x = history["iteration"].to_numpy(dtype=float) + offset
    for column, name, color, dash in (
        ("objective", "objective (total)", "#212529", "solid"),
        ("data_term", "data term", MUTED_COLOR, "dot"),
        ("regularization_term", "regularisation term", "#AE3EC9", "dash"),
    ):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=history[column],
                name=name,
                mode="lines+markers" if column == "objective" else "lines",
                line={"color": color, "dash": dash, "width": 2 if column == "objective" else 1.5},
                marker={"size": 5},
                hovertemplate=f"half-step %{{x}}: {name} %{{y:,.5g}}<extra></extra>",
            ),
            row=1,
            col=1,
        )
    ends = history[history["side"] == "items"]
    for metric in RANKING_METRICS:
        label = f"{'NDCG' if metric == 'ndcg' else metric}@{n}"
        fig.add_trace(
            go.Scatter(
                x=ends["iteration"],
                y=ends[f"{metric}_at_n"],
                name=label,
                mode="lines+markers",
                line={"color": METRIC_COLORS[metric], "width": 2},
                hovertemplate=f"iteration %{{x}}: {label} %{{y:.4f}}<extra></extra>",
            ),
            row=1,
            col=2,
        )
        if popularity is not None and f"{metric}@{n}" in popularity and len(ends):
            value = float(popularity[f"{metric}@{n}"])
            fig.add_trace(
                go.Scatter(
                    x=[ends["iteration"].min(), ends["iteration"].max()],
                    y=[value, value],
                    name=f"popularity {label}",
                    mode="lines",
                    line={"color": METRIC_COLORS[metric], "dash": "dash", "width": 1},
                    hovertemplate=f"popularity {label}: {value:.4f}<extra></extra>",
                ),
                row=1,
                col=2,
            )
    values = history[["objective", "data_term", "regularization_term"]].to_numpy().ravel()
    positive = values[values > 0]
    ticks = log_ticks(positive.min(), positive.max()) if len(positive) else []
    fig.update_yaxes(type="log", tickvals=ticks or None, row=1, col=1)
    fig.update_yaxes(title="held-out ranking (higher is better)", rangemode="tozero", row=1, col=2)
    fig.update_xaxes(title="iteration (half-steps at .5)", row=1, col=1)
    fig.update_xaxes(title="iteration", row=1, col=2)
    fig.update_layout(legend={"y": -0.22, "yanchor": "top", "x": 0, "xanchor": "left"})
    fig.update_layout(legend_orientation="h")
    return style(fig, title="Implicit ALS while it trains", height=440)
