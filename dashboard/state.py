"""Per-session state and cached calls into als_core, shared by every page.

What lives where, and why:

- ``st.session_state`` (per browser session) holds this session's dataset, its fingerprint, the
  training settings, the fitted models of this session and the table of its runs. Uploads and
  models built from them never leave the session.
- ``st.cache_data`` (shared by all sessions of the server) holds pure computations keyed on a data
  fingerprint plus the settings: two sessions with the same data and settings share one fit, and
  a session can only hit an entry if it already has the exact same data.
- A small semaphore (``st.cache_resource``) bounds how many fits run at once, so many sessions
  training together queue instead of starving each other of the two cores.

Session-state keys carry the prefix of the page that owns them (``data_``, ``train_``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import runpy
import shutil
import sys
import tempfile
import threading
import time
import zipfile
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import RerunException, StopException

import als_core as ac

# ----------------------------------------------------------------------------- constants
#: Good defaults on the movie-night sample, measured: over 4 random 20% splits, k = 2 with plain
#: λ = 1 and biases reaches validation RMSE 0.665 (k = 4: 0.74, k = 8: 0.79; biases alone ~1.2),
#: and its planted tastes are two-dimensional, so the Latent page shows the raw factors.
DEFAULT_SETTINGS: dict[str, Any] = {
    "k": 2,
    "lam": 1.0,
    "iterations": 15,
    "regularization": "plain",
    "biases": True,
    "split": "random",
    "fraction": 0.2,
    "n_per_user": 1,
    "seed": 0,
    "stopping": "fixed",
    "tol": 1e-4,
    "patience": 3,
}
SPLIT_METHODS = ("random", "per_user", "by_time", "none")
STOPPING_RULES = ("fixed", "tolerance", "patience")
MAX_K = 64
MAX_ITERATIONS = 50
#: Fits allowed to run at the same time in this server process (the machine has 2 cores).
CONCURRENT_FITS = 2
#: Models kept per session so earlier runs come back at once (older ones are refit from cache).
SESSION_FITS_KEPT = 8
#: How long a run started by Stop waits for the stopped fit to finish its half-step.
STOP_WAIT_SECONDS = 60
DEFAULT_SAMPLE = "movie_night"
SAMPLE_LABELS = {
    "movie_night": "Movie night (sample)",
    "tiny": "Tiny (the article's picture)",
}


# ----------------------------------------------------------------------------- contract types
@dataclass(frozen=True)
class Dataset:
    """The data a session works on, with where it came from."""

    name: str  # shown in the sidebar, e.g. "Movie night (sample)"
    ratings: ac.Ratings  # item_info may have title/genre columns
    # "sample:movie_night" | "synthetic" | "upload:<filename>" | "movielens-100k" |
    # "model:<directory>" / "model-upload:<zip name>" (a saved model's training ratings; the
    # model itself is this session's fit) | "model-ratings:<…>" (the same ratings, trained here)
    source: str
    truth: object | None = None  # the ac.synthetic(...) result when generated, else None


@dataclass(frozen=True)
class FitResult:
    """A fitted model with the exact settings and data split it was trained on."""

    settings: dict  # k, lam, iterations, regularization, biases, split, fraction, seed, stopping…
    model: ac.ALS  # fitted
    train: ac.Ratings
    validation: ac.Ratings | None
    seconds: float
    fingerprint: str = ""  # of the full dataset the split was taken from
    origin: str = ""  # "" when trained here; the Dataset.source of a model opened from disk

    @property
    def external(self) -> bool:
        """True for a model trained outside the app and opened from a model directory."""
        return is_model_source(self.origin)


# ----------------------------------------------------------------------------- pure helpers
def max_k(ratings: ac.Ratings) -> int:
    """Largest rank offered for these data: k ≤ min(n_users, n_items), and at most MAX_K."""
    return int(max(1, min(MAX_K, ratings.n_users, ratings.n_items)))


def effective_settings(settings: dict[str, Any], ratings: ac.Ratings) -> dict[str, Any]:
    """The settings a fit really uses on these data (complete, clamped, consistent).

    k is clamped to what the data allow; a time split without timestamps becomes a random one;
    stopping on patience without a validation set becomes a fixed number of iterations.
    """
    s = {**DEFAULT_SETTINGS, **settings}
    s["k"] = int(min(max(1, int(s["k"])), max_k(ratings)))
    s["lam"] = float(s["lam"])
    s["iterations"] = int(min(max(1, int(s["iterations"])), MAX_ITERATIONS))
    s["fraction"] = float(s["fraction"])
    s["n_per_user"] = int(s["n_per_user"])
    s["seed"] = int(s["seed"])
    s["biases"] = bool(s["biases"])
    s["tol"] = float(s["tol"])
    s["patience"] = int(s["patience"])
    if s["split"] == "by_time" and ratings.timestamps is None:
        s["split"] = "random"
    if s["split"] == "none" and s["stopping"] == "patience":
        s["stopping"] = "fixed"
    return s


def settings_key(settings: dict[str, Any]) -> tuple:
    """A hashable, order-independent key for a settings dict."""
    return tuple(sorted(settings.items()))


def split_ratings(ratings: ac.Ratings, s: dict[str, Any]) -> tuple[ac.Ratings, ac.Ratings | None]:
    """Hold out validation ratings as the settings say (``split == "none"``: no validation)."""
    if s["split"] == "none":
        return ratings, None
    if s["split"] == "random":
        train, valid = ac.split(ratings, method="random", fraction=s["fraction"], seed=s["seed"])
    else:
        train, valid = ac.split(
            ratings, method=s["split"], n_per_user=s["n_per_user"], seed=s["seed"]
        )
    return train, (valid if valid.nnz else None)


def build_model(s: dict[str, Any], *, has_validation: bool) -> ac.ALS:
    """An unfitted ALS estimator for effective settings ``s``."""
    return ac.ALS(
        k=s["k"],
        lam=s["lam"],
        iterations=s["iterations"],
        regularization=s["regularization"],
        biases=s["biases"],
        tol=s["tol"] if s["stopping"] == "tolerance" else None,
        patience=s["patience"] if (s["stopping"] == "patience" and has_validation) else None,
        seed=s["seed"],
    )


def fit_model(
    ratings: ac.Ratings,
    settings: dict[str, Any],
    *,
    callback: Any = None,
    fingerprint: str = "",
) -> FitResult:
    """Split and fit (no Streamlit here): the one place a page's settings become a model."""
    s = effective_settings(settings, ratings)
    train, valid = split_ratings(ratings, s)
    model = build_model(s, has_validation=valid is not None)
    start = time.perf_counter()
    model.fit(train, validation=valid, callback=callback)
    return FitResult(
        settings=s,
        model=model,
        train=train,
        validation=valid,
        seconds=time.perf_counter() - start,
        fingerprint=fingerprint,
    )


