"""The session's model: trained in a background job, kept per session, shared server-wide,
stoppable, and the table of this session's runs.

``current_fit()`` is what every page and the sidebar call. It looks in this session's models
first, then in the jobs' server-wide store (another session may have fitted the same data with
the same settings), and only then trains: as the job ``FIT_JOB`` (``dashboard.jobs``), watched
with a progress bar and a "Stop training" button. A moved slider starts the new settings' job
and stops the old one; a Stop keeps the model as far as it got, which stands (with a note)
until ``resume_training()``.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

import numpy as np
import streamlit as st

import als_core as ac

from . import jobs, session
from .settings import (
    FitResult,
    effective_settings,
    fit_metrics,
    fit_model,
    half_step_callback,
    settings_key,
)

#: The session's job name of a Train fit (one at a time per session).
FIT_JOB = "train_fit"
#: Models kept per session so earlier runs come back at once (older ones are refit or stored).
SESSION_FITS_KEPT = 8
#: How long a run started by Stop waits for the stopped fit to finish its half-step.
STOP_WAIT_SECONDS = 60
WAITING = "Waiting for a free training slot (other sessions are training)…"
#: Session key: {(data fingerprint, settings key): what went wrong training with them}.
FAILED_KEY = "train_failed"


class TrainingFailed(ValueError):
    """Training with the current settings failed and there is no earlier model of these data
    to show instead; the message says what happened and what to do."""


def failure_message(error: BaseException) -> str:
    """What a failed fit means to the person training: what happened, then what to do."""
    if isinstance(error, ac.NonFiniteFactorsError):
        return (
            "Training went numerically unstable: the factors became NaN or infinite. Try a "
            "larger λ, fewer factors k, or biases on; ratings on a very large scale do this too "
            "(rescale them)."
        )
    if isinstance(error, MemoryError):
        return "Training ran out of memory on this server. Try fewer factors k, or smaller data."
    if isinstance(error, ValueError):  # the library's own words: what is wrong, how to fix it
        return f"Training with these settings failed: {str(error).rstrip('.')}."
    return (
        "Training failed unexpectedly (the details were written to the server log). Try "
        "other settings, or reload the page."
    )


def solver_engine() -> str:
    """Which engine solves the half-steps here (the compiled kernel, or numpy and why)."""
    return ac.solver_engine()


def progress_text(event: ac.FitEvent) -> str:
    """The progress bar's sentence after a half-step."""
    text = (
        f"Training: iteration {event.iteration} of {event.iterations}, {event.side} solved, "
        f"train RMSE {event.train_rmse:.3f}"
    )
    if np.isfinite(event.validation_rmse):
        text += f", validation RMSE {event.validation_rmse:.3f}"
    return text


def fit_work(ratings: ac.Ratings, settings: dict[str, Any], *, fingerprint: str) -> jobs.Work:
    """Split and fit as the Train page asks, as a job: progress after each half-step, and a
    stop after any half-step (the value is then the model as far as it got)."""

    def work(progress: jobs.Progress, should_stop: jobs.ShouldStop) -> tuple[FitResult, bool]:
        progress(0, 1, "Training: splitting the ratings…")
        callback = half_step_callback(progress, should_stop, progress_text)
        fit = fit_model(ratings, settings, callback=callback, fingerprint=fingerprint)
        return fit, fit.model.stop_reason_ == "callback"

    return work


# ----------------------------------------------------------------------------- the session's fit
def current_fit_key() -> tuple[str, tuple]:
    """(data fingerprint, effective settings) that the current model should match."""
    loaded = session.loaded_fit()
    if loaded is not None:
        return loaded.key
    ratings = session.current_dataset().ratings
    s = effective_settings(session.current_settings(), ratings)
    return (session.current_fingerprint(), settings_key(s))


def current_fit() -> FitResult:
    """This session's model for its current dataset and settings, trained if needed.

    Looks in this session's models first, then in the server-wide store, and only then fits
    (with progress and a Stop button). After a Stop, the model as far as it got (or the
    previous model on the same data) stands until ``resume_training()``.
    """
    session.ensure_session()
    loaded = session.loaded_fit()
    if loaded is not None:  # opened from a model directory: never retrained here
        return loaded
    key = current_fit_key()
    fits = _fits()
    if key in fits:
        fits.move_to_end(key)
        st.session_state["train_current_key"] = key
        return fits[key]
    if key in _failures():  # not again on every page and rerun: the previous model stands
        return _instead_of_failed(key)
    if st.session_state.get(session.STOPPED_KEY) == key:
        stopped = _after_stop(key)
        if stopped is not None:
            return stopped
        st.session_state.pop(session.STOPPED_KEY)  # nothing to show instead: train after all
    stored = jobs.stored(FIT_JOB, key)
    if stored is not None:
        _remember_fit(key, stored.value)
        return stored.value
    ratings = session.current_dataset().ratings
    work = fit_work(ratings, dict(key[1]), fingerprint=key[0])
    jobs.start(FIT_JOB, key, work, describe=jobs.as_reported, waiting=WAITING)
    ended = jobs.watch(FIT_JOB, stop_label="Stop training", on_stop=request_stop, stop_args=(key,))
    if ended is None or ended.outcome is None:
        if ended is None or ended.error is None:  # stopped before a slot was free: try again
            previous = _previous_fit(key)
            if previous is not None:
                return previous
            raise TrainingFailed("Training was stopped before it began: reload the page.")
        _failures()[key] = failure_message(ended.error)  # the job logged the traceback
        return _instead_of_failed(key)
    _remember_fit(key, ended.outcome.value)
    return ended.outcome.value


