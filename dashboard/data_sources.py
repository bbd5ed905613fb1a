"""Where a session's data come from: the shipped samples, the generator, an uploaded file and
the MovieLens 100K download. Each gives a ``Dataset`` (the ratings plus where they came from).

Samples and generated data are cached server-wide (``st.cache_data``: they are the same for
everyone); an upload is parsed here and kept only in the uploading session (``session``). The
MovieLens download runs as a background job (``movielens_work``) so it shows progress and can
be stopped.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import streamlit as st

import als_core as ac

from .jobs import Progress, ShouldStop, Work
from .text import md_escape

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
    # Digests of the names files attached to the ratings ("item:<digest>", "user:<digest>"):
    # names are not part of the ratings' fingerprint, but they are part of what a page shows.
    names: tuple[str, ...] = ()

    def fingerprint(self) -> str:
        """The key of everything computed from these data: the ratings' fingerprint, plus the
        names attached from files (so names never come from another session's cache)."""
        base = self.ratings.fingerprint()
        return "+".join([base, *self.names]) if self.names else base


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


class GeneratorError(ValueError):
    """Generator settings that ``ac.synthetic`` refuses (too large, out of range); the message
    says what is wrong and what to change, with the library's limit."""


@st.cache_data(max_entries=8, show_spinner=False)
def _synthetic_cached(params: tuple) -> Any:
    return ac.synthetic(**dict(params))


def synthetic_dataset(**params: Any) -> Dataset:
    """A generated dataset (with its true factors), cached on the parameters.

    Every way to generate data (the Data page's form, a link) comes here, and ``ac.synthetic``
    checks the settings and its size limits first. Raises ``GeneratorError`` when it refuses."""
    try:
        truth = _synthetic_cached(tuple(sorted(params.items())))
    except ac.RatingsError as error:
        text = str(error).removeprefix("synthetic(): ").rstrip(".")
        raise GeneratorError(f"{text}.") from error
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
    "duplicates": "mean",  # a pair rated twice loads once, averaged (the note says so)
}
#: The Data page's choice for a (user, item) pair rated more than once, in the app's words.
DUPLICATES_LABEL = "When a pair is rated twice"
DUPLICATE_CHOICES = {
    "mean": "Average them",
    "first": "Keep the first",
    "last": "Keep the last",
    "error": "Refuse the file",
}
#: What was kept of each repeated pair, as the note says it.
_KEPT = {
    "mean": "the average of its ratings",
    "first": "its first rating",
    "last": "its last rating",
}
#: The reading option that drops bad rows, as the Data page labels it.
DROP_INVALID_LABEL = "Skip invalid rows"
#: The Data page's expander with the column mapping and the reader's options.
READING_OPTIONS_LABEL = "Column mapping and reading options"


@dataclass(frozen=True)
class UploadOutcome:
    """What reading an uploaded file gave: the ratings or the reader's message, what was
    detected (for the user to check and correct) and a preview."""

    filename: str
    ratings: ac.Ratings | None
    error: str | None  # in the app's words (Markdown, outside text escaped)
    detected: tuple[str, ...] = ()
    preview: pd.DataFrame | None = None  # the parsed ratings, or the raw first rows on failure
    columns: tuple[str, ...] = ()  # the file's column names ("column 1", … without a header)
    mapping: dict | None = None  # role -> column name, as detected or chosen
    duplicates: Any = None  # ac.DuplicateNote: pairs rated more than once (merged or refused)
    proposal: Any = None  # ac.MappingProposal when the reader could not decide the columns


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
        columns = tuple(inspected.header_names) if inspected else ()
        # The inspection's warnings repeat the refusal: it is said once, in the error.
        detected = [line for line in inspected.summary() if line != str(error)] if inspected else []
        return UploadOutcome(
            filename=filename,
            ratings=None,
            error=error_in_app_words(error, n_columns=len(columns)),
            detected=tuple(detected),
            preview=inspected.preview if inspected else None,
            columns=columns,
            mapping=dict(inspected.columns) if inspected else {},
            duplicates=getattr(error, "note", None),
            proposal=getattr(error, "proposal", None),
        )
    return UploadOutcome(
        filename=filename,
        ratings=ratings,
        error=None,
        detected=tuple(report.summary()),
        preview=ratings.to_frame().head(20),
        columns=tuple(report.header_names),
        mapping=dict(report.columns),
        duplicates=report.duplicates,
    )


