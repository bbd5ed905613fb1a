"""Implicit-feedback ALS (Hu, Koren & Volinsky, "Collaborative Filtering for Implicit Feedback
Datasets", ICDM 2008).

Every stored value r_ui ≥ 0 (a count, a play time, or a star rating used as a strength) becomes

    preference  p_ui = 1 if r_ui > 0 else 0        confidence  c_ui = 1 + α·r_ui

and every cell of the users × items matrix counts, observed or not (unobserved: p = 0, c = 1):

    Σ_all (u, i) c_ui (p_ui − x_u·y_i)² + λ (Σ_u ‖x_u‖² + Σ_i ‖y_i‖²)

One half-step solves, for every user, (Yᵀ C_u Y + λI) x_u = Yᵀ C_u p_u. The YᵀY trick makes it
cheap: Yᵀ C_u Y = YᵀY + Yᵀ (C_u − I) Y, where YᵀY is shared by all users and C_u − I is zero
off the user's observed items, so a user costs O(n_u k² + k³), not O(n_items k²). Items are
the same with X and Rᵀ. Two solvers:

- ``"cholesky"``: the exact solve of each symmetric positive-definite k × k system, batched over
  users of similar length (one stacked matrix product for the Gram matrices, one batched LAPACK
  solve; ``np.linalg.solve`` measured about 6× faster here than batched Cholesky plus two
  triangular solves, and gives the same solution to rounding).
- ``"cg"``: ``cg_steps`` steps of conjugate gradient per half-step, warm-started from the
  current factors (as the ``implicit`` library does), for all users at once: each step costs one
  pass over the observed entries and one n × k by k × k product; no per-user loop at all.
  Measured on 80,000 interactions (benchmarks/bench_methods.py): as fast as the exact path at
  k = 20, about 2× slower at k = 50, because every CG product streams nnz × k gathered values
  through memory while the exact path's k² work per interaction runs in BLAS. (The ``implicit``
  library's CG wins there thanks to a compiled per-user loop.) It is here to compare solvers.

The objective is evaluated without densifying: Σ_all (p − s)² over the unobserved cells is
folded into tr(XᵀX · YᵀY), giving data term = tr(XᵀX YᵀY) + Σ_observed [c (p − s)² − s²] with
s = x_u·y_i.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._params import ParamsMixin
from ._validation import (
    as_csr,
    as_fixed,
    check_dtype,
    check_index,
    check_int_at_least,
    check_lam,
    check_non_negative,
    check_positive_int,
    check_validation_shape,
)
from .als import FitEvent, initial_factors
from .baselines import recommend_from_scores
from .embed import cosine_neighbours
from .errors import NonFiniteFactorsError, NotFittedError
from .ratings import Ratings

SOLVERS = ("cholesky", "cg")
IMPLICIT_HISTORY_COLUMNS = [
    "iteration",
    "side",
    "objective",
    "data_term",
    "regularization_term",
    "precision_at_n",
    "recall_at_n",
    "ndcg_at_n",
    "seconds",
    "elapsed",
]
# Elements in one gathered (rows, length, k) block: bounds memory as in the explicit solver.
BLOCK_ELEMENTS = 1 << 18
# Observed entries handled at once when computing x_u·y_i over all of them.
CHUNK = 1 << 16
# Largest (nnz × k) gathered copy of the fixed factors that CG keeps for one half-step (64 MB).
CACHE_ELEMENTS = 1 << 23


# --------------------------------------------------------------------------------- pieces
@dataclass(frozen=True)
class _Rows:
    """One orientation of the data (users, or items via Rᵀ): CSR structure, α·r, c·p."""

    indptr: np.ndarray
    indices: np.ndarray
    rows: np.ndarray  # row index of every stored entry
    extra_confidence: np.ndarray  # c − 1 = α·r, per stored entry
    weighted_preference: np.ndarray  # c·p, per stored entry
    shape: tuple[int, int]

    @classmethod
    def build(cls, R: sp.csr_matrix, alpha: float) -> _Rows:
        preference = (R.data > 0).astype(np.float64)
        extra = float(alpha) * R.data
        return cls(
            indptr=R.indptr,
            indices=R.indices.astype(np.intp),
            rows=np.repeat(np.arange(R.shape[0]), np.diff(R.indptr)),
            extra_confidence=extra,
            weighted_preference=(1.0 + extra) * preference,
            shape=R.shape,
        )

    def times(self, values: np.ndarray, F: np.ndarray) -> np.ndarray:
        """Σ_i values_ui f_i for every row: a sparse matrix with R's pattern times F."""
        M = sp.csr_matrix((values, self.indices, self.indptr), shape=self.shape)
        return np.asarray(M @ F)


