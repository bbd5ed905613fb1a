"""What a lecturer checks on a fitted factorisation, as numbers: one row's objective, the spectra
of the systems a half-step solves, the gradient, the cost of a half-step, and the symmetry that
leaves predictions unchanged.

- ``row_objectives``: the part of the objective each row's update minimises (its ratings' squared
  errors and its own penalty). A half-step minimises every row's exactly, so each one falls (or
  stays) even when the row's RMSE rises: the solve may trade fit for a smaller penalty.
- ``gram_spectrum``: the smallest eigenvalue of each row's Σ f fᵀ. A row with fewer ratings than
  unknowns has a singular one; adding the ridge λI lifts every eigenvalue by λ, so with λ > 0
  every system is positive definite and has one solution.
- ``objective_gradient``: the gradient's size per side. Right after a users half-step the users'
  gradient is zero (each row sits at the bottom of its bowl); at a stationary point both are.
- ``reparametrize``: X → XQ, Y → YQ⁻ᵀ leaves every x_u·y_i unchanged; the penalty changes unless
  Q is orthogonal, which is why λ > 0 fixes the two sides' scales but not their rotation.
- ``half_step_flops``: the operation count of one half-step, O(nnz·w² + n·w³).
- ``baseline_scores``: μ + b_u + b_i, the part of a prediction that is not taste.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from ._validation import as_csr, check_damping, check_lam, check_regularization
from .als import _penalty_weights
from .gradient import _Problem
from .ratings import Ratings

#: Numbers gathered at once when building Gram matrices (bounds memory on big data).
_GRAM_BLOCK = 1 << 21


def _as_rows(name: str, values: Any, n: int) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != n:
        raise ValueError(f"expected {name} of shape ({n}, k), got {arr.shape}")
    return arr


def _as_bias(name: str, values: Any, n: int) -> np.ndarray | None:
    if values is None:
        return None
    arr = np.asarray(values, dtype=np.float64)
    if arr.shape != (n,):
        raise ValueError(f"expected {name} of shape ({n},), got {arr.shape}")
    return arr


# --------------------------------------------------------------------------------- row objective
@dataclass(frozen=True)
class RowObjectives:
    """Per row: ``data`` = Σ over its ratings of the squared error, ``penalty`` = its ridge
    times (‖w‖² + b²), ``counts`` = its number of ratings."""

    data: np.ndarray
    penalty: np.ndarray
    counts: np.ndarray

    @property
    def total(self) -> np.ndarray:
        return self.data + self.penalty

    @property
    def rmse(self) -> np.ndarray:
        """Each row's RMSE on its ratings (NaN for a row without any)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.sqrt(self.data / np.where(self.counts > 0, self.counts, np.nan))


def row_objectives(
    R: sp.spmatrix | sp.sparray | Ratings,
    own: np.ndarray,
    fixed: np.ndarray,
    lam: float,
    regularization: str = "plain",
    *,
    own_bias: np.ndarray | None = None,
    fixed_bias: np.ndarray | None = None,
    global_mean: float = 0.0,
    damping: float = 0.0,
) -> RowObjectives:
    """The part of the objective that depends on each row of R: what its update minimises.

    For users pass R, X (``own``) and Y (``fixed``); for items R.T, Y and X. Row u's objective is
    f_u = Σ_i (r_ui − μ − b_u − b_i − x_u·y_i)² + λ_u (‖x_u‖² + b_u²) over its observed ratings,
    with λ_u = λ (plain) or λ·(n_u + n₀) (weighted). Everything else in the objective is fixed
    while row u is solved, so an exact half-step lowers every f_u (or leaves it), and the users'
    f_u summed plus the items' penalty is ``objective``'s total.

    Parameters
    ----------
    R : Ratings or scipy.sparse matrix of shape (n_rows, n_cols)
    own : array of shape (n_rows, k)
        The factors of the rows (the side being solved).
    fixed : array of shape (n_cols, k)
        The other side's factors.
    lam : float
        λ ≥ 0.
    regularization : {"plain", "weighted"}, default "plain"
    own_bias, fixed_bias : array of shape (n_rows,), (n_cols,), optional
        The rows' own biases and the other side's (left out when None).
    global_mean : float, default 0.0
        μ.
    damping : float, default 0.0
        n₀ ≥ 0 for ``"weighted"``.

    Returns
    -------
    RowObjectives
        ``data``, ``penalty``, ``total``, ``rmse`` and ``counts``, one entry per row.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> import als_core as ac
    >>> R = sp.csr_matrix([[4.0, 2.0]])
    >>> Y = np.array([[1.0], [2.0]])
    >>> x = ac.als_half_step(R, Y, lam=1.0)
    >>> before = ac.row_objectives(R, np.array([[0.0]]), Y, lam=1.0).total
    >>> after = ac.row_objectives(R, x, Y, lam=1.0).total
    >>> bool(after[0] < before[0])
    True
    """
    matrix = as_csr(R)
    check_lam(lam)
    check_regularization(regularization)
    check_damping(damping, regularization)
    n_rows, n_cols = matrix.shape
    own = _as_rows("own", own, n_rows)
    fixed = _as_rows("fixed", fixed, n_cols)
    if own.shape[1] != fixed.shape[1]:
        raise ValueError(f"own and fixed must have the same k, got {own.shape} and {fixed.shape}")
    own_bias = _as_bias("own_bias", own_bias, n_rows)
    fixed_bias = _as_bias("fixed_bias", fixed_bias, n_cols)
    counts = np.diff(matrix.indptr)
    rows = np.repeat(np.arange(n_rows), counts)
    cols = matrix.indices
    predicted = np.einsum("nk,nk->n", own[rows], fixed[cols]) + float(global_mean)
    if own_bias is not None:
        predicted += own_bias[rows]
    if fixed_bias is not None:
        predicted += fixed_bias[cols]
    residual = matrix.data - predicted
    data = np.bincount(rows, weights=residual * residual, minlength=n_rows)
    squares = np.einsum("nk,nk->n", own, own)
    if own_bias is not None:
        squares = squares + own_bias**2
    weights = _penalty_weights(counts, regularization, damping)
    penalty = float(lam) * squares * (1.0 if weights is None else weights)
    return RowObjectives(data=data, penalty=penalty, counts=counts)


