"""Speed of the exact ALS fit on MovieLens-shaped data, against this machine's matmul rate.

Run by hand from the repository root:

    PYTHONPATH=. python benchmarks/bench_speed.py            # about two minutes
    PYTHONPATH=. python benchmarks/bench_speed.py --quick    # fewer repeats, about 30 s
    PYTHONPATH=. python benchmarks/bench_speed.py --compilers gcc,clang   # the kernel each builds

It prints one table: for each data shape, k, dtype and engine (the compiled kernel, and the
numpy solver it falls back to, for comparison; with --compilers, the kernel as each compiler
builds it, each in its own fresh cache folder), the seconds per full iteration (both
half-steps, history included: objective terms and train RMSE; median over iterations and
repeats), the GFLOP/s that means, counting 2·nnz·k² + (n_users + n_items)(k³/3 + 2k²) per
iteration, the process CPU seconds per iteration (all threads; a shared, busy machine inflates
it far less than wall time), and the whole-fit seconds. Then this machine's float64 matmul
rate measured in the same run, the peak memory of the MovieLens-1M fit (in a child process), and
the article's plain loop (``als_core.reference.reference_half_step``) timed on a subset of the
small shape, with the speed-up.

The data are synthetic but shaped like MovieLens (seeded): every user has at least 20 ratings,
user activity and item popularity are long-tailed (log-normal), ratings are 1-5 stars from a
low-rank model with noise, with MovieLens's star histogram.

The engines of one shape, k and dtype take turns fit by fit (A B C A B C ...), so a machine whose
speed drifts during the run moves them alike and their ratio stays meaningful.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import scipy.sparse as sp

import als_core as ac
from als_core import _kernel
from als_core.reference import reference_half_step

ROOT = Path(__file__).resolve().parents[1]
# Share of 1..5 stars in MovieLens-1M.
STAR_SHARES = np.array([0.056, 0.108, 0.261, 0.349, 0.226])


@dataclass(frozen=True)
class Shape:
    name: str
    n_users: int
    n_items: int
    n_ratings: int


ML_100K = Shape("MovieLens-100K", 943, 1682, 100_000)
ML_1M = Shape("MovieLens-1M", 6040, 3706, 1_000_000)


def movielens_like(shape: Shape, *, seed: int = 0, min_per_user: int = 20) -> ac.Ratings:
    """Ratings with MovieLens's shape and skew: exactly ``shape.n_ratings`` of them.

    Each user rates ``min_per_user`` + a log-normal share of the rest (capped at the number of
    items). Item popularity weights are log-normal (σ = 1.3, about MovieLens's mean/median count
    ratio of 2.2); each user picks distinct items with probability ∝ weight (Gumbel top-k).
    """
    rng = np.random.default_rng(seed)
    extra = rng.lognormal(0.0, 1.0, shape.n_users)
    counts = _integer_counts(
        extra, shape.n_ratings - min_per_user * shape.n_users, cap=shape.n_items - min_per_user
    )
    counts += min_per_user
    log_weight = rng.normal(0.0, 1.3, shape.n_items)
    rows, cols = [], []
    for start in range(0, shape.n_users, 256):
        users = np.arange(start, min(start + 256, shape.n_users))
        keys = log_weight + rng.gumbel(size=(len(users), shape.n_items))
        ranked = np.argsort(-keys, axis=1)
        take = np.arange(shape.n_items)[None, :] < counts[users][:, None]
        rows.append(np.repeat(users, counts[users]))
        cols.append(ranked[take])
    users, items = np.concatenate(rows), np.concatenate(cols)
    stars = _stars(rng, users, items, shape)
    return ac.Ratings.from_codes(users, items, stars, shape=(shape.n_users, shape.n_items))


def _integer_counts(weights: np.ndarray, total: int, *, cap: int) -> np.ndarray:
    """Non-negative integers ≤ cap, proportional to weights, summing exactly to total."""
    counts = np.zeros(len(weights), dtype=np.int64)
    free = np.ones(len(weights), dtype=bool)
    remaining = total
    while remaining > 0:
        share = np.where(free, weights, 0.0)
        raw = share / share.sum() * remaining
        add = np.minimum(np.floor(raw).astype(np.int64), cap - counts)
        if add.sum() == 0:  # hand out the last few one by one, largest weights first
            order = np.argsort(-share)
            add = np.zeros_like(counts)
            add[order[:remaining]] = 1
            add = np.minimum(add, cap - counts)
        counts += add
        remaining = total - int(counts.sum())
        free = counts < cap
    return counts


def _stars(rng: np.random.Generator, users: np.ndarray, items: np.ndarray, shape: Shape):
    """1..5 stars from a rank-10 model plus biases and noise, cut at MovieLens's quantiles."""
    x = rng.standard_normal((shape.n_users, 10))
    y = rng.standard_normal((shape.n_items, 10))
    score = np.einsum("nk,nk->n", x[users], y[items]) / np.sqrt(10)
    score += 0.5 * rng.standard_normal(shape.n_users)[users]
    score += 0.7 * rng.standard_normal(shape.n_items)[items]
    score += 0.8 * rng.standard_normal(len(users))
    cuts = np.quantile(score, np.cumsum(STAR_SHARES)[:-1])
    return (np.searchsorted(cuts, score) + 1).astype(np.float64)


