"""Looking at a fitted factorisation: a shared 2-D map, neighbours, explained recommendations,
and the orderings, subsets and block averages the reconstruction view needs.

Everything here is pure numpy/pandas and works on plain arrays or a fitted ``ALS``; nothing
knows about the dashboard.

The map
-------
Users and items live in the same k-dimensional space (a score is the dot product x_u·y_i), so
they must be drawn in ONE 2-D basis. ``shared_projection`` fits PCA once on the stacked factors
[X; Y] (or on the items only) and applies that same basis to both; with k = 2 the raw factors are
shown as they are, and with k = 1 the single factor is the first axis and the second is zero.
``align_projection`` turns a new projection to match a previous one (orthogonal Procrustes on the
points' coordinates), so replaying a fit does not flip or spin the picture between frames.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from .ratings import Ratings

FIT_ON = ("both", "items")
ORDERINGS = ("given", "activity", "leading factor")


# --------------------------------------------------------------------------------- projection
@dataclass(frozen=True)
class Projection:
    """Users and items placed in one 2-D basis.

    ``users`` (n_users, 2) and ``items`` (n_items, 2) are the coordinates; ``center`` (k,) and
    ``basis`` (k, 2) give them as ``(F − center) @ basis``, so ``transform`` places any other
    factors (a folded-in user, a snapshot) in the same picture. ``explained`` is the share of the
    variance of the fitted points along each axis. ``method`` is ``"pca"``, ``"raw"`` (k = 2) or
    ``"raw-1d"`` (k = 1: the second coordinate is 0).
    """

    users: np.ndarray
    items: np.ndarray
    center: np.ndarray
    basis: np.ndarray
    explained: np.ndarray
    method: str
    aligned: bool = False

    def transform(self, factors: np.ndarray) -> np.ndarray:
        """Coordinates of other factor vectors (rows of shape (k,)) in this basis."""
        F = np.atleast_2d(np.asarray(factors, dtype=np.float64))
        if F.shape[1] != self.basis.shape[0]:
            raise ValueError(
                f"expected factors with k={self.basis.shape[0]} columns, got shape {F.shape}"
            )
        return (F - self.center) @ self.basis

    @property
    def axis_titles(self) -> tuple[str, str]:
        """Axis names for a chart: what each axis is (and, for PCA, how much it explains).

        A turned projection (``align_projection``) says so: its axes are the named ones turned
        to match another picture, not the named ones themselves.
        """
        if self.method == "raw-1d":
            return ("factor 1", "")
        if self.method == "pca":
            names = [
                f"PC{j + 1} ({share:.0%} of variance)" for j, share in enumerate(self.explained)
            ]
        else:
            names = ["factor 1", "factor 2"]
        if self.aligned:
            names = [f"{name.split(' (')[0]}, turned to match" for name in names]
        return (names[0], names[1])


def shared_projection(
    user_factors: np.ndarray, item_factors: np.ndarray, *, fit_on: str = "both"
) -> Projection:
    """One 2-D basis for users and items: PCA fitted once, applied to both.

    Shapes: ``user_factors`` (n_users, k), ``item_factors`` (n_items, k). ``fit_on="both"`` fits
    on the stacked rows [X; Y] (each user and item weighs the same), ``"items"`` on the items
    only (useful when users vastly outnumber items). For k = 2 the raw factors are returned
    (no centering, so the origin and the dot-product geometry stay visible); for k = 1 the
    factor is the first coordinate and the second is 0. Each PCA axis is signed so that its
    largest loading is positive, which makes the result deterministic.
    """
    X = _as_factors(user_factors, "user_factors")
    Y = _as_factors(item_factors, "item_factors")
    if X.shape[1] != Y.shape[1]:
        raise ValueError(
            f"user and item factors must have the same k, got {X.shape[1]} and {Y.shape[1]}"
        )
    if fit_on not in FIT_ON:
        raise ValueError(f"fit_on must be one of {FIT_ON}, got {fit_on!r}")
    k = X.shape[1]
    if k <= 2:
        basis = np.eye(k, 2)
        center = np.zeros(k)
        stacked = np.vstack([X, Y])
        var = stacked.var(axis=0) if len(stacked) else np.zeros(k)
        explained = np.zeros(2)
        explained[:k] = var / var.sum() if var.sum() > 0 else 0.0
        method = "raw" if k == 2 else "raw-1d"
    else:
        fit_rows = np.vstack([X, Y]) if fit_on == "both" else Y
        center = fit_rows.mean(axis=0) if len(fit_rows) else np.zeros(k)
        vectors, s = _gram_svd(fit_rows - center)
        basis = vectors[:, :2].copy()
        flip = np.sign(basis[np.argmax(np.abs(basis), axis=0), [0, 1]])
        basis *= np.where(flip == 0, 1.0, flip)
        total = float(np.sum(s**2))
        explained = (s[:2] ** 2) / total if total > 0 else np.zeros(2)
        method = "pca"
    return Projection(
        users=(X - center) @ basis,
        items=(Y - center) @ basis,
        center=center,
        basis=basis,
        explained=np.asarray(explained, dtype=np.float64),
        method=method,
    )


def procrustes_rotation(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The orthogonal matrix Q (d, d) minimising ‖source @ Q − target‖ (reflections allowed).

    Shapes: ``source`` and ``target`` are (n, d) with the same rows. Solved by the SVD of
    sourceᵀ target = U S Vᵀ, Q = U Vᵀ (Schönemann 1966).
    """
    A = np.asarray(source, dtype=np.float64)
    B = np.asarray(target, dtype=np.float64)
    if A.shape != B.shape or A.ndim != 2:
        raise ValueError(f"expected two (n, d) arrays of the same shape, got {A.shape}, {B.shape}")
    u, _, vt = np.linalg.svd(A.T @ B)
    return u @ vt


