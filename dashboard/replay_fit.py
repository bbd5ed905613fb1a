"""The session's model fitted again with every half-step kept, for the replay and update pages.

Cached server-wide on (data fingerprint, settings), like the model itself; a model opened from
disk is never refitted (its final state only, or a ``PageNotice`` that says why not).
"""

from __future__ import annotations

import streamlit as st

import als_core as ac

from . import fitting, session, teaching
from .model_open import EXTERNAL_MODEL_NOTE
from .shell import PageNotice

REPLAY_NOTE = (
    f"{EXTERNAL_MODEL_NOTE} The iteration replay fits the model again keeping every "
    "half-step, and a saved model keeps only its final factors, so there is nothing to replay. "
    "Latent space, Reconstruction, Add yourself and One update by hand explore the opened model "
    "as it is."
)


def current_replay_fit(*, final_only_ok: bool = False) -> teaching.ReplayFit:
    """This session's replay fit, for its current dataset and the current model's settings.

    A model opened from disk is never refitted: its final state alone when ``final_only_ok``,
    else ``PageNotice`` says why there is no replay."""
    fit = fitting.current_fit()
    if fit.external:
        if final_only_ok:
            return teaching.ReplayFit(fit=fit, states=[teaching.final_state(fit.model)])
        raise PageNotice(REPLAY_NOTE)
    return _replay_fit_cached(*fit.key, session.current_dataset().ratings)


@st.cache_data(max_entries=6, show_spinner="Fitting again, keeping every half-step…")
def _replay_fit_cached(fingerprint: str, key: tuple, _ratings: ac.Ratings) -> teaching.ReplayFit:
    """Keyed on the data fingerprint and the settings (the Ratings is not hashed)."""
    return teaching.fit_with_snapshots(_ratings, dict(key))
