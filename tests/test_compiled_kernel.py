"""The compiled half-step kernel (als_core._kernel, _kernel_body.h): exactness against the
article's plain loop for every width and row length the vector tiles can meet, the fallbacks
(a Cholesky that fails, no compiler, a compiler that fails), the build cache, and the engine
switch. Tolerances: float64 solutions to 1e-12 of their scale, float32 to 2e-4.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from helpers import direct_data_term, ratings_with_row_lengths

import als_core as ac
from als_core import _kernel, _solve
from als_core.reference import reference_half_step

HAVE_COMPILER = any(shutil.which(name) for name in ("cc", "gcc", "clang"))
needs_kernel = pytest.mark.skipif(not HAVE_COMPILER, reason="no C compiler on this machine")


def _numpy_engine_called(*args, **kwargs):
    raise AssertionError("the numpy engine ran although the kernel applies")


def _half_step(plan, targets, fixed, ridge, variant="f64"):
    """A checked half-step of ``plan`` for the loaded kernel (float64 unless told)."""
    dtype, kernel = _kernel.VARIANTS[variant], _kernel.load()
    return _kernel.HalfStep.checked(
        kernel,
        variant,
        indptr=plan.indptr,
        indices=plan.indices,
        targets=np.ascontiguousarray(targets, dtype=dtype),
        padded=kernel.pad(fixed, variant),
        width=fixed.shape[1],
        lam=np.ascontiguousarray(ridge, dtype=dtype),
        out=np.zeros((plan.n_rows, fixed.shape[1]), dtype=dtype),
        data_terms=np.zeros(plan.n_rows),
    )


def _solve_with(R, fixed, ridge, engine, n_threads=1):
    plan = _solve.plan_rows(R.indptr, R.indices, R.shape[1], fixed.shape[1])
    data = R.data.astype(fixed.dtype)
    return _solve.solve_rows(plan, fixed, data, ridge, n_threads=n_threads, engine=engine)


@pytest.fixture()
def fresh_kernel_state(monkeypatch, tmp_path):
    """A process that has not loaded the kernel yet, building into its own cache folder."""
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o700)
    monkeypatch.setattr(_kernel, "_state", _kernel._State())
    monkeypatch.setenv("ALS_CORE_KERNEL_DIR", str(folder))
    monkeypatch.delenv("ALS_CORE_ENGINE", raising=False)
    if shutil.which("clang"):  # builds the kernel in less than half of gcc's time
        monkeypatch.setenv("CC", "clang")
    return folder


def _new_process(monkeypatch):
    """Forget the loaded kernel, as a new process on the same machine would."""
    monkeypatch.setattr(_kernel, "_state", _kernel._State())


# ----------------------------------------------------------------------------- exactness
def test_the_kernel_builds_and_loads_with_each_compiler(kernel_compiler):
    assert _kernel.available(), _kernel.describe()
    assert _kernel.describe().startswith("compiled C kernel")


@pytest.mark.parametrize("width", [1, 2, 3, 7, 8, 9, 15, 16, 17, 20, 21, 24, 31, 33, 50, 51])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_width_and_row_length_equals_the_reference_loop(width, dtype, kernel_build):
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


@pytest.mark.parametrize("variant", ["f32", "f32_narrow"])
@pytest.mark.parametrize("width", [3, 8, 20, 50])
def test_both_float32_vector_widths_equal_the_reference_loop(
    monkeypatch, variant, width, kernel_build
):
    monkeypatch.setattr(_kernel.Kernel, "choose_variant", lambda self, dtype, w: variant)
    rng = np.random.default_rng(width + 1)
    R = ratings_with_row_lengths(rng, [0, 1, 5, 9, 17, width, 2 * width + 1, 120], 200)
    Y = rng.standard_normal((200, width)).astype(np.float32)
    X, data_term = _solve_with(R, Y, np.full(R.shape[0], 0.4), "compiled")
    expected = reference_half_step(R, Y.astype(np.float64), 0.4)
    np.testing.assert_allclose(X, expected, rtol=0, atol=2e-4 * np.abs(expected).max())
    assert data_term == pytest.approx(direct_data_term(R, X, Y), rel=1e-5)


def _layout(lanes_f64, tile_rows):
    """A kernel's layout without its library: vectors of ``lanes_f64`` doubles."""
    lanes = {"f64": lanes_f64, "f32": 2 * lanes_f64, "f32_narrow": lanes_f64}
    return _kernel.Kernel(lib=None, path=Path("layout"), flags="", lanes=lanes, tile_rows=tile_rows)


