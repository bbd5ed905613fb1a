"""This browser session's own state: its dataset, the training settings, an opened model.

Everything here lives in ``st.session_state``, so uploads and the models built from them never
leave the session; server-wide caches only ever see data fingerprints a session already has.
Session-state keys carry the prefix of the page that owns them (``data_``, ``train_``).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np
import streamlit as st

from als_core import embed

from .data_sources import DEFAULT_SAMPLE, Dataset, load_sample_dataset
from .model_open import MODEL_RATINGS_SOURCE, is_model_source
from .settings import DEFAULT_SETTINGS, FitResult

#: Session key of the opened model (a ``FitResult``); any other dataset drops it.
MODEL_FIT_KEY = "data_model_fit"
#: Session key of the (data, settings) whose training the user stopped (see ``fitting``).
STOPPED_KEY = "train_stopped_key"


def ensure_session() -> None:
    """First open of a session: load the movie-night sample and the default settings.

    The first model is trained by the first ``fitting.current_fit()`` call (app.py makes one),
    so every page shows content without a click.
    """
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
    st.session_state.pop(STOPPED_KEY, None)  # a Stop was about the old data
    st.session_state.pop(MODEL_FIT_KEY, None)  # any other data replaces an opened model


def current_settings() -> dict[str, Any]:
    """The training settings chosen in this session (as set on the Train page)."""
    ensure_session()
    return dict(st.session_state["train_settings"])


def set_settings(settings: dict[str, Any]) -> None:
    ensure_session()
    st.session_state["train_settings"] = {**DEFAULT_SETTINGS, **settings}


@st.cache_data(max_entries=8, show_spinner=False)
def _labels(fingerprint: str, _dataset: Dataset) -> tuple[np.ndarray, np.ndarray]:
    return embed.user_labels(_dataset.ratings), embed.item_labels(_dataset.ratings)


def labels() -> tuple[np.ndarray, np.ndarray]:
    """(user names, item names) of this session's dataset, as the pages show them."""
    return _labels(current_fingerprint(), current_dataset())


# ----------------------------------------------------------------------------- an opened model
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
