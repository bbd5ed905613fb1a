"""Observed ratings: a sparse users x items matrix plus the original labels.

Missing ratings are missing: only the stored entries of the CSR structure are observations, and
a stored 0.0 is a real rating of zero. Nothing here ever builds a dense users x items array.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._choices import DEFAULT_DUPLICATES, DUPLICATE_POLICIES
from .errors import DuplicateRatingsError, RatingsError

#: The largest rating magnitude accepted. A fit squares and sums ratings (its objective,
#: its normal equations); in float32, the narrowest type a fit may use (largest value about
#: 3.4e38), the squares of 2**32 ratings of this size still add up to a finite number:
#: (1e14)² x 2**32 ≈ 4.3e37. Past it an ordinary fit can overflow to NaN.
MAX_ABS_RATING = 1e14
_KEPT = {"mean": "the mean", "first": "the first rating", "last": "the last rating"}


@dataclass(frozen=True)
class DuplicateNote:
    """(user, item) pairs rated more than once: how many, and the first one as an example.

    Attributes
    ----------
    pairs : int
        Number of (user, item) pairs with more than one rating.
    rows_merged : int
        Rows that merging removed (all the pairs' rows minus one per pair).
    policy : str
        What was kept: ``"mean"``, ``"first"`` or ``"last"`` (``"error"`` when refused).
    user, item :
        Ids of the first repeated pair (the one whose second rating comes first).
    values : tuple of float
        That pair's ratings, in file order.
    rows : tuple of int
        Their positions among the data rows (0 = first row below any header).
    lines : tuple of int
        Their physical lines in the file (1 = first line); empty when not read from a file.
    columns : tuple of str
        For a wide matrix, the header names of the cells; else empty.
    """

    pairs: int
    rows_merged: int
    policy: str
    user: object
    item: object
    values: tuple[float, ...]
    rows: tuple[int, ...]
    lines: tuple[int, ...] = ()
    columns: tuple[str, ...] = ()

    def where(self) -> str:
        """The first pair and where it is, e.g. "user 1, item 42 on lines 5 and 9"."""
        user, item = _show_label(self.user), _show_label(self.item)
        if self.columns and self.lines:
            cells = [
                f"line {ln} column {c!r}" for ln, c in zip(self.lines, self.columns, strict=True)
            ]
            place = " and ".join(cells[:2]) + (", …" if len(cells) > 2 else "")
        elif self.lines:
            place = "lines " + ", ".join(map(str, self.lines[:-1])) + f" and {self.lines[-1]}"
        else:
            place = "rows " + ", ".join(map(str, self.rows[:-1])) + f" and {self.rows[-1]}"
        return f"user {user}, item {item} on {place}"

    def sentence(self) -> str:
        """One plain sentence (no option names: callers add how to choose otherwise)."""
        head = (
            f"{self.pairs:,} (user, item) pair{'s' if self.pairs != 1 else ''} "
            f"{'were' if self.pairs != 1 else 'was'} rated more than once (first: {self.where()})"
        )
        if self.policy == "error":
            return head
        return f"{head}; kept {_KEPT[self.policy]} of each"

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-friendly values."""
        out = asdict(self)
        out["user"], out["item"] = _plain(self.user), _plain(self.item)
        return out


def _show_label(label: object) -> str:
    """An id as a person would write it: text quoted, numbers plain."""
    return repr(label) if isinstance(label, str) else str(label)


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


def duplicate_error(note: DuplicateNote) -> DuplicateRatingsError:
    """The refusal, worded without any option name (an app and a CLI say how to choose)."""
    return DuplicateRatingsError(
        f"{note.sentence()}; choose which rating to keep: the mean, the first or the last",
        note=note,
    )


@dataclass(frozen=True, eq=False)
class Ratings:
    """Observed ratings with their original user and item labels.

    Usually built with ``Ratings.from_frame`` (a long table), ``Ratings.from_codes`` (index
    arrays) or ``ac.read_ratings`` (a file); the constructor checks what it is given.

    Parameters
    ----------
    matrix : scipy.sparse.csr_matrix of shape (n_users, n_items)
        float64, canonical (sorted indices, no duplicates). Stored entries are the
        observations, including stored zeros; missing ratings are simply not stored.
    user_ids, item_ids : ndarray
        The original labels; ``user_ids[u]`` is the label of row ``u``.
    timestamps : ndarray of float64, optional
        One per rating, aligned with ``matrix.data`` (CSR order), for time splits.
    user_info, item_info : pandas.DataFrame, optional
        One row per user / item, in index order (e.g. title, genre).
    notes : tuple of str, optional
        What was done to the data on the way in (merged duplicates, a sample's name).

    Attributes
    ----------
    shape, n_users, n_items, nnz, density, rating_scale
        Sizes, the share of cells observed, and (lowest, highest) rating.

    Raises
    ------
    RatingsError
        A matrix that is not canonical float64 CSR, ratings that are NaN, infinite or larger
        in size than ``MAX_ABS_RATING``, or labels, timestamps or info tables whose lengths do
        not match the matrix.

    Examples
    --------
    >>> import pandas as pd
    >>> import als_core as ac
    >>> df = pd.DataFrame({
    ...     "user": ["ann", "ann", "bob", "cy"],
    ...     "item": ["Heat", "Up", "Up", "Heat"],
    ...     "rating": [5.0, 3.0, 4.0, 1.0],
    ... })
    >>> r = ac.Ratings.from_frame(df)
    >>> r
    Ratings(3 users x 2 items, 4 ratings, density 66.67%)
    >>> r.user_ids.tolist(), r.item_ids.tolist()
    (['ann', 'bob', 'cy'], ['Heat', 'Up'])
    >>> r.matrix[1, 1], r.rating_scale
    (np.float64(4.0), (1.0, 5.0))
    """

    matrix: sp.csr_matrix
    user_ids: np.ndarray
    item_ids: np.ndarray
    timestamps: np.ndarray | None = None
    user_info: pd.DataFrame | None = None
    item_info: pd.DataFrame | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        m = self.matrix
        if not sp.issparse(m) or m.format != "csr":
            raise RatingsError(f"Ratings.matrix must be a scipy.sparse CSR matrix, got {type(m)}")
        if m.dtype != np.float64:
            raise RatingsError(f"Ratings.matrix must be float64, got {m.dtype}")
        if not m.has_canonical_format:
            raise RatingsError("Ratings.matrix must be canonical: sorted indices, no duplicates")
        if not np.all(np.isfinite(m.data)):
            bad = int(np.count_nonzero(~np.isfinite(m.data)))
            raise RatingsError(
                f"{bad} rating(s) are NaN or infinite; drop or fix them before building Ratings"
            )
        if m.nnz and max(-float(m.data.min()), float(m.data.max())) > MAX_ABS_RATING:
            bad = int(np.count_nonzero(np.abs(m.data) > MAX_ABS_RATING))
            raise RatingsError(
                f"{bad} rating(s) are larger in size than {MAX_ABS_RATING:g}, the most a rating "
                "may be (a fit squares and sums them); rescale the ratings"
            )
        n_users, n_items = m.shape
        if len(self.user_ids) != n_users or len(self.item_ids) != n_items:
            raise RatingsError(
                f"expected {n_users} user ids and {n_items} item ids for a matrix of shape "
                f"{m.shape}, got {len(self.user_ids)} and {len(self.item_ids)}"
            )
        if self.timestamps is not None and len(self.timestamps) != m.nnz:
            raise RatingsError(
                f"expected one timestamp per rating ({m.nnz}), got {len(self.timestamps)}"
            )
        for name, info, n in (
            ("user_info", self.user_info, n_users),
            ("item_info", self.item_info, n_items),
        ):
            if info is not None and len(info) != n:
                raise RatingsError(f"{name} must have one row per index ({n}), got {len(info)}")

    # ----------------------------------------------------------------------------- building
    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        user: str = "user",
        item: str = "item",
        rating: str = "rating",
        timestamp: str | None = None,
        *,
        duplicates: str = DEFAULT_DUPLICATES,
        item_info: pd.DataFrame | None = None,
        user_info: pd.DataFrame | None = None,
    ) -> Ratings:
        """Build Ratings from a long table with one row per (user, item, rating).

        Users and items are numbered in order of first appearance; their labels are kept as
        given.

        Parameters
        ----------
        df : pandas.DataFrame
            The long table.
        user, item, rating : str, default "user", "item", "rating"
            The names of its user, item and rating columns.
        timestamp : str, optional
            The name of a timestamp column (for ``split(method="by_time")``).
        duplicates : {"mean", "first", "last", "error"}, default "mean"
            What to do with repeated (user, item) pairs: keep their mean, the first or the
            last rating (what was merged is recorded in ``notes``), or raise
            ``DuplicateRatingsError`` (whose ``note`` is a ``DuplicateNote``).
        item_info, user_info : pandas.DataFrame, optional
            Indexed by the original labels; their rows are aligned to the new index (labels
            absent there get missing values).

        Returns
        -------
        Ratings

        Raises
        ------
        RatingsError
            A column that is not there (the message lists the table's columns), a missing
            user or item id, or a rating that is not a finite number; each message names the
            first bad row. ``DuplicateRatingsError`` (a ``RatingsError``) for repeated pairs
            with ``duplicates="error"``.

        Examples
        --------
        >>> import pandas as pd
        >>> import als_core as ac
        >>> df = pd.DataFrame({"who": [7, 7, 9, 9], "film": ["Up", "Heat", "Up", "Up"],
        ...                    "stars": [4.0, 2.5, 3.0, 5.0]})
        >>> r = ac.Ratings.from_frame(df, user="who", item="film", rating="stars")
        >>> r.to_frame()  # user 9 rated Up twice: the mean is kept
           user  item  rating
        0     7    Up     4.0
        1     7  Heat     2.5
        2     9    Up     4.0
        >>> r.notes[0].endswith("kept the mean of each")
        True
        >>> ac.Ratings.from_frame(df, user="who", item="film", rating="stars", duplicates="error")
        ... # doctest: +ELLIPSIS
        Traceback (most recent call last):
            ...
        als_core.errors.DuplicateRatingsError: 1 (user, item) pair was rated more than once ...
        """
        if duplicates not in DUPLICATE_POLICIES:
            raise RatingsError(
                f"duplicates must be one of {DUPLICATE_POLICIES}, got {duplicates!r}"
            )
        columns = [user, item, rating] + ([timestamp] if timestamp else [])
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise RatingsError(
                f"column(s) {missing} not found; the table has {list(df.columns)}. "
                "Pass user=, item=, rating= with the right column names."
            )
        frame = df[columns].copy()
        frame.columns = ["user", "item", "rating"] + (["timestamp"] if timestamp else [])
        for col in ("user", "item"):
            if frame[col].isna().any():
                first = int(np.flatnonzero(frame[col].isna().to_numpy())[0])
                raise RatingsError(
                    f"{int(frame[col].isna().sum())} row(s) have no {col} id "
                    f"(first at row {first}); remove them or fill them in"
                )
        values = pd.to_numeric(frame["rating"], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise RatingsError(
                f"{int(bad.sum())} rating(s) are not finite numbers (first at row {first}: "
                f"{frame['rating'].iloc[first]!r}); drop or fix them"
            )
        frame["rating"] = values
        notes: list[str] = []
        dup = frame.duplicated(["user", "item"], keep=False)
        if dup.any():
            note = _frame_duplicates(frame, dup.to_numpy(), duplicates)
            if duplicates == "error":
                raise duplicate_error(note)
            frame = _merge_duplicates(frame, duplicates)
            notes.append(note.sentence())
        user_codes, user_ids = pd.factorize(frame["user"], sort=False)
        item_codes, item_ids = pd.factorize(frame["item"], sort=False)
        ts = frame["timestamp"].to_numpy() if timestamp else None
        return cls.from_codes(
            user_codes,
            item_codes,
            frame["rating"].to_numpy(dtype=np.float64),
            user_ids=np.asarray(user_ids),
            item_ids=np.asarray(item_ids),
            timestamps=_timestamps_as_float(ts) if ts is not None else None,
            item_info=_align_info(item_info, np.asarray(item_ids)),
            user_info=_align_info(user_info, np.asarray(user_ids)),
            notes=tuple(notes),
        )

    @classmethod
    def from_codes(
        cls,
        user_codes: Sequence[int] | np.ndarray,
        item_codes: Sequence[int] | np.ndarray,
        values: Sequence[float] | np.ndarray,
        *,
        user_ids: np.ndarray | None = None,
        item_ids: np.ndarray | None = None,
        shape: tuple[int, int] | None = None,
        timestamps: np.ndarray | None = None,
        item_info: pd.DataFrame | None = None,
        user_info: pd.DataFrame | None = None,
        notes: tuple[str, ...] = (),
    ) -> Ratings:
        """Build Ratings from integer row/column codes (no duplicate pairs allowed)."""
        rows = np.asarray(user_codes, dtype=np.int64)
        cols = np.asarray(item_codes, dtype=np.int64)
        vals = np.asarray(values, dtype=np.float64)
        if not (rows.shape == cols.shape == vals.shape) or rows.ndim != 1:
            raise RatingsError(
                f"user codes, item codes and values must be 1-D and equally long, got shapes "
                f"{rows.shape}, {cols.shape}, {vals.shape}"
            )
        if shape is None:
            n_users = len(user_ids) if user_ids is not None else int(rows.max(initial=-1)) + 1
            n_items = len(item_ids) if item_ids is not None else int(cols.max(initial=-1)) + 1
            shape = (n_users, n_items)
        if rows.size and (
            rows.min() < 0 or rows.max() >= shape[0] or cols.min() < 0 or cols.max() >= shape[1]
        ):
            raise RatingsError(f"codes fall outside the shape {shape}")
        if _row_major_sorted(rows, cols):  # e.g. a CSR's own COO read back: skip the sort
            order = slice(None)
        else:
            order = np.lexsort((cols, rows))
            rows, cols, vals = rows[order], cols[order], vals[order]
        if rows.size > 1:
            same = (rows[1:] == rows[:-1]) & (cols[1:] == cols[:-1])
            if same.any():
                raise RatingsError(
                    f"{int(same.sum())} duplicate (user, item) pair(s); merge them first"
                )
        indptr = np.zeros(shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
        matrix = _csr(vals, cols, indptr, shape)
        return cls(
            matrix=matrix,
            user_ids=np.arange(shape[0]) if user_ids is None else np.asarray(user_ids),
            item_ids=np.arange(shape[1]) if item_ids is None else np.asarray(item_ids),
            timestamps=None
            if timestamps is None
            else np.asarray(timestamps, dtype=np.float64)[order],
            item_info=item_info,
            user_info=user_info,
            notes=tuple(notes),
        )

    @classmethod
    def from_matrix(cls, matrix: sp.spmatrix | sp.sparray, **kwargs: object) -> Ratings:
        """Wrap an existing sparse matrix (its stored entries are the observations)."""
        csr = sp.csr_matrix(matrix, dtype=np.float64, copy=True)
        csr.sum_duplicates()
        csr.sort_indices()
        n_users, n_items = csr.shape
        kwargs.setdefault("user_ids", np.arange(n_users))
        kwargs.setdefault("item_ids", np.arange(n_items))
        return cls(matrix=csr, **kwargs)  # type: ignore[arg-type]

    # ----------------------------------------------------------------------------- views
    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape

    @property
    def n_users(self) -> int:
        return self.matrix.shape[0]

    @property
    def n_items(self) -> int:
        return self.matrix.shape[1]

    @property
    def nnz(self) -> int:
        return int(self.matrix.nnz)

    @property
    def density(self) -> float:
        cells = self.n_users * self.n_items
        return self.nnz / cells if cells else 0.0

    @property
    def rating_scale(self) -> tuple[float, float]:
        """Smallest and largest observed rating (used to clip predictions)."""
        if self.nnz == 0:
            return (0.0, 0.0)
        return (float(self.matrix.data.min()), float(self.matrix.data.max()))

    def user_counts(self) -> np.ndarray:
        """Number of observed ratings of each user."""
        return np.diff(self.matrix.indptr)

    def item_counts(self) -> np.ndarray:
        """Number of observed ratings of each item."""
        return np.bincount(self.matrix.indices, minlength=self.n_items)

    def coo(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(user index, item index, rating) of every observation, in CSR order."""
        rows = np.repeat(np.arange(self.n_users), self.user_counts())
        return rows, self.matrix.indices.astype(np.int64), self.matrix.data

    def to_frame(self, *, labels: bool = True) -> pd.DataFrame:
        """Long table of the observations: user, item, rating (+ timestamp)."""
        rows, cols, vals = self.coo()
        out = pd.DataFrame(
            {
                "user": self.user_ids[rows] if labels else rows,
                "item": self.item_ids[cols] if labels else cols,
                "rating": vals,
            }
        )
        if self.timestamps is not None:
            out["timestamp"] = self.timestamps
        return out

    def select(self, keep: np.ndarray) -> Ratings:
        """The same users and items with only the observations where ``keep`` (CSR order)."""
        keep = np.asarray(keep, dtype=bool)
        if keep.shape != (self.nnz,):
            raise RatingsError(f"expected a mask of shape ({self.nnz},), got {keep.shape}")
        rows = np.repeat(np.arange(self.n_users), self.user_counts())
        indptr = np.zeros(self.n_users + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows[keep], minlength=self.n_users), out=indptr[1:])
        matrix = _csr(self.matrix.data[keep], self.matrix.indices[keep], indptr, self.shape)
        return Ratings(
            matrix=matrix,
            user_ids=self.user_ids,
            item_ids=self.item_ids,
            timestamps=None if self.timestamps is None else self.timestamps[keep],
            user_info=self.user_info,
            item_info=self.item_info,
            notes=self.notes,
        )

    def with_item_names(self, names: Any) -> Ratings:
        """These ratings with titles (and categories) for their items, as ``item_info``.

        Parameters
        ----------
        names : Names or pandas.DataFrame
            What ``ac.read_item_names`` returns, or a table indexed by item id with a
            ``title`` column (and optionally ``genres`` / ``genre``). Ids are matched as
            written (7 matches "7"); items without a name get a missing title and keep
            showing their id. Columns of an existing ``item_info`` that the names do not
            have are kept.

        Returns
        -------
        Ratings
            The same ratings (same matrix and ids) with the new ``item_info``.

        Examples
        --------
        >>> import pandas as pd
        >>> import als_core as ac
        >>> r = ac.Ratings.from_frame(pd.DataFrame(
        ...     {"user": [1, 1, 2], "item": [10, 20, 10], "rating": [4.0, 3.0, 5.0]}))
        >>> titles = pd.DataFrame({"title": ["Heat", "Up"]}, index=pd.Index(["10", "30"]))
        >>> r.with_item_names(titles).item_info
           id title
        0  10  Heat
        1  20   NaN
        """
        table = getattr(names, "table", names)
        return replace(self, item_info=_merge_info(self.item_info, table, self.item_ids))

    def with_user_names(self, names: Any) -> Ratings:
        """These ratings with names for their users, as ``user_info`` (see
        ``with_item_names``; the table's column is ``name``)."""
        table = getattr(names, "table", names)
        return replace(self, user_info=_merge_info(self.user_info, table, self.user_ids))

    def fingerprint(self) -> str:
        """A short hash of the observations and labels, stable across processes (cache key)."""
        h = hashlib.blake2b(digest_size=16)
        m = self.matrix
        h.update(repr(m.shape).encode())
        for arr in (m.indptr.astype(np.int64), m.indices.astype(np.int64), m.data):
            h.update(np.ascontiguousarray(arr).tobytes())
        for ids in (self.user_ids, self.item_ids):
            h.update(repr(ids.dtype).encode())
            h.update("\x1f".join(map(str, ids.tolist())).encode())
        if self.timestamps is not None:
            h.update(self.timestamps.tobytes())
        return h.hexdigest()

    def __repr__(self) -> str:
        return (
            f"Ratings({self.n_users} users x {self.n_items} items, {self.nnz} ratings, "
            f"density {self.density:.2%})"
        )


def _row_major_sorted(rows: np.ndarray, cols: np.ndarray) -> bool:
    """True when (row, col) pairs are already in row-major order (ties allowed)."""
    if rows.size < 2:
        return True
    row_step = np.diff(rows)
    return bool(np.all(row_step >= 0) and np.all((row_step > 0) | (np.diff(cols) >= 0)))


def _csr(
    data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, shape: tuple[int, int]
) -> sp.csr_matrix:
    """A canonical float64 CSR matrix that keeps stored zeros (they are real ratings)."""
    matrix = sp.csr_matrix(
        (np.asarray(data, dtype=np.float64), np.asarray(indices), np.asarray(indptr)), shape=shape
    )
    matrix.has_sorted_indices = True
    matrix.has_canonical_format = True
    return matrix


def duplicate_note_of(
    frame: pd.DataFrame,
    *,
    user: str = "user",
    item: str = "item",
    rating: str = "rating",
    policy: str = DEFAULT_DUPLICATES,
) -> DuplicateNote | None:
    """The ``DuplicateNote`` that ``Ratings.from_frame`` would record for ``frame``, or None
    when no (user, item) pair repeats (rows numbered from 0)."""
    part = frame[[user, item, rating]].set_axis(["user", "item", "rating"], axis=1)
    repeated = part.duplicated(["user", "item"], keep=False).to_numpy()
    return _frame_duplicates(part, repeated, policy) if repeated.any() else None


def _frame_duplicates(frame: pd.DataFrame, repeated: np.ndarray, policy: str) -> DuplicateNote:
    pairs = frame.loc[repeated, ["user", "item"]]
    second = pairs.duplicated(keep="first").to_numpy()
    first_repeat = int(np.flatnonzero(repeated)[np.flatnonzero(second)[0]])
    user, item = frame["user"].iloc[first_repeat], frame["item"].iloc[first_repeat]
    same = np.flatnonzero(((frame["user"] == user) & (frame["item"] == item)).to_numpy(dtype=bool))
    n_pairs = int(pairs.drop_duplicates().shape[0])
    return DuplicateNote(
        pairs=n_pairs,
        rows_merged=int(repeated.sum()) - n_pairs,
        policy=policy,
        user=_plain(user),
        item=_plain(item),
        values=tuple(float(v) for v in frame["rating"].to_numpy()[same]),
        rows=tuple(int(r) for r in same),
    )


def _merge_duplicates(frame: pd.DataFrame, policy: str) -> pd.DataFrame:
    if policy in ("last", "first"):
        return frame.drop_duplicates(["user", "item"], keep=policy)
    agg = {"rating": "mean"}
    if "timestamp" in frame.columns:
        agg["timestamp"] = "max"
    merged = frame.groupby(["user", "item"], sort=False, as_index=False).agg(agg)
    return merged


def _timestamps_as_float(ts: np.ndarray) -> np.ndarray:
    """Seconds as float64, whether the column holds numbers or date strings."""
    numeric = pd.to_numeric(pd.Series(ts), errors="coerce")
    if numeric.notna().all():
        return numeric.to_numpy(dtype=np.float64)
    dates = pd.to_datetime(pd.Series(ts), errors="coerce", utc=True)
    if dates.isna().any():
        first = int(np.flatnonzero(dates.isna().to_numpy())[0])
        raise RatingsError(
            f"{int(dates.isna().sum())} timestamp(s) are neither numbers nor dates "
            f"(first at row {first}: {ts[first]!r})"
        )
    return (dates - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds().to_numpy()


def _merge_info(info: pd.DataFrame | None, names: pd.DataFrame, ids: np.ndarray) -> pd.DataFrame:
    """One row per index: ``id``, the names' columns (matched by the ids' text), then the
    columns of ``info`` the names do not replace."""
    if not isinstance(names, pd.DataFrame):
        raise RatingsError(
            f"expected what read_item_names returns or a DataFrame indexed by id, got "
            f"{type(names).__name__}"
        )
    keys = pd.Index([str(i) for i in names.index])
    unique = ~keys.duplicated(keep="first")
    by_text = names[unique].set_axis(keys[unique], axis=0)
    aligned = by_text.reindex(pd.Index([str(i) for i in ids])).reset_index(drop=True)
    out = pd.DataFrame({"id": ids})
    out = pd.concat([out, aligned], axis=1)
    if info is not None:
        keep = [c for c in info.columns if c not in out.columns]
        out = pd.concat([out, info[keep].reset_index(drop=True)], axis=1)
    return out


def _align_info(info: pd.DataFrame | None, ids: np.ndarray) -> pd.DataFrame | None:
    if info is None:
        return None
    return info.reindex(pd.Index(ids)).reset_index(drop=False).rename(columns={"index": "id"})