AVX512, AVX2 = _layout(8, 8), _layout(4, 4)


def test_the_float32_vector_width_follows_the_tile_work():
    # Vector multiply-adds per observation: tiles of rows over the upper block triangle.
    # AVX-512, k = 50 in 8-lane vectors (56 columns): 7 + 6 + ... + 1 vectors in the 7 row
    # blocks of 8 rows; in 16-lane vectors (64 columns) blocks start at 0, 0, 16, 16, ...
    assert AVX512.tile_work("f32_narrow", 50) == 8 * sum(range(1, 8))
    assert AVX512.tile_work("f32", 50) == 8 * (4 + 4 + 3 + 3 + 2 + 2 + 1 + 1)
    assert AVX512.choose_variant(np.float32, 50) == "f32"
    assert AVX512.choose_variant(np.float32, 20) == "f32_narrow"  # 24 columns, not 32
    # AVX2, k = 20: 8-lane vectors (24 columns) in 4-row blocks starting at columns 0, 0, 8,
    # 8, 16, 16; 4-lane ones (20 columns) at 0, 4, ..., 16.
    assert AVX2.tile_work("f32", 20) == 4 * (3 + 3 + 2 + 2 + 1 + 1)
    assert AVX2.tile_work("f32_narrow", 20) == 4 * (5 + 4 + 3 + 2 + 1)
    assert AVX2.choose_variant(np.float32, 20) == "f32"
    assert AVX2.choose_variant(np.float64, 20) == "f64"
    with pytest.raises(ValueError, match="float64 and float32"):
        AVX2.choose_variant(np.float16, 20)


