"""Alternating least squares for explicit ratings: the estimator, the half-step, the objective.

Notation: R is users x items with observed entries r_ui (only those count; missing is missing),
X (n_users x k) and Y (n_items x k) are the factors, n_u and n_i the numbers of observed ratings of
user u and item i, μ the global mean of the training ratings, b_u and b_i the biases.

Objectives (the sums over (u, i) run over the observed ratings only):

- ``regularization="plain"``, ``biases=False`` (the article)::

      Σ (r_ui − x_u·y_i)² + λ (Σ_u ‖x_u‖² + Σ_i ‖y_i‖²)

- ``regularization="weighted"`` (ALS-WR, Zhou et al. 2008, as in Spark MLlib)::

      Σ (r_ui − x_u·y_i)² + λ (Σ_u (n_u + n₀) ‖x_u‖² + Σ_i (n_i + n₀) ‖y_i‖²)

  with the pseudo-count n₀ = ``damping`` ≥ 0 (default 0: exactly Spark's ALS-WR). Pure ALS-WR
  barely shrinks a row with one or two ratings (its ridge is λ·1); n₀ gives every row at least
  the ridge λ·n₀, so n₀ → ∞ with λ·n₀ fixed is the plain objective.

- ``biases=True`` (either regularisation; prediction μ + b_u + b_i + x_u·y_i)::

      Σ (r_ui − μ − b_u − b_i − x_u·y_i)² + λ (Σ_u c_u (‖x_u‖² + b_u²) + Σ_i c_i (‖y_i‖² + b_i²))

  with c = 1 (plain) or c = n + n₀ (weighted). μ is fixed at the training mean; each bias is one
  more unknown in its side's exact solve, against a column of ones appended to the other side.

Each half-step fixes one side and minimises the objective exactly over the other:
x_u = (Σ_i y_i y_iᵀ + λ_u I)⁻¹ Σ_i r_ui y_i, computed as a linear solve, never an inverse.
So the objective never rises from one half-step to the next.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._params import ParamsMixin
from ._solve import RowPlan, plan_rows, solve_rows
from ._validation import (
    as_csr,
    as_fixed,
    check_damping,
    check_dtype,
    check_index,
    check_int_at_least,
    check_lam,
    check_positive_int,
    check_regularization,
    check_validation_shape,
    observed,
)
from .embed import cosine_neighbours
from .errors import NonFiniteFactorsError, NotFittedError
from .metrics import rmse
from .ratings import Ratings

#: (user, item) pairs ``predict`` scores at a time (bounded memory, cache-friendly gathers).
_PREDICT_CHUNK = 65_536
HISTORY_COLUMNS = [
    "iteration",
    "side",
    "objective",
    "data_term",
    "regularization_term",
    "train_rmse",
    "validation_rmse",
    "seconds",
    "elapsed",
]


# --------------------------------------------------------------------------------- objective
@dataclass(frozen=True)
class ObjectiveTerms:
    """The objective split into its data term and regularisation term."""

    data: float
    regularization: float

    @property
    def total(self) -> float:
        return self.data + self.regularization

    def __iter__(self):  # allows ``data, reg = objective(...)``
        return iter((self.data, self.regularization))


def objective(
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
) -> ObjectiveTerms:
    """The ALS objective on the observed entries of R, split into its two terms.

    Data term Σ (r_ui − μ − b_u − b_i − x_u·y_i)² over the observed ratings only, and
    regularisation term λ (Σ_u c_u (‖x_u‖² + b_u²) + Σ_i c_i (‖y_i‖² + b_i²)) with c = 1
    (plain) or c = n + n₀ (weighted); see the module docstring. Computed directly from the
    residuals, in float64, in chunks of bounded memory: it is the independent check of the
    values the solver reports.

    Parameters
    ----------
    R : Ratings or scipy.sparse matrix of shape (n_users, n_items)
        The observed ratings.
    X : array of shape (n_users, k)
        User factors.
    Y : array of shape (n_items, k)
        Item factors.
    lam : float
        λ ≥ 0.
    regularization : {"plain", "weighted"}, default "plain"
        How λ weighs each row: 1 (plain) or its number of ratings plus ``damping`` (weighted).
    user_bias, item_bias : array of shape (n_users,), (n_items,), optional
        b_u and b_i (left out when None).
    global_mean : float, default 0.0
        μ.
    damping : float, default 0.0
        n₀ ≥ 0 for ``"weighted"``; must be 0 with ``"plain"``.

    Returns
    -------
    ObjectiveTerms
        ``.data``, ``.regularization`` and ``.total``; unpacks as ``data, reg = ...``.

    Raises
    ------
    ValueError
        Factors whose shapes do not fit R, or a setting out of range.
    TypeError
        R is neither ``Ratings`` nor a scipy.sparse matrix.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> import als_core as ac
    >>> R = sp.csr_matrix(([4.0, 2.0, 3.0], ([0, 0, 1], [0, 1, 1])))  # (1, 0) is missing
    >>> X = np.array([[2.0], [1.0]])
    >>> Y = np.array([[2.0], [1.0]])
    >>> terms = ac.objective(R, X, Y, lam=0.5)
    >>> terms.data  # (4 - 4)² + (2 - 2)² + (3 - 1)²; the missing rating does not count
    4.0
    >>> terms.regularization  # 0.5 · (2² + 1² + 2² + 1²)
    5.0
    >>> terms.total
    9.0
    """
    matrix = as_csr(R)
    check_regularization(regularization)
    check_damping(damping, regularization)
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    if X.shape[0] != matrix.shape[0] or Y.shape[0] != matrix.shape[1] or X.shape[1] != Y.shape[1]:
        raise ValueError(
            f"expected X (n_users={matrix.shape[0]}, k) and Y (n_items={matrix.shape[1]}, k), "
            f"got X {X.shape} and Y {Y.shape}"
        )
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    cols = matrix.indices
    data_term = 0.0
    step = 1 << 16
    for s in range(0, matrix.nnz, step):
        r, c = rows[s : s + step], cols[s : s + step]
        pred = np.einsum("nk,nk->n", X[r], Y[c]) + global_mean
        if user_bias is not None:
            pred += np.asarray(user_bias, dtype=np.float64)[r]
        if item_bias is not None:
            pred += np.asarray(item_bias, dtype=np.float64)[c]
        resid = matrix.data[s : s + step] - pred
        data_term += float(resid @ resid)
    c_u = _penalty_weights(np.diff(matrix.indptr), regularization, damping)
    c_i = _penalty_weights(np.bincount(cols, minlength=matrix.shape[1]), regularization, damping)
    reg = _penalty(X, user_bias, c_u) + _penalty(Y, item_bias, c_i)
    return ObjectiveTerms(data=data_term, regularization=float(lam) * reg)


def _penalty_weights(counts: np.ndarray, regularization: str, damping: float) -> np.ndarray | None:
    """c per row: None for plain (c = 1), n + n₀ for weighted."""
    if regularization == "weighted":
        return counts.astype(np.float64) + float(damping)
    return None


def _penalty(F: np.ndarray, bias: np.ndarray | None, weights: np.ndarray | None) -> float:
    sq = np.einsum("nk,nk->n", F, F, dtype=np.float64)
    if bias is not None:
        sq = sq + np.asarray(bias, dtype=np.float64) ** 2
    return float(sq.sum() if weights is None else sq @ weights)


# --------------------------------------------------------------------------------- half-step
def als_half_step(
    R: sp.spmatrix | sp.sparray | Ratings,
    fixed: np.ndarray,
    lam: float,
    regularization: str = "plain",
    *,
    biases: bool = False,
    fixed_bias: np.ndarray | None = None,
    global_mean: float = 0.0,
    damping: float = 0.0,
    plan: RowPlan | None = None,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Solve every row of R exactly with the other side's factors held fixed.

    One function serves both sides: for users pass R and Y, for items pass R.T and X.
    Row u gets ``w_u = (Σ_i f_i f_iᵀ + λ_u I)⁻¹ Σ_i r_ui f_i`` (as a solve, never an inverse)
    with λ_u = λ (plain) or λ·(n_u + n₀) (weighted, n₀ = ``damping``), summing over the
    observed entries of row u only. ``ALS.fit`` runs this very half-step (the same private
    function, with the checks done once before its loop).

    Parameters
    ----------
    R : Ratings or scipy.sparse matrix of shape (n_rows, n_cols)
        The observed ratings of the rows being solved.
    fixed : array of shape (n_cols, k)
        The other side's factors, held fixed. Its floating dtype (float64 or float32) is the
        dtype of the solve and of the result; integers are taken as float64.
    lam : float
        λ ≥ 0. With λ_u = 0 and a rank-deficient system the least-norm solution is returned.
    regularization : {"plain", "weighted"}, default "plain"
        The ridge per row: λ, or λ·(n_u + ``damping``).
    biases : bool, default False
        Also solve one bias per row: the targets become r_ui − μ − b_i and a column of ones
        is appended to ``fixed``.
    fixed_bias : array of shape (n_cols,), optional
        The other side's biases b_i (default 0).
    global_mean : float, default 0.0
        μ (used with ``biases=True``).
    damping : float, default 0.0
        n₀ ≥ 0 for ``"weighted"``; must be 0 with ``"plain"``.
    plan : RowPlan, optional
        The solver's plan for R's structure, to reuse between calls on the same R.

    Returns
    -------
    ndarray of shape (n_rows, k), or a pair (factors (n_rows, k), biases (n_rows,))
        The pair with ``biases=True``. Rows without observations get 0.

    Raises
    ------
    ValueError
        ``fixed`` or ``fixed_bias`` of the wrong shape, or a setting out of range; the
        message shows the bad value.
    TypeError
        R is neither ``Ratings`` nor a scipy.sparse matrix.

    Examples
    --------
    One user who rated two items, with one factor per item and λ = 1: the user's factor
    solves (1² + 2² + λ) x = 1·4 + 2·2.

    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> import als_core as ac
    >>> R = sp.csr_matrix([[4.0, 2.0]])
    >>> Y = np.array([[1.0], [2.0]])
    >>> ac.als_half_step(R, Y, lam=1.0)
    array([[1.33333333]])

    The items' half-step takes R.T and the users' factors; an item nobody rated gets 0.

    >>> R = sp.csr_matrix(([5.0, 3.0, 4.0], ([0, 0, 1], [0, 1, 1])), shape=(2, 3))
    >>> X = np.array([[1.0], [2.0]])
    >>> Y = ac.als_half_step(R.T, X, lam=0.5)
    >>> Y.shape, float(Y[2, 0])
    ((3, 1), 0.0)
    """
    matrix = as_csr(R)
    check_regularization(regularization)
    fixed = as_fixed(fixed, matrix.shape[1])
    check_lam(lam)
    check_damping(damping, regularization)
    if fixed_bias is not None:
        fixed_bias = np.asarray(fixed_bias, dtype=fixed.dtype)
        if fixed_bias.shape != (matrix.shape[1],):
            raise ValueError(
                f"expected fixed_bias of shape ({matrix.shape[1]},), got {fixed_bias.shape}"
            )
    width = fixed.shape[1] + (1 if biases else 0)
    rows = _Rows.of(matrix, width, lam, regularization, damping, plan=plan)
    factors, bias, _ = _half_step(
        rows, fixed, biases=biases, fixed_bias=fixed_bias, global_mean=global_mean
    )
    return (factors, bias) if biases else factors