def _observed_dots(A: np.ndarray, B: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """a_r · b_c for every (r, c) pair, in chunks of bounded memory."""
    out = np.empty(len(rows), dtype=np.result_type(A, B))
    for s in range(0, len(rows), CHUNK):
        a = np.take(A, rows[s : s + CHUNK], axis=0)
        out[s : s + CHUNK] = np.einsum("nk,nk->n", a, np.take(B, cols[s : s + CHUNK], axis=0))
    return out


def _length_chunks(indptr: np.ndarray, k: int) -> list[np.ndarray]:
    """Non-empty rows sorted by length and cut into groups of similar length and bounded size."""
    counts = np.diff(indptr)
    order = np.argsort(counts, kind="stable")
    order = order[counts[order] > 0]
    sorted_counts = counts[order]
    chunks = []
    start = 0
    while start < len(order):
        c0 = int(sorted_counts[start])
        stop = int(np.searchsorted(sorted_counts, max(int(c0 * 1.25), c0 + 4), side="right"))
        longest = int(sorted_counts[stop - 1])
        stop = min(stop, start + max(1, BLOCK_ELEMENTS // max(longest * k, k * k)))
        chunks.append(order[start:stop])
        start = stop
    return chunks


def implicit_half_step(
    R: sp.spmatrix | sp.sparray | Ratings,
    fixed: np.ndarray,
    lam: float,
    alpha: float,
    *,
    solver: str = "cholesky",
    current: np.ndarray | None = None,
    cg_steps: int = 3,
) -> np.ndarray:
    """Solve every row of the implicit objective with the other side's factors held fixed.

    Shapes: R is (n_rows, n_cols) sparse with values ≥ 0, ``fixed`` is (n_cols, k); the result is
    (n_rows, k). For users pass R and Y, for items R.T and X. Row u gets
    x_u = (FᵀF + Fᵀ(C_u − I)F + λI)⁻¹ Fᵀ C_u p_u (as a solve). ``solver="cg"`` instead takes
    ``cg_steps`` conjugate-gradient steps from ``current`` (zeros when None).
    """
    matrix = as_csr(R)
    _check_values(matrix)
    fixed = as_fixed(fixed, matrix.shape[1])
    check_lam(lam)
    check_non_negative("alpha", alpha)
    _check_solver(solver, cg_steps)
    data = _Rows.build(matrix, alpha)
    if solver == "cg":
        x0 = (
            np.zeros((matrix.shape[0], fixed.shape[1]), fixed.dtype) if current is None else current
        )
        if x0.shape != (matrix.shape[0], fixed.shape[1]):
            raise ValueError(
                f"expected current of shape {(matrix.shape[0], fixed.shape[1])}, got {x0.shape}"
            )
        return _solve_cg(data, fixed, float(lam), x0.astype(fixed.dtype), cg_steps)
    return _solve_exact(data, fixed, float(lam), _length_chunks(data.indptr, fixed.shape[1]))


def _solve_exact(data: _Rows, F: np.ndarray, lam: float, chunks: list[np.ndarray]) -> np.ndarray:
    n_rows, k = data.shape[0], F.shape[1]
    dtype = F.dtype
    base = F.T @ F + lam * np.eye(k, dtype=dtype)  # YᵀY + λI, shared by every row
    F_ext = np.vstack([F, np.zeros((1, k), dtype=dtype)])  # padding points at a zero row
    extra = np.append(data.extra_confidence, 0.0).astype(dtype)
    target = np.append(data.weighted_preference, 0.0).astype(dtype)
    nnz = len(data.indices)
    indices_ext = np.append(data.indices, F.shape[0])
    out = np.zeros((n_rows, k), dtype=dtype)
    for rows in chunks:
        counts = data.indptr[rows + 1] - data.indptr[rows]
        length = int(counts.max())
        offsets = np.arange(length)
        pos = data.indptr[rows][:, None] + offsets[None, :]
        pos = np.where(offsets[None, :] < counts[:, None], pos, nnz)
        block = F_ext[indices_ext[pos]]  # (B, L, k)
        blockT = block.transpose(0, 2, 1)
        gram = np.matmul(blockT, block * extra[pos][:, :, None]) + base  # YᵀC_uY + λI
        rhs = np.matmul(blockT, target[pos][:, :, None])  # YᵀC_u p_u
        out[rows] = _solve_spd(gram, rhs)
    # Rows with no observations keep 0: their right-hand side is 0, so 0 is their exact solution.
    return out


def _solve_spd(gram: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(gram, rhs)[:, :, 0]
    except np.linalg.LinAlgError:
        # Only reachable with λ = 0 and rank-deficient factors: least-norm solution instead.
        return np.matmul(np.linalg.pinv(gram, hermitian=True), rhs)[:, :, 0]


def _solve_cg(data: _Rows, F: np.ndarray, lam: float, x0: np.ndarray, steps: int) -> np.ndarray:
    """``steps`` conjugate-gradient steps on every row's system at once, from x0."""
    base = F.T @ F + lam * np.eye(F.shape[1], dtype=F.dtype)
    # F is fixed for the whole half-step: gather its observed rows once (when that fits in
    # CACHE_ELEMENTS) instead of in every product; measured 3x faster per product.
    gathered = None
    if len(data.indices) * F.shape[1] <= CACHE_ELEMENTS:
        gathered = np.take(F, data.indices, axis=0)

    def matvec(V: np.ndarray) -> np.ndarray:
        if gathered is None:
            s = _observed_dots(V, F, data.rows, data.indices)
        else:
            s = np.einsum("nk,nk->n", np.take(V, data.rows, axis=0), gathered)
        return V @ base + data.times(data.extra_confidence * s, F)

    b = data.times(data.weighted_preference, F)
    x = x0.copy()
    r = b - matvec(x)
    p = r.copy()
    rs = np.einsum("nk,nk->n", r, r)
    for _ in range(int(steps)):
        Ap = matvec(p)
        pAp = np.einsum("nk,nk->n", p, Ap)
        step = np.divide(rs, pAp, out=np.zeros_like(rs), where=pAp > 0)
        x += step[:, None] * p
        r -= step[:, None] * Ap
        rs_new = np.einsum("nk,nk->n", r, r)
        beta = np.divide(rs_new, rs, out=np.zeros_like(rs), where=rs > 0)
        p = r + beta[:, None] * p
        rs = rs_new
    return x


def implicit_objective(
    R: sp.spmatrix | sp.sparray | Ratings,
    X: np.ndarray,
    Y: np.ndarray,
    lam: float,
    alpha: float,
) -> tuple[float, float]:
    """(data term, regularisation term) of the implicit objective over all cells, computed
    without densifying (formula in the module docs)."""
    matrix = as_csr(R)
    data = _Rows.build(matrix, alpha)
    return _objective_terms(data, np.asarray(X, np.float64), np.asarray(Y, np.float64), lam)


def _objective_terms(data: _Rows, X: np.ndarray, Y: np.ndarray, lam: float) -> tuple[float, float]:
    X = X.astype(np.float64, copy=False)
    Y = Y.astype(np.float64, copy=False)
    s = _observed_dots(X, Y, data.rows, data.indices)
    preference = (data.weighted_preference > 0).astype(np.float64)
    confidence = 1.0 + data.extra_confidence
    observed = float(np.sum(confidence * (preference - s) ** 2 - s * s))
    all_cells = float(np.sum((X.T @ X) * (Y.T @ Y)))  # Σ_all (x_u·y_i)²
    regularization = float(lam) * float(np.sum(X * X) + np.sum(Y * Y))
    return all_cells + observed, regularization


# --------------------------------------------------------------------------------- feedback
def threshold_interactions(ratings: Ratings, min_rating: float | None) -> Ratings:
    """Implicit feedback from star ratings: the ratings ≥ ``min_rating`` become interactions
    (their value still the strength α·r), the others are dropped, i.e. treated as missing.

    ``ImplicitALS`` reads every stored value as "interacted", so without a threshold a 1-star
    rating counts as a like and "because you liked …" can credit a film the user hated.
    ``min_rating=None`` keeps every rating. Same users, items and index space as ``ratings``.

    Examples
    --------
    >>> import pandas as pd
    >>> import als_core as ac
    >>> df = pd.DataFrame({"user": ["a", "a", "b"], "item": ["x", "y", "x"],
    ...                    "rating": [5.0, 1.0, 4.0]})
    >>> liked = ac.threshold_interactions(ac.Ratings.from_frame(df), 4.0)
    >>> liked.nnz, liked.shape
    (2, (2, 2))
    """
    if not isinstance(ratings, Ratings):
        raise TypeError(f"expected ac.Ratings, got {type(ratings).__name__}")
    if min_rating is None:
        return ratings
    if isinstance(min_rating, bool) or not np.isfinite(min_rating):
        raise ValueError(f"min_rating must be a finite number or None, got {min_rating!r}")
    return ratings.select(ratings.matrix.data >= float(min_rating))


# --------------------------------------------------------------------------------- ranking
def ranking_metrics_from_factors(
    user_factors: np.ndarray,
    item_factors: np.ndarray,
    train: Ratings | sp.spmatrix,
    heldout: Ratings | sp.spmatrix,
    n: int = 10,
    *,
    min_rating: float | None = None,
    item_offset: np.ndarray | None = None,
) -> pd.Series:
    """``ac.ranking_metrics`` for any model that scores by x_u·y_i (+ an item offset), vectorised.

    Same definitions and output as ``ac.ranking_metrics`` (mean precision@n, recall@n, NDCG@n
    over users with held-out items; training items excluded), computed for blocks of users with
    one matrix product and one ``argpartition`` each instead of a Python loop over users. Exact
    score ties are broken by item index here (by popularity in ``recommend``), which only matters
    for exactly equal scores.
    """
    if n < 1:
        raise ValueError(f"n must be ≥ 1, got {n}")
    T = as_csr(train)
    H = as_csr(heldout)
    if H.shape != T.shape:
        raise ValueError(f"heldout must have the training shape {T.shape}, got {H.shape}")
    if min_rating is not None:
        H = H.copy()
        H.data = (H.data >= min_rating).astype(np.float64)
        H.eliminate_zeros()
    users = np.flatnonzero(np.diff(H.indptr) > 0)
    if len(users) == 0:
        raise ValueError("no held-out ratings to rank against")
    n_items = T.shape[1]
    top = min(int(n), n_items)
    discounts = 1.0 / np.log2(np.arange(2, int(n) + 2))
    ideal_cum = np.cumsum(discounts)
    sums = np.zeros(3)
    block = max(1, (1 << 20) // max(n_items, 1))
    for s in range(0, len(users), block):
        u = users[s : s + block]
        scores = np.asarray(user_factors[u], np.float64) @ np.asarray(item_factors, np.float64).T
        if item_offset is not None:
            scores += item_offset
        seen = T[u]
        scores[np.repeat(np.arange(len(u)), np.diff(seen.indptr)), seen.indices] = -np.inf
        part = np.argpartition(-scores, top - 1, axis=1)[:, :top]
        part_scores = np.take_along_axis(scores, part, axis=1)
        order = np.lexsort((part, -part_scores), axis=1)
        chosen = np.take_along_axis(part, order, axis=1)
        valid = np.isfinite(np.take_along_axis(part_scores, order, axis=1))
        relevant = H[u]
        rel_dense = np.zeros((len(u), n_items), dtype=bool)
        rel_dense[np.repeat(np.arange(len(u)), np.diff(relevant.indptr)), relevant.indices] = True
        hits = np.take_along_axis(rel_dense, chosen, axis=1) & valid
        n_rel = np.diff(relevant.indptr)
        n_hits = hits.sum(axis=1)
        sums[0] += float(np.sum(n_hits / n))
        sums[1] += float(np.sum(n_hits / n_rel))
        dcg = hits @ discounts[:top]
        sums[2] += float(np.sum(dcg / ideal_cum[np.minimum(n_rel, n) - 1]))
    means = sums / len(users)
    return pd.Series(
        {
            f"precision@{n}": means[0],
            f"recall@{n}": means[1],
            f"ndcg@{n}": means[2],
            "users": len(users),
        }
    )


# --------------------------------------------------------------------------------- estimator
class ImplicitALS(ParamsMixin):
    """Confidence-weighted ALS for implicit feedback (objective and solvers in the module docs).

    Parameters (keyword only)
    -------------------------
    k: rank. lam: λ ≥ 0 (plain, on every factor). alpha: α ≥ 0 in c = 1 + α·r (HKV used 40 on
    counts; smaller for star ratings). iterations: full iterations (users then items).
    solver: ``"cholesky"`` (exact) or ``"cg"`` (``cg_steps`` warm-started CG steps per half-step).
    eval_n: N of the validation ranking metrics recorded in ``history_`` when ``fit`` gets
    ``validation`` (held-out interactions; the items seen in training are excluded).
    seed, init_scale, dtype: the same random start as ``ac.ALS``.

    After ``fit``: ``user_factors_``, ``item_factors_``, ``history_`` (one row per half-step:
    objective, its terms, precision/recall/NDCG at ``eval_n`` on validation, seconds, elapsed).
    """

    def __init__(
        self,
        *,
        k: int = 10,
        lam: float = 0.1,
        alpha: float = 40.0,
        iterations: int = 15,
        solver: str = "cholesky",
        cg_steps: int = 3,
        eval_n: int = 10,
        seed: int | None = 0,
        init_scale: float = 0.1,
        dtype: type | np.dtype = np.float64,
    ) -> None:
        self.k = k
        self.lam = lam
        self.alpha = alpha
        self.iterations = iterations
        self.solver = solver
        self.cg_steps = cg_steps
        self.eval_n = eval_n
        self.seed = seed
        self.init_scale = init_scale
        self.dtype = dtype

    def _validate(self, R: sp.csr_matrix, V: sp.csr_matrix | None) -> None:
        k = self.k
        check_positive_int("k", k)
        if k > min(R.shape):
            raise ValueError(f"k={k} is larger than min(n_users, n_items) = {min(R.shape)}")
        check_lam(self.lam)
        check_non_negative("alpha", self.alpha)
        _check_solver(self.solver, self.cg_steps)
        check_int_at_least("iterations", self.iterations, 0)
        check_int_at_least("eval_n", self.eval_n, 1)
        check_dtype(self.dtype)
        _check_values(R)
        check_validation_shape(R, V)

    def fit(
        self,
        train: Ratings | sp.spmatrix | sp.sparray,
        validation: Ratings | sp.spmatrix | sp.sparray | None = None,
        callback: Callable[[FitEvent], Any] | None = None,
    ) -> ImplicitALS:
        """Alternate exact (or CG) solves for users and items; report each half-step."""
        R = as_csr(train)
        V = None if validation is None else as_csr(validation)
        self._validate(R, V)
        dtype = np.dtype(self.dtype)
        X, Y, _ = initial_factors(
            R.shape[0],
            R.shape[1],
            int(self.k),
            seed=self.seed,
            init_scale=self.init_scale,
            dtype=dtype,
        )
        Rt = R.T.tocsr()
        Rt.sort_indices()
        users = _Rows.build(R, self.alpha)
        items = _Rows.build(Rt, self.alpha)
        user_chunks = _length_chunks(users.indptr, int(self.k))
        item_chunks = _length_chunks(items.indptr, int(self.k))
        self._set_state(R, X, Y, train)
        history: list[dict[str, Any]] = []
        self.stop_reason_ = "iterations"
        start = time.perf_counter()
        elapsed = 0.0
        stop = False
        lam = float(self.lam)
        for it in range(1, int(self.iterations) + 1):
            for side in ("users", "items"):
                t0 = time.perf_counter()
                if side == "users":
                    X = self._half(users, Y, X, lam, user_chunks)
                else:
                    Y = self._half(items, X, Y, lam, item_chunks)
                data_term, reg_term = _objective_terms(users, X, Y, lam)
                self._set_state(R, X, Y, train)
                metrics = (np.nan, np.nan, np.nan)
                if V is not None and V.nnz:
                    m = ranking_metrics_from_factors(X, Y, R, V, int(self.eval_n))
                    metrics = tuple(float(v) for v in m.iloc[:3])
                seconds = time.perf_counter() - t0
                elapsed += seconds
                row = {
                    "iteration": it,
                    "side": side,
                    "objective": data_term + reg_term,
                    "data_term": data_term,
                    "regularization_term": reg_term,
                    "precision_at_n": metrics[0],
                    "recall_at_n": metrics[1],
                    "ndcg_at_n": metrics[2],
                    "seconds": seconds,
                    "elapsed": elapsed,
                }
                history.append(row)
                if callback is not None:
                    event = FitEvent(
                        iteration=it,
                        side=side,
                        iterations=int(self.iterations),
                        objective=row["objective"],
                        data_term=data_term,
                        regularization_term=reg_term,
                        train_rmse=float("nan"),
                        validation_rmse=float("nan"),
                        seconds=seconds,
                        elapsed=elapsed,
                        model=self,  # type: ignore[arg-type]
                    )
                    callback(event)
                    if event.stop_requested:
                        self.stop_reason_ = "callback"
                        stop = True
                        break
            if stop:
                break
        if not (np.all(np.isfinite(X)) and np.all(np.isfinite(Y))):
            raise NonFiniteFactorsError(
                "the implicit fit produced NaN or infinite factors; lower alpha or raise lam"
            )
        self.history_ = pd.DataFrame(history, columns=IMPLICIT_HISTORY_COLUMNS)
        self.n_iter_ = int(self.history_["iteration"].max()) if history else 0
        self.fit_seconds_ = time.perf_counter() - start
        return self

    def _half(self, data: _Rows, fixed, current, lam: float, chunks) -> np.ndarray:
        if self.solver == "cg":
            return _solve_cg(data, fixed, lam, current, int(self.cg_steps))
        return _solve_exact(data, fixed, lam, chunks)

    def _set_state(self, R: sp.csr_matrix, X: np.ndarray, Y: np.ndarray, train: Any) -> None:
        self.user_factors_ = X
        self.item_factors_ = Y
        self.train_matrix_ = R
        positive = R.data > 0
        self.item_counts_ = np.bincount(R.indices[positive], minlength=R.shape[1])
        self.user_ids_ = train.user_ids if isinstance(train, Ratings) else np.arange(R.shape[0])
        self.item_ids_ = train.item_ids if isinstance(train, Ratings) else np.arange(R.shape[1])

    # ------------------------------------------------------------------------- using
    def _require_fitted(self) -> None:
        if not hasattr(self, "user_factors_"):
            raise NotFittedError("this ImplicitALS model is not fitted yet: call fit(train) first")

    def predict(self, user_idx: Any, item_idx: Any) -> np.ndarray:
        """Predicted preference x_u·y_i for index pairs (broadcast): a score near 1 means
        "likely to interact", not a rating."""
        self._require_fitted()
        users, items = np.broadcast_arrays(np.asarray(user_idx), np.asarray(item_idx))
        check_index(users, len(self.user_factors_), "user")
        check_index(items, len(self.item_factors_), "item")
        X, Y = self.user_factors_, self.item_factors_
        out = np.einsum("nk,nk->n", X[users.ravel()], Y[items.ravel()], dtype=np.float64)
        return out.reshape(users.shape)

    def scores(self, user_idx: int) -> np.ndarray:
        """Predicted preferences of one user for every item."""
        self._require_fitted()
        check_index(np.asarray(user_idx), len(self.user_factors_), "user")
        return (self.item_factors_ @ self.user_factors_[int(user_idx)]).astype(np.float64)

    def recommend(self, user_idx: int, n: int = 10, *, exclude_seen: bool = True) -> pd.DataFrame:
        """Top-n items by predicted preference: columns rank, item, item_id, score (as
        ``ALS.recommend``); ties broken by the number of positive interactions in training."""
        return recommend_from_scores(
            self.scores(user_idx),
            self.train_matrix_,
            int(user_idx),
            n,
            exclude_seen=exclude_seen,
            item_ids=self.item_ids_,
            popularity=self.item_counts_,
        )

    def similar_items(self, item_idx: int, n: int = 10) -> pd.DataFrame:
        """The n items whose factors have the highest cosine similarity to this item's (as
        ``ALS.similar_items``: columns item, item_id, similarity)."""
        self._require_fitted()
        check_index(np.asarray(item_idx), len(self.item_factors_), "item")
        idx, sim = cosine_neighbours(self.item_factors_, int(item_idx), n=n)
        return pd.DataFrame({"item": idx, "item_id": self.item_ids_[idx], "similarity": sim})

    def explain(self, user_idx: int, item_idx: int, n: int = 5) -> pd.DataFrame:
        """ "Because you liked …": the user's items that contribute most to this item's score.

        HKV section 5: with W_u = (YᵀC_uY + λI)⁻¹ the user's factor is x_u = Σ_j W_u y_j c_uj p_uj
        over the items j the user interacted with, so the score splits exactly into
        y_iᵀ x_u = Σ_j s_ij c_uj with s_ij = y_iᵀ W_u y_j (an item-item similarity seen through
        this user's weighting). x_u is re-solved exactly against the current item factors, so the
        contributions add up to that score (``attrs["score"]``); ``attrs["model_score"]`` is the
        fitted x_u·y_i (equal after an exact users half-step with these item factors).

        Columns: item, item_id, contribution (s_ij c_uj), similarity (s_ij), confidence (c_uj),
        share (contribution / score); the n largest contributions first.
        """
        self._require_fitted()
        check_index(np.asarray(user_idx), len(self.user_factors_), "user")
        check_index(np.asarray(item_idx), len(self.item_factors_), "item")
        u, i = int(user_idx), int(item_idx)
        R = self.train_matrix_
        lo, hi = R.indptr[u], R.indptr[u + 1]
        seen, values = R.indices[lo:hi], R.data[lo:hi]
        positive = values > 0
        seen, values = seen[positive], values[positive]
        Y = self.item_factors_.astype(np.float64)
        k = Y.shape[1]
        confidence = 1.0 + float(self.alpha) * values
        Ys = Y[seen]
        system = Y.T @ Y + Ys.T @ ((confidence - 1.0)[:, None] * Ys) + float(self.lam) * np.eye(k)
        weighted = np.linalg.solve(system, Ys.T) if len(seen) else np.zeros((k, 0))  # W_u y_j
        similarity = Y[i] @ weighted
        contribution = similarity * confidence
        score = float(contribution.sum())
        order = np.argsort(-contribution, kind="stable")[: max(0, int(n))]
        frame = pd.DataFrame(
            {
                "item": seen[order],
                "item_id": self.item_ids_[seen[order]],
                "contribution": contribution[order],
                "similarity": similarity[order],
                "confidence": confidence[order],
                "share": contribution[order] / score if score != 0 else np.nan,
            }
        )
        frame.attrs["score"] = score
        frame.attrs["model_score"] = float(self.user_factors_[u] @ self.item_factors_[i])
        return frame


# --------------------------------------------------------------------------------- checks
def _check_values(R: sp.csr_matrix) -> None:
    if R.nnz and R.data.min() < 0:
        bad = int(np.count_nonzero(R.data < 0))
        raise ValueError(
            f"implicit feedback needs values ≥ 0 (counts or strengths), got {bad} negative "
            f"value(s) (smallest {float(R.data.min())}); shift or threshold the ratings first"
        )


def _check_solver(solver: str, cg_steps: Any) -> None:
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
    check_positive_int("cg_steps", cg_steps)
