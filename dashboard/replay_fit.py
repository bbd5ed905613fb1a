"""The session's model fitted again with every half-step kept, for the replay and update pages.

It runs as a background job (``dashboard.jobs``: progress, Stop, the result shared with every
session on the same data and settings), like the model itself. A model opened from disk is
never refitted: its final state only, or a ``PageNotice`` that says why there is no replay.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

import als_core as ac

from . import fit_states, fitting, jobs, session
from .model_open import EXTERNAL_MODEL_NOTE
from .settings import half_step_callback
from .shell import PageNotice

#: The session's job name of the replay fit.
REPLAY_JOB = "replay_fit"
REPLAY_NOTE = (
    f"{EXTERNAL_MODEL_NOTE} The iteration replay fits the model again keeping every "
    "half-step, and a saved model keeps only its final factors, so there is nothing to replay. "
    "Latent space, Reconstruction, Add yourself and One update by hand explore the opened model "
    "as it is."
)
FITTING = "Fitting again, keeping every half-step"


def replay_work(ratings: ac.Ratings, settings: dict[str, Any], *, fingerprint: str) -> jobs.Work:
    """``fit_states.fit_with_snapshots`` as a job: progress per half-step, stop after any."""

    def work(progress: jobs.Progress, should_stop: jobs.ShouldStop) -> tuple[Any, bool]:
        progress(0, 1, f"{FITTING}…")
        callback = half_step_callback(
            progress,
            should_stop,
            lambda e: f"{FITTING}: iteration {e.iteration} of {e.iterations}, {e.side} solved",
        )
        replay = fit_states.fit_with_snapshots(
            ratings, settings, fingerprint=fingerprint, callback=callback
        )
        return replay, replay.fit.model.stop_reason_ == "callback"

    return work


def current_replay_fit(*, final_only_ok: bool = False) -> fit_states.ReplayFit:
    """This session's replay fit, for its current dataset and the current model's settings.

    A model opened from disk is never refitted: its final state alone when ``final_only_ok``,
    else ``PageNotice`` says why there is no replay. A replay fit stopped by the user is shown
    as far as it got, with a note and a button to fit it to the end."""
    fit = fitting.current_fit()
    if fit.external:
        if final_only_ok:
            return fit_states.ReplayFit(fit=fit, states=[fit_states.final_state(fit.model)])
        raise PageNotice(REPLAY_NOTE)
    outcome, current = jobs.shown(REPLAY_JOB, fit.key)
    if not current:
        ratings = session.current_dataset().ratings
        work = replay_work(ratings, dict(fit.key[1]), fingerprint=fit.fingerprint)
        jobs.start(REPLAY_JOB, fit.key, work, describe=jobs.as_reported)
        ended = jobs.watch(REPLAY_JOB)
        if ended is not None and ended.error is not None:
            raise ended.error  # the error boundary shows the library's own words
        outcome, current = jobs.shown(REPLAY_JOB, fit.key)
    if outcome is None or not current:
        raise PageNotice("The fit with every half-step was stopped before it began.")
    if outcome.stopped:
        st.warning(
            "The fit with every half-step was stopped: these are the half-steps it made, so "
            "the last frame is not the trained model.",
        )
        st.button("Fit again to the end", key="replay_fit_again", on_click=fit_again)
    return outcome.value


def fit_again() -> None:
    """Button callback: forget the stopped replay fit, so the next run fits it to the end."""
    jobs.forget(REPLAY_JOB)
