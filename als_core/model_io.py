"""Save a fitted model to a directory of open files, and load it back without retraining.

A model directory holds (format version 1)::

    manifest.json          format name and version, engine, the files below
    README.md              the same, for people
    settings.json          the model's settings, what the fit learned besides factors
                           (global mean, rating scale, stop reason, ...) and the run's settings
    history.json           one record per row of ``model.history_``
    user_factors.parquet   one row per user, in index order: id, n_ratings, [bias], factor_0..
    item_factors.parquet   one row per item, in index order: id, n_ratings, [bias], factor_0..
    train_ratings.parquet  the training ratings: user_index, item_index, rating

``id`` holds the original labels (numbers or text, as read); the row number of a factor file is
the index that ``train_ratings.parquet`` and ``predict``/``recommend`` use. ``bias`` is there
only for models with biases; the global mean μ is in settings.json (``fit.global_mean``). A
prediction is ``μ + b_u + b_i + x_u·y_i`` (biases) or ``x_u·y_i`` (no biases), clipped to
``fit.rating_scale``; users or items without training ratings (``n_ratings`` 0) get the training
mean (no biases) or μ plus the known bias.

``load_model`` rebuilds an ``ac.ALS`` with every learned attribute set, so ``predict``,
``recommend`` (which leaves out the items a user rated in training: that is why the training
ratings are saved), ``similar_items``, ``score_parts`` and ``fold_in`` work as right after the
fit. Snapshots (the replay of a fit) are not saved.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .als import ALS, HISTORY_COLUMNS
from .ratings import Ratings

FORMAT_NAME = "als-explorer-model"
FORMAT_VERSION = 1
FILES = {
    "settings": "settings.json",
    "history": "history.json",
    "user_factors": "user_factors.parquet",
    "item_factors": "item_factors.parquet",
    "train_ratings": "train_ratings.parquet",
    "readme": "README.md",
}
MANIFEST = "manifest.json"
FACTOR_PREFIX = "factor_"


class ModelDirError(ValueError):
    """A model directory that cannot be written or read as asked: the message says why."""


# --------------------------------------------------------------------------------- saving
def save_model(
    model: ALS,
    train_ratings: Ratings,
    directory: str | os.PathLike[str],
    *,
    settings: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a fitted ``model`` and the ``train_ratings`` it was fitted on to ``directory``.

    ``settings`` is any JSON-friendly record of how the run was made (input file, validation
    share, engine options); it is stored under ``"run"`` in settings.json. The directory must
    not exist or be empty, unless ``overwrite=True`` and it is a model directory already (so a
    typo cannot wipe an unrelated folder). Files are written to a temporary folder beside it and
    moved into place at the end, so a failed save leaves no half-written model. Returns the path.
    """
    if not hasattr(model, "user_factors_"):
        raise ModelDirError("the model is not fitted yet: call fit(train) before save_model")
    if not isinstance(train_ratings, Ratings):
        raise ModelDirError(
            f"train_ratings must be the ac.Ratings the model was fitted on, "
            f"got {type(train_ratings).__name__}"
        )
    _check_ratings_match(model, train_ratings)
    target = Path(directory)
    check_model_target(target, overwrite=overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        _write_all(model, train_ratings, staging, settings or {})
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _check_ratings_match(model: ALS, train: Ratings) -> None:
    shape = (len(model.user_factors_), len(model.item_factors_))
    if train.shape != shape:
        raise ModelDirError(
            f"train_ratings has shape {train.shape} but the model has {shape[0]} users and "
            f"{shape[1]} items; pass the training Ratings the model was fitted on"
        )
    counts = getattr(model, "user_counts_", None)
    if counts is not None and not np.array_equal(train.user_counts(), counts):
        raise ModelDirError(
            "train_ratings differ from the ratings the model was fitted on (different numbers "
            "of ratings per user); pass the training part of the split, not the whole data set"
        )


def check_model_target(target: Path, *, overwrite: bool = False) -> None:
    """Raise ``ModelDirError`` unless ``save_model`` may write to ``target`` (see there);
    lets a caller fail before a long fit rather than after it."""
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise ModelDirError(f"{target} exists and is not a directory; choose another --out")
    if target.is_dir() and any(target.iterdir()):
        if not overwrite:
            raise ModelDirError(
                f"{target} already exists and is not empty; choose another directory or "
                "overwrite it (--overwrite / overwrite=True)"
            )
        if not (target / MANIFEST).is_file():
            raise ModelDirError(
                f"{target} is not empty and holds no {MANIFEST}; refusing to overwrite a "
                "directory that is not a saved model"
            )


def _write_all(model: ALS, train: Ratings, folder: Path, run: dict[str, Any]) -> None:
    engine = str(getattr(model, "engine_", "numpy"))
    _write_factors(
        folder / FILES["user_factors"],
        model.user_ids_,
        model.user_counts_,
        model.user_bias_ if model.biases else None,
        model.user_factors_,
    )
    _write_factors(
        folder / FILES["item_factors"],
        model.item_ids_,
        model.item_counts_,
        model.item_bias_ if model.biases else None,
        model.item_factors_,
    )
    rows, cols, values = train.coo()
    pq.write_table(
        pa.table(
            {
                "user_index": pa.array(rows, type=_index_type(train.n_users)),
                "item_index": pa.array(cols, type=_index_type(train.n_items)),
                "rating": pa.array(values, type=pa.float64()),
            }
        ),
        folder / FILES["train_ratings"],
    )
    _write_json(folder / FILES["history"], _history_records(model))
    _write_json(folder / FILES["settings"], _settings_record(model, train, run, engine))
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "engine": engine,
        "files": dict(FILES),
    }
    _write_json(folder / MANIFEST, manifest)
    (folder / FILES["readme"]).write_text(_readme_text(model, train, engine), encoding="utf-8")