def _fits() -> OrderedDict:
    session.ensure_session()
    return st.session_state["train_fits"]


def _failures() -> dict[tuple, str]:
    return st.session_state.setdefault(FAILED_KEY, {})


def training_failure() -> str | None:
    """What went wrong training with the current settings (then ``current_fit()`` returns the
    previous model of the same data), or None."""
    return st.session_state.get(FAILED_KEY, {}).get(current_fit_key())


def retry_training() -> None:
    """Widget callback: forget the failure of the current settings, so they are trained again."""
    _failures().pop(current_fit_key(), None)


def _previous_fit(key: tuple) -> FitResult | None:
    """The model shown last, if it is of the same data as ``key``."""
    previous = st.session_state.get("train_current_key")
    fits = _fits()
    if previous in fits and previous[0] == key[0]:
        return fits[previous]
    return None


def _instead_of_failed(key: tuple) -> FitResult:
    previous = _previous_fit(key)
    if previous is None:
        raise TrainingFailed(
            f"{_failures()[key]} No model of these data could be trained yet: change the "
            "settings on the Train page, or choose other data on the Data page."
        )
    return previous


def training_stopped() -> bool:
    """True when the user pressed Stop while training with the current settings."""
    return st.session_state.get(session.STOPPED_KEY) == current_fit_key()


def request_stop(key: tuple) -> None:
    """The Stop button's callback: stop the running fit for ``key`` after its half-step, and
    remember that the user stopped it (a fit that has already ended is left as it is)."""
    running = jobs.running(FIT_JOB)
    if running is not None and running.key == key:
        running.stop()
        st.session_state[session.STOPPED_KEY] = key


def resume_training() -> None:
    """Undo a Stop: the next ``current_fit()`` trains the current settings to the end."""
    key = st.session_state.pop(session.STOPPED_KEY, None)
    fits = st.session_state.get("train_fits", {})
    if key in fits and fits[key].model.stop_reason_ == "callback":
        del fits[key]  # the interrupted model must not stand in for a full fit


def _after_stop(key: tuple) -> FitResult | None:
    """The model to show after a Stop: the fit as far as it got, else the last model on
    the same data; None when there is neither (then training goes ahead)."""
    job = jobs.job(FIT_JOB)
    if job is not None and job.key == key:
        if job.running:
            # This run starts while the stopped job finishes its half-step.
            with st.spinner("Stopping after the half-step in progress…"):
                job.wait(timeout=STOP_WAIT_SECONDS)
        ended = jobs.collect(FIT_JOB)
        if ended is not None and ended.outcome is not None:
            if not ended.outcome.stopped:  # it finished before the Stop reached it
                st.session_state.pop(session.STOPPED_KEY, None)
            _remember_fit(key, ended.outcome.value)
            return ended.outcome.value
    return _previous_fit(key)


def _remember_fit(key: tuple, fit: FitResult) -> None:
    ss = st.session_state
    fits = _fits()
    fits[key] = fit
    fits.move_to_end(key)
    while len(fits) > SESSION_FITS_KEPT:
        fits.popitem(last=False)
    ss["train_current_key"] = key
    runs: list = ss["train_runs"]
    if any(run["key"] == key and run["stop_reason"] != "callback" for run in runs):
        return
    runs.append(
        {
            "run": len(runs) + 1,
            "dataset": session.current_dataset().name,
            "key": key,
            "settings": dict(fit.settings),
            **fit_metrics(fit),
            "seconds": fit.seconds,
            "finished": time.strftime("%H:%M:%S"),
        }
    )


# ----------------------------------------------------------------------------- runs
def session_runs() -> list[dict[str, Any]]:
    """This session's training runs, oldest first (settings → metrics, time)."""
    session.ensure_session()
    return list(st.session_state["train_runs"])


def restore_run(run_number: int) -> dict[str, Any]:
    """Bring back an earlier run's settings (its model returns from memory or the store) and
    return them, so the page can set its widgets. Call from a widget callback."""
    for run in session_runs():
        if run["run"] == run_number:
            session.set_settings(run["settings"])
            resume_training()
            return dict(run["settings"])
    raise KeyError(f"no run {run_number} in this session")