def test_the_build_follows_the_cpu(kernel_compiler):
    # Vectors as wide as the registers: 64 bytes with AVX-512, 32 with AVX, 16 otherwise.
    kernel = _kernel.load()
    flags = _kernel._cpu_signature().split()
    width = 64 if "avx512f" in flags else 32 if "avx" in flags else 16
    if platform.machine() in ("x86_64", "AMD64"):
        assert kernel.lanes == {"f64": width // 8, "f32": width // 4, "f32_narrow": width // 8}
    assert kernel.tile_rows in (4, 8)
    assert kernel.pad(np.ones((3, 5)), "f64").shape[1] % kernel.tile_rows == 0


def test_compiled_and_numpy_engines_agree_on_a_skewed_problem(kernel_compiler):
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


def test_a_row_whose_cholesky_fails_gets_the_least_norm_solution(kernel_compiler):
    # Two identical columns and a ridge lost to rounding (1 + 1e-30 == 1): the Gram matrix is
    # singular in floating point (powers of two: the second pivot is exactly 0). The kernel
    # reports the rows; the solver then gives the minimum-norm least-squares solution, which
    # numpy's lstsq computes independently.
    F = np.array([[1.0, 1.0], [2.0, 2.0], [0.5, 0.5]])
    R = sp.csr_matrix(np.array([[0.0, 3.0, 0.0], [1.0, 0.0, 4.0]]))
    ridge = np.full(2, 1e-30)
    plan = _solve.plan_rows(R.indptr, R.indices, 3, 2)
    step = _half_step(plan, R.data, F, ridge)
    failed = _kernel.solve_stripe(step, plan.order)
    assert sorted(failed.tolist()) == [0, 1]
    X, data_term = _solve_with(R, F, ridge, "compiled")
    for u in range(2):
        cols = R.indices[R.indptr[u] : R.indptr[u + 1]]
        t = R.data[R.indptr[u] : R.indptr[u + 1]]
        expected = np.linalg.lstsq(F[cols], t, rcond=None)[0]
        np.testing.assert_allclose(X[u], expected, rtol=1e-12, atol=1e-12)
    assert data_term == pytest.approx(direct_data_term(R, X, F), rel=1e-12)


def test_a_nan_factor_spoils_only_the_rows_that_use_it(kernel_compiler):
    rng = np.random.default_rng(2)
    rows, cols = [0, 0, 0, 1, 1, 1, 2, 2], [0, 1, 2, 3, 4, 5, 6, 7]
    R = sp.csr_matrix((rng.integers(1, 6, 8).astype(float), (rows, cols)), shape=(3, 8))
    Y = rng.standard_normal((8, 3))
    Y[1] = np.nan  # rated by user 0 only
    X, _ = _solve_with(R, Y, np.full(3, 0.1), "compiled")
    assert np.all(np.isnan(X[0]))
    assert np.all(np.isfinite(X[1:]))


# ----------------------------------------------------------------------------- engines
@pytest.mark.parametrize("regularization", ["plain", "weighted"])
@pytest.mark.parametrize("biases", [False, True])
def test_a_whole_fit_is_the_same_with_either_engine(
    monkeypatch, regularization, biases, kernel_compiler
):
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


def test_fit_uses_the_kernel_by_default_once_it_is_built(monkeypatch, kernel_compiler):
    monkeypatch.setattr(_solve, "_solve_numpy", _numpy_engine_called)
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


def test_engine_setting_numpy_never_touches_the_kernel(monkeypatch, fresh_kernel_state):
    def touched(*args):
        raise AssertionError("kernel touched although ALS_CORE_ENGINE=numpy")

    monkeypatch.setenv("ALS_CORE_ENGINE", "numpy")
    for name in ("load", "current", "_start"):
        monkeypatch.setattr(_kernel, name, touched)
    rng = np.random.default_rng(4)
    R = ratings_with_row_lengths(rng, [3, 5, 8], 10)
    Y = rng.standard_normal((10, 3))
    X, _ = _solve_with(R, Y, np.full(3, 0.5), None)
    np.testing.assert_allclose(X, reference_half_step(R, Y, 0.5), rtol=0, atol=1e-12)
    assert "ALS_CORE_ENGINE=numpy" in ac.solver_engine()
    ac.prepare_engine()  # nothing to prepare
    assert list(fresh_kernel_state.iterdir()) == []


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
def test_without_a_compiler_the_numpy_engine_answers_and_says_why(monkeypatch, fresh_kernel_state):
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
def test_the_build_is_cached_with_its_sha256_and_reused(fresh_kernel_state, monkeypatch):
    kernel = _kernel.load()
    names = sorted(p.name for p in fresh_kernel_state.iterdir())
    assert names == [kernel.path.name, kernel.path.name + ".sha256"]  # no temporary files left
    recorded = (fresh_kernel_state / names[1]).read_text().split()
    assert recorded == [hashlib.sha256(kernel.path.read_bytes()).hexdigest(), kernel.path.name]

    def compile_again(*args):
        raise AssertionError("compiled again although the cache holds this build")

    _new_process(monkeypatch)
    monkeypatch.setattr(_kernel, "_compile", compile_again)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a good cache is used without a word
        assert _kernel.load().path == kernel.path


def test_the_cache_key_changes_with_source_flags_compiler_and_cpu(monkeypatch, tmp_path):
    base = _kernel._source_key(b"source", ["-O3"])
    assert _kernel._source_key(b"source", ["-O3"]) == base
    assert _kernel._source_key(b"source2", ["-O3"]) != base
    assert _kernel._source_key(b"source", ["-O2"]) != base
    assert _kernel._compiler_key("gcc") != _kernel._compiler_key("clang")
    # the compiler's file: an upgrade in place (new size or time) gives a new key
    fake = tmp_path / "fakecc"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path), prepend=os.pathsep)
    before = _kernel._compiler_key("fakecc")
    fake.write_text("#!/bin/sh\n# upgraded\n")
    assert _kernel._compiler_key("fakecc") != before
    monkeypatch.setattr(_kernel, "_cpu_signature", lambda: "another cpu")
    assert _kernel._source_key(b"source", ["-O3"]) != base


# ----------------------------------------------------------------------------- trust
PLANTED = r"""
#include <stdio.h>
/* Runs as soon as the library is loaded: the marker proves that it was. */
__attribute__((constructor)) static void planted(void) {
  FILE *f = fopen(MARKER, "w");
  if (f) { fputs("planted code ran", f); fclose(f); }
}
int not_the_kernel(void) { return 0; }
"""


def _plant(target, marker, tmp_path):
    """Compile PLANTED (its constructor writes ``marker``) and put it at ``target``."""
    source = tmp_path / "planted.c"
    source.write_text(PLANTED)
    compiler = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    built = tmp_path / "planted.so"
    subprocess.run(
        [compiler, "-shared", "-fPIC", f'-DMARKER="{marker}"', "-o", str(built), str(source)],
        check=True,
    )
    os.replace(built, target)