# --------------------------------------------------------------------------------- spectra
@dataclass(frozen=True)
class GramSpectrum:
    """For each row examined: its index, its number of ratings and the smallest eigenvalue of
    its Σ f fᵀ (f = the other side's factors, with a trailing 1 with biases). The system a
    half-step solves is that plus ridge·I, whose smallest eigenvalue is ``smallest + ridge``."""

    rows: np.ndarray
    counts: np.ndarray
    smallest: np.ndarray
    width: int

    def singular(self, tol: float = 1e-9) -> np.ndarray:
        """Rows whose Σ f fᵀ alone is singular: fewer ratings than unknowns, or a smallest
        eigenvalue ≤ ``tol``."""
        return (self.counts < self.width) | (self.smallest <= tol)


def gram_spectrum(
    R: sp.spmatrix | sp.sparray | Ratings,
    fixed: np.ndarray,
    *,
    biases: bool = False,
    rows: np.ndarray | None = None,
) -> GramSpectrum:
    """Smallest eigenvalue of Σ_i f_i f_iᵀ over each row's observed columns (no ridge).

    ``fixed`` (n_cols, k) are the other side's factors; with ``biases`` each gets a trailing 1,
    as in the biased half-step. ``rows`` limits the work to some rows (default: all). Built in
    blocks of bounded memory.
    """
    matrix = as_csr(R)
    fixed = _as_rows("fixed", fixed, matrix.shape[1])
    if biases:
        fixed = np.hstack([fixed, np.ones((len(fixed), 1))])
    width = fixed.shape[1]
    chosen = np.arange(matrix.shape[0]) if rows is None else np.asarray(rows, dtype=np.int64)
    if chosen.size and (chosen.min() < 0 or chosen.max() >= matrix.shape[0]):
        raise IndexError(f"rows must be in 0..{matrix.shape[0] - 1}")
    counts = np.diff(matrix.indptr)[chosen]
    smallest = np.zeros(len(chosen))
    per_row = np.maximum(counts, 1) * width * width
    start = 0
    while start < len(chosen):
        stop = start + 1
        budget = per_row[start]
        while stop < len(chosen) and budget + per_row[stop] <= _GRAM_BLOCK:
            budget += per_row[stop]
            stop += 1
        smallest[start:stop] = _smallest_eigenvalues(matrix, fixed, chosen[start:stop])
        start = stop
    return GramSpectrum(rows=chosen, counts=counts, smallest=smallest, width=width)


def _smallest_eigenvalues(matrix: sp.csr_matrix, fixed: np.ndarray, rows: np.ndarray) -> np.ndarray:
    sub = matrix[rows]
    width = fixed.shape[1]
    grams = np.zeros((len(rows), width, width))
    owner = np.repeat(np.arange(len(rows)), np.diff(sub.indptr))
    gathered = fixed[sub.indices]
    np.add.at(grams, owner, gathered[:, :, None] * gathered[:, None, :])
    return np.linalg.eigvalsh(grams)[:, 0]


# --------------------------------------------------------------------------------- gradient
@dataclass(frozen=True)
class GradientNorms:
    """‖∂f/∂(X, b_u)‖ and ‖∂f/∂(Y, b_i)‖: the objective's slope towards each side."""

    users: float
    items: float


