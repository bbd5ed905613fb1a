"""A fit's states over time: the random start, then the factors after each kept half-step.

``FactorState`` is one such moment (the update by hand starts from one, the iteration replay
draws each); ``fit_with_snapshots`` fits as the Train page does while keeping every half-step,
and ``replay_fit`` runs it as a background job. Plain Python on numpy and als_core (no
Streamlit), so the tests can hold every state to the library's own fit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

import als_core as ac

from .settings import FitResult, fit_model

#: Memory the kept half-steps of one replay fit may use (past it the library keeps every other).
SNAPSHOT_BUDGET_BYTES = 64 * 2**20


@dataclass(frozen=True)
class FactorState:
    """The factors at one moment of a fit: the random start or right after a half-step."""

    iteration: int  # 0 for the random start
    side: str  # "start", "users" or "items": which side was just solved
    user_factors: np.ndarray
    item_factors: np.ndarray
    user_bias: np.ndarray | None
    item_bias: np.ndarray | None

    @property
    def label(self) -> str:
        if self.side == "start":
            return "random start"
        if self.side == "final":  # final_state(): the fitted model's own factors
            return f"the trained model (after iteration {self.iteration})"
        return f"iteration {self.iteration}: {self.side} solved"

    def factors(self, side: str) -> np.ndarray:
        return self.user_factors if side == "users" else self.item_factors

    def bias(self, side: str) -> np.ndarray | None:
        return self.user_bias if side == "users" else self.item_bias


def states_of(initial: FactorState, snapshots: list[Any] | None) -> list[FactorState]:
    """The random start followed by every kept snapshot (``ALS.snapshots_``), in fit order."""
    states = [initial]
    for s in snapshots or []:
        states.append(
            FactorState(
                iteration=int(s.iteration),
                side=str(s.side),
                user_factors=s.user_factors,
                item_factors=s.item_factors,
                user_bias=s.user_bias,
                item_bias=s.item_bias,
            )
        )
    return states


def final_state(model: ac.ALS) -> FactorState:
    """The fitted model's own factors (the state a further update would start from)."""
    return FactorState(
        iteration=int(model.n_iter_),
        side="final",
        user_factors=model.user_factors_,
        item_factors=model.item_factors_,
        user_bias=model.user_bias_,
        item_bias=model.item_bias_,
    )


@dataclass(frozen=True)
class ReplayFit:
    """The session's model fitted again with every half-step kept, and the random start."""

    fit: FitResult  # same settings, data and seed as the current model
    states: list[FactorState]


def fit_with_snapshots(
    ratings: ac.Ratings,
    settings: dict[str, Any],
    *,
    fingerprint: str = "",
    callback: Any = None,
) -> ReplayFit:
    """Fit as the Train page does (same split, seed and settings), keeping every half-step.

    The same seed gives the same random start, so the replay ends on the very factors the
    other pages show. The start itself comes from a fit with zero iterations. ``fingerprint``
    (of ``ratings``) goes into the fit's key; ``callback`` gets each half-step's ``FitEvent``.
    """
    fit = fit_model(
        ratings,
        settings,
        callback=callback,
        fingerprint=fingerprint,
        snapshot_max_bytes=SNAPSHOT_BUDGET_BYTES,
    )
    model = fit.model
    start_params = {**model.get_params(), "iterations": 0, "snapshots": False}
    start_params.update(tol=None, patience=None)
    start = ac.ALS(**start_params).fit(fit.train)
    initial = replace(final_state(start), iteration=0, side="start")
    return ReplayFit(fit=fit, states=states_of(initial, model.snapshots_))
