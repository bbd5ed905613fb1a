"""Save a fitted model to a directory of open files, and load it back without retraining.

A model directory holds (format version 1)::

    manifest.json          format name and version, engine, the files below
    README.md              the same, for people
    run.json               the run as ``export.run_to_json`` writes it: ``settings`` (the ALS
                           settings), ``history`` (one row per half-step), ``dataset`` (sizes),
                           ``extra`` (engine, what the fit learned besides factors: global mean,
                           rating scale, stop reason, ...; and how it was run)
    user_factors.parquet   one row per user, in index order: user_id, n_ratings, [bias],
                           factor_0.. (``export.factors_frame``)
    item_factors.parquet   one row per item, the same with item_id (and title, genres, genre
                           when the ratings had item names: ``Ratings.with_item_names``)
    train_ratings.parquet  the training ratings: user_index, item_index, rating

``user_id``/``item_id`` hold the original labels (numbers or text, as read); the row number of
a factor file is the index that ``train_ratings.parquet`` and ``predict``/``recommend`` use.
``bias`` is there only for models with biases; the global mean μ is ``extra.fit.global_mean``
in run.json. A prediction is ``μ + b_u + b_i + x_u·y_i`` (biases) or ``x_u·y_i`` (no biases),
clipped to ``extra.fit.rating_scale``; users or items without training ratings (``n_ratings``
0) get the training mean (no biases) or μ plus the known bias. Factors are stored as float64
(exact for float32 models too) and loaded back in the model's dtype.

``load_model`` rebuilds an ``ac.ALS`` with every learned attribute set, so ``predict``,
``recommend`` (which leaves out the items a user rated in training: that is why the training
ratings are saved), ``similar_items``, ``score_parts`` and ``fold_in`` work as right after the
fit. Snapshots (the replay of a fit) are not saved.
"""

from __future__ import annotations

import json
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

from .als import ALS
from .export import RunFileError, factors_frame, run_from_json, run_to_json, to_parquet_bytes
from .ratings import Ratings

FORMAT_NAME = "als-explorer-model"
FORMAT_VERSION = 1
FILES = {
    "run": "run.json",
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
    share, engine options); it is stored as ``extra.run`` in run.json. The directory must
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
    for side in ("users", "items"):
        # Titles, genres and the like travel with the factors, so an opened model names things.
        frame = factors_frame(
            model, side, info=train.user_info if side == "users" else train.item_info
        )
        (folder / FILES[f"{side[:-1]}_factors"]).write_bytes(to_parquet_bytes(frame))
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
    text = run_to_json(
        model.get_params(),
        model.history_,
        dataset={
            "n_users": int(train.n_users),
            "n_items": int(train.n_items),
            "n_train_ratings": int(train.nnz),
        },
        extra={
            "engine": engine,
            "engine_details": getattr(model, "engine_details_", {}),
            "fit": _fit_record(model),
            "run": run,
        },
    )
    (folder / FILES["run"]).write_text(text, encoding="utf-8")
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "engine": engine,
        "files": dict(FILES),
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    (folder / FILES["readme"]).write_text(_readme_text(model, train, engine), encoding="utf-8")


def _index_type(n: int) -> pa.DataType:
    return pa.int32() if n < 2**31 else pa.int64()