def fit_metrics(fit: FitResult) -> dict[str, Any]:
    """Final numbers of a fit, for the sidebar, the metrics row and the runs table."""
    m = fit.model
    h = m.history_
    last = h.iloc[-1] if len(h) else None
    validation_rmse = float(last["validation_rmse"]) if last is not None else float("nan")
    if m.stop_reason_ == "patience" and m.best_validation_rmse_ is not None:
        # Early stopping keeps the best iteration's factors, so that is the model's RMSE.
        validation_rmse = float(m.best_validation_rmse_)
    best_iteration, best_rmse = m.best_iteration_, m.best_validation_rmse_
    if m.stop_reason_ == "callback" and h["validation_rmse"].notna().any():
        # A stopped fit ends before it books its last iteration as a candidate for best.
        ends = h.groupby("iteration")["validation_rmse"].last()
        best_iteration, best_rmse = int(ends.idxmin()), float(ends.min())
    return {
        "train_rmse": float(last["train_rmse"]) if last is not None else float("nan"),
        "validation_rmse": validation_rmse,
        "best_iteration": best_iteration,
        "best_validation_rmse": best_rmse,
        "iterations_run": int(fit.model.n_iter_),
        "stop_reason": fit.model.stop_reason_,
        "objective": float(last["objective"]) if last is not None else float("nan"),
    }


def describe_lambda(regularization: str) -> str:
    """What λ multiplies under each regularisation (the libraries disagree, so say it)."""
    if regularization == "weighted":
        return (
            "Weighted (ALS-WR, as in Spark): each user's and item's penalty is λ times its number "
            "of ratings, λ·n·‖x‖², so λ is a per-rating strength and ~0.01–1 is typical."
        )
    return (
        "Plain (as in the article): one λ for every user and item, λ·‖x‖², whatever their number "
        "of ratings, so λ scales with the data and ~0.1–30 is typical on 1–5 star ratings."
    )


#: Pick lists offer at most this many names: every option travels to the browser on every run
#: (162,541 user ids of a MovieLens-25M model are ~2 MB), and nobody scrolls past a thousand.
MAX_CHOICES = 1000