def align_projection(current: Projection, previous: Projection | None) -> Projection:
    """Turn ``current`` (rotation and/or reflection) to look as much as possible like ``previous``.

    Both must place the same users and items (same counts); otherwise ``current`` is returned
    unchanged. Distances and angles in the picture are kept; only its orientation changes.
    """
    if previous is None:
        return current
    if previous.users.shape != current.users.shape or previous.items.shape != current.items.shape:
        return current
    source = np.vstack([current.users, current.items])
    target = np.vstack([previous.users, previous.items])
    if current.method == "raw-1d":
        # One real axis: only its sign can change.
        sign = 1.0 if float(source[:, 0] @ target[:, 0]) >= 0 else -1.0
        Q = np.diag([sign, 1.0])
    else:
        Q = procrustes_rotation(source, target)
    if np.allclose(Q, np.eye(2)):
        return current
    return replace(
        current,
        users=current.users @ Q,
        items=current.items @ Q,
        basis=current.basis @ Q,
        aligned=current.method != "raw-1d",
    )


# --------------------------------------------------------------------------------- neighbours
def cosine_similarities(factors: np.ndarray, index: int) -> np.ndarray:
    """Cosine similarity of every row of ``factors`` (n, k) to row ``index``: the angle only,
    blind to the vectors' lengths. Rows with a zero vector have similarity 0 to everything."""
    F = _as_factors(factors, "factors")
    _check_one_index(index, len(F), "row")
    norms = np.linalg.norm(F, axis=1)
    safe = np.where(norms > 0, norms, 1.0)
    sim = (F @ F[index]) / (safe * safe[index])
    sim[norms == 0] = 0.0
    if norms[index] == 0:
        sim[:] = 0.0
    return sim


def _top(scores: np.ndarray, index: int, n: int) -> np.ndarray:
    """The n highest ``scores`` (row ``index`` left out), ties to the lower index."""
    candidates = np.delete(np.arange(len(scores)), index)
    n = max(0, min(int(n), len(candidates)))
    return candidates[np.lexsort((candidates, -scores[candidates]))[:n]]


