"""Exports a dashboard user can download: factors, predictions, top-N, and the run as JSON.

Tables come as DataFrames (``factors_frame``, ``predictions_frame``, ``top_n_frame``) and as
bytes ready for a download button (``to_csv_bytes``, ``to_parquet_bytes``). Every table carries
the original user and item ids, not the internal indices.

CSV is opened by spreadsheets, which run a cell that starts with ``=``, ``+``, ``-`` or ``@``
(and tab or carriage return) as a formula, so text from uploaded files (ids, titles) could
inject one. ``to_csv_bytes`` prefixes such *text* cells with an apostrophe, the OWASP
recommendation; numbers, negative ones included, and text that is just a number ("-3") are
left alone. Parquet keeps the values exactly as they are.

A run (its settings and the per-half-step history) round-trips through JSON:
``run_from_json(run_to_json(settings, history))`` gives the same settings and an equal history
DataFrame (column order and dtypes kept; NaN is written as null and read back as NaN).
"""

from __future__ import annotations

import io
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .als import ALS
from .ratings import Ratings

RUN_FORMAT = "als-explorer-run"
RUN_VERSION = 1

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


class RunFileError(ValueError):
    """A run JSON file that cannot be loaded back: the message says what is wrong."""


# ----------------------------------------------------------------------------- tables
def factors_frame(
    model: ALS,
    side: str = "items",
    *,
    info: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per user (``side="users"``) or item: id, n_ratings, [bias], factor_0..k-1.

    ``info`` (e.g. ``ratings.item_info``, one row per index) adds its columns after the id,
    except a column named ``id`` that repeats it.
    """
    _require_fitted(model)
    if side not in ("users", "items"):
        raise ValueError(f"side must be 'users' or 'items', got {side!r}")
    users = side == "users"
    ids = model.user_ids_ if users else model.item_ids_
    factors = np.asarray(model.user_factors_ if users else model.item_factors_, dtype=np.float64)
    counts = model.user_counts_ if users else model.item_counts_
    out = pd.DataFrame({"user_id" if users else "item_id": ids})
    if info is not None:
        if len(info) != len(out):
            raise ValueError(
                f"info must have one row per {side[:-1]} ({len(out)}), got {len(info)}"
            )
        extra = info.reset_index(drop=True).drop(columns=["id"], errors="ignore")
        out = pd.concat([out, extra], axis=1)
    out["n_ratings"] = np.asarray(counts, dtype=np.int64)
    if model.biases:
        out["bias"] = np.asarray(model.user_bias_ if users else model.item_bias_, np.float64)
    for f in range(factors.shape[1]):
        out[f"factor_{f}"] = factors[:, f]
    return out


def predictions_frame(
    model: ALS,
    user_idx: Any,
    item_idx: Any = None,
    *,
    ratings: Ratings | None = None,
    clip: bool = True,
) -> pd.DataFrame:
    """Predicted ratings for the chosen users (indices) × items (indices; default: all).

    Columns user_id, item_id, predicted, and ``observed`` (the rating in ``ratings`` when given,
    else in the training data; NaN where there is none).
    """
    _require_fitted(model)
    users = np.atleast_1d(np.asarray(user_idx, dtype=np.int64))
    n_items = len(model.item_factors_)
    items = np.arange(n_items) if item_idx is None else np.atleast_1d(np.asarray(item_idx))
    items = items.astype(np.int64)
    uu = np.repeat(users, len(items))
    ii = np.tile(items, len(users))
    predicted = model.predict(uu, ii, clip=clip)
    source = ratings.matrix if ratings is not None else model.train_matrix_
    return pd.DataFrame(
        {
            "user_id": model.user_ids_[uu],
            "item_id": model.item_ids_[ii],
            "predicted": predicted,
            "observed": _lookup(source, uu, ii),
        }
    )


def top_n_frame(
    model: ALS,
    user_idx: Any,
    n: int = 10,
    *,
    exclude_seen: bool = True,
    item_info: pd.DataFrame | None = None,
    info_columns: tuple[str, ...] = ("title", "genre"),
) -> pd.DataFrame:
    """The top-n recommendations of each chosen user (indices): user_id, rank, item_id, score,
    plus the ``info_columns`` of ``item_info`` that exist (e.g. title, genre)."""
    _require_fitted(model)
    parts = []
    for u in np.atleast_1d(np.asarray(user_idx, dtype=np.int64)):
        rec = model.recommend(int(u), n=n, exclude_seen=exclude_seen)
        part = pd.DataFrame(
            {
                "user_id": np.repeat(model.user_ids_[u], len(rec)),
                "rank": rec["rank"].to_numpy(),
                "item_id": rec["item_id"].to_numpy(),
                "score": rec["score"].to_numpy(dtype=np.float64),
            }
        )
        if item_info is not None:
            for col in info_columns:
                if col in item_info.columns:
                    part[col] = item_info[col].to_numpy()[rec["item"].to_numpy()]
        parts.append(part)
    if not parts:
        return pd.DataFrame(columns=["user_id", "rank", "item_id", "score"])
    return pd.concat(parts, ignore_index=True)


# ----------------------------------------------------------------------------- bytes
def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy where text cells (and column names) a spreadsheet would run as a formula start
    with an apostrophe. Numeric columns, and text that is just a number, are unchanged."""
    out = frame.copy()
    out.columns = [_neutral(c) if isinstance(c, str) else c for c in out.columns]
    for col in out.columns:
        series = out[col]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            continue
        out[col] = series.map(lambda v: _neutral(v) if isinstance(v, str) else v).astype(object)
    return out


def _neutral(text: str) -> str:
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV (LF line ends, header, no index) with formula-looking text neutralised."""
    return neutralise_formulas(frame).to_csv(index=False, lineterminator="\n").encode("utf-8")


def to_parquet_bytes(frame: pd.DataFrame) -> bytes:
    """Parquet (pyarrow) of the frame as it is; mixed-type object columns are written as text."""
    safe = frame.copy()
    for col in safe.columns:
        if safe[col].dtype == object and _mixed_types(safe[col]):
            safe[col] = safe[col].map(lambda v: None if v is None else str(v))
    buffer = io.BytesIO()
    safe.to_parquet(buffer, engine="pyarrow", index=False)
    return buffer.getvalue()


def _mixed_types(series: pd.Series) -> bool:
    kinds = {type(v) for v in series.dropna().tolist()}
    return len(kinds) > 1


# ----------------------------------------------------------------------------- runs
@dataclass
class RunRecord:
    """A run loaded back from JSON."""

    settings: dict[str, Any]
    history: pd.DataFrame
    dataset: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def run_to_json(
    settings: dict[str, Any],
    history: pd.DataFrame,
    *,
    dataset: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    """The run as JSON text: settings, history (columns, dtypes, rows), dataset description.

    numpy scalars become plain numbers; tuples become lists; NaN and infinities in settings
    become null; in the history NaN becomes null and is restored as NaN by ``run_from_json``.
    """
    record = {
        "format": RUN_FORMAT,
        "version": RUN_VERSION,
        "settings": _json_value(settings),
        "history": {
            "columns": [str(c) for c in history.columns],
            "dtypes": {str(c): str(history[c].dtype) for c in history.columns},
            "rows": [[_json_value(v) for v in row] for row in history.itertuples(index=False)],
        },
        "dataset": _json_value(dataset) if dataset is not None else None,
        "extra": _json_value(extra or {}),
    }
    return json.dumps(record, indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def run_from_json(text: str | bytes | Path) -> RunRecord:
    """Load a run written by ``run_to_json`` (text, bytes or a path); ``RunFileError`` if not."""
    if isinstance(text, Path):
        text = text.read_bytes()
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise RunFileError(f"the run file is not UTF-8 text ({exc})") from exc
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RunFileError(
            f"the run file is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from exc
    if not isinstance(record, dict) or record.get("format") != RUN_FORMAT:
        raise RunFileError(
            f'this is not an ALS Explorer run file (expected "format": "{RUN_FORMAT}")'
        )
    if record.get("version") != RUN_VERSION:
        raise RunFileError(
            f"run file version {record.get('version')!r} is not supported (this version reads "
            f"{RUN_VERSION})"
        )
    try:
        history = _history_from_record(record["history"])
        settings = dict(record["settings"])
    except (KeyError, TypeError, ValueError) as exc:
        raise RunFileError(f"the run file is damaged: {type(exc).__name__}: {exc}") from exc
    return RunRecord(
        settings=settings,
        history=history,
        dataset=record.get("dataset"),
        extra=dict(record.get("extra") or {}),
    )


def _history_from_record(h: dict[str, Any]) -> pd.DataFrame:
    columns = list(h["columns"])
    frame = pd.DataFrame(h["rows"], columns=columns)
    for col, dtype in h.get("dtypes", {}).items():
        if col not in frame.columns:
            continue
        if dtype.startswith(("float", "int", "uint", "bool")):
            frame[col] = frame[col].astype("float64" if dtype.startswith("float") else dtype)
        elif dtype in ("str", "string", "object"):
            frame[col] = frame[col].astype(dtype if dtype != "string" else "string")
    return frame


def _json_value(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (list, tuple, np.ndarray)):
        return [_json_value(x) for x in list(v)]
    if isinstance(v, dict):
        return {str(k): _json_value(x) for k, x in v.items()}
    if isinstance(v, Path):
        return str(v)
    if isinstance(v, np.dtype) or (isinstance(v, type) and issubclass(v, np.generic)):
        return np.dtype(v).name
    if v is pd.NA or v is pd.NaT:
        return None
    return v


# ----------------------------------------------------------------------------- helpers
def _require_fitted(model: ALS) -> None:
    if not hasattr(model, "user_factors_"):
        from .errors import NotFittedError

        raise NotFittedError("this ALS model is not fitted yet: call fit(train) first")


def _lookup(matrix: Any, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """matrix[rows[k], cols[k]] for stored entries, NaN elsewhere (a stored 0 stays 0)."""
    csr = matrix.tocsr()
    csr.sort_indices()
    n_cols = csr.shape[1]
    # Entries of a sorted CSR matrix, keyed row * n_cols + col, are in increasing key order.
    entry_rows = np.repeat(np.arange(csr.shape[0], dtype=np.int64), np.diff(csr.indptr))
    entry_keys = entry_rows * n_cols + csr.indices.astype(np.int64)
    query = np.asarray(rows, dtype=np.int64) * n_cols + np.asarray(cols, dtype=np.int64)
    out = np.full(len(query), np.nan)
    if entry_keys.size:
        pos = np.minimum(np.searchsorted(entry_keys, query), entry_keys.size - 1)
        hit = entry_keys[pos] == query
        out[hit] = csr.data[pos[hit]]
    return out