def choice_options(names: np.ndarray, *, counts: np.ndarray | None = None, keep: Any = ()) -> list:
    """The names a pick list offers: all of them, in the given order, up to ``MAX_CHOICES``;
    beyond that the ``MAX_CHOICES`` with the most ratings (``counts``; else the first ones),
    still in the given order, plus the names in ``keep`` (current choices) that exist."""
    names = np.asarray(names, dtype=object)
    if len(names) <= MAX_CHOICES:
        return list(names)
    if counts is None:
        top = np.arange(MAX_CHOICES)
    else:
        top = np.sort(np.argsort(-np.asarray(counts), kind="stable")[:MAX_CHOICES])
    offered = list(names[top])
    shown = set(offered)
    wanted = [name for name in keep if name is not None and name not in shown]
    if wanted:
        known = set(names.tolist())
        offered += [name for name in dict.fromkeys(wanted) if name in known]
    return offered


# ----------------------------------------------------------------------------- data sources
def sample_names() -> list[str]:
    """The samples the library ships (names for ``ac.load_sample``)."""
    return list(ac.SAMPLES)


def sample_label(name: str) -> str:
    return SAMPLE_LABELS.get(name, f"{name.replace('_', ' ').capitalize()} (sample)")


@st.cache_data(max_entries=8, show_spinner=False)
def _load_sample_cached(name: str) -> ac.Ratings:
    return ac.load_sample(name)


def load_sample_dataset(name: str) -> Dataset:
    """A shipped sample as a Dataset."""
    return Dataset(
        name=sample_label(name),
        ratings=_load_sample_cached(name),
        source=f"sample:{name}",
        truth=None,
    )


@st.cache_data(max_entries=8, show_spinner=False)
def _synthetic_cached(params: tuple) -> Any:
    return ac.synthetic(**dict(params))


def synthetic_dataset(**params: Any) -> Dataset:
    """A generated dataset (with its true factors), cached on the parameters."""
    truth = _synthetic_cached(tuple(sorted(params.items())))
    name = (
        f"Synthetic {params.get('n_users')}×{params.get('n_items')}, "
        f"rank {params.get('rank')}, seed {params.get('seed')}"
    )
    return Dataset(name=name, ratings=truth.ratings, source="synthetic", truth=truth)


class FetchError(RuntimeError):
    """A download that could not be done; the message says why and what to do."""


def max_upload_mb() -> int:
    """The reader's size limit (also server.maxUploadSize in .streamlit/config.toml)."""
    return int(ac.MAX_UPLOAD_MB)


#: Reader options a user can set on the Data page, with the reader's defaults.
READ_OPTIONS: dict[str, Any] = {
    "columns": {},  # role -> 0-based column position (None for "no such column")
    "wide": None,
    "separator": None,
    "header": None,
    "zero_is_missing": False,
    "drop_invalid": False,
    "duplicates": "error",
}


@dataclass(frozen=True)
class UploadOutcome:
    """What reading an uploaded file gave: the ratings or the reader's message, what was
    detected (for the user to check and correct) and a preview."""

    filename: str
    ratings: ac.Ratings | None
    error: str | None
    detected: tuple[str, ...] = ()
    preview: pd.DataFrame | None = None  # the parsed ratings, or the raw first rows on failure
    columns: tuple[str, ...] = ()  # the file's column names ("column 1", … without a header)
    mapping: dict | None = None  # role -> column name, as detected or chosen


def read_upload(data: bytes, filename: str, options: dict[str, Any] | None = None) -> UploadOutcome:
    """Read an uploaded file with the library's reader; bad content never raises.

    ``options`` are ``READ_OPTIONS`` keys; ``columns`` overrides the detected mapping.
    """
    kwargs = {**READ_OPTIONS, **(options or {})}
    kwargs["columns"] = dict(kwargs["columns"]) or None
    try:
        ratings, report = ac.read_ratings_report(data, **kwargs)
    except ac.RatingsError as error:
        inspected = _inspect_quietly(data, kwargs)
        return UploadOutcome(
            filename=filename,
            ratings=None,
            error=str(error),
            detected=tuple(inspected.summary()) if inspected else (),
            preview=inspected.preview if inspected else None,
            columns=tuple(inspected.header_names) if inspected else (),
            mapping=dict(inspected.columns) if inspected else {},
        )
    return UploadOutcome(
        filename=filename,
        ratings=ratings,
        error=None,
        detected=tuple(report.summary()),
        preview=ratings.to_frame().head(20),
        columns=tuple(report.header_names),
        mapping=dict(report.columns),
    )