# --------------------------------------------------------------------------------- measuring
def iteration_flops(ratings: ac.Ratings, k: int) -> float:
    """The issue's count: 2·nnz·k² + (n_users + n_items)(k³/3 + 2k²)."""
    return 2.0 * ratings.nnz * k**2 + (ratings.n_users + ratings.n_items) * (k**3 / 3 + 2 * k**2)


def matmul_gflops(n: int = 2000, repeats: int = 3) -> float:
    a = np.random.default_rng(0).standard_normal((n, n))
    a @ a  # warm up threads and caches
    best = min(_seconds(lambda: a @ a) for _ in range(repeats))
    return 2.0 * n**3 / best / 1e9


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


@contextmanager
def engine(name: str, kernels: dict | None = None):
    """Run the half-steps on one engine: "numpy", "compiled" (the default build) or, with
    ``kernels`` (from ``build_kernels``), the kernel a named compiler built."""
    saved_env = {key: os.environ.get(key) for key in ("ALS_CORE_ENGINE", "CC")}
    saved_state = _kernel._state
    os.environ["ALS_CORE_ENGINE"] = "numpy" if name == "numpy" else "compiled"
    if kernels and name in kernels:
        _kernel._state = kernels[name]
    try:
        yield
    finally:
        _kernel._state = saved_state
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def build_kernels(compilers: list[str], folder: Path) -> dict:
    """compiler -> the kernel state with that compiler's build loaded (each its own cache)."""
    kernels = {}
    saved = (_kernel._state, os.environ.get("CC"), os.environ.get("ALS_CORE_KERNEL_DIR"))
    try:
        for compiler in compilers:
            cache = folder / compiler
            cache.mkdir(mode=0o700)
            os.environ["CC"], os.environ["ALS_CORE_KERNEL_DIR"] = compiler, str(cache)
            _kernel._state = kernels[compiler] = _kernel._State()
            start = time.perf_counter()
            built = _kernel.load()
            print(
                f"{compiler}: built in {time.perf_counter() - start:.1f} s, "
                f"{built.lanes['f64'] * 8}-byte vectors, {built.tile_rows}-row tiles"
            )
    finally:
        _kernel._state = saved[0]
        for key, value in zip(("CC", "ALS_CORE_KERNEL_DIR"), saved[1:], strict=True):
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return kernels