def _small_fit():
    rng = np.random.default_rng(11)
    R = ratings_with_row_lengths(rng, rng.integers(2, 12, size=25), 18)
    return R, ac.ALS(k=4, lam=0.1, iterations=3, seed=0).fit(R)


NEW_PROCESS_FIT = """
import sys
sys.path.insert(0, {root!r})
import numpy as np
import scipy.sparse as sp
import als_core as ac
R = sp.random(25, 18, density=0.4, random_state=1, format="csr") * 5
model = ac.ALS(k=4, lam=0.1, iterations=3, seed=0).fit(R)
ac._kernel.available()  # waits for a rebuild in progress
print(np.isfinite(model.user_factors_).all(), ac.solver_engine())
"""


def _fit_in_new_processes(folder, count=1):
    """Fits in ``count`` new Python processes started at once, each using the kernel cache
    ``folder``: their (stdout, stderr).

    New processes, because the dynamic loader of this one would hand back the library it
    loaded before under the same file name, whatever the file now holds."""
    code = NEW_PROCESS_FIT.format(root=str(Path(__file__).resolve().parents[1]))
    env = {**os.environ, "ALS_CORE_KERNEL_DIR": str(folder)}
    started = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    results = []
    for process in started:
        out, err = process.communicate(timeout=900)
        assert process.returncode == 0, err
        results.append((out.strip(), err))
    return results


def _fit_in_a_new_process(folder):
    return _fit_in_new_processes(folder)[0]


@needs_kernel
def test_a_library_planted_over_the_cache_never_runs_and_the_fit_works(
    fresh_kernel_state, tmp_path
):
    genuine = _kernel.load().path
    marker = tmp_path / "planted-code-ran"
    _plant(genuine, marker, tmp_path)  # its recorded SHA-256 is still the genuine one's
    out, err = _fit_in_a_new_process(fresh_kernel_state)
    assert not marker.exists()
    assert out == f"True compiled C kernel (-O3 -march=native -shared -fPIC, {genuine.name})"
    assert err.count("RuntimeWarning") == 1 and "does not match its recorded SHA-256" in err
    recorded = (genuine.parent / (genuine.name + ".sha256")).read_text().split()[0]
    assert hashlib.sha256(genuine.read_bytes()).hexdigest() == recorded  # rebuilt


@needs_kernel
def test_a_planted_library_with_a_matching_hash_but_no_kernel_is_rebuilt(
    fresh_kernel_state, tmp_path
):
    genuine = _kernel.load().path
    _plant(genuine, tmp_path / "marker", tmp_path)
    digest = hashlib.sha256(genuine.read_bytes()).hexdigest()
    (genuine.parent / (genuine.name + ".sha256")).write_text(f"{digest}  {genuine.name}\n")
    out, err = _fit_in_a_new_process(fresh_kernel_state)
    assert out.startswith("True compiled C kernel")
    assert err.count("RuntimeWarning") == 1 and "lacks the kernel's functions" in err
    assert hashlib.sha256(genuine.read_bytes()).hexdigest() != digest  # replaced


@needs_kernel
def test_a_planted_library_that_cannot_be_rebuilt_leaves_numpy_and_one_warning(
    fresh_kernel_state, monkeypatch, tmp_path
):
    genuine = _kernel.load().path
    _plant(genuine, tmp_path / "marker", tmp_path)
    digest = hashlib.sha256(genuine.read_bytes()).hexdigest()
    (genuine.parent / (genuine.name + ".sha256")).write_text(f"{digest}  {genuine.name}\n")
    _new_process(monkeypatch)

    def broken_compiler(*args):
        raise _kernel.KernelUnavailable("the compiler broke")

    monkeypatch.setattr(_kernel, "_compile", broken_compiler)
    with pytest.warns(RuntimeWarning, match="numpy solver.*lacks the kernel's functions") as caught:
        _, first = _small_fit()
        _, second = _small_fit()
        _kernel.available()
    assert len(caught) == 1
    np.testing.assert_array_equal(first.user_factors_, second.user_factors_)
    assert "compiled kernel unavailable" in ac.solver_engine()