@dataclass(frozen=True)
class _Rows:
    """One side's rows as a half-step sees them: what stays the same while the factors change.

    ``matrix`` is (n_rows, n_cols) CSR (R for users, R.T for items), ``ridge`` holds λ_u per row.
    ``targets``: the ratings in the factors' dtype, kept when no bias moves them between steps
    (a fit without biases converts them once); None computes them at every step.
    """

    matrix: sp.csr_matrix
    plan: RowPlan
    ridge: np.ndarray
    targets: np.ndarray | None = None

    @classmethod
    def of(
        cls,
        matrix: sp.csr_matrix,
        width: int,
        lam: float,
        regularization: str,
        damping: float,
        *,
        plan: RowPlan | None = None,
        fixed_targets: np.dtype | None = None,
    ) -> _Rows:
        """The rows of ``matrix`` for ``width`` unknowns each; ``fixed_targets``: keep the
        ratings converted to this dtype (only right when no bias offsets them)."""
        if plan is None:
            plan = plan_rows(matrix.indptr, matrix.indices, matrix.shape[1], width)
        ridge = _row_ridge(lam, regularization, plan.counts, damping)
        targets = None
        if fixed_targets is not None:
            targets = _targets(matrix, np.dtype(fixed_targets), 0.0, None)
        return cls(matrix=matrix, plan=plan, ridge=ridge, targets=targets)