def _fit_record(model: ALS) -> dict[str, Any]:
    """What the fit learned besides the factors (NaN/inf become null in JSON)."""
    return {
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


_FILE_DESCRIPTIONS = (
    (MANIFEST, "format name and version, engine, file names"),
    (FILES["run"], "`settings`, `history` (per half-step), `dataset`, `extra` (engine, fit, run)"),
    (FILES["user_factors"], "one row per user: `user_id`, `n_ratings`, [`bias`], `factor_0`.."),
    (
        FILES["item_factors"],
        "one row per item: `item_id`, [`title`, `genres`, `genre` when names were given], "
        "the same columns",
    ),
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

`user_id`/`item_id` hold the original labels; a factor file's row number is the index used by
`train_ratings.parquet`. Prediction: μ + b_u + b_i + x_u·y_i with biases (μ =
`extra.fit.global_mean` in run.json), x_u·y_i without, clipped to `extra.fit.rating_scale`.
Open it with `als_core.load_model(path)` or any Parquet and JSON reader.
"""


# --------------------------------------------------------------------------------- loading
def load_model(
    directory: str | os.PathLike[str], *, root: str | os.PathLike[str] | None = None
) -> ALS:
    """Rebuild a fitted ``ac.ALS`` from a directory written by ``save_model`` (or the CLI).

    The result predicts, recommends and finds neighbours exactly as the saved model did.

    Parameters
    ----------
    directory : str or path-like
        A model directory, as ``save_model`` or ``python -m als_core fit --out DIR`` write it
        (the module docstring lists its files). The manifest names them; each must be a plain
        file name in the directory.
    root : str or path-like, optional
        A folder every file read must lie in once symbolic links are followed: a server that
        opens directories its visitors name passes the folder they may open from, so a link
        inside it to a file elsewhere is refused instead of read.

    Returns
    -------
    ALS
        Fitted: besides the usual learned attributes it carries ``train_ratings_`` (the
        training ``Ratings``), ``settings_`` (``params``, ``fit``, ``run``, ``engine``,
        ``engine_details``, ``dataset`` from run.json), ``manifest_``, ``engine_`` and
        ``engine_details_``.

    Raises
    ------
    ModelDirError
        No such directory, or a file that is missing, unreadable, inconsistent with the
        others, named by a path instead of a file name, or outside ``root`` (the message names
        it).

    Examples
    --------
    >>> import pandas as pd
    >>> import als_core as ac
    >>> df = pd.DataFrame({"user": ["ann", "ann", "bob", "bob", "cy"],
    ...                    "item": ["Heat", "Up", "Heat", "Coco", "Up"],
    ...                    "rating": [5.0, 2.0, 4.0, 3.0, 1.0]})
    >>> train = ac.Ratings.from_frame(df)
    >>> model = ac.ALS(k=2, iterations=5).fit(train)
    >>> folder = ac.save_model(model, train, "my-model")  # a new folder here
    >>> loaded = ac.load_model(folder)
    >>> bool((loaded.predict([0, 1], [2, 1]) == model.predict([0, 1], [2, 1])).all())
    True
    >>> loaded.recommend(0, n=1)["item_id"].tolist() == model.recommend(0, n=1)["item_id"].tolist()
    True
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise ModelDirError(f"no model directory at {folder}: it does not exist or is a file")
    inside = _confined(Path(root).resolve() if root is not None else None)
    manifest = _read_manifest(folder, inside)
    files = _file_names(manifest)
    for name in files.values():
        inside(folder / name)
    record = _read_run(folder / files["run"])
    params = dict(record.settings)
    extra = record.extra
    fit = extra.get("fit", {})
    biases = bool(params.get("biases", False))
    dtype = np.dtype(params.get("dtype", fit.get("factor_dtype", "float64")))
    users = _read_factors(folder / files["user_factors"], "user", biases=biases, dtype=dtype)
    items = _read_factors(folder / files["item_factors"], "item", biases=biases, dtype=dtype)
    if users["factors"].shape[1] != items["factors"].shape[1]:
        raise ModelDirError(
            f"{files['user_factors']} has {users['factors'].shape[1]} factors but "
            f"{files['item_factors']} has {items['factors'].shape[1]}; the directory is damaged"
        )
    train = _read_train(
        folder / files["train_ratings"],
        users["ids"],
        items["ids"],
        user_info=users["info"],
        item_info=items["info"],
    )
    model = ALS(**_init_params(params))
    _install_state(model, train, users, items, fit, record.history)
    model.train_ratings_ = train
    model.engine_ = manifest.get("engine", extra.get("engine", "numpy"))
    model.engine_details_ = extra.get("engine_details", {})
    model.settings_ = {
        "params": params,
        "fit": fit,
        "run": extra.get("run", {}),
        "engine": model.engine_,
        "engine_details": model.engine_details_,
        "dataset": record.dataset,
    }
    model.manifest_ = manifest
    return model


def _confined(root: Path | None) -> Any:
    """A check that a path, symbolic links followed, lies in ``root`` (no check without one)."""

    def inside(path: Path) -> None:
        if root is None:
            return
        real = path.resolve()
        if real != root and root not in real.parents:
            raise ModelDirError(  # not where it leads: that is outside what may be shown
                f"{path.name} in the model directory links to a file outside {root}: copy the "
                "file itself into the directory instead of linking to it"
            )

    return inside


def _file_names(manifest: dict[str, Any]) -> dict[str, str]:
    """The manifest's files: plain names in the model directory (a path could read any file
    the process can, wherever the directory came from)."""
    files = {**FILES, **manifest.get("files", {})}
    for role, name in files.items():
        if not isinstance(name, str) or not is_plain_name(name):
            raise ModelDirError(
                f"{MANIFEST} names the {role} file {name!r}; a model directory's files must be "
                "plain file names in it (no folders, no '..')"
            )
    return files


def is_plain_name(name: str) -> bool:
    """Whether ``name`` is a file name a model directory may hold (no folder, no "..")."""
    return (
        name not in ("", ".", "..")
        and "/" not in name
        and "\\" not in name
        and "\0" not in name
        and Path(name).name == name
    )


def _read_manifest(folder: Path, inside: Any) -> dict[str, Any]:
    path = folder / MANIFEST
    inside(path)
    if not path.is_file():
        raise ModelDirError(
            f"{folder} holds no {MANIFEST}: it is not a model directory written by "
            "save_model or `python -m als_core fit`"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelDirError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise ModelDirError(f"{path} does not name the format {FORMAT_NAME!r}")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelDirError(
            f"{path} has format version {version!r}; this als_core reads versions up to "
            f"{FORMAT_VERSION}: update als_core to open it"
        )
    return manifest


def _read_run(path: Path) -> Any:
    if not path.is_file():
        raise ModelDirError(f"the model directory is missing {path.name} (looked for {path})")
    try:
        return run_from_json(path)
    except RunFileError as exc:
        raise ModelDirError(f"{path.name}: {exc}") from exc


def _read_parquet(path: Path) -> pa.Table:
    if not path.is_file():
        raise ModelDirError(f"the model directory is missing {path.name} (looked for {path})")
    try:
        return pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ModelDirError(f"{path} is not a readable Parquet file: {exc}") from exc


def _read_factors(path: Path, side: str, *, biases: bool, dtype: np.dtype) -> dict[str, Any]:
    table = _read_parquet(path)
    names = table.column_names
    factor_names = sorted(
        (n for n in names if n.startswith(FACTOR_PREFIX)),
        key=lambda n: int(n[len(FACTOR_PREFIX) :]),
    )
    id_column = f"{side}_id"
    needed = [id_column, "n_ratings"] + (["bias"] if biases else [])
    missing = [n for n in needed if n not in names]
    if missing or not factor_names:
        raise ModelDirError(
            f"{path.name} lacks column(s) {missing or [FACTOR_PREFIX + '0']}; it has {names}"
        )
    factors = np.column_stack([table.column(n).to_numpy() for n in factor_names]).astype(dtype)
    bias = table.column("bias").to_numpy().astype(dtype) if biases else None
    known = {id_column, "n_ratings", "bias", *factor_names}
    info_columns = [n for n in names if n not in known]
    ids = table.column(id_column).to_pandas().to_numpy()
    info = None
    if info_columns:
        info = table.select(info_columns).to_pandas()
        info.insert(0, "id", ids)  # the layout Ratings.from_frame gives item_info / user_info
    return {
        "ids": ids,
        "info": info,
        "counts": table.column("n_ratings").to_numpy().astype(np.int64),
        "bias": bias,
        "factors": np.ascontiguousarray(factors),
    }


def _read_train(
    path: Path,
    user_ids: np.ndarray,
    item_ids: np.ndarray,
    *,
    user_info: pd.DataFrame | None = None,
    item_info: pd.DataFrame | None = None,
) -> Ratings:
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
        user_info=user_info,
        item_info=item_info,
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
    history: pd.DataFrame,
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
    model.history_ = history
    model.n_iter_ = int(fit.get("n_iter") or 0)
    model.stop_reason_ = fit.get("stop_reason")
    model.best_iteration_ = fit.get("best_iteration")
    model.best_validation_rmse_ = fit.get("best_validation_rmse")
    model.snapshots_ = None
    model.fit_seconds_ = fit.get("fit_seconds")