def objective_gradient(
    R: sp.spmatrix | sp.sparray | Ratings,
    X: np.ndarray,
    Y: np.ndarray,
    lam: float,
    regularization: str = "plain",
    *,
    user_bias: np.ndarray | None = None,
    item_bias: np.ndarray | None = None,
    global_mean: float = 0.0,
    damping: float = 0.0,
) -> GradientNorms:
    """The size of the objective's gradient with respect to each side (Frobenius norms).

    Zero for a side right after its exact half-step; zero for both at a stationary point, which
    is where ALS converges (a local optimum or a saddle, not necessarily the global optimum).
    Pass both biases or neither (with ``global_mean`` μ).
    """
    matrix = as_csr(R)
    check_lam(lam)
    check_regularization(regularization)
    check_damping(damping, regularization)
    X = _as_rows("X", X, matrix.shape[0])
    Y = _as_rows("Y", Y, matrix.shape[1])
    biases = user_bias is not None or item_bias is not None
    bu = _as_bias("user_bias", user_bias, matrix.shape[0])
    bi = _as_bias("item_bias", item_bias, matrix.shape[1])
    if biases and (bu is None or bi is None):
        raise ValueError("pass both user_bias and item_bias, or neither")
    problem = _Problem(matrix, lam, regularization, biases, damping=damping)
    problem.mu = float(global_mean)
    params = (X, Y, bu, bi)
    _, _, residuals = problem.value(params)
    gX, gY, gbu, gbi = problem.gradient(params, residuals)
    users = float(np.vdot(gX, gX)) + (float(gbu @ gbu) if gbu is not None else 0.0)
    items = float(np.vdot(gY, gY)) + (float(gbi @ gbi) if gbi is not None else 0.0)
    return GradientNorms(users=float(np.sqrt(users)), items=float(np.sqrt(items)))


# --------------------------------------------------------------------------------- symmetry
def reparametrize(X: np.ndarray, Y: np.ndarray, Q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(X Q, Y Q⁻ᵀ): other factors with exactly the same products X Yᵀ.

    Any invertible k × k ``Q`` will do: (XQ)(YQ⁻ᵀ)ᵀ = X Q Q⁻¹ Yᵀ = X Yᵀ. The penalty
    λ(‖X‖² + ‖Y‖²) stays the same when Q is orthogonal (a rotation or reflection) and changes
    otherwise, so λ > 0 picks the balanced scale while rotations stay free.
    """
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    Q = np.asarray(Q, dtype=np.float64)
    k = X.shape[1] if X.ndim == 2 else -1
    if X.ndim != 2 or Y.ndim != 2 or Y.shape[1] != k or Q.shape != (k, k):
        raise ValueError(
            f"expected X (n_users, k), Y (n_items, k) and Q (k, k), got {X.shape}, {Y.shape} "
            f"and {Q.shape}"
        )
    if np.linalg.cond(Q) > 1e12:
        raise ValueError("Q must be invertible (its condition number is above 1e12)")
    return X @ Q, Y @ np.linalg.inv(Q).T


# --------------------------------------------------------------------------------- cost
def half_step_flops(nnz: int, n_rows: int, width: int) -> float:
    """Floating-point operations of one exact half-step: nnz·(w² + 2w) + n_rows·(w³/3 + 2w²).

    Each observed rating adds f fᵀ to its row's Gram matrix (w² multiply-adds, counting the
    symmetric half twice over) and r·f to its right-hand side (2w); each row then solves its
    w × w system (Cholesky w³/3 and two triangular solves, 2w²). With w = k (or k + 1 with
    biases) that is the O(nnz·k² + n·k³) of a half-step.
    """
    for name, value in (("nnz", nnz), ("n_rows", n_rows), ("width", width)):
        if int(value) != value or value < 0:
            raise ValueError(f"{name} must be a whole number ≥ 0, got {value!r}")
    w = float(width)
    return float(nnz) * (w * w + 2 * w) + float(n_rows) * (w**3 / 3 + 2 * w * w)


# --------------------------------------------------------------------------------- baseline
def baseline_scores(model: Any, users: Any, items: Any) -> np.ndarray:
    """μ + b_u + b_i for (user, item) index pairs (broadcast); 0 for a model without biases.

    The part of a biased model's prediction that is not taste: X Yᵀ fits the ratings minus it.
    """
    users, items = np.broadcast_arrays(np.asarray(users), np.asarray(items))
    if not getattr(model, "biases", False):
        return np.zeros(users.shape)
    bu = np.asarray(model.user_bias_, dtype=np.float64)[users]
    bi = np.asarray(model.item_bias_, dtype=np.float64)[items]
    return float(model.global_mean_) + bu + bi