@needs_kernel
def test_a_library_without_its_recorded_hash_is_not_loaded(fresh_kernel_state, monkeypatch):
    genuine = _kernel.load().path
    (genuine.parent / (genuine.name + ".sha256")).unlink()
    _new_process(monkeypatch)
    loaded = []
    real_load = _kernel.ctypes.CDLL
    monkeypatch.setattr(_kernel.ctypes, "CDLL", lambda path: loaded.append(path) or real_load(path))
    with pytest.warns(RuntimeWarning, match="has no recorded SHA-256"):
        kernel = _kernel.load()
    assert len(loaded) == 1  # only the rebuilt library, never the unrecorded one
    assert (genuine.parent / (genuine.name + ".sha256")).exists() and kernel.path == genuine


@needs_kernel
def test_a_cached_kernel_is_used_where_no_compiler_is_installed(fresh_kernel_state, monkeypatch):
    built = _kernel.load().path
    _new_process(monkeypatch)
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setattr(_kernel.shutil, "which", lambda name: None)
    monkeypatch.setattr(_solve, "_solve_numpy", _numpy_engine_called)
    _small_fit()
    assert (
        ac.solver_engine() == f"compiled C kernel (-O3 -march=native -shared -fPIC, {built.name})"
    )


@needs_kernel
def test_two_processes_building_at_once_both_get_the_kernel(fresh_kernel_state):
    # Each loads the bytes it built; the cache ends with one library and its matching hash.
    for out, err in _fit_in_new_processes(fresh_kernel_state, count=2):
        assert out.startswith("True compiled C kernel"), err
        assert "using the numpy solver" not in err
    (library,) = [p for p in fresh_kernel_state.iterdir() if p.name.startswith("als_kernel_")
                  and not p.name.endswith(".sha256")]  # fmt: skip
    recorded = (library.parent / (library.name + ".sha256")).read_text().split()[0]
    assert hashlib.sha256(library.read_bytes()).hexdigest() == recorded
    assert not [p for p in fresh_kernel_state.iterdir() if p.name.startswith(".")]


# ----------------------------------------------------------------------------- cold start
@needs_kernel
def test_the_first_fit_does_not_wait_for_the_compiler(fresh_kernel_state, monkeypatch):
    # The compiler is held back until the fit is over: the fit must not wait for it (on the
    # numpy engine), the engine line must say so, and the kernel must take over once built.
    release, compiled = threading.Event(), threading.Event()
    real_compile = _kernel._compile

    def held_compile(*args):
        release.wait(timeout=20)
        built = real_compile(*args)
        compiled.set()
        return built

    monkeypatch.setattr(_kernel, "_compile", held_compile)
    ac.prepare_engine()
    assert ac.solver_engine().startswith("numpy solver while the compiled kernel builds")
    R, model = _small_fit()
    assert not compiled.is_set()
    release.set()
    _kernel.load()
    assert ac.solver_engine().startswith("compiled C kernel")
    monkeypatch.setattr(_solve, "_solve_numpy", _numpy_engine_called)
    again = ac.ALS(k=4, lam=0.1, iterations=3, seed=0).fit(R)
    scale = np.abs(model.user_factors_).max()
    np.testing.assert_allclose(again.user_factors_, model.user_factors_, rtol=0, atol=1e-9 * scale)


# ----------------------------------------------------------------------------- the C boundary
def _valid_step_arrays():
    """The arguments of a small, valid float64 half-step (2 fixed rows, 3 rows, width 2)."""
    return dict(
        indptr=np.array([0, 2, 2, 3], dtype=np.int64),
        indices=np.array([0, 1, 1], dtype=np.int32),
        targets=np.array([3.0, 4.0, 5.0]),
        padded=AVX2.pad(np.array([[1.0, 0.5], [0.2, 2.0]]), "f64"),
        width=2,
        lam=np.full(3, 0.1),
        out=np.zeros((3, 2)),
        data_terms=np.zeros(3),
    )


def _strided(a):
    return np.repeat(a, 2, axis=0)[::2]


def _read_only(a):
    a = a.copy()
    a.flags.writeable = False
    return a


