"""The iteration replay's frames: the model at each kept state, the 2-D maps turned to match
one another, the axes and range they share, and the objective of the random start.

Plain computations on a fitted model and its kept states (numpy and als_core only, no
Streamlit); ``replay_fit`` gives the page the session's fit with its states (``fit_states``).
"""

from __future__ import annotations

import copy

import numpy as np

import als_core as ac

from .fit_states import FactorState
from .settings import objective_settings


def model_at(model: ac.ALS, state: FactorState) -> ac.ALS:
    """A copy of a fitted model that predicts with the factors of ``state``."""
    moment = copy.copy(model)
    moment.user_factors_ = state.user_factors
    moment.item_factors_ = state.item_factors
    moment.user_bias_ = state.user_bias
    moment.item_bias_ = state.item_bias
    return moment


def kept_frame(states: list[FactorState], model: ac.ALS) -> int:
    """Index of the state whose factors the model kept: with early stopping (patience) the
    best iteration's, else the last. The last when the kept one was not among the snapshots."""
    best = getattr(model, "best_iteration_", None)
    if getattr(model, "stop_reason_", None) == "patience" and best:
        for j, state in enumerate(states):
            if state.iteration == best and state.side == "items":
                return j
    return len(states) - 1


def aligned_projections(
    states: list[FactorState], anchor: int | None = None
) -> list[ac.Projection]:
    """One 2-D map per state, each turned to match its neighbour, so the replay does not spin.

    The ``anchor`` frame (default: the last; the replay passes ``kept_frame``, the model's own
    factors) is the plain shared projection, the same picture as the Latent page. Alignment
    runs outwards from it: every earlier frame is rotated/reflected (Procrustes) to look as
    much as possible like the frame after it, every later frame like the one before it.
    """
    if not states:
        return []
    anchor = len(states) - 1 if anchor is None else int(anchor)
    frames: list[ac.Projection] = [None] * len(states)  # type: ignore[list-item]
    kept = states[anchor]
    frames[anchor] = ac.shared_projection(kept.user_factors, kept.item_factors)
    for order in (range(anchor - 1, -1, -1), range(anchor + 1, len(states))):
        for j in order:
            s = states[j]
            neighbour = frames[j + 1] if j < anchor else frames[j - 1]
            current = ac.shared_projection(s.user_factors, s.item_factors)
            frames[j] = ac.align_projection(current, neighbour)
    return frames


def replay_axis_titles(anchor: ac.Projection) -> tuple[str, str]:
    """The axes of every replay frame: the model's own (the anchor frame's) axes, which the
    other frames are turned to match."""
    names = [title.split(" (")[0] for title in anchor.axis_titles]
    if anchor.method == "raw-1d":
        return (f"{names[0]} of the kept model (frames flipped to match)", "")
    return tuple(f"{name} of the kept model (frames turned to match)" for name in names)  # type: ignore[return-value]


def common_range(projections: list[ac.Projection], *, pad: float = 0.08) -> tuple[float, float]:
    """A symmetric axis range that holds every frame (so the camera does not jump)."""
    extent = 0.0
    for p in projections:
        for points in (p.users, p.items):
            if len(points):
                extent = max(extent, float(np.nanmax(np.abs(points))))
    extent = extent or 1.0
    return (-extent * (1 + pad), extent * (1 + pad))


def start_objective(model: ac.ALS, train: ac.Ratings, state: FactorState) -> float:
    """The objective of the random start (the history begins after the first half-step)."""
    terms = ac.objective(
        train,
        state.user_factors,
        state.item_factors,
        user_bias=state.user_bias,
        item_bias=state.item_bias,
        **objective_settings(model),
    )
    return float(terms.total)