def _index_type(n: int) -> pa.DataType:
    return pa.int32() if n < 2**31 else pa.int64()


def _write_factors(
    path: Path, ids: np.ndarray, counts: np.ndarray, bias: np.ndarray | None, F: np.ndarray
) -> None:
    columns: dict[str, pa.Array] = {
        "id": _id_array(ids),
        "n_ratings": pa.array(np.asarray(counts, dtype=np.int64)),
    }
    if bias is not None:
        columns["bias"] = pa.array(np.asarray(bias, dtype=F.dtype))
    for f in range(F.shape[1]):
        columns[f"{FACTOR_PREFIX}{f}"] = pa.array(np.ascontiguousarray(F[:, f]))
    pq.write_table(pa.table(columns), path)


def _id_array(ids: np.ndarray) -> pa.Array:
    """The original labels as one Parquet column; mixed-type labels become text."""
    try:
        return pa.array(np.asarray(ids).tolist())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([str(x) for x in np.asarray(ids).tolist()], type=pa.string())


def _history_records(model: ALS) -> list[dict[str, Any]]:
    history = getattr(model, "history_", None)
    if history is None:
        return []
    return [{k: _json_value(v) for k, v in row.items()} for row in history.to_dict("records")]


def _settings_record(
    model: ALS, train: Ratings, run: dict[str, Any], engine: str
) -> dict[str, Any]:
    fit = {
        "n_users": int(train.n_users),
        "n_items": int(train.n_items),
        "n_train_ratings": int(train.nnz),
        "k": int(model.user_factors_.shape[1]),
        "factor_dtype": np.dtype(model.user_factors_.dtype).name,
        "global_mean": float(model.global_mean_),
        "train_mean": float(model.train_mean_),
        "rating_scale": [float(v) for v in model.rating_scale_],
        "n_iter": getattr(model, "n_iter_", None),
        "stop_reason": getattr(model, "stop_reason_", None),
        "best_iteration": getattr(model, "best_iteration_", None),
        "best_validation_rmse": getattr(model, "best_validation_rmse_", None),
        "fit_seconds": getattr(model, "fit_seconds_", None),
    }
    return {
        "params": model.get_params(),
        "engine": engine,
        "engine_details": getattr(model, "engine_details_", {}),
        "fit": {k: _json_value(v) for k, v in fit.items()},
        "run": {k: _json_value(v) for k, v in run.items()},
    }