def _half_step(
    rows: _Rows,
    fixed: np.ndarray,
    *,
    biases: bool,
    fixed_bias: np.ndarray | None,
    global_mean: float,
) -> tuple[np.ndarray, np.ndarray | None, float]:
    """The half-step itself, behind both ``als_half_step`` and ``ALS.fit``: no checks here
    (both callers validated their inputs once). Returns (factors, biases or None, data term)."""
    targets = rows.targets
    if targets is None:
        offset = global_mean if biases else 0.0
        targets = _targets(rows.matrix, fixed.dtype, offset, fixed_bias)
    design = _with_ones(fixed) if biases else fixed
    solution, data_term = solve_rows(rows.plan, design, targets, rows.ridge)
    factors, bias = _split_solution(solution, biases)
    return factors, bias, data_term


def _targets(
    matrix: sp.csr_matrix, dtype: np.dtype, offset: float, other_bias: np.ndarray | None
) -> np.ndarray:
    t = matrix.data.astype(dtype, copy=True)
    if offset:
        t -= offset
    if other_bias is not None:
        t -= other_bias[matrix.indices]
    return t


def _with_ones(F: np.ndarray) -> np.ndarray:
    out = np.ones((F.shape[0], F.shape[1] + 1), dtype=F.dtype)
    out[:, :-1] = F
    return out


def _row_ridge(
    lam: float, regularization: str, counts: np.ndarray, damping: float = 0.0
) -> np.ndarray:
    weights = _penalty_weights(counts, regularization, damping)
    if weights is None:
        return np.full(len(counts), float(lam))
    return float(lam) * weights


# --------------------------------------------------------------------------------- estimator
def initial_factors(
    n_users: int,
    n_items: int,
    k: int,
    *,
    seed: int | None = 0,
    init_scale: float = 0.1,
    dtype: type | np.dtype = np.float64,
) -> tuple[np.ndarray, np.ndarray, np.random.Generator]:
    """The random start of every factor model here: (X, Y, the generator after drawing them).

    ``ALS``, ``GradientDescent``, ``SGD`` and ``ImplicitALS`` all start from it, so the same
    ``seed``, ``k`` and ``init_scale`` give the same initial factors. X is drawn first, then Y,
    from ``np.random.default_rng(seed)``, each N(0, init_scale²). The generator is returned so
    later randomness (SGD's shuffles) continues the same stream. ``ALS.fit`` then sets the rows
    without training ratings to 0 (where any half-step would put them).
    """
    rng = np.random.default_rng(seed)
    X = (rng.standard_normal((n_users, k)) * init_scale).astype(dtype)
    Y = (rng.standard_normal((n_items, k)) * init_scale).astype(dtype)
    return X, Y, rng


@dataclass
class FitEvent:
    """What the callback receives after every half-step. Call ``stop()`` to end the fit."""

    iteration: int
    side: str
    iterations: int
    objective: float
    data_term: float
    regularization_term: float
    train_rmse: float
    validation_rmse: float
    seconds: float
    elapsed: float
    model: ALS
    stop_requested: bool = field(default=False, repr=False)

    @property
    def fraction_done(self) -> float:
        """Share of the planned half-steps completed so far (0..1)."""
        done = 2 * (self.iteration - 1) + (1 if self.side == "users" else 2)
        return min(1.0, done / max(1, 2 * self.iterations))

    def stop(self) -> None:
        self.stop_requested = True