def _inspect_quietly(data: bytes, kwargs: dict[str, Any]) -> Any:
    """What the reader can tell from the first lines, or None when not even that works."""
    keep = ("columns", "wide", "separator", "header")
    try:
        return ac.inspect_ratings(data, **{key: kwargs[key] for key in keep})
    except ac.RatingsError:
        return None


def movielens_dataset(progress: Any = None) -> Dataset:
    """MovieLens 100K (downloaded once, checked and cached by the library).

    ``progress(done_bytes, total_bytes_or_None)`` is called while downloading.
    """
    try:
        # Not cached here: the progress callback draws on the page, which a cache replay
        # cannot do; the library keeps the verified archive on disk, so a second fetch only
        # parses it (well under a second).
        ratings = ac.load_movielens_100k(progress=progress)
    except (OSError, ac.RatingsError) as error:
        detail = str(error).rstrip(". ")
        raise FetchError(
            f"MovieLens 100K could not be fetched: {detail}. This server may be offline: use a "
            "sample, generate data, or upload the ratings file (u.data) yourself."
        ) from error
    return Dataset(name="MovieLens 100K", ratings=ratings, source="movielens-100k", truth=None)


# ----------------------------------------------------------------------------- fitting
#: How Streamlit ends a running script when the user acts (a click, a moved slider): it raises
#: one of these at the next st.* call. Which one depends on the version and the situation.
_INTERRUPTIONS = (RerunException, StopException)


def solver_engine() -> str:
    """Which engine solves the half-steps here (the compiled kernel, or numpy and why)."""
    return ac.solver_engine()


@st.cache_resource
def _fit_slots() -> threading.BoundedSemaphore:
    """Bounds concurrent fits across all sessions (created once per server, never mutated)."""
    return threading.BoundedSemaphore(CONCURRENT_FITS)


def _progress_text(event: ac.FitEvent) -> str:
    text = (
        f"Training: iteration {event.iteration} of {event.iterations}, {event.side} solved, "
        f"train RMSE {event.train_rmse:.3f}"
    )
    if np.isfinite(event.validation_rmse):
        text += f", validation RMSE {event.validation_rmse:.3f}"
    return text


@st.cache_data(max_entries=32, max_size="768MB", show_spinner=False)
def _fit_cached(fingerprint: str, key: tuple, _ratings: ac.Ratings) -> FitResult:
    """Fit once per (data fingerprint, settings) for the whole server.

    ``_ratings`` is not hashed (the fingerprint stands for it). The progress bar is created
    inside so its updates replay harmlessly on a cache hit. Each update is also where a rerun
    (the Stop button, a moved slider) reaches a long fit: the fit then ends cleanly after the
    half-step in progress, the interrupted model rides on the rerun request (nothing is
    cached), and the rerun goes ahead.
    """
    bar = st.progress(0.0, text="Waiting for a free training slot (other sessions are training)…")
    slots = _fit_slots()
    while not slots.acquire(timeout=0.5):
        bar.progress(0.0, text="Waiting for a free training slot (other sessions are training)…")
    interrupted: list[BaseException] = []

    def on_event(event: ac.FitEvent) -> None:
        try:
            bar.progress(event.fraction_done, text=_progress_text(event))
        except _INTERRUPTIONS as request:
            interrupted.append(request)
            event.stop()

    try:
        bar.progress(0.0, text="Training: splitting the ratings…")
        result = fit_model(_ratings, dict(key), fingerprint=fingerprint, callback=on_event)
    finally:
        slots.release()
    if interrupted:
        request = interrupted[0]
        request.partial_fit = result  # type: ignore[attr-defined]
        raise request
    bar.empty()
    return result


# ----------------------------------------------------------------------------- framing
APP_PATH = Path(__file__).resolve().parents[1] / "app.py"
_run_flags = threading.local()  # Streamlit runs each script run on one thread


@contextlib.contextmanager
def app_run() -> Iterator[None]:
    """Marks a script run as framed by app.py (app.py wraps its whole body in this)."""
    _run_flags.framed = True
    try:
        yield
    finally:
        _run_flags.framed = False


def _reframe_if_run_directly() -> None:
    """Run app.py instead when a page script was started without it.

    Until app.py has called ``st.navigation`` once, a fresh server treats ``pages/`` the old
    way: the first visitor of a page URL (a bookmark of /train, say) gets the bare page script,
    with no sidebar, no session defaults and no error boundary. app.py then routes to the same
    page properly, and this run stops.
    """
    if getattr(_run_flags, "framed", False) or not _pages_folder_mode():
        return
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx() is None:  # bare Python (no Streamlit run): nothing to frame
        return
    runpy.run_path(str(APP_PATH), run_name="__main__")
    st.stop()


