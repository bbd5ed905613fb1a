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
    st.session_state["data_fingerprint"] = fingerprint or dataset.fingerprint()
    st.session_state.pop(STOPPED_KEY, None)  # a Stop was about the old data
    st.session_state.pop(MODEL_FIT_KEY, None)  # any other data replaces an opened model
    st.session_state.pop(NAMES_KEY, None)  # same ratings may come with other names


def current_settings() -> dict[str, Any]:
    """The training settings chosen in this session (as set on the Train page)."""
    ensure_session()
    return dict(st.session_state["train_settings"])


def set_settings(settings: dict[str, Any]) -> None:
    ensure_session()
    st.session_state["train_settings"] = {**DEFAULT_SETTINGS, **settings}


# ----------------------------------------------------------------------------- display names
#: Session key of the display names of the session's dataset (with the fingerprint they are of).
NAMES_KEY = "data_display_names"


def _display_names() -> dict[str, Any]:
    """Names of the session's users and items, computed once per dataset and kept in this
    session only (an uploaded names file never reaches another session's pages)."""
    ss = st.session_state
    fingerprint = current_fingerprint()
    kept = ss.get(NAMES_KEY)
    if kept is None or kept[0] != fingerprint:
        ratings = current_dataset().ratings
        names = {
            "users": embed.user_labels(ratings),
            "items": embed.item_labels(ratings),
            "categories": embed.item_genres(ratings),
        }
        kept = ss[NAMES_KEY] = (fingerprint, names)
    return kept[1]


def labels() -> tuple[np.ndarray, np.ndarray]:
    """(user names, item names) of this session's dataset, index-aligned: a title or name where
    the data have one (a names file, MovieLens' titles), else the id ("item 12" for a number).
    Every page shows users and items by these names; the names are unique (a repeated title
    gets its id in brackets), so a pick list can map a name back to its index."""
    names = _display_names()
    return names["users"], names["items"]


def item_name(item: int) -> str:
    """The display name of item index ``item`` (see ``labels``)."""
    return str(_display_names()["items"][item])


def user_name(user: int) -> str:
    """The display name of user index ``user`` (see ``labels``)."""
    return str(_display_names()["users"][user])


def item_categories() -> np.ndarray | None:
    """Each item's first category (genre) where the data have categories, else None."""
    return _display_names()["categories"]


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