def cosine_neighbours(
    factors: np.ndarray, index: int, *, n: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """The n rows most similar to row ``index`` by cosine similarity (itself excluded).

    Returns (indices, similarities), most similar first; ties go to the lower index. Rows with a
    zero vector have similarity 0 to everything.
    """
    sim = cosine_similarities(factors, index)
    chosen = _top(sim, index, n)
    return chosen, sim[chosen]


def co_ratings(ratings: Ratings, item: int) -> np.ndarray:
    """n_ij for every item j: how many users rated both ``item`` and j (j = item: its count)."""
    _check_one_index(item, ratings.n_items, "item")
    R = ratings.matrix
    raters = R[:, [item]].tocoo().row
    seen = R[raters]
    return np.bincount(seen.indices, minlength=ratings.n_items).astype(np.int64)


def nearest_neighbours(
    factors: np.ndarray,
    index: int,
    *,
    n: int = 10,
    labels: Any = None,
    support: np.ndarray | None = None,
    shrinkage: float = 0.0,
) -> pd.DataFrame:
    """Nearest rows as a table: rank, index, label, similarity, cosine, length (‖f‖).

    ``similarity`` ranks them: the cosine (the direction of taste only, blind to how long, i.e.
    how well supported, a vector is), or with ``support`` (n_ij per row, e.g. ``co_ratings``)
    and ``shrinkage`` β > 0 the shrunk cosine n_ij / (n_ij + β) · cosine, which pulls pairs
    backed by few shared ratings towards 0. With β = 0 the similarity is the plain cosine, also
    for rows with n_ij = 0. A ``support`` column is added whenever ``support`` is given.
    """
    F = _as_factors(factors, "factors")
    cosine = cosine_similarities(F, index)
    score = cosine
    if support is not None:
        support = np.asarray(support, dtype=np.float64)
        if support.shape != (len(F),):
            raise ValueError(f"expected support of shape ({len(F)},), got {support.shape}")
        if not (np.isfinite(shrinkage) and shrinkage >= 0):
            raise ValueError(f"shrinkage must be a finite number ≥ 0, got {shrinkage!r}")
        # β = 0 is no shrinkage: n/(n + 0) would be 0/0 for a pair without shared raters.
        if shrinkage > 0:
            score = cosine * (support / (support + float(shrinkage)))
    idx = _top(score, index, n)
    names = np.asarray(labels)[idx] if labels is not None else idx.astype(str)
    table = pd.DataFrame(
        {
            "rank": np.arange(1, len(idx) + 1),
            "index": idx,
            "label": names,
            "similarity": score[idx],
            "cosine": cosine[idx],
            "length": np.linalg.norm(F[idx], axis=1),
        }
    )
    if support is not None:
        table["support"] = support[idx].astype(np.int64)
    return table


# --------------------------------------------------------------------------------- recommendations
def explain_recommendations(
    model: Any,
    user_idx: int,
    *,
    n: int = 10,
    exclude_seen: bool = True,
    exclude: Any = None,
) -> pd.DataFrame:
    """Top-n recommendations for a user and the parts that add up to each score (tidy).

    One row per (recommendation, part): columns rank, item, item_id, score, part, contribution.
    Parts are ``"global mean"``, ``"user bias"``, ``"item bias"`` (models with biases),
    ``"factor 1"`` … ``"factor k"`` (the products x_uf·y_if), and ``"cold-start fallback"`` when
    the model scores a user or item without training ratings by the training mean. For each
    recommendation the contributions sum to its score (unclipped, as ``model.recommend`` ranks).
    ``exclude`` lists more item indices to leave out, e.g. the user's held-out validation
    ratings (``exclude_seen`` only knows the training ratings).
    """
    extra = np.unique(np.asarray([] if exclude is None else exclude, dtype=np.int64))
    recs = model.recommend(user_idx, n=n + len(extra), exclude_seen=exclude_seen)
    if len(extra):
        recs = recs[~np.isin(recs["item"].to_numpy(), extra)].head(n)
        recs = recs.assign(rank=np.arange(1, len(recs) + 1))
    items = recs["item"].to_numpy(dtype=np.int64)
    parts = _score_parts(model, int(user_idx), items)
    scores = recs["score"].to_numpy(dtype=np.float64)
    residual = scores - parts.sum(axis=1)
    names = _part_names(model)
    if np.any(np.abs(residual) > 1e-9 * max(1.0, float(np.abs(scores).max(initial=0.0)))):
        parts = np.column_stack([parts, residual])
        names.append("cold-start fallback")
    n_parts = len(names)
    return pd.DataFrame(
        {
            "rank": np.repeat(recs["rank"].to_numpy(), n_parts),
            "item": np.repeat(items, n_parts),
            "item_id": np.repeat(recs["item_id"].to_numpy(), n_parts),
            "score": np.repeat(scores, n_parts),
            "part": np.tile(np.asarray(names, dtype=object), len(items)),
            "contribution": parts.ravel(),
        }
    )


def _part_names(model: Any) -> list[str]:
    k = model.user_factors_.shape[1]
    names = ["global mean", "user bias", "item bias"] if model.biases else []
    return names + [f"factor {f + 1}" for f in range(k)]


def _score_parts(model: Any, user: int, items: np.ndarray) -> np.ndarray:
    """(len(items), n_parts): the terms of μ + b_u + b_i + Σ_f x_uf y_if for each item."""
    x = np.asarray(model.user_factors_[user], dtype=np.float64)
    products = np.asarray(model.item_factors_[items], dtype=np.float64) * x
    if not model.biases:
        return products
    fixed = np.column_stack(
        [
            np.full(len(items), float(model.global_mean_)),
            np.full(len(items), float(model.user_bias_[user])),
            np.asarray(model.item_bias_[items], dtype=np.float64),
        ]
    )
    return np.hstack([fixed, products])


# --------------------------------------------------------------------------------- labels & stats
def item_labels(ratings: Ratings) -> np.ndarray:
    """A unique, readable name per item: its title where item_info has one, else its id
    ("item 12" for a numeric id, so a bare number is not mistaken for a rating or a count)."""
    names = _info_column(ratings.item_info, ("title", "name"))
    return _unique_labels(names, ratings.item_ids, "item")


def user_labels(ratings: Ratings) -> np.ndarray:
    """A unique, readable name per user: a name from user_info if present, else its id
    ("user 7" for a numeric id)."""
    names = _info_column(ratings.user_info, ("name", "title"))
    return _unique_labels(names, ratings.user_ids, "user")


def item_genres(ratings: Ratings) -> np.ndarray | None:
    """Each item's first genre (from a genre/genres column, "A|B" or "A, B"), or None."""
    col = _info_column(ratings.item_info, ("genre", "genres"))
    if col is None:
        return None
    first = pd.Series(col, dtype=object).fillna("(none)").astype(str)
    first = first.str.split(r"[|,]", regex=True).str[0].str.strip()
    return first.replace("", "(none)").to_numpy(dtype=object)


def item_summary(ratings: Ratings) -> pd.DataFrame:
    """Per item: number of ratings and mean rating (NaN when unrated)."""
    counts = ratings.item_counts()
    sums = np.bincount(ratings.matrix.indices, weights=ratings.matrix.data, minlength=len(counts))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return pd.DataFrame({"n_ratings": counts, "mean_rating": mean})


def _info_column(info: pd.DataFrame | None, names: tuple[str, ...]) -> np.ndarray | None:
    if info is None:
        return None
    lower = {str(c).lower(): c for c in info.columns}
    for name in names:
        if name in lower:
            return info[lower[name]].to_numpy(dtype=object)
    return None


def _unique_labels(names: np.ndarray | None, ids: np.ndarray, kind: str) -> np.ndarray:
    """``names`` where given (not missing or empty), else the id: "item 12" for a numeric id;
    a name that repeats gets its id in brackets ("Alien [3]")."""
    ids_text = np.array([str(i) for i in ids], dtype=object)
    if np.issubdtype(np.asarray(ids).dtype, np.number):
        fallback = np.array([f"{kind} {i}" for i in ids_text], dtype=object)
    else:
        fallback = ids_text
    if names is None:
        base = fallback
    else:
        base = np.array(
            [
                str(n) if (n is not None and not pd.isna(n) and str(n)) else i
                for n, i in zip(names, fallback, strict=True)
            ],
            dtype=object,
        )
    dup = pd.Series(base).duplicated(keep=False).to_numpy()
    if dup.any():
        base = base.copy()
        base[dup] = [f"{b} [{i}]" for b, i in zip(base[dup], ids_text[dup], strict=True)]
    return base


# --------------------------------------------------------------------------------- ordering
def most_active(counts: np.ndarray, n: int | None) -> np.ndarray:
    """Indices of the n largest counts (ties to the lower index), returned in index order.

    ``n=None`` or n ≥ len(counts) keeps everything.
    """
    counts = np.asarray(counts)
    if n is None or n >= len(counts):
        return np.arange(len(counts))
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    top = np.lexsort((np.arange(len(counts)), -counts))[:n]
    return np.sort(top)


def leading_pattern(
    user_factors: np.ndarray, item_factors: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """The strongest pattern in the model's predictions, as one score per user and per item.

    The leading singular vectors (u₁, v₁) of the doubly centred prediction matrix
    (X − x̄)(Y − ȳ)ᵀ: users high on u₁ rate items high on v₁ above their averages. Centring
    removes the overall level and the biases, so sorting by these scores makes blocks appear.
    Computed via two thin QR factorisations (never the full n_users × n_items matrix).
    Returns (user scores (n_users,), item scores (n_items,), share of the centred prediction
    matrix's squared norm in this pattern). Signed so the largest item score is positive.
    """
    X = _as_factors(user_factors, "user_factors")
    Y = _as_factors(item_factors, "item_factors")
    Xc = X - X.mean(axis=0)
    Yc = Y - Y.mean(axis=0)
    # Xc = Ux·diag(sx)·Vxᵀ (likewise Yc), so Xc Ycᵀ = Ux (diag(sx) Vxᵀ Vy diag(sy)) Uyᵀ and the
    # small core's singular vectors give u₁ = Xc Vx diag(1/sx) a₁ without forming Ux.
    vx, sx = _gram_svd(Xc, drop_null=True)
    vy, sy = _gram_svd(Yc, drop_null=True)
    if not (len(sx) and len(sy)):  # no spread on one side: no pattern to sort by
        return np.zeros(len(X)), np.zeros(len(Y)), 0.0
    a, s, bt = np.linalg.svd((sx[:, None] * vx.T) @ (vy * sy))
    u1 = Xc @ (vx @ (a[:, 0] / sx))
    v1 = Yc @ (vy @ (bt[0] / sy))
    if len(v1) and v1[np.argmax(np.abs(v1))] < 0:
        u1, v1 = -u1, -v1
    total = float(np.sum(s**2))
    share = float(s[0] ** 2 / total) if total > 0 else 0.0
    return u1, v1, share


def _gram_svd(A: np.ndarray, *, drop_null: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Right singular vectors (columns, largest first) and singular values of a tall ``A``,
    from the eigenvectors of its k×k Gram matrix AᵀA: the same as ``np.linalg.svd`` for the
    factor matrices here, ~10× faster at 200k rows. ``drop_null`` leaves out directions with no
    spread (singular value below 1e-6 of the largest)."""
    eigenvalues, vectors = np.linalg.eigh(A.T @ A)
    order = np.argsort(eigenvalues)[::-1]
    values = np.sqrt(np.clip(eigenvalues[order], 0.0, None))
    vectors = vectors[:, order]
    if drop_null:
        keep = values > 1e-6 * values.max(initial=0.0)
        values, vectors = values[keep], vectors[:, keep]
    return vectors, values


def order_rows_and_columns(
    users: np.ndarray,
    items: np.ndarray,
    *,
    by: str = "given",
    user_counts: np.ndarray | None = None,
    item_counts: np.ndarray | None = None,
    user_factors: np.ndarray | None = None,
    item_factors: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Reorder a chosen set of users and items for the reconstruction picture.

    ``by="given"`` keeps them as passed; ``"activity"`` puts the most ratings first (needs the
    counts); ``"leading factor"`` sorts both by the ``leading_pattern`` of the full model (needs
    the factors), so users and items that go together end up in the same block. Stable: ties
    keep the given order.
    """
    users = np.asarray(users, dtype=np.int64)
    items = np.asarray(items, dtype=np.int64)
    if by == "given":
        return users, items
    if by == "activity":
        if user_counts is None or item_counts is None:
            raise ValueError('ordering by "activity" needs user_counts and item_counts')
        u_key, i_key = -np.asarray(user_counts)[users], -np.asarray(item_counts)[items]
    elif by == "leading factor":
        if user_factors is None or item_factors is None:
            raise ValueError('ordering by "leading factor" needs user_factors and item_factors')
        u_score, i_score, _ = leading_pattern(user_factors, item_factors)
        u_key, i_key = -u_score[users], -i_score[items]
    else:
        raise ValueError(f"by must be one of {ORDERINGS}, got {by!r}")
    return users[np.argsort(u_key, kind="stable")], items[np.argsort(i_key, kind="stable")]


# --------------------------------------------------------------------------------- reconstruction
@dataclass(frozen=True)
class ReconstructionGrid:
    """R, the model's predictions and the residual on a grid of cells or blocks of cells.

    Rows follow ``users`` and columns ``items`` (indices, in display order). Grid row g covers
    the users ``users[row_bounds[g]:row_bounds[g + 1]]`` and grid column h the items
    ``items[col_bounds[h]:col_bounds[h + 1]]``: one each in a cell grid, consecutive runs of
    nearly equal length (they differ by at most one) in a block grid. All arrays have the
    grid's shape:

    - ``actual``: mean observed rating (train and validation), NaN where nothing is observed;
    - ``predicted``: mean prediction over every cell of the block (observed or not);
    - ``residual``: mean of actual − predicted over the observed cells only, NaN elsewhere;
    - ``n_observed`` / ``n_validation``: how many observed / held-out ratings fall in the block.
    """

    users: np.ndarray
    items: np.ndarray
    row_bounds: np.ndarray
    col_bounds: np.ndarray
    actual: np.ndarray
    predicted: np.ndarray
    residual: np.ndarray
    n_observed: np.ndarray
    n_validation: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.actual.shape

    @property
    def block(self) -> tuple[int, int]:
        """The largest number of users and of items averaged into one grid cell."""
        return int(np.diff(self.row_bounds).max()), int(np.diff(self.col_bounds).max())

    @property
    def is_cells(self) -> bool:
        return self.block == (1, 1)

    def cell_rmse(self, *, held_out: bool) -> float:
        """RMSE of the (clipped) predictions on the training cells (``held_out=False``) or the
        validation cells (``True``) of a cell grid; NaN when there are none, or in a block grid
        (a block's residual is a mean, not one error)."""
        if not self.is_cells:
            return float("nan")
        held = self.n_validation > 0
        mask = held if held_out else (self.n_observed > 0) & ~held
        if not mask.any():
            return float("nan")
        return float(np.sqrt(np.mean(np.asarray(self.residual, dtype=np.float64)[mask] ** 2)))

    def row_groups(self) -> list[np.ndarray]:
        """The user indices behind each grid row."""
        b = self.row_bounds
        return [self.users[b[g] : b[g + 1]] for g in range(len(b) - 1)]

    def column_groups(self) -> list[np.ndarray]:
        """The item indices behind each grid column."""
        b = self.col_bounds
        return [self.items[b[g] : b[g + 1]] for g in range(len(b) - 1)]


def _even_bounds(n: int, most: int) -> np.ndarray:
    """Cut 0..n into at most ``most`` consecutive runs whose lengths differ by at most one."""
    groups = -(-n // -(-n // most))
    return (np.arange(groups + 1) * n) // groups


def reconstruction_grid(
    model: Any,
    train: Ratings,
    validation: Ratings | None,
    users: np.ndarray,
    items: np.ndarray,
    *,
    max_rows: int = 200,
    max_cols: int = 200,
    dtype: type = np.float32,
) -> ReconstructionGrid:
    """Build the R / XYᵀ / residual grid for the chosen users and items (in display order).

    When there are more than ``max_rows`` users or ``max_cols`` items, consecutive runs are
    averaged into blocks so the grid never exceeds max_rows × max_cols: the result stays small
    enough to draw whatever the data size. Predictions are ``model.predict`` values (clipped to
    the training scale), computed by matrix products in row chunks of bounded memory.
    """
    users = np.asarray(users, dtype=np.int64)
    items = np.asarray(items, dtype=np.int64)
    if len(users) == 0 or len(items) == 0:
        raise ValueError("choose at least one user and one item to draw")
    if max_rows < 1 or max_cols < 1:
        raise ValueError(f"max_rows and max_cols must be ≥ 1, got {max_rows} and {max_cols}")
    row_bounds = _even_bounds(len(users), max_rows)
    col_bounds = _even_bounds(len(items), max_cols)
    gh, gw = len(row_bounds) - 1, len(col_bounds) - 1

    rows, cols, vals, held = _observed_in(train, validation, users, items)
    pred_obs = model.predict(users[rows], items[cols]) if len(rows) else np.zeros(0)
    row_group = np.searchsorted(row_bounds, rows, side="right") - 1
    col_group = np.searchsorted(col_bounds, cols, side="right") - 1
    gid = row_group * gw + col_group
    n_obs = np.bincount(gid, minlength=gh * gw)
    n_val = np.bincount(gid, weights=held.astype(np.float64), minlength=gh * gw)
    sum_actual = np.bincount(gid, weights=vals, minlength=gh * gw)
    sum_resid = np.bincount(gid, weights=vals - pred_obs, minlength=gh * gw)
    with np.errstate(invalid="ignore", divide="ignore"):
        actual = np.where(n_obs > 0, sum_actual / n_obs, np.nan)
        residual = np.where(n_obs > 0, sum_resid / n_obs, np.nan)
    predicted = _block_mean_predictions(model, users, items, row_bounds, col_bounds)
    shape = (gh, gw)
    return ReconstructionGrid(
        users=users,
        items=items,
        row_bounds=row_bounds,
        col_bounds=col_bounds,
        actual=actual.reshape(shape).astype(dtype),
        predicted=predicted.astype(dtype),
        residual=residual.reshape(shape).astype(dtype),
        n_observed=n_obs.reshape(shape).astype(np.int64),
        n_validation=n_val.reshape(shape).astype(np.int64),
    )


def _observed_in(
    train: Ratings, validation: Ratings | None, users: np.ndarray, items: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Positions (in the users/items order), values and held-out flags of observed cells."""
    parts = []
    for source, flag in ((train, False), (validation, True)):
        if source is None:
            continue
        sub = source.matrix[users][:, items].tocoo()
        parts.append((sub.row, sub.col, sub.data, np.full(sub.nnz, flag)))
    rows = np.concatenate([p[0] for p in parts]).astype(np.int64)
    cols = np.concatenate([p[1] for p in parts]).astype(np.int64)
    vals = np.concatenate([p[2] for p in parts]).astype(np.float64)
    held = np.concatenate([p[3] for p in parts]).astype(bool)
    return rows, cols, vals, held


def dense_predictions(model: Any, users: np.ndarray, items: np.ndarray) -> np.ndarray:
    """``model.predict`` on the full users × items grid, as one (len(users), len(items)) array.

    Same numbers as ``model.predict(users[:, None], items[None, :])`` (clipped, cold-start
    fallback), but through one matrix product instead of a k-wide gather per cell.
    """
    users = np.asarray(users, dtype=np.int64)
    items = np.asarray(items, dtype=np.int64)
    X = np.asarray(model.user_factors_[users], dtype=np.float64)
    Y = np.asarray(model.item_factors_[items], dtype=np.float64)
    pred = X @ Y.T + float(model.global_mean_)
    if model.biases:
        pred += np.asarray(model.user_bias_[users], dtype=np.float64)[:, None]
        pred += np.asarray(model.item_bias_[items], dtype=np.float64)[None, :]
    else:
        cold_u = np.asarray(model.user_counts_)[users] == 0
        cold_i = np.asarray(model.item_counts_)[items] == 0
        pred[cold_u, :] = model.train_mean_
        pred[:, cold_i] = model.train_mean_
    lo, hi = model.rating_scale_
    np.clip(pred, lo, hi, out=pred)
    return pred


def _block_mean_predictions(
    model: Any,
    users: np.ndarray,
    items: np.ndarray,
    row_bounds: np.ndarray,
    col_bounds: np.ndarray,
) -> np.ndarray:
    col_sizes = np.diff(col_bounds)
    # Whole row groups per chunk, about two million predicted cells at a time.
    budget = max(1, 2_000_000 // max(1, len(items)))
    groups = len(row_bounds) - 1
    out = []
    first = 0
    while first < groups:
        last = first + 1
        while last < groups and row_bounds[last + 1] - row_bounds[first] <= budget:
            last += 1
        lo, hi = row_bounds[first], row_bounds[last]
        pred = dense_predictions(model, users[lo:hi], items)
        col_sums = np.add.reduceat(pred, col_bounds[:-1], axis=1)
        sums = np.add.reduceat(col_sums, row_bounds[first:last] - lo, axis=0)
        out.append(sums / np.outer(np.diff(row_bounds[first : last + 1]), col_sizes))
        first = last
    return np.vstack(out)


# --------------------------------------------------------------------------------- checks
def _as_factors(F: Any, name: str) -> np.ndarray:
    arr = np.asarray(F, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (n, k), got shape {arr.shape}")
    return arr


def _check_one_index(index: Any, n: int, what: str) -> None:
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise ValueError(f"{what} index must be an integer, got {index!r}")
    if not 0 <= index < n:
        raise IndexError(f"{what} index {index} out of range: valid indices are 0..{n - 1}")