def _pages_folder_mode() -> bool:
    """True when this script run was routed by the pages/ folder (Streamlit's legacy router,
    ``_mpa_v1``, is on the call stack). Widget callbacks and app.py's own runs are not."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "_mpa_v1":
            return True
        frame = frame.f_back
    return False


# ----------------------------------------------------------------------------- session API
def ensure_session() -> None:
    """First open of a session: load the movie-night sample and the default settings.

    The first model is trained by the first ``current_fit()`` call (app.py makes one), so every
    page shows content without a click.
    """
    _reframe_if_run_directly()
    ss = st.session_state
    if "data_dataset" not in ss:
        set_dataset(load_sample_dataset(DEFAULT_SAMPLE))
    if "train_settings" not in ss:
        ss["train_settings"] = dict(DEFAULT_SETTINGS)
    ss.setdefault("train_fits", OrderedDict())
    ss.setdefault("train_runs", [])


def current_dataset() -> Dataset:
    """This browser session's dataset (never another session's)."""
    ensure_session()
    return st.session_state["data_dataset"]


def current_fingerprint() -> str:
    ensure_session()
    return st.session_state["data_fingerprint"]


def set_dataset(dataset: Dataset, *, fingerprint: str | None = None) -> None:
    """Make ``dataset`` this session's data; the next ``current_fit()`` retrains on it.

    ``fingerprint``: the ratings' fingerprint when already known (it takes ~1 s at 20M)."""
    st.session_state["data_dataset"] = dataset
    st.session_state["data_fingerprint"] = fingerprint or dataset.ratings.fingerprint()
    st.session_state.pop("train_stopped_key", None)
    st.session_state.pop(MODEL_FIT_KEY, None)  # any other data replaces an opened model


def current_settings() -> dict[str, Any]:
    """The training settings chosen in this session (as set on the Train page)."""
    ensure_session()
    return dict(st.session_state["train_settings"])


def set_settings(settings: dict[str, Any]) -> None:
    ensure_session()
    st.session_state["train_settings"] = {**DEFAULT_SETTINGS, **settings}


def current_fit_key() -> tuple[str, tuple]:
    """(data fingerprint, effective settings) that the current model should match."""
    loaded = loaded_fit()
    if loaded is not None:
        return (loaded.fingerprint, settings_key(loaded.settings))
    ds = current_dataset()
    s = effective_settings(current_settings(), ds.ratings)
    return (current_fingerprint(), settings_key(s))


def training_stopped() -> bool:
    """True when the user pressed Stop while training with the current settings."""
    return st.session_state.get("train_stopped_key") == current_fit_key()


def resume_training() -> None:
    """Undo a Stop: the next ``current_fit()`` trains the current settings to the end."""
    ss = st.session_state
    key = ss.pop("train_stopped_key", None)
    fits = ss.get("train_fits", {})
    if key in fits and fits[key].model.stop_reason_ == "callback":
        del fits[key]  # the interrupted model must not stand in for a full fit


def _request_stop(key: tuple) -> None:
    st.session_state["train_stopped_key"] = key


def _after_stop(key: tuple) -> FitResult | None:
    """The model to show after a Stop: the fit as far as it got, else the last model on
    the same data; None when there is neither (then training goes ahead)."""
    ss = st.session_state
    running = ss.get("train_running")
    if running is not None and running[0] == key:
        finished, box = running[1], running[2]
        if not finished.is_set():
            # Streamlit starts this run while the stopped one finishes its half-step.
            with st.spinner("Stopping after the half-step in progress…"):
                finished.wait(timeout=STOP_WAIT_SECONDS)
        partial = box.pop("partial", None)
        if partial is not None:
            _remember_fit(key, partial)
            return partial
    previous = ss.get("train_current_key")
    fits = ss["train_fits"]
    if previous in fits and previous[0] == key[0]:
        return fits[previous]
    return None


