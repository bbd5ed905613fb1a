"""Saved models from disk: a model directory on the server or an uploaded zip of one, opened
without retraining, with the checks that keep visitors inside the allowed folders.

A model trained outside the app (``python -m als_core fit --out DIR``, ``ac.save_model``, the
Spark engine) becomes a ``Dataset`` (its training ratings) and a ``FitResult`` (the model as it
is); ``session.set_model`` makes them the session's data and model. Directories are loaded once
per server and shared read-only (``st.cache_resource``); an uploaded zip stays in its session.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

import als_core as ac

from .data_sources import Dataset
from .settings import DEFAULT_SETTINGS, FitResult

#: ``Dataset.source`` of a model opened from disk: a directory on the server, or an uploaded zip.
MODEL_SOURCE = "model:"
MODEL_UPLOAD_SOURCE = "model-upload:"
#: ``Dataset.source`` of an opened model's training ratings, once the user trains here instead.
MODEL_RATINGS_SOURCE = "model-ratings:"
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


#: Longer text is not a path this app looks at (Linux's PATH_MAX).
MAX_PATH_CHARS = 4096


def root_of(path: Path) -> Path | None:
    """The allowed root (``model_roots()``) that holds ``path`` (resolved), or None."""
    return next((root for root in model_roots() if path == root or root in path.parents), None)


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
    if "\0" in raw:
        raise ModelOpenError(
            "That path holds a NUL character, which no file or folder name can: enter the "
            "model directory's path as it is."
        )
    if len(raw) > MAX_PATH_CHARS:
        raise ModelOpenError(
            f"That path is {len(raw):,} characters long; a path here has at most "
            f"{MAX_PATH_CHARS:,}. Enter the model directory's path."
        )
    try:
        return _existing_model_path(raw)
    except OSError as error:  # e.g. a name longer than the file system allows
        raise ModelOpenError(
            f"That path cannot be read on the server ({error.strerror or error}). Enter the "
            "model directory's path."
        ) from error


def _existing_model_path(raw: str) -> Path:
    path = Path(os.path.expanduser(raw)).resolve()
    roots = model_roots()
    if root_of(path) is None:
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
def _load_model_dir(path: str, signature: tuple, root: str) -> tuple[ac.ALS, str]:
    """One copy per server of a model directory, shared read-only by every session that opens
    it (``signature`` changes when the files do). Returns the model and its data fingerprint.
    Every file read lies in ``root`` (symbolic links followed)."""
    model = ac.load_model(path, root=root)
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
    (call ``session.set_model`` with the result)."""
    path = model_path(text)
    root = str(root_of(path))
    model, fingerprint = _checked_load(_load_model_dir, str(path), _directory_signature(path), root)
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
    links = [m.filename for m in files if stat.S_ISLNK(m.external_attr >> 16)]
    if links:
        raise ModelOpenError(
            f"{filename} holds symbolic links ({_listed(links)}), which this app does not "
            "follow: zip the model directory's files themselves."
        )
    manifests = [m for m in files if _entry_path(m)[1] == ac.model_io.MANIFEST]
    if len(manifests) != 1:
        found = "no" if not manifests else f"{len(manifests)}"
        raise ModelOpenError(
            f"{filename} holds {found} manifest.json: zip exactly one model directory (the "
            "folder written by save_model or `python -m als_core fit --out`)."
        )
    home = _entry_path(manifests[0])[0]
    members = [m for m in files if _entry_path(m)[0] == home]
    odd = [m.filename for m in members if not ac.model_io.is_plain_name(_entry_path(m)[1])]
    if odd:
        raise ModelOpenError(
            f"{filename} holds entries whose names are not file names ({_listed(odd)}): zip "
            "the model directory again."
        )
    if sum(m.file_size for m in members) > MAX_UNZIPPED_BYTES:
        raise ModelOpenError(
            f"{filename} unpacks to more than {MAX_UNZIPPED_BYTES / 1e9:.1f} GB; open a model "
            "this large from a directory on the server instead."
        )
    for member in members:
        with archive.open(member) as source, open(folder / _entry_path(member)[1], "wb") as out:
            shutil.copyfileobj(source, out)


def _entry_path(member: zipfile.ZipInfo) -> tuple[str, str]:
    """(folder, file name) of a zip entry; a backslash separates too (zips made on Windows)."""
    folder, _, name = member.filename.replace("\\", "/").rpartition("/")
    return folder, name


def _listed(names: list[str], shown: int = 3) -> str:
    """A few names for a message (repr: odd characters stay visible), and how many more."""
    text = ", ".join(repr(name[:80]) for name in names[:shown])
    return text + (f" and {len(names) - shown:,} more" if len(names) > shown else "")


def open_model_zip(data: bytes, filename: str) -> tuple[Dataset, FitResult]:
    """Open an uploaded zip of a model directory (kept in this session only)."""

    def load(data: bytes) -> tuple[ac.ALS, str]:
        with tempfile.TemporaryDirectory(prefix="als-model-") as folder:
            _unpack_model_zip(data, filename, Path(folder))
            model = ac.load_model(folder, root=folder)  # reads everything: the folder can go
        return model, model.train_ratings_.fingerprint()

    model, fingerprint = _checked_load(load, data)
    source = f"{MODEL_UPLOAD_SOURCE}{filename}"
    dataset = model_dataset(model, name=filename, source=source)
    return dataset, model_fit(model, source=source, fingerprint=fingerprint)


def refit_allowed(ratings: ac.Ratings) -> bool:
    """Whether new models may be fitted on these ratings here (see ``MAX_REFIT_RATINGS``)."""
    return ratings.nnz <= MAX_REFIT_RATINGS