@dataclass(frozen=True)
class Snapshot:
    """The factors right after one half-step, for replaying a fit."""

    iteration: int
    side: str
    user_factors: np.ndarray
    item_factors: np.ndarray
    user_bias: np.ndarray | None
    item_bias: np.ndarray | None


class ALS(ParamsMixin):
    """Exact alternating least squares for explicit ratings.

    Each iteration solves every user's factors with the items' held fixed, then every item's
    with the users' held fixed, both by ``als_half_step``'s exact solve, so the objective (see
    the module docstring and ``objective``) never rises. Settings are keyword-only; ``fit``
    learns the attributes that end in ``_``.

    Parameters
    ----------
    k : int, default 10
        Rank of the factorisation, 1 ≤ k ≤ min(n_users, n_items).
    lam : float, default 0.1
        λ ≥ 0, the regularisation strength.
    iterations : int, default 15
        Maximum number of full iterations (users, then items); 0 leaves the random start.
    regularization : {"plain", "weighted"}, default "plain"
        ``"plain"``: the article's λ; ``"weighted"``: λ·n per row (ALS-WR, as in Spark).
    biases : bool, default False
        Fit μ + b_u + b_i + x_u·y_i instead of x_u·y_i.
    tol : float or None, default None
        Stop when the objective changes by less than this share over one iteration.
    patience : int or None, default None
        Stop when the validation RMSE has not improved for this many iterations, and keep the
        factors of the best one (needs ``validation`` in ``fit``).
    snapshots : bool, default False
        Keep a copy of the factors after every half-step (``snapshots_``, for replay), at most
        ``snapshot_max_bytes`` in all; past that, every other snapshot is dropped and later
        ones are taken half as often, so the replay spans the whole fit (the first and the
        last half-step are always kept).
    snapshot_max_bytes : int, default 256 MiB
        Memory budget of the snapshots.
    dtype : np.float64 or np.float32, default np.float64
        Floating type of the factors and the solves.
    seed : int or None, default 0
        The single source of randomness (the initial factors, ``initial_factors``): the same
        seed and data give the same factors.
    init_scale : float, default 0.1
        Standard deviation of the random initial factors.
    damping : float, default 0.0
        Pseudo-count n₀ ≥ 0 added to every row's count under ``"weighted"`` (ridge
        λ·(n + n₀)), so rows with few ratings are still shrunk; must be 0 with ``"plain"``.

    Attributes
    ----------
    user_factors_, item_factors_ : ndarray of shape (n_users, k), (n_items, k)
        The learned factors X and Y.
    user_bias_, item_bias_ : ndarray of shape (n_users,), (n_items,), or None
        b_u and b_i (None without biases); ``global_mean_`` is μ (0.0 without biases).
    history_ : pandas.DataFrame
        One row per half-step: iteration, side, objective, its two terms, train and
        validation RMSE, seconds, elapsed.
    n_iter_ : int
        Iterations run. ``stop_reason_`` says why the fit ended: "iterations", "tol",
        "patience" or "callback".
    snapshots_ : list of Snapshot or None
        The factors after each kept half-step (with ``snapshots=True``).

    See Also
    --------
    als_half_step : one exact half-step, the function ``fit`` runs.
    objective : the objective ``fit`` minimises.

    Examples
    --------
    >>> import pandas as pd
    >>> import als_core as ac
    >>> df = pd.DataFrame({
    ...     "user": ["ann", "ann", "ann", "bob", "bob", "cy", "cy", "dee", "dee", "dee"],
    ...     "item": ["Heat", "Up", "Alien", "Heat", "Alien", "Up", "Coco", "Heat", "Coco", "Alien"],
    ...     "rating": [5.0, 2.0, 4.0, 4.0, 5.0, 5.0, 4.0, 1.0, 4.0, 2.0],
    ... })
    >>> ratings = ac.Ratings.from_frame(df)
    >>> model = ac.ALS(k=2, lam=0.1, iterations=10, seed=0).fit(ratings)
    >>> model.user_factors_.shape, model.item_factors_.shape
    ((4, 2), (4, 2))
    >>> len(model.history_), model.stop_reason_
    (20, 'iterations')
    >>> bool(model.history_["objective"].is_monotonic_decreasing)
    True
    """

    def __init__(
        self,
        *,
        k: int = 10,
        lam: float = 0.1,
        iterations: int = 15,
        regularization: str = "plain",
        biases: bool = False,
        tol: float | None = None,
        patience: int | None = None,
        snapshots: bool = False,
        snapshot_max_bytes: int = 256 * 2**20,
        dtype: type | np.dtype = np.float64,
        seed: int | None = 0,
        init_scale: float = 0.1,
        damping: float = 0.0,
    ) -> None:
        self.k = k
        self.lam = lam
        self.iterations = iterations
        self.regularization = regularization
        self.biases = biases
        self.tol = tol
        self.patience = patience
        self.snapshots = snapshots
        self.snapshot_max_bytes = snapshot_max_bytes
        self.dtype = dtype
        self.seed = seed
        self.init_scale = init_scale
        self.damping = damping

    def __repr__(self) -> str:
        # Short on purpose: the main settings, not all of get_params(); SparkALS's repr builds
        # on it.
        p = self.get_params()
        return (
            f"ALS(k={p['k']}, lam={p['lam']}, iterations={p['iterations']}, "
            f"regularization={p['regularization']!r}, biases={p['biases']}, seed={p['seed']})"
        )

    # ------------------------------------------------------------------------- fitting
    def fit(
        self,
        train: Ratings | sp.spmatrix | sp.sparray,
        validation: Ratings | sp.spmatrix | sp.sparray | None = None,
        callback: Callable[[FitEvent], Any] | None = None,
    ) -> ALS:
        """Fit the factors to the observed entries of ``train``.

        Starts from ``initial_factors`` (rows without ratings at 0) and alternates exact
        half-steps, users then items, each by the function behind ``als_half_step``.

        Parameters
        ----------
        train : Ratings or scipy.sparse matrix of shape (n_users, n_items)
            The training ratings; only stored entries count (a stored 0 is a rating of 0).
        validation : Ratings or scipy.sparse matrix of the same shape, optional
            Held-out ratings in the same index space (as ``split`` makes them): their RMSE is
            recorded after every half-step, and ``patience`` watches it.
        callback : callable, optional
            Called with a ``FitEvent`` after every half-step; ``event.stop()`` ends the fit
            (``stop_reason_`` is then "callback"), keeping the factors so far.

        Returns
        -------
        ALS
            This model, fitted.

        Raises
        ------
        ValueError
            A setting out of range (the message names it and the allowed values), ratings
            that are NaN or infinite, or a validation set of another shape.
        TypeError
            ``train`` is neither ``Ratings`` nor a scipy.sparse matrix (a dense array cannot
            tell missing from zero).
        NonFiniteFactorsError
            The fit produced NaN or infinite factors.

        Examples
        --------
        >>> import scipy.sparse as sp
        >>> import als_core as ac
        >>> R = sp.csr_matrix(([5.0, 3.0, 4.0, 1.0, 2.0], ([0, 0, 1, 2, 2], [0, 1, 1, 0, 2])))
        >>> halves = []
        >>> model = ac.ALS(k=1, iterations=3).fit(R, callback=lambda e: halves.append(e.side))
        >>> halves
        ['users', 'items', 'users', 'items', 'users', 'items']
        """
        R = as_csr(train)
        V = None if validation is None else as_csr(validation)
        self._validate(R, V)
        dtype = np.dtype(self.dtype)
        k = int(self.k)
        n_users, n_items = R.shape
        Rt = R.T.tocsr()  # item-major copy; keeps stored zeros (they are ratings)
        Rt.sort_indices()
        user_counts = np.diff(R.indptr)
        item_counts = np.diff(Rt.indptr)
        mu = float(R.data.mean()) if (self.biases and R.nnz) else 0.0

        X, Y, _ = initial_factors(
            n_users, n_items, k, seed=self.seed, init_scale=self.init_scale, dtype=dtype
        )
        # Rows with no training rating are solved to 0 by any half-step; start them there too,
        # so even iterations=0 predicts them from the mean (and biases), not from noise.
        X[user_counts == 0] = 0.0
        Y[item_counts == 0] = 0.0
        bu = np.zeros(n_users, dtype=dtype) if self.biases else None
        bi = np.zeros(n_items, dtype=dtype) if self.biases else None

        width = k + (1 if self.biases else 0)
        # Without biases the targets are the ratings themselves: convert them once, not per step.
        settings = (width, self.lam, self.regularization, self.damping)
        keep = None if self.biases else dtype
        user_rows = _Rows.of(R, *settings, fixed_targets=keep)
        item_rows = _Rows.of(Rt, *settings, fixed_targets=keep)
        reg_weights_u = _penalty_weights(user_counts, self.regularization, self.damping)
        reg_weights_i = _penalty_weights(item_counts, self.regularization, self.damping)
        validation_ratings = observed(V)

        self._set_state(R, X, Y, bu, bi, mu, user_counts, item_counts, train)
        history: list[dict[str, Any]] = []
        snapshots: list[Snapshot] = []
        self._snapshot_stride = 1
        self._unsaved_last_step = None
        best = (np.inf, 0, None)
        stale = 0
        self.stop_reason_ = "iterations"
        start = time.perf_counter()
        previous_objective = None
        half_steps = 0
        stop = False
        for it in range(1, int(self.iterations) + 1):
            for side in ("users", "items"):
                t0 = time.perf_counter()
                # The very half-step ``als_half_step`` runs (and the update page checks).
                if side == "users":
                    X, bu, data_term = _half_step(
                        user_rows, Y, biases=self.biases, fixed_bias=bi, global_mean=mu
                    )
                else:
                    Y, bi, data_term = _half_step(
                        item_rows, X, biases=self.biases, fixed_bias=bu, global_mean=mu
                    )
                reg_term = float(self.lam) * (
                    _penalty(X, bu, reg_weights_u) + _penalty(Y, bi, reg_weights_i)
                )
                # Only the factors change within a fit; the rest of _set_state (training mean,
                # scale, counts) was set before the loop and costs passes over the data.
                self.user_factors_, self.item_factors_ = X, Y
                self.user_bias_, self.item_bias_ = bu, bi
                val_rmse = self._rmse_on(validation_ratings)
                seconds = time.perf_counter() - t0
                row = {
                    "iteration": it,
                    "side": side,
                    "objective": data_term + reg_term,
                    "data_term": data_term,
                    "regularization_term": reg_term,
                    "train_rmse": float(np.sqrt(data_term / R.nnz)) if R.nnz else np.nan,
                    "validation_rmse": val_rmse,
                    "seconds": seconds,
                    "elapsed": time.perf_counter() - start,
                }
                history.append(row)
                half_steps += 1
                if self.snapshots:
                    self._take_snapshot(snapshots, half_steps, it, side, X, Y, bu, bi)
                if V is not None and side == "items":
                    # A whole iteration is done: judge it before a callback may stop the fit.
                    if val_rmse < best[0]:
                        best = (val_rmse, it, (X.copy(), Y.copy(), _copy(bu), _copy(bi)))
                        stale = 0
                    else:
                        stale += 1
                if callback is not None:
                    event = FitEvent(iterations=int(self.iterations), model=self, **row)
                    callback(event)
                    if event.stop_requested:
                        self.stop_reason_ = "callback"
                        stop = True
                        break
            if stop:
                break
            objective_now = history[-1]["objective"]
            if self.patience is not None and stale >= self.patience:  # patience needs V
                self.stop_reason_ = "patience"
                X, Y, bu, bi = best[2]
                self._set_state(R, X, Y, bu, bi, mu, user_counts, item_counts, train)
                break
            if self.tol is not None and previous_objective is not None:
                change = abs(previous_objective - objective_now) / max(
                    abs(previous_objective), 1e-300
                )
                if change < self.tol:
                    self.stop_reason_ = "tol"
                    break
            previous_objective = objective_now

        if self.snapshots:
            self._snapshot_last_step(snapshots)
        self._check_finite()
        self.history_ = pd.DataFrame(history, columns=HISTORY_COLUMNS)
        self.n_iter_ = int(self.history_["iteration"].max()) if len(history) else 0
        self.best_iteration_ = best[1] if V is not None and best[1] else None
        self.best_validation_rmse_ = float(best[0]) if V is not None and best[1] else None
        self.snapshots_ = snapshots if self.snapshots else None
        self.fit_seconds_ = time.perf_counter() - start
        return self

    def _validate(self, R: sp.csr_matrix, V: sp.csr_matrix | None) -> None:
        k = self.k
        check_positive_int("k", k)
        n_users, n_items = R.shape
        if k > min(n_users, n_items):
            raise ValueError(
                f"k={k} is larger than min(n_users, n_items) = min({n_users}, {n_items}); "
                f"choose k ≤ {min(n_users, n_items)}"
            )
        check_lam(self.lam)
        check_regularization(self.regularization)
        check_damping(self.damping, self.regularization)
        check_int_at_least("iterations", self.iterations, 0)
        check_dtype(self.dtype)
        if self.tol is not None and not (np.isfinite(self.tol) and self.tol >= 0):
            raise ValueError(f"tol must be a finite number ≥ 0 or None, got {self.tol!r}")
        if self.patience is not None:
            if not isinstance(self.patience, (int, np.integer)) or self.patience < 1:
                raise ValueError(
                    f"patience must be a positive integer or None, got {self.patience!r}"
                )
            if V is None:
                raise ValueError("patience needs a validation set: pass validation= to fit()")
        check_validation_shape(R, V)

    def _set_state(self, R, X, Y, bu, bi, mu, user_counts, item_counts, train) -> None:
        self.user_factors_ = X
        self.item_factors_ = Y
        self.user_bias_ = bu
        self.item_bias_ = bi
        self.global_mean_ = mu
        self.train_mean_ = float(R.data.mean()) if R.nnz else 0.0
        self.rating_scale_ = (
            (float(R.data.min()), float(R.data.max())) if R.nnz else (-np.inf, np.inf)
        )
        self.user_counts_ = user_counts
        self.item_counts_ = item_counts
        self.train_matrix_ = R
        self.user_ids_ = train.user_ids if isinstance(train, Ratings) else np.arange(R.shape[0])
        self.item_ids_ = train.item_ids if isinstance(train, Ratings) else np.arange(R.shape[1])

    def _take_snapshot(self, snapshots, half_steps, it, side, X, Y, bu, bi) -> None:
        if (half_steps - 1) % self._snapshot_stride:
            # Remember (by reference: nothing runs between this and the copy at the end of fit
            # if it is the last half-step) so the replay can end at the final half-step.
            self._unsaved_last_step = (it, side, X, Y, bu, bi)
            return
        self._unsaved_last_step = None
        snapshots.append(Snapshot(it, side, X.copy(), Y.copy(), _copy(bu), _copy(bi)))
        if _snapshot_bytes(snapshots) > self.snapshot_max_bytes and len(snapshots) > 2:
            del snapshots[1::2]
            self._snapshot_stride *= 2

    def _snapshot_last_step(self, snapshots: list[Snapshot]) -> None:
        """End the replay at the last half-step, dropping the one before it if over budget."""
        if self._unsaved_last_step is None:
            return
        it, side, X, Y, bu, bi = self._unsaved_last_step
        self._unsaved_last_step = None
        snapshots.append(Snapshot(it, side, X.copy(), Y.copy(), _copy(bu), _copy(bi)))
        while _snapshot_bytes(snapshots) > self.snapshot_max_bytes and len(snapshots) > 2:
            del snapshots[-2]

    def _check_finite(self) -> None:
        arrays = [self.user_factors_, self.item_factors_, self.user_bias_, self.item_bias_]
        if not all(a is None or np.all(np.isfinite(a)) for a in arrays):
            raise NonFiniteFactorsError(
                "the fit produced NaN or infinite factors; check the ratings for extreme values "
                "or raise lam"
            )

    # ------------------------------------------------------------------------- using
    def _require_fitted(self) -> None:
        if not hasattr(self, "user_factors_"):
            raise NotFittedError("this ALS model is not fitted yet: call fit(train) first")

    def _raw_predict(self, users: np.ndarray, items: np.ndarray, *, clip: bool) -> np.ndarray:
        X, Y = self.user_factors_, self.item_factors_
        pred = np.empty(len(users), dtype=np.float64)
        # In chunks: gathering k-wide rows for millions of pairs at once allocates GBs and ran
        # ~7x slower (2.2M pairs at k = 50: 9 s whole, 1.3 s in chunks).
        for start in range(0, len(users), _PREDICT_CHUNK):
            part = slice(start, start + _PREDICT_CHUNK)
            pred[part] = np.einsum("nk,nk->n", X[users[part]], Y[items[part]], dtype=np.float64)
        pred += self.global_mean_
        if self.biases:
            pred += self.user_bias_[users].astype(np.float64) + self.item_bias_[items]
        else:
            # Without biases a user or item with no training ratings has a zero factor, which
            # would predict 0; the training mean is the honest fallback.
            cold = (self.user_counts_[users] == 0) | (self.item_counts_[items] == 0)
            pred[cold] = self.train_mean_
        if clip:
            np.clip(pred, *self.rating_scale_, out=pred)
        return pred

    def _rmse_on(self, ratings: tuple[np.ndarray, np.ndarray, np.ndarray] | None) -> float:
        """RMSE of the clipped predictions on (rows, columns, ratings); NaN without any."""
        if ratings is None or len(ratings[2]) == 0:
            return float("nan")
        rows, cols, actual = ratings
        return rmse(actual, self._raw_predict(rows, cols, clip=True))

    def predict(self, user_idx: Any, item_idx: Any, *, clip: bool = True) -> np.ndarray:
        """Predicted ratings for (user, item) index pairs.

        Users or items without training ratings get the global mean plus whatever bias is
        known (with ``biases=True``) or the training mean (without): never NaN.

        Parameters
        ----------
        user_idx, item_idx : int or array of int
            Row indices of users and items (as in ``Ratings.user_ids``/``item_ids``),
            broadcast against each other.
        clip : bool, default True
            Clip the predictions to the lowest and highest training rating.

        Returns
        -------
        ndarray of float64
            One prediction per pair, in the broadcast shape.

        Raises
        ------
        NotFittedError
            Before ``fit``.
        ValueError, IndexError
            Indices that are not integers, or out of range.

        Examples
        --------
        >>> import scipy.sparse as sp
        >>> import als_core as ac
        >>> R = sp.csr_matrix([[4.0, 2.0], [2.0, 1.0]])  # rank 1: k = 1 fits it exactly
        >>> model = ac.ALS(k=1, lam=1e-6, iterations=20).fit(R)
        >>> model.predict([0, 1], [1, 1]).round(3)
        array([2., 1.])
        >>> float(model.predict(0, 0, clip=False).round(3))
        4.0
        """
        self._require_fitted()
        users, items = np.broadcast_arrays(np.asarray(user_idx), np.asarray(item_idx))
        check_index(users, len(self.user_factors_), "user")
        check_index(items, len(self.item_factors_), "item")
        shape = users.shape
        out = self._raw_predict(users.ravel(), items.ravel(), clip=clip)
        return out.reshape(shape)

    def scores(self, user_idx: int) -> np.ndarray:
        """Unclipped predicted scores of one user for every item (used for ranking)."""
        self._require_fitted()
        check_index(np.asarray(user_idx), len(self.user_factors_), "user")
        items = np.arange(len(self.item_factors_))
        return self._raw_predict(np.full(len(items), int(user_idx)), items, clip=False)

    def recommend(self, user_idx: int, n: int = 10, *, exclude_seen: bool = True) -> pd.DataFrame:
        """The n items with the highest predicted scores for one user.

        Scores are unclipped so the order at the top is kept. Ties (e.g. a cold user without
        biases) are broken by popularity in the training data.

        Parameters
        ----------
        user_idx : int
            The user's row index.
        n : int, default 10
            How many items (fewer if fewer are left).
        exclude_seen : bool, default True
            Leave out the items the user rated in training.

        Returns
        -------
        pandas.DataFrame
            Columns rank (1, 2, ...), item (index), item_id (label), score; best first.

        Raises
        ------
        NotFittedError
            Before ``fit``.
        ValueError, IndexError
            ``user_idx`` is not an integer index, or out of range.

        Examples
        --------
        >>> import pandas as pd
        >>> import als_core as ac
        >>> df = pd.DataFrame({
        ...     "user": ["ann", "ann", "bob", "bob", "bob", "cy", "cy"],
        ...     "item": ["Heat", "Up", "Heat", "Up", "Coco", "Up", "Coco"],
        ...     "rating": [5.0, 1.0, 5.0, 1.0, 4.0, 1.0, 5.0],
        ... })
        >>> model = ac.ALS(k=1, lam=0.1, iterations=10).fit(ac.Ratings.from_frame(df))
        >>> model.recommend(0, n=5)[["rank", "item_id"]]
           rank item_id
        0     1    Coco
        """
        scores = self.scores(user_idx)
        candidates = np.arange(len(scores))
        if exclude_seen:
            R = self.train_matrix_
            seen = R.indices[R.indptr[user_idx] : R.indptr[user_idx + 1]]
            candidates = np.setdiff1d(candidates, seen, assume_unique=True)
        order = np.lexsort((-self.item_counts_[candidates], -scores[candidates]))[: max(0, n)]
        chosen = candidates[order]
        return pd.DataFrame(
            {
                "rank": np.arange(1, len(chosen) + 1),
                "item": chosen,
                "item_id": self.item_ids_[chosen],
                "score": scores[chosen],
            }
        )

    def similar_items(self, item_idx: int, n: int = 10) -> pd.DataFrame:
        """The n items whose factors have the highest cosine similarity to this item's.

        Parameters
        ----------
        item_idx : int
            The item's row index.
        n : int, default 10
            How many neighbours (fewer if there are fewer other items).

        Returns
        -------
        pandas.DataFrame
            Columns item (index), item_id (label), similarity (cosine, -1..1), most similar
            first; ties go to the lower index, and the item itself is left out.

        Raises
        ------
        NotFittedError
            Before ``fit``.
        ValueError, IndexError
            ``item_idx`` is not an integer index, or out of range.

        Examples
        --------
        >>> import scipy.sparse as sp
        >>> import als_core as ac
        >>> R = sp.csr_matrix([[5.0, 5.0, 1.0], [1.0, 1.0, 5.0], [5.0, 4.0, 1.0]])
        >>> model = ac.ALS(k=2, lam=0.01, iterations=10).fit(R)
        >>> model.similar_items(0, n=2)["item"].tolist()  # item 1 is rated like item 0
        [1, 2]
        """
        self._require_fitted()
        check_index(np.asarray(item_idx), len(self.item_factors_), "item")
        idx, sim = cosine_neighbours(self.item_factors_, int(item_idx), n=n)
        return pd.DataFrame({"item": idx, "item_id": self.item_ids_[idx], "similarity": sim})

    def similar_users(self, user_idx: int, n: int = 10) -> pd.DataFrame:
        """The n users whose factors have the highest cosine similarity to this user's."""
        self._require_fitted()
        check_index(np.asarray(user_idx), len(self.user_factors_), "user")
        idx, sim = cosine_neighbours(self.user_factors_, int(user_idx), n=n)
        return pd.DataFrame({"user": idx, "user_id": self.user_ids_[idx], "similarity": sim})

    def score_parts(self, user_idx: int, item_idx: int) -> dict[str, Any]:
        """How one score is made: μ, b_u, b_i and the per-factor products x_uf·y_if."""
        self._require_fitted()
        check_index(np.asarray(user_idx), len(self.user_factors_), "user")
        check_index(np.asarray(item_idx), len(self.item_factors_), "item")
        factors = self.user_factors_[user_idx].astype(np.float64) * self.item_factors_[item_idx]
        return {
            "global_mean": self.global_mean_,
            "user_bias": float(self.user_bias_[user_idx]) if self.biases else 0.0,
            "item_bias": float(self.item_bias_[item_idx]) if self.biases else 0.0,
            "factors": factors,
            "score": float(
                self._raw_predict(np.array([user_idx]), np.array([item_idx]), clip=False)[0]
            ),
        }

    def fold_in(self, item_idx: Any, ratings: Any) -> tuple[np.ndarray, float]:
        """Place a new user from a few (item, rating) pairs: one exact half-step against the
        trained item factors. Returns (factor vector (k,), bias (0.0 without biases))."""
        self._require_fitted()
        items = np.asarray(item_idx, dtype=np.int64).ravel()
        values = np.asarray(ratings, dtype=np.float64).ravel()
        if items.shape != values.shape:
            raise ValueError(
                f"expected as many ratings as items, got {values.shape} and {items.shape}"
            )
        if not np.all(np.isfinite(values)):
            raise ValueError("fold_in ratings must be finite numbers")
        check_index(items, len(self.item_factors_), "item")
        if len(np.unique(items)) != len(items):
            raise ValueError("each item may be rated only once in fold_in")
        order = np.argsort(items)
        row = sp.csr_matrix(
            (values[order], items[order], np.array([0, len(items)])),
            shape=(1, len(self.item_factors_)),
        )
        result = als_half_step(
            row,
            self.item_factors_,
            self.lam,
            self.regularization,
            biases=self.biases,
            fixed_bias=self.item_bias_,
            global_mean=self.global_mean_,
            damping=self.damping,
        )
        if self.biases:
            x, b = result
            return x[0], float(b[0])
        return result[0], 0.0


# --------------------------------------------------------------------------------- helpers
def _split_solution(sol: np.ndarray, biases: bool) -> tuple[np.ndarray, np.ndarray | None]:
    if biases:
        return np.ascontiguousarray(sol[:, :-1]), sol[:, -1].copy()
    return sol, None


def _snapshot_bytes(snapshots: list[Snapshot]) -> int:
    arrays = [
        a for s in snapshots for a in (s.user_factors, s.item_factors, s.user_bias, s.item_bias)
    ]
    return sum(a.nbytes for a in arrays if a is not None)


def _copy(a: np.ndarray | None) -> np.ndarray | None:
    return None if a is None else a.copy()
