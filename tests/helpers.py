"""Shared generators and independent (dense, per-row) computations for the als_core tests.

Everything here is deliberately written without the library's fast paths, so that a test can
hold the library to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

import als_core as ac


def random_ratings(
    rng: np.random.Generator,
    n_users: int,
    n_items: int,
    density: float,
    *,
    low: float = 1.0,
    high: float = 5.0,
    min_per_row: int = 0,
) -> ac.Ratings:
    """Uniform random ratings on a random sparsity pattern (each cell kept with ``density``).

    ``min_per_row`` forces at least that many ratings per user (capped at n_items).
    """
    mask = rng.random((n_users, n_items)) < density
    need = min(min_per_row, n_items)
    for u in range(n_users):
        short = need - int(mask[u].sum())
        if short > 0:
            free = np.flatnonzero(~mask[u])
            mask[u, rng.choice(free, size=short, replace=False)] = True
    rows, cols = np.nonzero(mask)
    values = rng.uniform(low, high, size=len(rows))
    return ac.Ratings.from_codes(rows, cols, values, shape=(n_users, n_items))


def ratings_with_row_lengths(rng: np.random.Generator, lengths, n_cols: int) -> sp.csr_matrix:
    """CSR with exactly ``lengths[r]`` observations in row r (distinct random columns), 1-5."""
    rows, cols = [], []
    for r, n in enumerate(lengths):
        rows.append(np.full(n, r))
        cols.append(np.sort(rng.choice(n_cols, size=n, replace=False)))
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    values = rng.integers(1, 6, size=len(rows)).astype(np.float64)
    return sp.csr_matrix((values, (rows, cols)), shape=(len(lengths), n_cols))


def direct_data_term(R: sp.csr_matrix, X: np.ndarray, Y: np.ndarray) -> float:
    """Σ (r − x_u·y_i)² over the stored entries of R, pair by pair in float64."""
    coo = R.tocoo()
    pred = np.einsum("nk,nk->n", X[coo.row].astype(np.float64), Y[coo.col].astype(np.float64))
    return float(np.sum((coo.data - pred) ** 2))


@dataclass(frozen=True)
class LowRankProblem:
    truth: np.ndarray  # (n_users, n_items) dense true matrix (small test sizes only)
    observed: ac.Ratings  # the observed entries, possibly with noise


def low_rank_problem(
    *,
    n_users: int,
    n_items: int,
    rank: int,
    observed_fraction: float,
    noise: float = 0.0,
    seed: int = 0,
) -> LowRankProblem:
    """A rank-``rank`` matrix U Vᵀ, and a random ``observed_fraction`` of its entries (+ noise).

    Every user and item gets at least ``rank`` observations so the completion is well posed.
    """
    rng = np.random.default_rng(seed)
    U = rng.standard_normal((n_users, rank))
    V = rng.standard_normal((n_items, rank))
    truth = U @ V.T
    mask = rng.random((n_users, n_items)) < observed_fraction
    for u in range(n_users):
        if mask[u].sum() < rank:
            mask[u, rng.choice(n_items, size=rank, replace=False)] = True
    for i in range(n_items):
        if mask[:, i].sum() < rank:
            mask[rng.choice(n_users, size=rank, replace=False), i] = True
    rows, cols = np.nonzero(mask)
    values = truth[rows, cols] + noise * rng.standard_normal(len(rows))
    observed = ac.Ratings.from_codes(rows, cols, values, shape=truth.shape)
    return LowRankProblem(truth=truth, observed=observed)


def dense_row_system(
    R: sp.csr_matrix,
    fixed: np.ndarray,
    row: int,
    lam: float,
    regularization: str,
    *,
    biases: bool = False,
    fixed_bias: np.ndarray | None = None,
    global_mean: float = 0.0,
    damping: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """The normal equations (A, b) of one row, built densely: A = FᵀF + λ_u I, b = Fᵀt."""
    start, stop = R.indptr[row], R.indptr[row + 1]
    cols = R.indices[start:stop]
    F = np.asarray(fixed, dtype=np.float64)[cols]
    t = R.data[start:stop].astype(np.float64)
    if biases:
        F = np.hstack([F, np.ones((len(cols), 1))])
        t = t - global_mean - (0.0 if fixed_bias is None else fixed_bias[cols])
    ridge = lam * (len(cols) + damping) if regularization == "weighted" else lam
    A = F.T @ F + ridge * np.eye(F.shape[1])
    return A, F.T @ t


def max_relative_difference(actual: np.ndarray, expected: np.ndarray) -> float:
    """max |actual − expected| divided by max |expected| (or 1 when expected is all zero)."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    scale = float(np.max(np.abs(expected))) if expected.size else 1.0
    return float(np.max(np.abs(actual - expected), initial=0.0)) / (scale if scale > 0 else 1.0)


def dense_predictions(model: ac.ALS) -> np.ndarray:
    """Every user x item score of a fitted model, unclipped, built from its factors directly."""
    X = model.user_factors_.astype(np.float64)
    Y = model.item_factors_.astype(np.float64)
    scores = X @ Y.T + model.global_mean_
    if model.biases:
        scores += model.user_bias_[:, None] + model.item_bias_[None, :]
    return scores


def triples(r: ac.Ratings) -> set[tuple[int, int, float]]:
    """The observations of ``r`` as a set of (user index, item index, rating)."""
    rows, cols, vals = r.coo()
    return set(zip(rows.tolist(), cols.tolist(), vals.tolist(), strict=True))
