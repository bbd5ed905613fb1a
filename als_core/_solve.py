"""The exact batched solver behind every half-step.

For each row u of a sparse matrix R (a user, or an item when R is transposed) with observed
columns I_u and targets t_u, it solves the w x w normal equations

    (F_Iᵀ F_I + λ_u I) x_u = F_Iᵀ t_u

where F is the fixed factor matrix of the other side (w = k, or k + 1 with a bias column).

Two engines solve the same systems. The compiled kernel (``_kernel``: one pass per row in C,
symmetric Gram tiles, Cholesky) runs whenever it can be built and every row has a positive
ridge; it is about 2.7 times as fast at MovieLens-1M size (benchmarks/README.md). The numpy
engine below handles everything else (zero ridge, no C compiler, ``ALS_CORE_ENGINE=numpy``,
and every half-step while the kernel is still compiling in the background); rows the kernel
finds not numerically positive definite get a least-norm solve.

How the numpy engine works, and why this way (measured on 2 cores, MovieLens-1M shape,
k = 50; see benchmarks/bench_speed.py):

- Rows are sorted by their number of observations and grouped into chunks of equal padded
  length L. Each chunk is gathered into one (B, L, w + 1) block: the rows of F, plus the targets
  as a last column. Padding points at an all-zero row of F and a zero target, so it adds
  nothing. Chunk lengths come from a small dynamic program that accepts padding exactly where
  it costs less than one more chunk (a few numpy calls): few chunks, little padding.
- One stacked product ``blockᵀ @ block[..., :w]`` gives every Gram matrix *and* every
  right-hand side F_Iᵀ t at once. It is a general product on purpose: numpy sends ``Aᵀ @ A`` on
  one buffer to BLAS syrk, which is half as fast as gemm at these sizes, and OpenBLAS's fast
  small-matrix gemm only applies up to about 10⁶ multiply-adds, so long rows are cut into
  segments whose Gram matrices are summed.
- Rows with fewer observations than unknowns (L < w) are solved in observation space,
  x = F_Iᵀ (F_I F_Iᵀ + λ I)⁻¹ t: the same solution from an L x L system instead of a w x w one.
- All solves of a chunk are one batched LAPACK call (LU: numpy batches no triangular solve, and
  its batched Cholesky plus vectorised substitution measured no faster at k = 50 and ~10 %
  faster at k = 20, for much more code). Rows whose ridge is 0 get the least-norm solution
  from an eigen-solve instead, so rank-deficient systems are not an error.
- The data term Σ (t − x·f)² comes from the residuals of the gathered block, in float64, while
  the block is still in cache: it is the exact value for the returned solution, not an
  estimate from the normal equations (which would lose digits to cancellation on good fits).
- Chunks are independent, so ``n_threads`` workers take them from a shared counter (biggest
  first); BLAS is held to one thread meanwhile, since its own threads only add overhead on
  products this small and would oversubscribe the cores. Every chunk runs the same code on the
  same data whichever worker takes it and the data term is summed exactly (math.fsum), so the
  result is bit-identical for any number of threads.

Memory stays bounded: a chunk's block and its stack of systems hold at most ``block_elements``
numbers each, per worker.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from . import _kernel

# Numbers in one gathered block, or in one chunk's stack of systems. 2^18 float64 is 2 MB, about
# one core's L2 cache here: the block is gathered, multiplied and reused for the residuals while
# it is still in cache, and the Python cost per chunk (~40 µs) stays small beside its arithmetic.
DEFAULT_BLOCK_ELEMENTS = 1 << 18
# The fixed cost of one more chunk in flops at the Gram product's rate: ~25 µs of Python and
# numpy call overhead at ~50 GFLOP/s. Padding is worth it while it costs less than this.
CHUNK_OVERHEAD_FLOPS = 1.2e6
# Gathering a number into a block and reading it back for the residual (~0.7 ns), in flops.
GATHER_FLOPS_PER_NUMBER = 35.0
# OpenBLAS's small-matrix gemm kernel (no packing, measured ~1.5x faster at these shapes) is
# used up to about 10⁶ multiply-adds per product; longer rows are split into segments below it.
SMALL_GEMM_ELEMENTS = 1 << 18
# Narrower than this, a product is mostly call overhead and cutting it up only adds calls.
MIN_SEGMENT_WIDTH = 16
# Below this many flops in a whole half-step, starting worker threads costs more than it saves.
MIN_FLOPS_PER_THREAD = 2e7
# Each chunk also holds the GIL for ~40 µs of Python; beyond a few threads that serialises.
MAX_THREADS = 8


@dataclass(frozen=True)
class Chunk:
    """Rows of equal padded length L, solved together."""

    rows: np.ndarray  # (B,) row indices solved by this chunk
    cols: np.ndarray  # (B, L) column indices into F, padded with n_cols (the zero row)
    pos: np.ndarray  # (B, L) positions into the row-major data, padded with nnz (a zero)
    dual: bool  # L < width: solve the L x L system in observation space
    segment: int  # 0, or the segment length the Gram product is cut into (long rows)


@dataclass(frozen=True)
class RowPlan:
    """How the rows of one sparse matrix are solved; reusable while its structure is fixed.

    The compiled kernel needs only the structure and ``order``; the numpy engine's padded
    chunks are built the first time it needs them.
    """

    n_rows: int
    n_cols: int
    nnz: int
    width: int
    counts: np.ndarray
    indptr: np.ndarray  # int64
    indices: np.ndarray  # int32 (the kernel's type), or the original type if n_cols is huge
    order: np.ndarray  # non-empty rows, most observations first (int64)
    flops: float  # estimated work of one solve of every row
    block_elements: int = DEFAULT_BLOCK_ELEMENTS

    @cached_property
    def chunks(self) -> tuple[Chunk, ...]:
        return _build_chunks(self)

    @cached_property
    def schedule(self) -> tuple[int, ...]:
        """Chunk indices, most expensive first (for load balance)."""
        cost = [_chunk_flops(c, self.width) for c in self.chunks]
        return tuple(int(i) for i in np.argsort(cost, kind="stable")[::-1])


# --------------------------------------------------------------------------------- planning
def plan_rows(
    indptr: np.ndarray,
    indices: np.ndarray,
    n_cols: int,
    width: int,
    *,
    block_elements: int = DEFAULT_BLOCK_ELEMENTS,
) -> RowPlan:
    """Plan the solves of the rows of a CSR structure with ``width`` unknowns per row.

    ``width`` is the number of unknowns per row (k, or k + 1 with a bias column); it sets the
    cost model and, for the numpy engine, how many rows fit in a chunk of ``block_elements``.
    """
    indptr = np.ascontiguousarray(indptr, dtype=np.int64)
    indices = np.asarray(indices)
    if n_cols < np.iinfo(np.int32).max:
        indices = np.ascontiguousarray(indices, dtype=np.int32)
    counts = np.diff(indptr)
    order = np.argsort(-counts, kind="stable")
    order = np.ascontiguousarray(order[counts[order] > 0], dtype=np.int64)
    flops = float(np.sum(counts.astype(np.float64)) * width * width)
    flops += len(order) * width**3 / 3.0
    return RowPlan(
        n_rows=len(counts),
        n_cols=n_cols,
        nnz=int(indptr[-1]),
        width=width,
        counts=counts,
        indptr=indptr,
        indices=indices,
        order=order,
        flops=flops,
        block_elements=block_elements,
    )


def _build_chunks(plan: RowPlan) -> tuple[Chunk, ...]:
    """Group the non-empty rows into padded chunks of similar length (the numpy engine)."""
    indptr, indices, counts, width = plan.indptr, plan.indices, plan.counts, plan.width
    order = plan.order[::-1]  # shortest first: the length groups are found in rising order
    segment = _segment_length(width)
    chunks: list[Chunk] = []
    for start, stop, length in _length_groups(counts[order], width, plan.block_elements):
        dual = length < width
        rows_per_chunk = int(_rows_per_chunk(length, width, plan.block_elements))
        n_chunks = -(-(stop - start) // rows_per_chunk)
        step = -(-(stop - start) // n_chunks)  # equal chunks rather than one small remainder
        seg = segment if length >= 2 * segment and width >= MIN_SEGMENT_WIDTH else 0
        for a in range(start, stop, step):
            rows = order[a : min(stop, a + step)]
            cols, pos = _padded_positions(indptr, indices, rows, length, plan.n_cols, plan.nnz)
            chunks.append(Chunk(rows=rows, cols=cols, pos=pos, dual=dual, segment=seg))
    return tuple(chunks)


def _length_groups(
    sorted_counts: np.ndarray, width: int, block_elements: int
) -> list[tuple[int, int, int]]:
    """(start, stop, padded length) of runs of sorted rows that share a chunk length.

    The cheapest split by a small dynamic program over the distinct lengths: a group costs
    ``CHUNK_OVERHEAD_FLOPS`` per chunk plus its rows' work at the group's longest length, so
    padding is accepted exactly where it is cheaper than another chunk. Rows solved in
    observation space (length < width) and the others never share a group.
    """
    if len(sorted_counts) == 0:
        return []
    lengths, first = np.unique(sorted_counts, return_index=True)
    bounds = np.append(first, len(sorted_counts))
    split = int(np.searchsorted(lengths, width))
    groups = []
    for lo, hi in ((0, split), (split, len(lengths))):
        if lo < hi:
            groups += _cheapest_partition(
                lengths[lo:hi], bounds[lo : hi + 1], width, block_elements
            )
    return groups


def _cheapest_partition(
    lengths: np.ndarray, bounds: np.ndarray, width: int, block_elements: int
) -> list[tuple[int, int, int]]:
    m = len(lengths)
    per_chunk = _rows_per_chunk(lengths, width, block_elements)
    per_row = _row_flops(lengths, width)
    best = np.zeros(m + 1)
    choice = np.zeros(m + 1, dtype=np.int64)
    for j in range(m):
        rows = bounds[j + 1] - bounds[: j + 1]  # rows in the group lengths[i..j], for each i
        total = best[: j + 1] + rows * per_row[j]
        total += CHUNK_OVERHEAD_FLOPS * np.ceil(rows / per_chunk[j])
        choice[j + 1] = total.argmin()
        best[j + 1] = total[choice[j + 1]]
    groups = []
    j = m
    while j > 0:
        i = int(choice[j])
        groups.append((int(bounds[i]), int(bounds[j]), int(lengths[j - 1])))
        j = i
    return groups[::-1]


def _rows_per_chunk(length, width: int, block_elements: int):
    """Rows whose gathered block and systems each stay within ``block_elements`` numbers.

    Sized for w x w systems even below ``width``: a chunk of short rows falls back to them when
    some row has no ridge.
    """
    return np.maximum(1, block_elements // (np.maximum(length, width) * (width + 1)))


def _row_flops(length, width: int):
    """Estimated work of one row padded to ``length``, in flops at the Gram product's rate.

    Gram (or, below ``width``, the observation-space kernel), gathering and residuals per
    padded observation, plus the LU solve, which runs about 8x slower than a matrix product
    at these sizes.
    """
    length = np.asarray(length, dtype=np.float64)
    size = np.minimum(length, width)  # the system's order: L below width (dual), else width
    gram = 2.0 * length * (width + 1) * size
    moves = GATHER_FLOPS_PER_NUMBER * length * (width + 1)
    return gram + moves + 8.0 * (2.0 / 3.0) * size**3


def _padded_positions(
    indptr: np.ndarray,
    indices: np.ndarray,
    rows: np.ndarray,
    length: int,
    n_cols: int,
    nnz: int,
) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.arange(length, dtype=np.int64)
    pos = indptr[rows][:, None] + offsets[None, :]
    valid = offsets[None, :] < (indptr[rows + 1] - indptr[rows])[:, None]
    pos = np.where(valid, pos, nnz)
    cols = np.where(valid, indices[np.minimum(pos, max(nnz - 1, 0))], n_cols)
    return cols.astype(np.intp), pos.astype(np.intp)


def _segment_length(width: int) -> int:
    """Rows longer than twice this are cut into segments of it for the Gram product."""
    target = SMALL_GEMM_ELEMENTS // (width * (width + 1))
    return int(min(256, max(32, 1 << max(0, target.bit_length() - 1))))


def _chunk_flops(chunk: Chunk, width: int) -> float:
    n_rows, length = chunk.cols.shape
    size = length if chunk.dual else width
    gram = 2.0 * length * (width + 1) * (length if chunk.dual else width)
    return n_rows * (gram + 2.0 / 3.0 * size**3 + 4.0 * length * width)


# --------------------------------------------------------------------------------- solving
def solve_rows(
    plan: RowPlan,
    fixed: np.ndarray,
    targets: np.ndarray,
    lam_rows: np.ndarray,
    *,
    n_threads: int | None = None,
    engine: str | None = None,
) -> tuple[np.ndarray, float]:
    """Solve every row of the plan exactly; return (solutions, data term after the solve).

    ``fixed`` is (n_cols, w), ``targets`` the row-major observed values (nnz,), ``lam_rows`` the
    ridge added to each row's diagonal (n_rows,). Empty rows get the zero vector, which is the
    exact (least-norm) solution of their system. Rows whose ridge is 0 are solved by a
    least-norm eigen-solve, so rank-deficient systems give the minimum-norm solution rather than
    an error or garbage. The data term is Σ (t - x·f)² over all observations, computed from the
    residuals in float64.

    ``n_threads``: worker threads (default: the usable cores, fewer for small problems). The
    result does not depend on it, bit for bit. ``engine``: "auto" (the default, from
    ``ALS_CORE_ENGINE``: the compiled kernel where it applies), "compiled" (an error if the
    kernel cannot be built) or "numpy".
    """
    n_fixed, width = fixed.shape
    if width != plan.width:
        raise ValueError(
            f"expected fixed factors with {plan.width} columns (the plan's width), "
            f"got shape {fixed.shape}"
        )
    engine = _kernel.engine_setting() if engine is None else engine
    if engine not in ("auto", "compiled", "numpy"):
        raise ValueError(f"engine must be 'auto', 'compiled' or 'numpy', got {engine!r}")
    lam = np.ascontiguousarray(lam_rows, dtype=fixed.dtype)
    if engine != "numpy":
        kernel = _compiled_kernel(plan, fixed, lam, required=engine == "compiled")
        if kernel is not None:
            return _solve_compiled(kernel, plan, fixed, targets, lam, n_threads)
    return _solve_numpy(plan, fixed, targets, lam, n_threads)


def _compiled_kernel(plan: RowPlan, fixed: np.ndarray, lam: np.ndarray, *, required: bool):
    """The kernel if it applies to this solve and is ready, else None (or an error if required).

    Not required ("auto"), it never waits for the compiler: while the kernel builds in the
    background (seconds, once per machine) half-steps run on the numpy engine, whose results
    agree to rounding.
    """
    reasons = []
    if fixed.dtype not in (np.float64, np.float32):
        reasons.append(f"dtype {fixed.dtype} (it has float64 and float32)")
    if plan.indices.dtype != np.int32:
        reasons.append("more than 2^31 columns")
    if len(plan.order) and not np.all(lam[plan.order] > 0):
        reasons.append("a row with zero ridge (the numpy engine finds the least-norm solution)")
    if not reasons:
        if not required:
            return _kernel.current()
        try:
            return _kernel.load()
        except _kernel.KernelUnavailable as exc:
            reasons.append(str(exc))
    if required:
        raise ValueError("the compiled kernel cannot solve this: " + "; ".join(reasons))
    return None


def _solve_compiled(
    kernel: _kernel.Kernel,
    plan: RowPlan,
    fixed: np.ndarray,
    targets: np.ndarray,
    lam: np.ndarray,
    n_threads: int | None,
) -> tuple[np.ndarray, float]:
    """Stripes of the longest-first row order on worker threads (ctypes drops the GIL)."""
    dtype = fixed.dtype
    variant = kernel.choose_variant(dtype, plan.width)
    step = _kernel.HalfStep.checked(
        kernel,
        variant,
        indptr=plan.indptr,
        indices=plan.indices,
        targets=np.ascontiguousarray(targets, dtype=dtype),
        padded=kernel.pad(fixed, variant),
        width=plan.width,
        lam=lam,
        out=np.zeros((plan.n_rows, plan.width), dtype=dtype),
        data_terms=np.zeros(plan.n_rows),
    )
    workers = _worker_count(n_threads, plan, len(plan.order))
    stripes = [np.ascontiguousarray(plan.order[i::workers]) for i in range(workers)]
    failed: list[np.ndarray] = [np.empty(0, dtype=np.int64)] * workers

    def run(i: int) -> None:
        failed[i] = _kernel.solve_stripe(step, stripes[i])

    if workers == 1:
        run(0)
    else:
        _run_threaded(run, tuple(range(workers)), workers)
    redo = np.sort(np.concatenate(failed))
    out, data_terms = step.out, step.data_terms
    if len(redo):
        _solve_rows_least_norm(plan, fixed, step.targets, lam, redo, out, data_terms)
    return out, math.fsum(data_terms.tolist())


def _solve_rows_least_norm(plan, fixed, targets, lam, rows, out, data_terms) -> None:
    """Solve ``rows`` one by one, in float64, by the least-norm eigen-solve.

    Used for the rows the kernel's Cholesky found not positive definite in floating point:
    a ridge lost to rounding beside a rank-deficient Gram matrix. The least-norm solution is
    then the limit of the ridge solutions as the ridge goes to 0, the best answer there is.
    """
    for row in rows:
        start, stop = plan.indptr[row], plan.indptr[row + 1]
        F = fixed[plan.indices[start:stop]].astype(np.float64)
        t = targets[start:stop].astype(np.float64)
        system = F.T @ F + float(lam[row]) * np.eye(plan.width)
        if not np.all(np.isfinite(system)):  # NaN or overflow: let the caller's check name it
            out[row], data_terms[row] = np.nan, np.nan
            continue
        out[row] = least_norm_solve(system[None], (F.T @ t)[None])[0]
        resid = F @ out[row].astype(np.float64) - t
        data_terms[row] = float(resid @ resid)


def _solve_numpy(
    plan: RowPlan,
    fixed: np.ndarray,
    targets: np.ndarray,
    lam: np.ndarray,
    n_threads: int | None,
) -> tuple[np.ndarray, float]:
    n_fixed, width = fixed.shape
    dtype = fixed.dtype
    # One zero row for padded positions, one zero column that each block fills with targets.
    design = np.zeros((n_fixed + 1, width + 1), dtype=dtype)
    design[:n_fixed, :width] = fixed
    targets_ext = np.empty(plan.nnz + 1, dtype=dtype)
    targets_ext[: plan.nnz] = targets
    targets_ext[plan.nnz] = 0.0
    all_positive = bool(np.all(lam > 0))
    out = np.zeros((plan.n_rows, width), dtype=dtype)
    data_terms = [0.0] * len(plan.chunks)

    def run(index: int) -> None:
        chunk = plan.chunks[index]
        lam_chunk = lam[chunk.rows]
        positive = all_positive or bool(np.all(lam_chunk > 0))
        solution, data_terms[index] = _solve_chunk(
            chunk, design, targets_ext, lam_chunk, width, positive
        )
        out[chunk.rows] = solution

    workers = _worker_count(n_threads, plan, len(plan.chunks))
    with _blas_single_thread():
        if workers == 1:
            for index in plan.schedule:
                run(index)
        else:
            _run_threaded(run, plan.schedule, workers)
    return out, math.fsum(data_terms)


def _solve_chunk(
    chunk: Chunk,
    design: np.ndarray,
    targets_ext: np.ndarray,
    lam: np.ndarray,
    width: int,
    positive: bool,
) -> tuple[np.ndarray, float]:
    """Gather, build the systems, solve, and return (solutions (B, w), data term)."""
    block = np.take(design, chunk.cols, axis=0)  # (B, L, w + 1); the last column is still 0
    block[:, :, width] = np.take(targets_ext, chunk.pos)
    if chunk.dual and positive:
        solution = _solve_dual(block, lam, width)
    else:
        solution = _solve_primal(block, lam, width, chunk.segment, positive)
    # Residuals F x − t of the whole chunk in one product, with the extended vectors [x, −1].
    extended = np.empty((len(solution), width + 1), dtype=design.dtype)
    extended[:, :width] = solution
    extended[:, width] = -1.0
    resid = np.matmul(block, extended[:, :, None]).astype(np.float64, copy=False)
    return solution, float(np.vdot(resid, resid))


def _solve_primal(
    block: np.ndarray, lam: np.ndarray, width: int, segment: int, positive: bool
) -> np.ndarray:
    """The w x w normal equations of every row of the block."""
    gram = _gram_and_rhs(block, width, segment)  # (B, w + 1, w): [Gram; (Fᵀt)ᵀ]
    systems = gram[:, :width, :]
    np.einsum("bii->bi", systems)[...] += lam[:, None]  # a writable view of the diagonals
    rhs = gram[:, width, :]
    if positive:
        return np.linalg.solve(systems, rhs[:, :, None])[:, :, 0]
    return _solve_stack(systems, rhs, lam)


def _gram_and_rhs(block: np.ndarray, width: int, segment: int) -> np.ndarray:
    """blockᵀ @ block[..., :w] for every row: the Gram matrix and, as last row, (Fᵀt)ᵀ."""
    length = block.shape[1]
    if not segment or length < 2 * segment:
        return np.matmul(block.transpose(0, 2, 1), block[:, :, :width])
    n_seg = length // segment
    head = block[:, : n_seg * segment].reshape(len(block), n_seg, segment, width + 1)
    gram = np.matmul(head.transpose(0, 1, 3, 2), head[..., :width]).sum(axis=1)
    tail = block[:, n_seg * segment :]
    if tail.shape[1]:
        gram += np.matmul(tail.transpose(0, 2, 1), tail[:, :, :width])
    return gram


def _solve_dual(block: np.ndarray, lam: np.ndarray, width: int) -> np.ndarray:
    """x = Fᵀ (F Fᵀ + λI)⁻¹ t: the same solution as the primal system, from an L x L one.

    Padded observations are zero rows of F with target 0, so their equations read λ z = 0.
    """
    factors = block[:, :, :width]
    # A copy of Fᵀ keeps numpy on gemm: F @ F.T on one buffer goes to the slower syrk.
    kernel = np.matmul(factors, np.ascontiguousarray(factors.transpose(0, 2, 1)))
    np.einsum("bii->bi", kernel)[...] += lam[:, None]
    z = np.linalg.solve(kernel, block[:, :, width:])
    return np.matmul(factors.transpose(0, 2, 1), z)[:, :, 0]


def _solve_stack(systems: np.ndarray, rhs: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Solve a stack of symmetric systems; ridge-free ones by least-norm eigen-solve."""
    singular = lam <= 0
    if not singular.any():
        return np.linalg.solve(systems, rhs[:, :, None])[:, :, 0]
    solution = np.empty(rhs.shape, dtype=systems.dtype)
    regular = ~singular
    if regular.any():
        solution[regular] = np.linalg.solve(systems[regular], rhs[regular][:, :, None])[:, :, 0]
    solution[singular] = least_norm_solve(systems[singular], rhs[singular])
    return solution


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


