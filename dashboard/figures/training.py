"""Figures for the Train page: the objective per half-step and the RMSE per iteration.

Both read ``ALS.history_`` (one row per half-step: iteration, side, objective, data_term,
regularization_term, train_rmse, validation_rmse, seconds, elapsed).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .. import formulas
from . import (
    ITEM_COLOR,
    MUTED_COLOR,
    TRAIN_COLOR,
    USER_COLOR,
    VALIDATION_COLOR,
    log_ticks,
    style,
)


def half_step_positions(history: pd.DataFrame) -> np.ndarray:
    """x position of each half-step: iteration − 0.5 after the user solve, iteration after the
    item solve, so whole numbers mark the end of each full iteration."""
    offset = np.where(history["side"].to_numpy() == "users", -0.5, 0.0)
    return history["iteration"].to_numpy(dtype=np.float64) + offset


def half_step_row(history: pd.DataFrame, iteration: int, side: str) -> int:
    """The history's row of the ``side`` half-step of ``iteration`` (the last row when the
    history has no such half-step)."""
    match = np.flatnonzero(
        (history["iteration"].to_numpy() == iteration) & (history["side"].to_numpy() == side)
    )
    return int(match[0]) if len(match) else len(history) - 1


def objective_figure(history: pd.DataFrame, form: formulas.Form | None = None) -> go.Figure:
    """The objective after every half-step with its two terms (log scale).

    The total never rises; its parts trade off. Solving for the users fits their factors to the
    items, then solving for the items does the same the other way, so the data and
    regularisation terms move in a sawtooth while their sum keeps falling. The legend writes
    the terms as ``form`` (the model's settings) defines them.
    """
    form = form or formulas.Form()
    x = half_step_positions(history)
    sides = history["side"].to_numpy()
    labels = [
        formulas.half_step_label(int(i), str(s))
        for i, s in zip(history["iteration"], sides, strict=True)
    ]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=x,
            y=history["data_term"],
            name=f"data term {formulas.data_term(form)}",
            mode="lines",
            line={"color": MUTED_COLOR, "width": 1.5, "dash": "dot"},
            text=labels,
            hovertemplate="%{text}<br>data term %{y:,.4g}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=history["regularization_term"],
            name=f"regularisation term {formulas.penalty_term(form)}",
            mode="lines",
            line={"color": "#AE3EC9", "width": 1.5, "dash": "dash"},
            text=labels,
            hovertemplate="%{text}<br>regularisation term %{y:,.4g}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=history["objective"],
            name="objective (total)",
            mode="lines",
            line={"color": "#212529", "width": 2},
            hoverinfo="skip",
        )
    )
    for side, color, symbol in (("users", USER_COLOR, "circle"), ("items", ITEM_COLOR, "diamond")):
        mask = sides == side
        fig.add_trace(
            go.Scatter(
                x=x[mask],
                y=history["objective"].to_numpy()[mask],
                name=f"after solving {side}",
                mode="markers",
                marker={"color": color, "size": 7, "symbol": symbol},
                text=np.asarray(labels, dtype=object)[mask],
                hovertemplate="%{text}<br>objective %{y:,.5g}<extra></extra>",
            )
        )
    values = history[["objective", "data_term", "regularization_term"]].to_numpy().ravel()
    positive = values[values > 0]
    ticks = log_ticks(positive.min(), positive.max()) if len(positive) else []
    fig.update_yaxes(type="log", title="value (log scale)", tickvals=ticks or None)
    fig.update_xaxes(title=formulas.HALF_STEP_AXIS)
    return style(fig, title="Objective after each half-step", height=420)


def per_iteration(history: pd.DataFrame) -> pd.DataFrame:
    """One row per full iteration: the state after its last half-step."""
    return history.groupby("iteration", as_index=False).last()


def rmse_figure(history: pd.DataFrame, *, best_iteration: int | None = None) -> go.Figure:
    """Train and validation RMSE per iteration; the best validation iteration is marked."""
    rows = per_iteration(history)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=rows["iteration"],
            y=rows["train_rmse"],
            name="train RMSE",
            mode="lines+markers",
            line={"color": TRAIN_COLOR, "width": 2},
            hovertemplate="iteration %{x}: train RMSE %{y:.4f}<extra></extra>",
        )
    )
    has_validation = rows["validation_rmse"].notna().any()
    if has_validation:
        fig.add_trace(
            go.Scatter(
                x=rows["iteration"],
                y=rows["validation_rmse"],
                name="validation RMSE",
                mode="lines+markers",
                line={"color": VALIDATION_COLOR, "width": 2},
                hovertemplate="iteration %{x}: validation RMSE %{y:.4f}<extra></extra>",
            )
        )
        if best_iteration is None:
            best_iteration = int(rows.loc[rows["validation_rmse"].idxmin(), "iteration"])
        best = rows.loc[rows["iteration"] == best_iteration]
        if len(best):
            value = float(best["validation_rmse"].iloc[0])
            fig.add_trace(
                go.Scatter(
                    x=[best_iteration],
                    y=[value],
                    name=f"best validation (iteration {best_iteration})",
                    mode="markers",
                    marker={
                        "color": "white",
                        "size": 14,
                        "symbol": "star",
                        "line": {"color": VALIDATION_COLOR, "width": 2},
                    },
                    hovertemplate=(
                        "best validation RMSE %{y:.4f}<br>at iteration %{x}<extra></extra>"
                    ),
                )
            )
            fig.add_vline(x=best_iteration, line={"color": VALIDATION_COLOR, "dash": "dot"})
    fig.update_xaxes(title=formulas.ITERATION_AXIS, dtick=max(1, int(np.ceil(len(rows) / 15))))
    fig.update_yaxes(title="RMSE")
    title = "RMSE per iteration" if has_validation else "Train RMSE per iteration (no validation)"
    return style(fig, title=title, height=400)
