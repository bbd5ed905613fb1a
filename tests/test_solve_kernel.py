"""The batched solver's own paths (als_core._solve): chunking, long rows cut into segments,
rows solved in observation space (fewer observations than unknowns), zero ridge, threads,
for the numpy engine and, where both apply, the compiled kernel too.

Every solution is held to the article's plain loop (``reference_half_step``), every data term
to Σ (t − x·f)² computed directly, and the threaded path to the serial one bit for bit.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from helpers import direct_data_term, ratings_with_row_lengths

from als_core import _solve
from als_core.reference import reference_half_step


@pytest.fixture(params=["numpy", "gcc", "clang"])
def engine(request, kernel_builds):
    """The numpy engine, and the compiled kernel as each installed C compiler builds it."""
    if request.param == "numpy":
        return "numpy"
    kernel_builds.use(request.param)
    return "compiled"


def _run_solver(
    R, fixed, lam, *, regularization="plain", n_threads=1, block_elements=None, engine="numpy"
):
    kwargs = {} if block_elements is None else {"block_elements": block_elements}
    plan = _solve.plan_rows(R.indptr, R.indices, R.shape[1], fixed.shape[1], **kwargs)
    counts = np.diff(R.indptr).astype(np.float64)
    ridge = lam * counts if regularization == "weighted" else np.full(R.shape[0], float(lam))
    data = R.data.astype(fixed.dtype)
    return plan, _solve.solve_rows(plan, fixed, data, ridge, n_threads=n_threads, engine=engine)


@pytest.fixture()
def mixed():
    """Rows of every kind: empty, one rating, fewer ratings than k, many, longer than a block."""
    rng = np.random.default_rng(0)
    k = 8
    lengths = [0, 1, 2, 3, 5, 7, 8, 9, 12, 20, 40, 90, 150, 300, 299, 0, 4, 64]
    lengths += list(rng.integers(1, 60, size=40))
    R = ratings_with_row_lengths(rng, lengths, 320)
    Y = rng.standard_normal((320, k))
    return R, Y


# ----------------------------------------------------------------------------- plans
def test_plan_covers_every_nonempty_row_once_with_inert_padding(mixed):
    R, Y = mixed
    plan = _solve.plan_rows(R.indptr, R.indices, R.shape[1], Y.shape[1], block_elements=1024)
    solved = np.concatenate([c.rows for c in plan.chunks])
    counts = np.diff(R.indptr)
    assert sorted(solved.tolist()) == np.flatnonzero(counts > 0).tolist()
    assert sorted(plan.schedule) == list(range(len(plan.chunks)))
    for chunk in plan.chunks:
        n, length = chunk.cols.shape
        for row, cols, pos in zip(chunk.rows, chunk.cols, chunk.pos, strict=True):
            c = counts[row]
            start = R.indptr[row]
            assert np.array_equal(cols[:c], R.indices[start : start + c])
            assert np.array_equal(pos[:c], np.arange(start, start + c))
            assert np.all(cols[c:] == R.shape[1]) and np.all(pos[c:] == R.nnz)
        assert chunk.dual == (length < Y.shape[1])
        # bounded memory: a chunk of several rows stays within the block size
        if n > 1:
            assert n * max(length, Y.shape[1]) * (Y.shape[1] + 1) <= 1024


def test_rows_longer_than_one_block_get_a_chunk_each(mixed):
    R, Y = mixed
    plan = _solve.plan_rows(R.indptr, R.indices, R.shape[1], Y.shape[1], block_elements=256)
    long_rows = np.flatnonzero(np.diff(R.indptr) * (Y.shape[1] + 1) > 256)
    assert len(long_rows) > 5
    for chunk in plan.chunks:
        if np.isin(chunk.rows, long_rows).any():
            assert len(chunk.rows) == 1


# ----------------------------------------------------------------------------- exactness
@pytest.mark.parametrize("regularization", ["plain", "weighted"])
@pytest.mark.parametrize("block_elements", [256, 4096, None])
def test_solutions_equal_the_reference_loop_and_data_term_is_exact(
    mixed, regularization, block_elements, engine
):
    # Every path at once (dual rows, ordinary rows, single-row chunks): factors to 1e-12 of
    # their scale, the data term to 1e-12 relative against a direct sum of squared residuals.
    R, Y = mixed
    lam = 0.3
    _, (X, data_term) = _run_solver(
        R, Y, lam, regularization=regularization, block_elements=block_elements, engine=engine
    )
    expected = reference_half_step(R, Y, lam, regularization)
    np.testing.assert_allclose(X, expected, rtol=0, atol=1e-12 * np.abs(expected).max())
    assert data_term == pytest.approx(direct_data_term(R, X, Y), rel=1e-12)
    assert np.all(X[np.diff(R.indptr) == 0] == 0)


def test_segmented_gram_of_long_rows_equals_the_reference(mixed, monkeypatch):
    # A tiny small-gemm budget makes the segment length 32, so rows of 64+ ratings are cut
    # into segments plus a tail; the result must not change beyond rounding.
    monkeypatch.setattr(_solve, "SMALL_GEMM_ELEMENTS", 2048)
    monkeypatch.setattr(_solve, "MIN_SEGMENT_WIDTH", 1)
    R, Y = mixed
    plan, (X, data_term) = _run_solver(R, Y, 0.1)
    segmented = [c for c in plan.chunks if c.segment]
    assert segmented and any(c.cols.shape[1] % c.segment for c in segmented)  # with a tail
    expected = reference_half_step(R, Y, 0.1)
    np.testing.assert_allclose(X, expected, rtol=0, atol=1e-12 * np.abs(expected).max())
    assert data_term == pytest.approx(direct_data_term(R, X, Y), rel=1e-12)


def test_observation_space_solve_matches_the_normal_equations():
    # Rows with fewer ratings than unknowns (k = 12): x must satisfy (FᵀF + λI) x = Fᵀt.
    rng = np.random.default_rng(3)
    k = 12
    R = ratings_with_row_lengths(rng, rng.integers(1, k, size=30), 50)
    Y = rng.standard_normal((50, k))
    plan, (X, _) = _run_solver(R, Y, 1e-3)
    assert all(c.dual for c in plan.chunks)
    for u in range(R.shape[0]):
        cols = R.indices[R.indptr[u] : R.indptr[u + 1]]
        t = R.data[R.indptr[u] : R.indptr[u + 1]]
        F = Y[cols]
        residual = (F.T @ F + 1e-3 * np.eye(k)) @ X[u] - F.T @ t
        assert np.linalg.norm(residual) <= 1e-10 * (np.linalg.norm(F.T @ t) + 1)


def test_zero_ridge_gives_the_least_norm_solution(mixed):
    # λ = 0: rows with fewer ratings than k are rank-deficient; the reference uses lstsq.
    R, Y = mixed
    _, (X, data_term) = _run_solver(R, Y, 0.0, block_elements=4096)
    expected = reference_half_step(R, Y, 0.0)
    np.testing.assert_allclose(X, expected, rtol=0, atol=1e-9 * np.abs(expected).max())
    assert data_term == pytest.approx(direct_data_term(R, X, Y), rel=1e-9, abs=1e-9)


def test_float32_agrees_with_the_float64_reference(mixed, engine):
    R, Y = mixed
    _, (X, data_term) = _run_solver(
        R, Y.astype(np.float32), 0.5, block_elements=4096, engine=engine
    )
    assert X.dtype == np.float32
    expected = reference_half_step(R, Y.astype(np.float32).astype(np.float64), 0.5)
    np.testing.assert_allclose(X, expected, rtol=0, atol=2e-4 * np.abs(expected).max())
    assert data_term == pytest.approx(direct_data_term(R, X, Y.astype(np.float32)), rel=1e-5)


# ----------------------------------------------------------------------------- threads
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_threaded_result_is_bit_identical_to_serial(mixed, dtype, engine):
    R, Y = mixed
    Y = Y.astype(dtype)
    _, (serial, serial_data) = _run_solver(
        R, Y, 0.2, block_elements=512, n_threads=1, engine=engine
    )
    for n_threads in (2, 3, 8):
        _, (threaded, threaded_data) = _run_solver(
            R, Y, 0.2, block_elements=512, n_threads=n_threads, engine=engine
        )
        assert np.array_equal(threaded, serial)
        assert threaded_data == serial_data


def test_worker_threads_reraise_the_first_error_and_stop():
    done = []

    def run(index):
        if index == 3:
            raise FloatingPointError("chunk 3 failed")
        done.append(index)

    with pytest.raises(FloatingPointError, match="chunk 3"):
        _solve._run_threaded(run, tuple(range(50)), 3)
    assert 3 not in done and len(done) < 50


def test_n_threads_must_be_a_positive_integer(mixed, engine):
    R, Y = mixed
    for bad in (0, -1, True, 1.5):
        with pytest.raises(ValueError, match="n_threads"):
            _run_solver(R, Y, 0.1, n_threads=bad, engine=engine)


def test_blas_thread_limit_is_restored_after_overlapping_solves(mixed):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = [p["num_threads"] for p in threadpoolctl.threadpool_info()]
    R, Y = mixed
    barrier = threading.Barrier(3)
    results = []

    def fit():
        barrier.wait()
        results.append(_run_solver(R, Y, 0.2, block_elements=512, n_threads=2)[1][0])

    threads = [threading.Thread(target=fit) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 3 and all(np.array_equal(r, results[0]) for r in results)
    assert [p["num_threads"] for p in threadpoolctl.threadpool_info()] == before
