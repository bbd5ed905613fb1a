"""The compiled half-step kernel (als_core._kernel, _kernel_body.h): exactness against the
article's plain loop for every width and row length the vector tiles can meet, the fallbacks
(a Cholesky that fails, no compiler, a compiler that fails), the build cache, and the engine
switch. Tolerances: float64 solutions to 1e-12 of their scale, float32 to 2e-4.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import scipy.sparse as sp
from helpers import direct_data_term, ratings_with_row_lengths

import als_core as ac
from als_core import _kernel, _solve
from als_core.reference import reference_half_step

HAVE_COMPILER = any(shutil.which(name) for name in ("cc", "gcc", "clang"))
needs_kernel = pytest.mark.skipif(not HAVE_COMPILER, reason="no C compiler on this machine")


def _solve_with(R, fixed, ridge, engine, n_threads=1):
    plan = _solve.plan_rows(R.indptr, R.indices, R.shape[1], fixed.shape[1])
    data = R.data.astype(fixed.dtype)
    return _solve.solve_rows(plan, fixed, data, ridge, n_threads=n_threads, engine=engine)


@pytest.fixture()
def fresh_kernel_state(monkeypatch, tmp_path):
    """A process that has not loaded the kernel yet, building into its own cache folder."""
    monkeypatch.setattr(_kernel, "_state", {})
    monkeypatch.setenv("ALS_CORE_KERNEL_DIR", str(tmp_path))
    return tmp_path


# ----------------------------------------------------------------------------- exactness
@needs_kernel
def test_the_kernel_builds_and_loads_on_a_machine_with_a_compiler():
    assert _kernel.available(), _kernel.describe()
    assert _kernel.describe().startswith("compiled C kernel")


@needs_kernel
@pytest.mark.parametrize("width", [1, 2, 3, 7, 8, 9, 15, 16, 17, 20, 21, 24, 31, 33, 50, 51])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_width_and_row_length_equals_the_reference_loop(width, dtype):
    # Widths on and off the 8- and 16-lane vector sizes, rows shorter than a tile, than the
    # width, and longer than both, plus empty rows. The data term is checked against a direct
    # sum of squared residuals.
    rng = np.random.default_rng(width)
    lengths = [0, 1, 2, 3, 5, 7, 8, 9, 15, 16, 17, width, width + 1, 3 * width + 5, 130, 0]
    R = ratings_with_row_lengths(rng, lengths, 160)
    Y = rng.standard_normal((160, width)).astype(dtype)
    ridge = 0.3 * np.maximum(np.diff(R.indptr), 1).astype(np.float64)
    X, data_term = _solve_with(R, Y, ridge, "compiled")
    assert X.dtype == dtype
    expected = reference_half_step(R, Y.astype(np.float64), 0.3, "weighted")
    tol = 1e-12 if dtype == np.float64 else 2e-4
    np.testing.assert_allclose(X, expected, rtol=0, atol=tol * np.abs(expected).max())
    rel = 1e-12 if dtype == np.float64 else 1e-5
    assert data_term == pytest.approx(direct_data_term(R, X, Y), rel=rel)
    assert np.all(X[np.diff(R.indptr) == 0] == 0)


@needs_kernel
@pytest.mark.parametrize("variant", ["f32", "f32_narrow"])
@pytest.mark.parametrize("width", [3, 8, 20, 50])
def test_both_float32_vector_widths_equal_the_reference_loop(monkeypatch, variant, width):
    monkeypatch.setattr(_kernel, "choose_variant", lambda dtype, w: variant)
    rng = np.random.default_rng(width + 1)
    R = ratings_with_row_lengths(rng, [0, 1, 5, 9, 17, width, 2 * width + 1, 120], 200)
    Y = rng.standard_normal((200, width)).astype(np.float32)
    X, data_term = _solve_with(R, Y, np.full(R.shape[0], 0.4), "compiled")
    expected = reference_half_step(R, Y.astype(np.float64), 0.4)
    np.testing.assert_allclose(X, expected, rtol=0, atol=2e-4 * np.abs(expected).max())
    assert data_term == pytest.approx(direct_data_term(R, X, Y), rel=1e-5)


def test_the_float32_vector_width_follows_the_tile_work():
    # Vector multiply-adds per observation: 8-row tiles over the upper block triangle.
    # k = 50 in 8-lane vectors: 7 + 6 + ... + 1 vectors in the 7 row blocks, 8 rows each.
    assert _kernel.tile_vectors(50, 8) == 8 * sum(range(1, 8))
    # in 16-lane vectors (64 columns): blocks of 8 rows start at 0, 0, 16, 16, ... columns
    assert _kernel.tile_vectors(50, 16) == 8 * (4 + 4 + 3 + 3 + 2 + 2 + 1 + 1)
    assert _kernel.choose_variant(np.float32, 50) == "f32"
    assert _kernel.choose_variant(np.float32, 20) == "f32_narrow"
    assert _kernel.choose_variant(np.float64, 20) == "f64"
    with pytest.raises(ValueError, match="float64 and float32"):
        _kernel.choose_variant(np.float16, 20)


@needs_kernel
def test_compiled_and_numpy_engines_agree_on_a_skewed_problem():
    # Long-tailed row lengths like real ratings, k = 50: both engines, 1e-12 of the scale.
    rng = np.random.default_rng(5)
    lengths = np.minimum(20 + rng.lognormal(3.0, 1.0, 300).astype(int), 900)
    R = ratings_with_row_lengths(rng, lengths, 900)
    Y = rng.standard_normal((900, 50)) * 0.3
    ridge = np.full(R.shape[0], 0.1)
    X_c, d_c = _solve_with(R, Y, ridge, "compiled", n_threads=2)
    X_n, d_n = _solve_with(R, Y, ridge, "numpy", n_threads=2)
    np.testing.assert_allclose(X_c, X_n, rtol=0, atol=1e-12 * np.abs(X_n).max())
    assert d_c == pytest.approx(d_n, rel=1e-12)


@needs_kernel
def test_a_row_whose_cholesky_fails_gets_the_least_norm_solution():
    # Two identical columns and a ridge lost to rounding (1 + 1e-30 == 1): the Gram matrix is
    # singular in floating point (powers of two: the second pivot is exactly 0). The kernel
    # reports the rows; the solver then gives the minimum-norm least-squares solution, which
    # numpy's lstsq computes independently.
    F = np.array([[1.0, 1.0], [2.0, 2.0], [0.5, 0.5]])
    R = sp.csr_matrix(np.array([[0.0, 3.0, 0.0], [1.0, 0.0, 4.0]]))
    ridge = np.full(2, 1e-30)
    plan = _solve.plan_rows(R.indptr, R.indices, 3, 2)
    out, terms = np.zeros((2, 2)), np.zeros(2)
    failed = _kernel.solve_stripe(
        _kernel.load(), "f64", plan.indptr, plan.indices, R.data, _kernel.pad_factors(F, "f64"),
        2, ridge, plan.order, out, terms,
    )  # fmt: skip
    assert sorted(failed.tolist()) == [0, 1]
    X, data_term = _solve_with(R, F, ridge, "compiled")
    for u in range(2):
        cols = R.indices[R.indptr[u] : R.indptr[u + 1]]
        t = R.data[R.indptr[u] : R.indptr[u + 1]]
        expected = np.linalg.lstsq(F[cols], t, rcond=None)[0]
        np.testing.assert_allclose(X[u], expected, rtol=1e-12, atol=1e-12)
    assert data_term == pytest.approx(direct_data_term(R, X, F), rel=1e-12)


@needs_kernel
def test_a_nan_factor_spoils_only_the_rows_that_use_it():
    rng = np.random.default_rng(2)
    rows, cols = [0, 0, 0, 1, 1, 1, 2, 2], [0, 1, 2, 3, 4, 5, 6, 7]
    R = sp.csr_matrix((rng.integers(1, 6, 8).astype(float), (rows, cols)), shape=(3, 8))
    Y = rng.standard_normal((8, 3))
    Y[1] = np.nan  # rated by user 0 only
    X, _ = _solve_with(R, Y, np.full(3, 0.1), "compiled")
    assert np.all(np.isnan(X[0]))
    assert np.all(np.isfinite(X[1:]))


# ----------------------------------------------------------------------------- engines
@needs_kernel
@pytest.mark.parametrize("regularization", ["plain", "weighted"])
@pytest.mark.parametrize("biases", [False, True])
def test_a_whole_fit_is_the_same_with_either_engine(monkeypatch, regularization, biases):
    rng = np.random.default_rng(7)
    R = ratings_with_row_lengths(rng, rng.integers(1, 40, size=60), 45)
    fits = {}
    for engine in ("numpy", "auto"):
        monkeypatch.setenv("ALS_CORE_ENGINE", engine)
        model = ac.ALS(k=6, lam=0.2, iterations=4, regularization=regularization, biases=biases)
        fits[engine] = model.fit(R)
    a, b = fits["numpy"], fits["auto"]
    scale = np.abs(a.user_factors_).max()
    np.testing.assert_allclose(b.user_factors_, a.user_factors_, rtol=0, atol=1e-9 * scale)
    np.testing.assert_allclose(b.item_factors_, a.item_factors_, rtol=0, atol=1e-9 * scale)
    np.testing.assert_allclose(b.history_["objective"], a.history_["objective"], rtol=1e-10)


@needs_kernel
def test_fit_uses_the_kernel_by_default(monkeypatch):
    def numpy_engine_called(*args, **kwargs):
        raise AssertionError("the numpy engine ran although the kernel applies")

    monkeypatch.delenv("ALS_CORE_ENGINE", raising=False)
    monkeypatch.setattr(_solve, "_solve_numpy", numpy_engine_called)
    rng = np.random.default_rng(1)
    ac.ALS(k=3, lam=0.1, iterations=2).fit(ratings_with_row_lengths(rng, [5, 7, 9, 4], 12))


def test_zero_ridge_goes_to_the_numpy_engine_and_compiled_refuses_it():
    rng = np.random.default_rng(4)
    R = ratings_with_row_lengths(rng, [1, 2, 6, 9], 12)
    Y = rng.standard_normal((12, 4))
    X, _ = _solve_with(R, Y, np.zeros(4), "auto")
    expected = reference_half_step(R, Y, 0.0)
    np.testing.assert_allclose(X, expected, rtol=0, atol=1e-9 * np.abs(expected).max())
    with pytest.raises(ValueError, match="zero ridge"):
        _solve_with(R, Y, np.zeros(4), "compiled")


def test_engine_setting_numpy_never_touches_the_kernel(monkeypatch):
    def load():
        raise AssertionError("kernel loaded although ALS_CORE_ENGINE=numpy")

    monkeypatch.setenv("ALS_CORE_ENGINE", "numpy")
    monkeypatch.setattr(_kernel, "load", load)
    rng = np.random.default_rng(4)
    R = ratings_with_row_lengths(rng, [3, 5, 8], 10)
    Y = rng.standard_normal((10, 3))
    X, _ = _solve_with(R, Y, np.full(3, 0.5), None)
    np.testing.assert_allclose(X, reference_half_step(R, Y, 0.5), rtol=0, atol=1e-12)
    assert "ALS_CORE_ENGINE=numpy" in _kernel.describe()


def test_a_bad_engine_name_is_a_clear_error(monkeypatch):
    rng = np.random.default_rng(4)
    R = ratings_with_row_lengths(rng, [3], 10)
    Y = rng.standard_normal((10, 3))
    with pytest.raises(ValueError, match="engine must be"):
        _solve_with(R, Y, np.ones(1), "fast")
    monkeypatch.setenv("ALS_CORE_ENGINE", "gpu")
    with pytest.raises(ValueError, match="ALS_CORE_ENGINE must be auto, compiled or numpy"):
        _solve_with(R, Y, np.ones(1), None)


# ----------------------------------------------------------------------------- building
def test_without_a_compiler_the_numpy_engine_answers_and_says_why(monkeypatch, tmp_path):
    monkeypatch.setattr(_kernel, "_state", {})
    monkeypatch.setenv("ALS_CORE_KERNEL_DIR", str(tmp_path))
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setattr(_kernel.shutil, "which", lambda name: None)
    rng = np.random.default_rng(8)
    R = ratings_with_row_lengths(rng, [3, 9, 14], 20)
    Y = rng.standard_normal((20, 5))
    with pytest.warns(RuntimeWarning, match="numpy solver.*no C compiler"):
        X, _ = _solve_with(R, Y, np.full(3, 0.2), "auto")
    np.testing.assert_allclose(X, reference_half_step(R, Y, 0.2), rtol=0, atol=1e-12)
    assert "no C compiler" in _kernel.describe()
    with pytest.raises(ValueError, match="compiled kernel cannot solve this.*no C compiler"):
        _solve_with(R, Y, np.full(3, 0.2), "compiled")


def test_a_failing_compiler_leaves_nothing_half_written(fresh_kernel_state, monkeypatch):
    monkeypatch.setenv("CC", "false")  # exists everywhere, always fails
    with pytest.warns(RuntimeWarning), pytest.raises(_kernel.KernelUnavailable, match="failed"):
        _kernel.load()
    assert list(fresh_kernel_state.iterdir()) == []
    assert not _kernel.available()  # remembered: no second attempt in this process


@needs_kernel
def test_the_build_is_cached_and_reused(fresh_kernel_state, monkeypatch):
    _kernel.load()
    built = [p for p in fresh_kernel_state.iterdir() if p.name.startswith("als_kernel_")]
    assert len(built) == 1 and not [p for p in fresh_kernel_state.iterdir() if "building" in p.name]

    def compile_again(*args):
        raise AssertionError("compiled again although the cache holds this build")

    monkeypatch.setattr(_kernel, "_state", {})  # a new process, same machine
    monkeypatch.setattr(_kernel, "_compile", compile_again)
    assert _kernel.available()


def test_the_cache_key_changes_with_source_flags_compiler_and_cpu(monkeypatch):
    base = _kernel._cache_key(b"source", "cc", ["-O3"])
    assert _kernel._cache_key(b"source", "cc", ["-O3"]) == base
    assert _kernel._cache_key(b"source2", "cc", ["-O3"]) != base
    assert _kernel._cache_key(b"source", "cc", ["-O2"]) != base
    assert _kernel._cache_key(b"source", "clang", ["-O3"]) != base
    monkeypatch.setattr(_kernel, "_cpu_signature", lambda: "another cpu")
    assert _kernel._cache_key(b"source", "cc", ["-O3"]) != base


def test_a_cache_folder_others_can_write_to_is_refused(fresh_kernel_state):
    # Native code is loaded from the cache: a folder another account could write to would let
    # it plant a library under the expected name.
    fresh_kernel_state.chmod(0o777)
    with pytest.warns(RuntimeWarning), pytest.raises(_kernel.KernelUnavailable, match="chmod"):
        _kernel.load()
    fresh_kernel_state.chmod(0o700)


def test_the_default_cache_folders_are_private(monkeypatch, tmp_path):
    monkeypatch.delenv("ALS_CORE_KERNEL_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = _kernel._cache_dir()
    assert folder == tmp_path / "cache" / "als-explorer"
    assert folder.stat().st_mode & 0o077 == 0
