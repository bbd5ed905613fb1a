"""The article's algorithm, written as plainly as the article writes it.

A loop over rows (users, or items), a loop over that row's ratings accumulating
A = Σ y_i y_iᵀ and B = Σ r_ui y_i, then one solve of (A + λI) x = B. This is the teaching version
the dashboard steps through and the oracle the tests hold the fast solver to. Unlike the
article's listing it keeps each y_i a k-vector (no reshape of all rows into one), and it never
skips a row: a singular system (λ = 0) gets the least-norm solution.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ._validation import as_csr, check_regularization


def reference_solve_row(A: np.ndarray, B: np.ndarray, ridge: float) -> np.ndarray:
    """Solve (A + ridge·I) x = B; least-norm when the system is singular."""
    system = A + ridge * np.eye(len(B))
    if ridge > 0:
        return np.linalg.solve(system, B)
    return np.linalg.lstsq(system, B, rcond=None)[0]


def reference_half_step(
    R: sp.spmatrix,
    fixed: np.ndarray,
    lam: float,
    regularization: str = "plain",
    *,
    biases: bool = False,
    fixed_bias: np.ndarray | None = None,
    global_mean: float = 0.0,
    damping: float = 0.0,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Solve every row of R with ``fixed`` held fixed, one rating at a time.

    Same contract as ``als_core.als_half_step``: (n_rows, k) factors, or (factors, biases) with
    ``biases=True``, where the targets are r − μ − b_other and each fixed row gets a trailing 1.
    The ridge is λ (plain) or λ·(n_u + damping) (weighted).
    """
    check_regularization(regularization)
    R = as_csr(R)
    fixed = np.asarray(fixed, dtype=np.float64)
    k = fixed.shape[1] + (1 if biases else 0)
    solved = np.zeros((R.shape[0], k))
    for u in range(R.shape[0]):
        A = np.zeros((k, k))
        B = np.zeros(k)
        n_u = 0
        for pos in range(R.indptr[u], R.indptr[u + 1]):
            i = R.indices[pos]
            r = R.data[pos]
            y = fixed[i]
            if biases:
                y = np.append(y, 1.0)
                r = r - global_mean - (fixed_bias[i] if fixed_bias is not None else 0.0)
            A += np.outer(y, y)
            B += r * y
            n_u += 1
        ridge = lam * (n_u + damping) if regularization == "weighted" else lam
        solved[u] = reference_solve_row(A, B, ridge)
    if biases:
        return solved[:, :-1], solved[:, -1]
    return solved


def reference_objective(
    R: sp.spmatrix,
    X: np.ndarray,
    Y: np.ndarray,
    lam: float,
    regularization: str = "plain",
    damping: float = 0.0,
) -> float:
    """Σ over observed (r_ui − x_u·y_i)² + λ(Σ c_u‖x_u‖² + Σ c_i‖y_i‖²), by plain loops, with
    c = 1 (plain) or c = n + damping (weighted)."""
    R = as_csr(R).tocoo()
    total = 0.0
    for u, i, r in zip(R.row, R.col, R.data, strict=True):
        total += (r - X[u] @ Y[i]) ** 2
    n_u = np.bincount(R.row, minlength=R.shape[0])
    n_i = np.bincount(R.col, minlength=R.shape[1])
    for u in range(X.shape[0]):
        total += lam * (n_u[u] + damping if regularization == "weighted" else 1) * (X[u] @ X[u])
    for i in range(Y.shape[0]):
        total += lam * (n_i[i] + damping if regularization == "weighted" else 1) * (Y[i] @ Y[i])
    return float(total)


def reference_fit(
    R: sp.spmatrix,
    *,
    k: int,
    lam: float,
    iterations: int,
    regularization: str = "plain",
    seed: int = 0,
    init_scale: float = 0.1,
    damping: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """The article's whole loop (no biases); returns X, Y and the objective after each half-step.

    Starts from the same random factors as ``ALS(k=k, seed=seed, init_scale=init_scale)``, so
    the two can be compared step for step.
    """
    R = as_csr(R)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((R.shape[0], k)) * init_scale
    Y = rng.standard_normal((R.shape[1], k)) * init_scale
    Rt = R.T.tocsr()
    objectives = []
    for _ in range(iterations):
        X = reference_half_step(R, Y, lam, regularization, damping=damping)
        objectives.append(reference_objective(R, X, Y, lam, regularization, damping))
        Y = reference_half_step(Rt, X, lam, regularization, damping=damping)
        objectives.append(reference_objective(R, X, Y, lam, regularization, damping))
    return X, Y, objectives


@dataclass(frozen=True)
class UpdateStep:
    """One rating folded into a row's update: the running A and B after it."""

    step: int
    col: int
    rating: float
    fixed_row: np.ndarray
    A: np.ndarray
    B: np.ndarray


def reference_update_steps(R: sp.spmatrix, fixed: np.ndarray, row: int) -> Iterator[UpdateStep]:
    """Walk one row's update rating by rating (for teaching): yields the running A and B."""
    R = as_csr(R)
    fixed = np.asarray(fixed, dtype=np.float64)
    k = fixed.shape[1]
    A = np.zeros((k, k))
    B = np.zeros(k)
    for step, pos in enumerate(range(R.indptr[row], R.indptr[row + 1]), start=1):
        i = int(R.indices[pos])
        r = float(R.data[pos])
        A = A + np.outer(fixed[i], fixed[i])
        B = B + r * fixed[i]
        yield UpdateStep(step=step, col=i, rating=r, fixed_row=fixed[i].copy(), A=A, B=B)
