"""Figures of the lecturer's additions on the "How ALS works" page: the symmetry of the factors
and the fits from several random starts. Pure functions: frames in, plotly Figure out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .. import formulas
from . import MUTED_COLOR, category_colours, log_ticks, style

PENALTY_COLOUR = "#AE3EC9"


def gauge_figure(scale: pd.DataFrame, rotation: pd.DataFrame, form: formulas.Form) -> go.Figure:
    """The objective's two terms as X·Yᵀ is kept and the factors are rescaled (left: factor 1
    of X times d, of Y divided by d) or turned (right: the first two factors by θ).

    The data term is flat in both; the penalty has its minimum at d = 1 (λ balances the scales)
    and is flat in θ (nothing fixes the rotation).
    """
    has_rotation = len(rotation) > 0
    fig = make_subplots(
        rows=1,
        cols=2 if has_rotation else 1,
        horizontal_spacing=0.12,
        subplot_titles=("Rescale factor 1: X × d, Y ÷ d", "Rotate factors 1–2 by θ")[
            : 2 if has_rotation else 1
        ],
    )
    panels = [(scale, "d", 1)] + ([(rotation, "degrees", 2)] if has_rotation else [])
    for frame, column, col in panels:
        for term, name, colour, dash in (
            ("data", f"data term {formulas.data_term(form)}", MUTED_COLOR, "solid"),
            ("penalty", f"penalty {formulas.penalty_term(form)}", PENALTY_COLOUR, "dash"),
        ):
            fig.add_trace(
                go.Scatter(
                    x=frame[column],
                    y=frame[term],
                    mode="lines+markers",
                    name=name,
                    legendgroup=term,
                    showlegend=col == 1,
                    line={"color": colour, "dash": dash, "width": 2},
                    marker={"size": 5},
                    hovertemplate=f"{column} %{{x:.3g}}<br>{term} %{{y:,.6g}}<extra></extra>",
                ),
                row=1,
                col=col,
            )
    # Plotly's own log labels read "2 3 4 … 9 1 2 3" here; 0.2, 0.5, 1, 2, 5 say what d is.
    d = scale["d"][scale["d"] > 0]
    ticks = log_ticks(d.min(), d.max()) if len(d) else []
    fig.update_xaxes(type="log", title="d (log scale)", tickvals=ticks or None, row=1, col=1)
    if has_rotation:
        fig.update_xaxes(title="θ (degrees)", row=1, col=2)
    # One "value" title, on the left: the right panel's would sit on the left panel's curve.
    fig.update_yaxes(title="value", row=1, col=1)
    return style(fig, title="The same predictions, other factors", height=380)


def convergence_figure(histories: dict[int, pd.DataFrame], pair: tuple[int, int]) -> go.Figure:
    """The objective after every half-step of each start (log scale); the two starts of
    ``pair`` drawn bold."""
    from .training import half_step_positions  # one x position per half-step, as on Train

    fig = go.Figure()
    colours = category_colours([f"seed {s}" for s in histories])
    all_values = []
    for seed, history in histories.items():
        x = half_step_positions(history)
        y = history["objective"].to_numpy()
        all_values.append(y)
        bold = seed in pair
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                mode="lines",
                name=f"seed {seed}: {y[-1]:,.6g}",
                line={"color": colours[f"seed {seed}"], "width": 3 if bold else 1.2},
                opacity=1.0 if bold else 0.55,
                hovertemplate=f"seed {seed}<br>%{{x}}: %{{y:,.7g}}<extra></extra>",
            )
        )
    values = np.concatenate(all_values) if all_values else np.zeros(0)
    positive = values[values > 0]
    ticks = log_ticks(positive.min(), positive.max()) if len(positive) else []
    fig.update_yaxes(type="log", title="objective (log scale)", tickvals=ticks or None)
    fig.update_xaxes(title=formulas.HALF_STEP_AXIS)
    return style(fig, title="The same data and settings from different random starts", height=400)