# --------------------------------------------------------------------------------- threads
def usable_cores() -> int:
    """Cores this process may run on (the affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def _worker_count(n_threads: int | None, plan: RowPlan, units: int) -> int:
    """Threads for a solve split into ``units`` independent pieces."""
    if n_threads is not None:
        if isinstance(n_threads, bool) or not isinstance(n_threads, int) or n_threads < 1:
            raise ValueError(f"n_threads must be a positive integer or None, got {n_threads!r}")
        return min(n_threads, max(1, units))
    by_work = int(plan.flops // MIN_FLOPS_PER_THREAD)
    return max(1, min(usable_cores(), MAX_THREADS, by_work, units))


def _run_threaded(run, schedule: tuple[int, ...], workers: int) -> None:
    """Run ``run(i)`` for every i in ``schedule`` on ``workers`` threads, in schedule order.

    The threads take the next chunk from a shared iterator (handing one out is atomic under
    the GIL), which balances uneven chunks without a queue per task. The first error is
    re-raised here after all threads stop.
    """
    tasks = iter(schedule)
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker() -> None:
        while not errors:
            with lock:
                index = next(tasks, None)
            if index is None:
                return
            try:
                run(index)
            except BaseException as exc:  # re-raised in the calling thread
                errors.append(exc)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers - 1)]
    for thread in threads:
        thread.start()
    worker()  # the calling thread works too
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


_blas_lock = threading.Lock()
_blas_users = 0
_blas_limiter = None


@contextmanager
def _blas_single_thread() -> Iterator[None]:
    """Hold BLAS/LAPACK to one thread while any solve is running in this process.

    A counter makes overlapping solves (e.g. two dashboard sessions) safe: the first one in sets
    the limit, the last one out restores the previous setting. Without threadpoolctl the
    limit is skipped (results are the same, only slower on long rows).
    """
    global _blas_users, _blas_limiter
    with _blas_lock:
        if _blas_users == 0:
            _blas_limiter = _limit_blas()
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0 and _blas_limiter is not None:
                _blas_limiter.restore_original_limits()
                _blas_limiter = None


_controller = None


def _limit_blas():
    global _controller
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")