def _json_value(v: Any) -> Any:
    """Plain JSON: numpy scalars become Python numbers, NaN and infinities become null."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (list, tuple)):
        return [_json_value(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _json_value(x) for k, x in v.items()}
    if isinstance(v, Path):
        return str(v)
    return v


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, allow_nan=False) + "\n", encoding="utf-8")


_FILE_DESCRIPTIONS = (
    (MANIFEST, "format name and version, engine, file names"),
    (FILES["settings"], "`params` (ALS settings), `fit` (global mean, rating scale, ...), `run`"),
    (FILES["history"], "one record per half-step: objective, its terms, RMSEs, seconds"),
    (FILES["user_factors"], "one row per user: `id`, `n_ratings`, [`bias`], `factor_0`.."),
    (FILES["item_factors"], "one row per item, same columns"),
    (FILES["train_ratings"], "`user_index`, `item_index` (factor file rows), `rating`"),
)


def _readme_text(model: ALS, train: Ratings, engine: str) -> str:
    p = model.get_params()
    rows = "\n".join(f"| `{name}` | {what} |" for name, what in _FILE_DESCRIPTIONS)
    return f"""# ALS model ({FORMAT_NAME}, format version {FORMAT_VERSION})

Trained with engine `{engine}`: k = {p["k"]}, λ = {p["lam"]} ({p["regularization"]}),
biases = {p["biases"]}, on {train.nnz:,} ratings by {train.n_users:,} users of
{train.n_items:,} items.

| file | contents |
| --- | --- |
{rows}

`id` holds the original user/item labels; a factor file's row number is the index used by
`train_ratings.parquet`. Prediction: μ + b_u + b_i + x_u·y_i with biases (μ =
`fit.global_mean` in settings.json), x_u·y_i without, clipped to `fit.rating_scale`.
Open it with `als_core.load_model(path)` or any Parquet and JSON reader.
"""


# --------------------------------------------------------------------------------- loading
def load_model(directory: str | os.PathLike[str]) -> ALS:
    """Rebuild a fitted ``ac.ALS`` from a directory written by ``save_model`` (or the CLI).

    The result predicts, recommends and finds neighbours exactly as the saved model did.
    Besides the usual learned attributes it carries ``train_ratings_`` (the training
    ``Ratings``), ``settings_`` (settings.json as a dict), ``manifest_`` and ``engine_``.
    Raises ``ModelDirError`` naming the missing or inconsistent file.
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise ModelDirError(f"no model directory at {folder}: it does not exist or is a file")
    manifest = _read_manifest(folder)
    files = {**FILES, **manifest.get("files", {})}
    settings = _read_json(folder / files["settings"])
    history = _read_json(folder / files["history"])
    params = dict(settings.get("params", {}))
    fit = settings.get("fit", {})
    biases = bool(params.get("biases", False))
    users = _read_factors(folder / files["user_factors"], biases=biases)
    items = _read_factors(folder / files["item_factors"], biases=biases)
    if users["factors"].shape[1] != items["factors"].shape[1]:
        raise ModelDirError(
            f"{files['user_factors']} has {users['factors'].shape[1]} factors but "
            f"{files['item_factors']} has {items['factors'].shape[1]}; the directory is damaged"
        )
    train = _read_train(folder / files["train_ratings"], users["ids"], items["ids"])
    model = ALS(**_init_params(params))
    _install_state(model, train, users, items, fit, history)
    model.train_ratings_ = train
    model.settings_ = settings
    model.manifest_ = manifest
    model.engine_ = manifest.get("engine", settings.get("engine", "numpy"))
    model.engine_details_ = settings.get("engine_details", {})
    return model


def _read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if not path.is_file():
        raise ModelDirError(
            f"{folder} holds no {MANIFEST}: it is not a model directory written by "
            "save_model or `python -m als_core fit`"
        )
    manifest = _read_json(path)
    if manifest.get("format") != FORMAT_NAME:
        raise ModelDirError(
            f"{path} names format {manifest.get('format')!r}, expected {FORMAT_NAME!r}"
        )
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelDirError(
            f"{path} has format version {version!r}; this als_core reads versions up to "
            f"{FORMAT_VERSION}: update als_core to open it"
        )
    return manifest


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise ModelDirError(f"the model directory is missing {path.name} (looked for {path})")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelDirError(f"{path} is not valid JSON: {exc}") from exc