WRONG_ARRAYS = [
    ("indptr", lambda a: a.astype(np.int32), "indptr must be int64"),
    ("indptr", _strided, "indptr must be C-contiguous"),
    ("indptr", lambda a: a[:-1], "expected indptr of length 4"),
    ("indptr", lambda a: np.array([0, 2, 1, 3], dtype=np.int64), "never decrease"),
    ("indptr", lambda a: np.array([0, 2, 2, 9], dtype=np.int64), r"indices of length ≥ 9"),
    ("indptr", lambda a: a.tolist(), "indptr must be a numpy array"),
    ("indices", lambda a: a.astype(np.int64), "indices must be int32"),
    ("indices", _strided, "indices must be C-contiguous"),
    ("indices", lambda a: a[:2], r"indices of length ≥ 3"),
    ("indices", lambda a: np.array([0, 1, 2], dtype=np.int32), r"indices must lie in \[0, 2\)"),
    ("indices", lambda a: np.array([0, -1, 1], dtype=np.int32), r"indices must lie in \[0, 2\)"),
    ("targets", lambda a: a.astype(np.float32), "targets must be float64"),
    ("targets", lambda a: a[:2], r"targets of length ≥ 3"),
    ("targets", lambda a: a[:, None], "targets must have 1 dimension"),
    ("padded", lambda a: a.astype(np.float32), "padded must be float64"),
    ("padded", np.asfortranarray, "padded must be C-contiguous"),
    ("padded", lambda a: np.ascontiguousarray(a[:, :3]), r"a multiple of 4"),
    ("padded", lambda a: a + 1.0, "zero beyond the first width columns"),
    ("width", lambda a: 9, "width ≤ padded columns"),
    ("width", lambda a: 0, "1 ≤ width"),
    ("width", lambda a: 2.0, "width must be an integer"),
    ("lam", lambda a: a[:2], "expected lam of length 3"),
    ("lam", lambda a: a.astype(np.float32), "lam must be float64"),
    ("out", lambda a: np.zeros((3, 3)), "out with width columns"),
    ("out", lambda a: np.zeros((2, 2)), "expected lam of length 2"),
    ("out", _read_only, "out must be writable"),
    ("out", lambda a: a.astype(np.float32), "out must be float64"),
    ("data_terms", lambda a: a.astype(np.float32), "data_terms must be float64"),
    ("data_terms", lambda a: a[:2], "expected data_terms of length 3"),
    ("data_terms", _read_only, "data_terms must be writable"),
]


@pytest.mark.parametrize(("name", "spoil", "message"), WRONG_ARRAYS)
def test_every_wrong_array_for_the_kernel_is_a_clear_error(name, spoil, message):
    arrays = _valid_step_arrays()
    _kernel.HalfStep.checked(AVX2, "f64", **arrays)  # the untouched arrays pass
    arrays[name] = spoil(arrays[name])
    with pytest.raises((TypeError, ValueError), match=message):
        _kernel.HalfStep.checked(AVX2, "f64", **arrays)


def test_a_float32_variant_wants_float32_arrays():
    arrays = _valid_step_arrays()
    with pytest.raises(TypeError, match=r"targets must be float32 \(the f32 variant's type\)"):
        _kernel.HalfStep.checked(AVX2, "f32", **arrays)
    with pytest.raises(ValueError, match="variant must be one of"):
        _kernel.HalfStep.checked(AVX2, "f16", **arrays)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (np.array([0, 3], dtype=np.int64), r"rows must lie in \[0, 3\)"),
        (np.array([-1], dtype=np.int64), r"rows must lie in \[0, 3\)"),
        (np.array([0, 1], dtype=np.int32), "rows must be int64"),
        (_strided(np.array([0, 1, 2], dtype=np.int64)), "rows must be C-contiguous"),
    ],
)
def test_wrong_rows_for_a_stripe_are_a_clear_error(rows, message, kernel_compiler):
    kernel = _kernel.load()
    arrays = _valid_step_arrays()
    arrays["padded"] = kernel.pad(arrays["padded"][:, :2], "f64")
    step = _kernel.HalfStep.checked(kernel, "f64", **arrays)
    with pytest.raises((TypeError, ValueError), match=message):
        _kernel.solve_stripe(step, rows)
    with pytest.raises(TypeError, match="step must be a HalfStep"):
        _kernel.solve_stripe(arrays, np.zeros(1, dtype=np.int64))
    failed = _kernel.solve_stripe(step, np.arange(3, dtype=np.int64))
    assert len(failed) == 0 and np.isfinite(step.out).all()


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