def current_fit() -> FitResult:
    """This session's model for its current dataset and settings, trained if needed.

    Looks in this session's models first, then in the server-wide cache, and only then fits
    (with a progress bar and a Stop button). After a Stop, the model as far as it got (or the
    previous model on the same data) stands until ``resume_training()``.
    """
    ensure_session()
    loaded = loaded_fit()
    if loaded is not None:  # opened from a model directory: never retrained here
        return loaded
    ss = st.session_state
    key = current_fit_key()
    fits: OrderedDict = ss["train_fits"]
    if key in fits:
        fits.move_to_end(key)
        ss["train_current_key"] = key
        return fits[key]
    if ss.get("train_stopped_key") == key:
        stopped = _after_stop(key)
        if stopped is not None:
            return stopped
        ss.pop("train_stopped_key")  # nothing to show instead: train after all
    stop_slot = st.empty()
    stop_slot.button(
        "Stop training", key="train_stop", on_click=_request_stop, args=(key,), type="secondary"
    )
    # Plain objects the stopped run can still reach: once Streamlit has stopped a run, each
    # st.* call and each st.session_state access in it raises again.
    finished, box = threading.Event(), {}
    ss["train_running"] = (key, finished, box)
    try:
        fit = _fit_cached(key[0], key[1], current_dataset().ratings)
    except _INTERRUPTIONS as request:
        # Kept in case this interruption is the Stop button's (a moved slider ignores it).
        box["partial"] = getattr(request, "partial_fit", None)
        raise
    finally:
        finished.set()
        stop_slot.empty()
    _remember_fit(key, fit)
    return fit


def _remember_fit(key: tuple, fit: FitResult) -> None:
    ss = st.session_state
    fits: OrderedDict = ss["train_fits"]
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
            "dataset": current_dataset().name,
            "key": key,
            "settings": dict(fit.settings),
            **fit_metrics(fit),
            "seconds": fit.seconds,
            "finished": time.strftime("%H:%M:%S"),
        }
    )


def session_runs() -> list[dict[str, Any]]:
    """This session's training runs, oldest first (settings → metrics, time)."""
    ensure_session()
    return list(st.session_state["train_runs"])


def restore_run(run_number: int) -> dict[str, Any]:
    """Bring back an earlier run's settings (its model returns from memory or the cache) and
    return them, so the page can set its widgets. Call from a widget callback."""
    for run in session_runs():
        if run["run"] == run_number:
            set_settings(run["settings"])
            resume_training()
            return dict(run["settings"])
    raise KeyError(f"no run {run_number} in this session")


# ----------------------------------------------------------------------------- saved models
#: ``Dataset.source`` of a model opened from disk: a directory on the server, or an uploaded zip.
MODEL_SOURCE = "model:"
MODEL_UPLOAD_SOURCE = "model-upload:"
#: ``Dataset.source`` of an opened model's training ratings, once the user trains here instead.
MODEL_RATINGS_SOURCE = "model-ratings:"
#: Session key of the opened model (a ``FitResult``); any other dataset drops it.
MODEL_FIT_KEY = "data_model_fit"
#: Fitting new models on an opened model's training ratings (training here, experiments) is
#: offered up to this many ratings; above, the pages say why not (two cores, shared).
MAX_REFIT_RATINGS = 2_000_000
#: An uploaded zip may unpack to at most this many bytes.
MAX_UNZIPPED_BYTES = 1_500_000_000
#: Models opened from server directories shared by all sessions (each can be ~1 GB at 25M).
MODELS_KEPT = 2
EXTERNAL_MODEL_NOTE = "This model was trained outside the app; retraining here would replace it."


class ModelOpenError(ValueError):
    """A model directory or zip that cannot be opened; the message says why and what to do."""


class PageNotice(Exception):
    """A page that has nothing to show for a reason to read, not an error (app.py shows the
    message as a note): e.g. a replay, which would refit, of a model opened from disk."""


def is_model_source(source: str) -> bool:
    """True for the data of a model opened from disk (its training ratings)."""
    return source.startswith((MODEL_SOURCE, MODEL_UPLOAD_SOURCE))


def factors_digest(model: ac.ALS) -> str:
    """A short hash of a model's learned numbers: two models of the same ratings differ in it,
    so cache keys made from (data fingerprint, settings) never mix them up."""
    h = hashlib.blake2b(digest_size=12)
    for part in (model.user_factors_, model.item_factors_, model.user_bias_, model.item_bias_):
        if part is not None:
            h.update(np.ascontiguousarray(part).data)
    h.update(repr(float(model.global_mean_)).encode())
    return h.hexdigest()


def model_settings(model: ac.ALS) -> dict[str, Any]:
    """The settings record of an opened model, with the keys the pages read (k, lam, …).

    ``split`` is "none": only the training ratings are saved, so there is no validation set
    here. ``engine`` and ``model`` (a digest of the factors) are extra keys that keep cache
    keys of different models apart."""
    p = model.get_params()
    tol, patience = p.get("tol"), p.get("patience")
    return {
        **DEFAULT_SETTINGS,
        "k": int(model.user_factors_.shape[1]),
        "lam": float(p["lam"]),
        "iterations": int(p["iterations"]),
        "regularization": str(p["regularization"]),
        "biases": bool(p["biases"]),
        "split": "none",
        "seed": int(p["seed"]) if p.get("seed") is not None else 0,
        "stopping": "patience" if patience else ("tolerance" if tol else "fixed"),
        "tol": float(tol) if tol else DEFAULT_SETTINGS["tol"],
        "patience": int(patience) if patience else DEFAULT_SETTINGS["patience"],
        "engine": str(getattr(model, "engine_", "numpy")),
        "model": factors_digest(model),
    }