def _read_parquet(path: Path) -> pa.Table:
    if not path.is_file():
        raise ModelDirError(f"the model directory is missing {path.name} (looked for {path})")
    try:
        return pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ModelDirError(f"{path} is not a readable Parquet file: {exc}") from exc


def _read_factors(path: Path, *, biases: bool) -> dict[str, Any]:
    table = _read_parquet(path)
    names = table.column_names
    factor_names = sorted(
        (n for n in names if n.startswith(FACTOR_PREFIX)),
        key=lambda n: int(n[len(FACTOR_PREFIX) :]),
    )
    needed = ["id", "n_ratings"] + (["bias"] if biases else [])
    missing = [n for n in needed if n not in names]
    if missing or not factor_names:
        raise ModelDirError(
            f"{path.name} lacks column(s) {missing or [FACTOR_PREFIX + '0']}; it has {names}"
        )
    factors = np.column_stack([table.column(n).to_numpy() for n in factor_names])
    if factors.dtype not in (np.float32, np.float64):
        factors = factors.astype(np.float64)
    ids = table.column("id").to_pandas().to_numpy()
    bias = table.column("bias").to_numpy().astype(factors.dtype) if biases else None
    return {
        "ids": ids,
        "counts": table.column("n_ratings").to_numpy().astype(np.int64),
        "bias": bias,
        "factors": np.ascontiguousarray(factors),
    }


def _read_train(path: Path, user_ids: np.ndarray, item_ids: np.ndarray) -> Ratings:
    table = _read_parquet(path)
    missing = [c for c in ("user_index", "item_index", "rating") if c not in table.column_names]
    if missing:
        raise ModelDirError(f"{path.name} lacks column(s) {missing}")
    return Ratings.from_codes(
        table.column("user_index").to_numpy(),
        table.column("item_index").to_numpy(),
        table.column("rating").to_numpy(),
        user_ids=user_ids,
        item_ids=item_ids,
    )


def _init_params(params: dict[str, Any]) -> dict[str, Any]:
    """The saved settings as ``ALS.__init__`` takes them (unknown keys from newer writers
    are ignored)."""
    accepted = set(ALS().get_params())
    kwargs = {k: v for k, v in params.items() if k in accepted}
    if "dtype" in kwargs:
        kwargs["dtype"] = np.dtype(kwargs["dtype"]).type
    return kwargs


def _install_state(
    model: ALS,
    train: Ratings,
    users: dict[str, Any],
    items: dict[str, Any],
    fit: dict[str, Any],
    history: list[dict[str, Any]],
) -> None:
    if not np.array_equal(train.user_counts(), users["counts"]) or not np.array_equal(
        train.item_counts(), items["counts"]
    ):
        raise ModelDirError(
            "train_ratings.parquet does not match the n_ratings columns of the factor files; "
            "the directory is damaged or mixes files from different models"
        )
    R = train.matrix
    model.user_factors_ = users["factors"]
    model.item_factors_ = items["factors"]
    model.user_bias_ = users["bias"]
    model.item_bias_ = items["bias"]
    model.global_mean_ = float(fit.get("global_mean") or 0.0)
    model.train_mean_ = float(R.data.mean()) if R.nnz else 0.0
    scale = fit.get("rating_scale")
    model.rating_scale_ = (
        (float(scale[0]), float(scale[1]))
        if scale and None not in scale
        else (float(R.data.min()), float(R.data.max()))
    )
    model.user_counts_ = users["counts"]
    model.item_counts_ = items["counts"]
    model.train_matrix_ = R
    model.user_ids_ = users["ids"]
    model.item_ids_ = items["ids"]
    frame = pd.DataFrame(history, columns=HISTORY_COLUMNS).astype(
        {c: "float64" for c in HISTORY_COLUMNS if c not in ("iteration", "side")}
    )
    model.history_ = frame
    model.n_iter_ = int(fit.get("n_iter") or 0)
    model.stop_reason_ = fit.get("stop_reason")
    model.best_iteration_ = fit.get("best_iteration")
    model.best_validation_rmse_ = fit.get("best_validation_rmse")
    model.snapshots_ = None
    model.fit_seconds_ = fit.get("fit_seconds")
