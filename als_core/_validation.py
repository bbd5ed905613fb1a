"""The boundary checks every estimator and half-step shares (explicit, implicit, gradient, Spark,
baselines): one place for each check, so a setting is refused with the same words everywhere.

Private: the names here are the library's own, not its face. Each check raises ``ValueError``
(``IndexError`` for an index out of range, ``TypeError`` for data of the wrong kind) with a
message that shows the bad value and, where there is one, the fix.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from ._choices import REGULARIZATIONS
from .ratings import Ratings


def as_csr(R: Any) -> sp.csr_matrix:
    """The observed ratings of ``R`` (``Ratings`` or scipy.sparse) as canonical float64 CSR."""
    if isinstance(R, Ratings):
        return R.matrix
    if sp.issparse(R):
        m = sp.csr_matrix(R)
        if m.dtype != np.float64 or not m.has_canonical_format:
            m = m.astype(np.float64)
            m.sum_duplicates()
            m.sort_indices()
        if not np.all(np.isfinite(m.data)):
            bad = int(np.count_nonzero(~np.isfinite(m.data)))
            raise ValueError(f"{bad} stored rating(s) are NaN or infinite; remove or fix them")
        return m
    raise TypeError(
        f"expected ac.Ratings or a scipy.sparse matrix, got {type(R).__name__}; a dense array "
        "cannot tell missing from zero, so build Ratings with Ratings.from_frame"
    )


def check_non_negative(name: str, value: Any) -> None:
    """A finite real number ≥ 0 (a bool is refused): λ, α, the damping n₀."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ValueError(f"{name} must be a number ≥ 0, got {value!r}")
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number ≥ 0, got {value!r}")


def check_lam(lam: Any) -> None:
    check_non_negative("lam", lam)


def is_int(value: Any) -> bool:
    """A Python or numpy integer; a bool is not one here."""
    return not isinstance(value, bool) and isinstance(value, (int, np.integer))


def check_positive_int(name: str, value: Any) -> None:
    if not is_int(value) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def check_int_at_least(name: str, value: Any, low: int) -> None:
    if not is_int(value) or value < low:
        raise ValueError(f"{name} must be an integer ≥ {low}, got {value!r}")


def check_dtype(dtype: Any) -> None:
    if np.dtype(dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be np.float32 or np.float64, got {dtype!r}")


def check_validation_shape(R: sp.csr_matrix, V: sp.csr_matrix | None) -> None:
    if V is not None and V.shape != R.shape:
        raise ValueError(
            f"validation must have the training shape {R.shape}, got {V.shape}; "
            "build both with ac.split() so they share the index space"
        )


def as_fixed(fixed: Any, n_cols: int) -> np.ndarray:
    """A half-step's fixed factors, (n_cols, k), as a floating array (float64 unless float)."""
    fixed = np.asarray(fixed)
    if fixed.ndim != 2 or fixed.shape[0] != n_cols:
        raise ValueError(f"expected fixed factors of shape (n_cols={n_cols}, k), got {fixed.shape}")
    if not np.issubdtype(fixed.dtype, np.floating):
        fixed = fixed.astype(np.float64)
    return fixed


def check_regularization(regularization: str) -> None:
    if regularization not in REGULARIZATIONS:
        raise ValueError(f"regularization must be one of {REGULARIZATIONS}, got {regularization!r}")


def check_damping(damping: Any, regularization: str) -> None:
    check_non_negative("damping", damping)
    if damping and regularization != "weighted":
        raise ValueError(
            f"damping={damping!r} only applies to regularization='weighted' (ridge "
            "λ·(n + damping)); with 'plain' every row's ridge is λ already: set damping=0"
        )


def check_index(idx: np.ndarray, n: int, what: str) -> None:
    """Integer indices into ``n`` users or items (``what``), all in range."""
    if not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"{what} indices must be integers, got dtype {idx.dtype}")
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise IndexError(f"{what} index out of range: valid indices are 0..{n - 1}")


def observed(
    matrix: sp.csr_matrix | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(row, column, value) of every stored entry of a CSR matrix, in CSR order; None for None."""
    if matrix is None:
        return None
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    return rows, matrix.indices, matrix.data
