"""Where a session's data come from: the shipped samples, the generator, an uploaded file and
the MovieLens 100K download. Each gives a ``Dataset`` (the ratings plus where they came from).

Samples and generated data are cached server-wide (``st.cache_data``: they are the same for
everyone); an upload is parsed here and kept only in the uploading session (``session``). The
MovieLens download runs as a background job (``movielens_work``) so it shows progress and can
be stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

import als_core as ac

from .jobs import Progress, ShouldStop, Work

DEFAULT_SAMPLE = "movie_night"
SAMPLE_LABELS = {
    "movie_night": "Movie night (sample)",
    "tiny": "Tiny (the article's picture)",
}


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


# ----------------------------------------------------------------------------- samples
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


# ----------------------------------------------------------------------------- uploads
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


# ----------------------------------------------------------------------------- MovieLens 100K
class FetchError(RuntimeError):
    """A download that could not be done; the message says why and what to do."""


class _Stopped(Exception):
    """Raised from the download's progress report when the user pressed Stop."""


def movielens_dataset(progress: Any = None) -> Dataset:
    """MovieLens 100K (downloaded once, checked and cached by the library).

    ``progress(done_bytes, total_bytes_or_None)`` is called while downloading.
    """
    try:
        # Not cached in memory: the library keeps the verified archive on disk, so a second
        # fetch only parses it (well under a second).
        ratings = ac.load_movielens_100k(progress=progress)
    except (OSError, ac.RatingsError) as error:
        detail = str(error).rstrip(". ")
        raise FetchError(
            f"MovieLens 100K could not be fetched: {detail}. This server may be offline: use a "
            "sample, generate data, or upload the ratings file (u.data) yourself."
        ) from error
    return Dataset(name="MovieLens 100K", ratings=ratings, source="movielens-100k", truth=None)


def movielens_work() -> Work:
    """The MovieLens download as a job's work: progress in megabytes, Stop between chunks.

    The value is the ``Dataset``, or None when stopped (nothing is cached half-written)."""

    def work(progress: Progress, should_stop: ShouldStop) -> tuple[Dataset | None, bool]:
        def report(done: int, total: int | None) -> None:
            if should_stop():
                raise _Stopped
            if total:
                progress(done, total, f"Downloading: {done / 1e6:.1f} of {total / 1e6:.1f} MB")
            else:
                progress(0, 1, f"Downloading: {done / 1e6:.1f} MB")

        progress(0, 1, "Connecting to files.grouplens.org…")
        try:
            return movielens_dataset(progress=report), False
        except _Stopped:
            return None, True

    return work