def _inspect_quietly(data: bytes, kwargs: dict[str, Any]) -> Any:
    """What the reader can tell from the first lines, or None when not even that works."""
    keep = ("columns", "wide", "separator", "header")
    try:
        return ac.inspect_ratings(data, **{key: kwargs[key] for key in keep})
    except ac.RatingsError:
        return None


def error_in_app_words(error: ac.RatingsError, *, n_columns: int = 0) -> str:
    """The reader's refusal as the Data page says it: its options by their labels, never a
    Python argument; the file's own text escaped for Markdown."""
    note = getattr(error, "note", None)
    if isinstance(error, ac.DuplicateRatingsError) and note is not None:
        return (
            f"{repeated_pairs(note)} rated more than once ({first_pair(note)}), and "
            f"“{DUPLICATES_LABEL}” is set to “{DUPLICATE_CHOICES['error']}”. Choose "
            "“Average them”, “Keep the first” or “Keep the last” to load it."
        )
    if isinstance(error, ac.ColumnMappingError):
        proposal = getattr(error, "proposal", None)
        found = f"it has {n_columns} columns, and " if n_columns else ""
        ask = (
            "The values suggest the mapping below: check it and click “Use this mapping”."
            if proposal is not None and proposal.complete
            else "Choose them below."
        )
        return f"{found}which of them holds the user, the item and the rating is not certain. {ask}"
    message = md_escape(str(error))
    if isinstance(error, ac.InvalidRowsError):
        message += (
            f". To read the file without them, tick “{DROP_INVALID_LABEL}” under “"
            f"{READING_OPTIONS_LABEL}”"
        )
    return message


def repeated_pairs(note: Any) -> str:
    """ "3 (user, item) pairs were" / "1 (user, item) pair was"."""
    return f"{note.pairs:,} (user, item) pair{'s were' if note.pairs != 1 else ' was'}"


def first_pair(note: Any) -> str:
    """The first repeated pair with its lines and ratings, Markdown-safe."""
    values = ", ".join(f"{v:g}" for v in note.values)
    return f"the first: {md_escape(note.where())}, rated {md_escape(values)}"


def duplicates_note(note: Any) -> str:
    """What a successful read did with pairs rated more than once, and how to choose
    otherwise (the Data page's select)."""
    return (
        f"{repeated_pairs(note)} rated more than once ({first_pair(note)}). Each is kept once "
        f"with {_KEPT.get(note.policy, note.policy)}. To choose otherwise, change “"
        f"{DUPLICATES_LABEL}”: {', '.join(v.lower() for v in DUPLICATE_CHOICES.values())}."
    )


# ----------------------------------------------------------------------------- names files
#: The Data page's uploaders of names, by kind (the item one's label is part of the contract).
NAMES_LABELS = {"item": "Item names (optional)", "user": "User names (optional)"}


#: The columns of a names file the user can choose (the category only for items).
NAMES_ROLES = ("id", "title", "category")
#: A category choice that is not one column: the reader's own (a run of 0/1 flag columns, as
#: in u.item), or no categories.
DETECTED_CATEGORIES, NO_CATEGORIES = "detected", "none"
#: … as the library's ``category_column`` says them.
_CATEGORY_ARGUMENT = {DETECTED_CATEGORIES: None, NO_CATEGORIES: False}