def model_fit(model: ac.ALS, *, source: str, fingerprint: str) -> FitResult:
    """A loaded model as this session's fit: trained outside the app, no validation set."""
    seconds = getattr(model, "fit_seconds_", None)
    return FitResult(
        settings=model_settings(model),
        model=model,
        train=model.train_ratings_,
        validation=None,
        seconds=float(seconds) if seconds is not None else float("nan"),
        fingerprint=fingerprint,
        origin=source,
    )


def model_dataset(model: ac.ALS, *, name: str, source: str) -> Dataset:
    """An opened model's training ratings as the session's dataset."""
    return Dataset(name=f"Model: {name}", ratings=model.train_ratings_, source=source)


#: Folders (separated by os.pathsep) under which visitors may open model directories; unset,
#: only the folder the server was started in. Anyone who can reach the app can type a path, so
#: without this bound they could open, or probe for, any folder the server can read.
MODEL_ROOTS_ENV = "ALS_EXPLORER_MODEL_ROOTS"


def model_roots() -> list[Path]:
    """The folders model directories may be opened from (see ``MODEL_ROOTS_ENV``)."""
    raw = os.environ.get(MODEL_ROOTS_ENV, "")
    roots = [Path(os.path.expanduser(p)).resolve() for p in raw.split(os.pathsep) if p.strip()]
    return roots or [Path.cwd().resolve()]


def model_path(text: str) -> Path:
    """The model directory a user typed: quotes and ~ allowed; a file of a model directory
    (manifest.json, …) means its folder. Raises ``ModelOpenError`` for what cannot be one,
    and for anything outside ``model_roots()`` before looking at it at all."""
    raw = text.strip().strip("'\"").strip()
    if not raw:
        raise ModelOpenError(
            "Enter the path of a model directory on the server, e.g. the --out folder of "
            "`python -m als_core fit`."
        )
    path = Path(os.path.expanduser(raw)).resolve()
    roots = model_roots()
    if not any(path == root or root in path.parents for root in roots):
        allowed = ", ".join(str(root) for root in roots)
        raise ModelOpenError(
            f"This app opens model directories only from folders under {allowed}. Save the "
            f"model there (python -m als_core fit … --out), upload it as a zip below, or ask "
            f"whoever runs the server to add its folder to {MODEL_ROOTS_ENV}."
        )
    model_files = {ac.model_io.MANIFEST, *ac.model_io.FILES.values()}
    if path.is_file():
        if path.suffix.lower() == ".zip":
            raise ModelOpenError(
                f"{path} is a zip file: upload it with the file chooser below, or unpack it "
                "on the server and enter the folder."
            )
        if path.name not in model_files:
            raise ModelOpenError(
                f"{path} is a file, not a model directory: enter the folder that holds "
                "manifest.json, run.json and the factor files."
            )
        path = path.parent
    if not path.exists():
        where = f" (relative paths start at {Path.cwd()})" if not path.is_absolute() else ""
        raise ModelOpenError(
            f"There is no {path} on the server{where}. The path is read on the machine that "
            "runs the app, not on yours: to open a model from your computer, upload it as a zip."
        )
    return path.resolve()


def _directory_signature(path: Path) -> tuple:
    """Names, sizes and modification times of a directory's files: a model rewritten in place
    (``--overwrite``) is read again, an unchanged one comes from memory."""
    try:
        entries = sorted(os.scandir(path), key=lambda e: e.name)
        return tuple(
            (e.name, e.stat().st_size, e.stat().st_mtime_ns) for e in entries if e.is_file()
        )
    except OSError as error:
        raise ModelOpenError(f"{path} cannot be read: {error.strerror or error}") from error


@st.cache_resource(max_entries=MODELS_KEPT, show_spinner=False)
def _load_model_dir(path: str, signature: tuple) -> tuple[ac.ALS, str]:
    """One copy per server of a model directory, shared read-only by every session that opens
    it (``signature`` changes when the files do). Returns the model and its data fingerprint."""
    model = ac.load_model(path)
    return model, model.train_ratings_.fingerprint()


