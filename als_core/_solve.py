"""The exact batched solver behind every half-step.

For each row u of a sparse matrix R (a user, or an item when R is transposed) with observed
columns I_u and targets t_u, it solves the k x k normal equations

    (F_Iᵀ F_I + λ_u I) w_u = F_Iᵀ t_u

where F is the fixed factor matrix of the other side. Rows are sorted by their number of
observations and cut into chunks of similar length; each chunk is gathered into a padded
(B, L, k) block (padding points at an all-zero row of F, so it adds nothing) and all its Gram
matrices come from one stacked matrix product, all its solves from one batched LAPACK call.
There is no Python loop over ratings and no explicit inverse. Chunk sizes are bounded so the
gathered blocks and the k x k systems stay within a small, fixed amount of memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Elements (not bytes) in one gathered block or one stack of k x k systems. 2^18 float64 is 2 MB:
# small enough to stay in cache, large enough that the per-chunk Python overhead is negligible.
DEFAULT_BLOCK_ELEMENTS = 1 << 18
# Rows whose lengths differ by at most this factor share a chunk, which bounds padding waste.
LENGTH_GROWTH = 1.25
LENGTH_SLACK = 4


@dataclass(frozen=True)
class Chunk:
    rows: np.ndarray  # (B,) row indices solved by this chunk
    cols: np.ndarray  # (B, L) column indices into F, padded with n_cols (the zero row)
    pos: np.ndarray  # (B, L) positions into the row-major data, padded with nnz (a zero)


@dataclass(frozen=True)
class RowPlan:
    """How the rows of one sparse matrix are grouped; reusable while its structure is fixed."""

    n_rows: int
    n_cols: int
    nnz: int
    counts: np.ndarray
    chunks: tuple[Chunk, ...]


def plan_rows(
    indptr: np.ndarray,
    indices: np.ndarray,
    n_cols: int,
    width: int,
    *,
    block_elements: int = DEFAULT_BLOCK_ELEMENTS,
) -> RowPlan:
    """Group the non-empty rows of a CSR structure into padded chunks of similar length.

    ``width`` is the number of unknowns per row (k, or k + 1 with a bias column); it sets how
    many rows fit in a chunk of ``block_elements``.
    """
    indptr = np.asarray(indptr, dtype=np.int64)
    counts = np.diff(indptr)
    nnz = int(indptr[-1])
    order = np.argsort(counts, kind="stable")
    order = order[counts[order] > 0]
    sorted_counts = counts[order]
    chunks: list[Chunk] = []
    start = 0
    n = len(order)
    while start < n:
        c0 = int(sorted_counts[start])
        limit = max(int(c0 * LENGTH_GROWTH), c0 + LENGTH_SLACK)
        stop = int(np.searchsorted(sorted_counts, limit, side="right"))
        longest = int(sorted_counts[stop - 1])
        per_row = max(longest * width, width * width)
        stop = min(stop, start + max(1, block_elements // per_row))
        rows = order[start:stop]
        length = int(sorted_counts[stop - 1])
        offsets = np.arange(length, dtype=np.int64)
        pos = indptr[rows][:, None] + offsets[None, :]
        valid = offsets[None, :] < counts[rows][:, None]
        pos = np.where(valid, pos, nnz)
        cols = np.where(valid, np.asarray(indices)[np.minimum(pos, max(nnz - 1, 0))], n_cols)
        chunks.append(Chunk(rows=rows, cols=cols.astype(np.intp), pos=pos.astype(np.intp)))
        start = stop
    return RowPlan(n_rows=len(counts), n_cols=n_cols, nnz=nnz, counts=counts, chunks=tuple(chunks))


def solve_rows(
    plan: RowPlan,
    fixed: np.ndarray,
    targets: np.ndarray,
    lam_rows: np.ndarray,
) -> tuple[np.ndarray, float]:
    """Solve every row of the plan exactly; return (solutions, data term after the solve).

    ``fixed`` is (n_cols, w), ``targets`` the row-major observed values (nnz,), ``lam_rows`` the
    ridge added to each row's diagonal (n_rows,). Empty rows get the zero vector, which is the
    exact (least-norm) solution of their system. Rows whose ridge is 0 are solved by a
    least-norm eigen-solve, so rank-deficient systems give the minimum-norm solution rather than
    an error or garbage. The data term is Σ (t - w·f)² over all observations, computed from the
    gathered blocks, in float64.
    """
    n_fixed, width = fixed.shape
    dtype = fixed.dtype
    fixed_ext = np.zeros((n_fixed + 1, width), dtype=dtype)
    fixed_ext[:n_fixed] = fixed
    targets_ext = np.zeros(plan.nnz + 1, dtype=dtype)
    targets_ext[: plan.nnz] = targets
    out = np.zeros((plan.n_rows, width), dtype=dtype)
    data_term = 0.0
    diag = np.arange(width)
    for chunk in plan.chunks:
        block = fixed_ext[chunk.cols]  # (B, L, w)
        t = targets_ext[chunk.pos]  # (B, L)
        blockT = block.transpose(0, 2, 1)
        gram = np.matmul(blockT, block)  # (B, w, w)
        rhs = np.matmul(blockT, t[:, :, None])  # (B, w, 1)
        lam = lam_rows[chunk.rows].astype(dtype, copy=False)
        gram[:, diag, diag] += lam[:, None]
        sol = _solve_stack(gram, rhs, lam)
        out[chunk.rows] = sol
        resid = t - np.matmul(block, sol[:, :, None])[:, :, 0]
        data_term += float(np.einsum("bl,bl->", resid, resid, dtype=np.float64))
    return out, data_term


def _solve_stack(gram: np.ndarray, rhs: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Solve a stack of symmetric systems; ridge-free ones by least-norm eigen-solve."""
    singular = lam <= 0
    if not singular.any():
        return np.linalg.solve(gram, rhs)[:, :, 0]
    sol = np.empty(rhs.shape[:2], dtype=gram.dtype)
    regular = ~singular
    if regular.any():
        sol[regular] = np.linalg.solve(gram[regular], rhs[regular])[:, :, 0]
    sol[singular] = least_norm_solve(gram[singular], rhs[singular, :, 0])
    return sol


def least_norm_solve(gram: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Minimum-norm solution of symmetric positive semi-definite systems A w = b, batched.

    Eigenvalues below a relative tolerance count as zero, as in ``numpy.linalg.lstsq``.
    """
    vals, vecs = np.linalg.eigh(gram)
    width = gram.shape[-1]
    tol = np.finfo(gram.dtype).eps * width * np.maximum(vals.max(axis=-1, keepdims=True), 0.0)
    inv = np.where(vals > tol, 1.0 / np.where(vals > tol, vals, 1.0), 0.0)
    coef = np.einsum("bkj,bk->bj", vecs, rhs) * inv
    return np.einsum("bkj,bj->bk", vecs, coef).astype(gram.dtype, copy=False)