@dataclass(frozen=True)
class NamesOutcome:
    """What reading a names file against the ratings gave: the names or why not, and the
    reader's report (columns used, how many rated items got a name, names matching none).

    ``columns`` are the file's columns and ``guess`` the ones read (role in ``NAMES_ROLES`` ->
    position, category also ``DETECTED_CATEGORIES`` / ``NO_CATEGORIES``), for the user to
    check; ``certain`` is False when the title column was only guessed from its values (or
    none was found), which the Data page asks the user to confirm."""

    filename: str
    kind: str  # "item" | "user"
    names: Any  # ac.Names, or None when the file could not be read
    error: str | None  # Markdown-safe
    report: tuple[str, ...] = ()
    digest: str = ""  # of the file's bytes and chosen columns: tells names apart in cache keys
    columns: tuple[str, ...] = ()
    guess: dict = field(default_factory=dict)
    certain: bool = True
    title_reason: str = ""  # why the reader took its title column, in words


def read_names_upload(
    data: bytes,
    filename: str,
    ratings: ac.Ratings,
    *,
    kind: str,
    columns: dict[str, Any] | None = None,
) -> NamesOutcome:
    """Read an uploaded names file for ``ratings``' items (``kind="item"``) or users with the
    library's reader; bad content never raises. ``columns`` (role -> position, as in
    ``NamesOutcome.guess``) are the user's choice instead of the reader's."""
    chosen = dict(columns or {})
    # Other columns of the same file are other names: the digest tells them apart too.
    digest = hashlib.blake2b(data + repr(sorted(chosen.items())).encode(), digest_size=8)
    digest = digest.hexdigest()
    try:
        if kind == "item":
            names = ac.read_item_names(
                data,
                item_ids=ratings.item_ids,
                id_column=chosen.get("id"),
                title_column=chosen.get("title"),
                category_column=_CATEGORY_ARGUMENT.get(
                    chosen.get("category"), chosen.get("category")
                ),
            )
        else:
            names = ac.read_user_names(
                data,
                user_ids=ratings.user_ids,
                id_column=chosen.get("id"),
                name_column=chosen.get("title"),
            )
    except ac.NamesColumnError as error:
        what = "names" if kind == "user" else "titles"
        message = (
            f"no column looks like {what} (text that is not a number, a date or a link). "
            f"Choose the {what[:-1]} column below"
        )
        return NamesOutcome(
            filename,
            kind,
            None,
            message,
            digest=digest,
            certain=False,
            **_columns_read(error.report),
        )
    except ac.RatingsError as error:
        return NamesOutcome(filename, kind, None, md_escape(str(error)), digest=digest)
    report = names.report
    return NamesOutcome(
        filename,
        kind,
        names,
        None,
        tuple(report.summary()),
        digest,
        certain=report.title_certain,
        **_columns_read(report),
    )


def _columns_read(report: Any) -> dict[str, Any]:
    """The file's columns and the ones the reader used (``NamesOutcome`` fields)."""
    guess = dict(report.positions)
    if report.kind == "item" and "category" not in guess:
        # Flag columns are the reader's own choice; else the file has no categories.
        guess["category"] = DETECTED_CATEGORIES if report.category_column else NO_CATEGORIES
    return {
        "columns": tuple(report.columns),
        "guess": guess,
        "title_reason": report.reasons.get("title", ""),
    }


def upload_dataset(filename: str, ratings: ac.Ratings, names: list[NamesOutcome]) -> Dataset:
    """An uploaded ratings file as a Dataset, with the names read from names files."""
    attached = []
    for outcome in names:
        if outcome.names is None:
            continue
        if outcome.kind == "item":
            ratings = ratings.with_item_names(outcome.names)
        else:
            ratings = ratings.with_user_names(outcome.names)
        attached.append(f"{outcome.kind}:{outcome.digest}")
    return Dataset(
        name=f"Upload: {filename}",
        ratings=ratings,
        source=f"upload:{filename}",
        names=tuple(attached),
    )


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