def _checked_load(load: Any, *args: Any) -> tuple[ac.ALS, str]:
    try:
        return load(*args)
    except ac.ModelDirError as error:
        raise ModelOpenError(f"This is not a model this app can open: {error}") from error
    except (ac.RatingsError, ValueError, OSError) as error:
        raise ModelOpenError(
            f"The model could not be read ({error}); the directory may be damaged or written "
            "by another program."
        ) from error


def open_model_directory(text: str) -> tuple[Dataset, FitResult]:
    """Open the model directory at ``text`` (a path on the server) without retraining.

    Raises ``ModelOpenError`` with what is wrong and what to do; changes nothing in the session
    (call ``set_model`` with the result)."""
    path = model_path(text)
    model, fingerprint = _checked_load(_load_model_dir, str(path), _directory_signature(path))
    source = f"{MODEL_SOURCE}{path}"
    dataset = model_dataset(model, name=path.name, source=source)
    return dataset, model_fit(model, source=source, fingerprint=fingerprint)


def _unpack_model_zip(data: bytes, filename: str, folder: Path) -> None:
    """Extract the one model directory of a zip into ``folder`` (only the files beside its
    manifest.json, under their own names, so nothing is written outside ``folder``)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as error:
        raise ModelOpenError(
            f"{filename} is not a zip file: zip the model directory (the folder with "
            "manifest.json) and upload that."
        ) from error
    files = [m for m in archive.infolist() if not m.is_dir()]
    manifests = [m for m in files if m.filename.rsplit("/", 1)[-1] == ac.model_io.MANIFEST]
    if len(manifests) != 1:
        found = "no" if not manifests else f"{len(manifests)}"
        raise ModelOpenError(
            f"{filename} holds {found} manifest.json: zip exactly one model directory (the "
            "folder written by save_model or `python -m als_core fit --out`)."
        )
    home = manifests[0].filename.rpartition("/")[0]
    members = [m for m in files if m.filename.rpartition("/")[0] == home]
    if sum(m.file_size for m in members) > MAX_UNZIPPED_BYTES:
        raise ModelOpenError(
            f"{filename} unpacks to more than {MAX_UNZIPPED_BYTES / 1e9:.1f} GB; open a model "
            "this large from a directory on the server instead."
        )
    for member in members:
        name = member.filename.rpartition("/")[2]
        with archive.open(member) as source, open(folder / name, "wb") as target:
            shutil.copyfileobj(source, target)


def open_model_zip(data: bytes, filename: str) -> tuple[Dataset, FitResult]:
    """Open an uploaded zip of a model directory (kept in this session only)."""

    def load(data: bytes) -> tuple[ac.ALS, str]:
        with tempfile.TemporaryDirectory(prefix="als-model-") as folder:
            _unpack_model_zip(data, filename, Path(folder))
            model = ac.load_model(folder)  # reads everything: the folder can go
        return model, model.train_ratings_.fingerprint()

    model, fingerprint = _checked_load(load, data)
    source = f"{MODEL_UPLOAD_SOURCE}{filename}"
    dataset = model_dataset(model, name=filename, source=source)
    return dataset, model_fit(model, source=source, fingerprint=fingerprint)


def set_model(dataset: Dataset, fit: FitResult) -> None:
    """Make an opened model this session's data and model (``current_fit()`` returns it)."""
    set_dataset(dataset, fingerprint=fit.fingerprint)
    st.session_state[MODEL_FIT_KEY] = fit


def loaded_fit() -> FitResult | None:
    """The model opened from disk that the session works on, or None (a model trained here)."""
    ss = st.session_state
    fit = ss.get(MODEL_FIT_KEY)
    if fit is None or fit.fingerprint != ss.get("data_fingerprint"):
        return None
    return fit


def refit_allowed(ratings: ac.Ratings) -> bool:
    """Whether new models may be fitted on these ratings here (see ``MAX_REFIT_RATINGS``)."""
    return ratings.nnz <= MAX_REFIT_RATINGS


def train_here_instead() -> None:
    """Widget callback: put the opened model aside and train in the app on its training
    ratings with this session's settings (the Train page's)."""
    dataset = current_dataset()
    if not is_model_source(dataset.source):
        return
    where = dataset.source.split(":", 1)[1]
    set_dataset(
        Dataset(
            name=f"Training ratings of {dataset.name.removeprefix('Model: ')}",
            ratings=dataset.ratings,
            source=f"{MODEL_RATINGS_SOURCE}{where}",
        ),
        fingerprint=current_fingerprint(),
    )