def time_fits(
    ratings: ac.Ratings, k: int, dtype, iterations: int, repeats: int, engines: dict
) -> dict:
    """For each engine (name -> context manager factory), taking turns fit by fit: median
    seconds per iteration from the history (both half-steps), CPU seconds, whole fits."""
    per_iteration = {name: [] for name in engines}
    whole = {name: [] for name in engines}
    cpu = {name: [] for name in engines}
    models = {}
    for use in engines.values():
        with use():
            ac.ALS(k=k, iterations=1, dtype=dtype).fit(ratings)  # warm up
    for repeat in range(repeats):
        for name, use in engines.items():
            model = ac.ALS(k=k, lam=0.1, iterations=iterations, dtype=dtype, seed=repeat)
            with use():
                cpu_start = time.process_time()
                whole[name].append(_seconds(lambda model=model: model.fit(ratings)))
                cpu[name].append((time.process_time() - cpu_start) / iterations)
            by_iteration = model.history_.groupby("iteration")["seconds"].sum()
            per_iteration[name].extend(by_iteration.tolist())
            models[name] = model
    return {
        name: {
            "per_iteration": float(np.median(per_iteration[name])),
            "cpu_per_iteration": float(np.median(cpu[name])),
            "fit": float(np.median(whole[name])),
            "rmse": float(models[name].history_["train_rmse"].iloc[-1]),
        }
        for name in engines
    }


def reference_seconds_per_iteration(ratings: ac.Ratings, k: int, n_rows: int) -> float:
    """The plain loop on the first ``n_rows`` users and items, scaled to a whole iteration."""
    rng = np.random.default_rng(0)
    R = ratings.matrix
    Rt = R.T.tocsr()
    X = rng.standard_normal((R.shape[0], k)) * 0.1
    Y = rng.standard_normal((R.shape[1], k)) * 0.1
    users = R[:n_rows]
    items = Rt[:n_rows]
    share_u = users.nnz / R.nnz
    share_i = items.nnz / Rt.nnz
    t_users = _seconds(lambda: reference_half_step(users, Y, 0.1))
    t_items = _seconds(lambda: reference_half_step(items, X, 0.1))
    return t_users / share_u + t_items / share_i


PEAK_CHILD = """
import json, sys
sys.path.insert(0, {root!r})
import numpy as np, scipy.sparse as sp
import als_core as ac

def high_water_mb():  # this process's peak RSS (ru_maxrss would include the forking parent's)
    status = open("/proc/self/status").read()
    return int(status.split("VmHWM:")[1].split()[0]) / 1024

r = sp.load_npz({path!r}).tocsr()  # a CSR matrix is a valid fit input
before = high_water_mb()
ac.ALS(k=50, lam=0.1, iterations={iterations}, dtype=np.{dtype}).fit(r)
print(json.dumps({{"before_mb": before, "peak_mb": high_water_mb()}}))
"""


def peak_memory(ratings: ac.Ratings, iterations: int, dtype: str) -> dict:
    """Peak RSS (MB) of a child process that loads the ratings and fits them.

    The child reads the matrix from a file, so the peak is the fit's (plus Python, numpy and
    the data), not the generator's.
    """
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "ratings.npz")
        sp.save_npz(path, ratings.matrix)
        code = PEAK_CHILD.format(root=str(ROOT), path=path, iterations=iterations, dtype=dtype)
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------- main
def make_data() -> dict[str, ac.Ratings]:
    data = {}
    for shape in (ML_100K, ML_1M):
        t = _seconds(lambda shape=shape: data.setdefault(shape.name, movielens_like(shape)))
        r = data[shape.name]
        per_user = np.diff(r.matrix.indptr)
        per_item = np.bincount(r.matrix.indices, minlength=r.n_items)
        print(
            f"{shape.name}: {r.n_users} x {r.n_items}, {r.nnz:,} ratings (made in {t:.1f} s); "
            f"ratings per user min/median/max {per_user.min()}/{int(np.median(per_user))}/"
            f"{per_user.max()}, per item {per_item.min()}/{int(np.median(per_item))}/"
            f"{per_item.max()}"
        )
    return data


def measure(data: dict, repeats: int, big: int, kernels_named: list[str], kernels: dict) -> list:
    """One row per shape, k, dtype and engine; the engines of a case take turns fit by fit."""
    cases = [
        (ML_100K, 20, np.float64, 20, True),  # (..., iterations, with the numpy engine)
        (ML_100K, 20, np.float32, 20, False),
        (ML_1M, 50, np.float64, big, True),
        (ML_1M, 50, np.float32, big, False),
    ]
    rows = []
    for shape, k, dtype, iterations, with_numpy in cases:
        r = data[shape.name]
        names = [*kernels_named, "numpy"] if with_numpy else kernels_named
        engines = {name: partial(engine, name, kernels) for name in names}
        results = time_fits(r, k, dtype, iterations, repeats, engines)
        for name, result in results.items():
            rows.append(
                {
                    "shape": shape.name,
                    "k": k,
                    "dtype": np.dtype(dtype).name,
                    "engine": name,
                    "iterations": iterations,
                    "s/iteration": result["per_iteration"],
                    "GFLOP/s": iteration_flops(r, k) / result["per_iteration"] / 1e9,
                    "cpu s/iter": result["cpu_per_iteration"],
                    "fit s": result["fit"],
                    "train RMSE": result["rmse"],
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (about 30 s)")
    parser.add_argument(
        "--compilers",
        default="",
        help="comma-separated C compilers: time the kernel each builds (e.g. gcc,clang)",
    )
    args = parser.parse_args()
    repeats = 1 if args.quick else 3
    big = 5 if args.quick else 10
    print(f"numpy {np.__version__}, {ac._solve.usable_cores()} usable cores, {time.ctime()}")
    with tempfile.TemporaryDirectory() as folder:
        compilers = [c for c in args.compilers.split(",") if c]
        kernels = build_kernels(compilers, Path(folder))
        if not compilers:
            _kernel.load()
            print(f"engine: {_kernel.describe()}")
        data = make_data()
        rows = measure(data, repeats, big, compilers or ["compiled"], kernels)
    matmul = matmul_gflops()
    print()
    print(
        f"{'shape':<16}{'k':>4}{'dtype':>9}{'engine':>10}{'iters':>7}{'s/iter':>10}{'GFLOP/s':>9}"
        f"{'CPU s/iter':>12}{'fit s':>8}{'RMSE':>8}"
    )
    for row in rows:
        print(
            f"{row['shape']:<16}{row['k']:>4}{row['dtype']:>9}{row['engine']:>10}"
            f"{row['iterations']:>7}"
            f"{row['s/iteration']:>10.4f}{row['GFLOP/s']:>9.1f}{row['cpu s/iter']:>12.4f}"
            f"{row['fit s']:>8.3f}{row['train RMSE']:>8.4f}"
        )
    print(
        "(s/iter: wall time per iteration from the fit's history, median; CPU s/iter: process "
        "CPU time per iteration of the whole fit, all threads, which a busy machine inflates "
        "far less than wall time)"
    )
    print(f"\nfloat64 matmul 2000x2000 on this machine now: {matmul:.1f} GFLOP/s")

    memory = peak_memory(data[ML_1M.name], 3 if args.quick else 5, "float64")
    print(
        f"MovieLens-1M fit, k=50, float64: peak RSS {memory['peak_mb']:.0f} MB "
        f"(before the fit, with the data loaded: {memory['before_mb']:.0f} MB)"
    )

    small = data[ML_100K.name]
    n_rows = 100 if args.quick else 300
    reference = reference_seconds_per_iteration(small, 20, n_rows)
    ours = rows[0]["s/iteration"]
    print(
        f"article's plain loop (reference_half_step), MovieLens-100K k=20, timed on the first "
        f"{n_rows} users and items and scaled: {reference:.3f} s/iteration, "
        f"{reference / ours:.0f}x slower than the fit above"
    )


if __name__ == "__main__":
    main()
