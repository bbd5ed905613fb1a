"""One ALS iteration of ours against LensKit and implicit: same data, same run, one table.

Run by hand from the repository root. The peers live in their own venv, never in the
interpreter the app and CI use (LensKit pins its own numpy/pandas/torch):

    python -m venv /tmp/peers-venv
    /tmp/peers-venv/bin/pip install torch==2.13.0 lenskit==2025.8.1 implicit==0.7.3
    PYTHONPATH=. python benchmarks/bench_peers.py --peer-python /tmp/peers-venv/bin/python
    PYTHONPATH=. python benchmarks/bench_peers.py --peer-python ... --quick   # about 30 s

The full run takes about two minutes and uses both cores.

(torch first: pinned, it comes from the CPU wheel on this machine's disk; an unpinned torch
would download a CUDA build.) Without ``--peer-python`` the peers are looked for in the current
interpreter; a peer that is not importable there gets a row saying how to install it.

Data: ``movielens_like(ML_1M)`` (k = 50) and ``movielens_like(ML_100K)`` (k = 20) from
bench_speed.py, written once to a temporary .npz that every child loads, so every engine fits
identical ratings (1-5 stars, as given; nobody's preprocessing is timed).

Engines, each in its own child process (imports, thread pools and memory don't mix):
- ours: ``als_core.ALS(k, lam=0.1)``, float64 and float32, on the default engine (the compiled
  kernel), and float64 with ``ALS_CORE_ENGINE=numpy``; current interpreter. Its iterations
  include the fit's history (objective terms and train RMSE), which the peers don't compute.
- LensKit ``lenskit.als.BiasedMFScorer`` (explicit biased ALS; float32 only; the biases are
  fitted once, damped, before the epochs, then frozen): ``embedding_size=k``,
  ``regularization=0.1``, which LensKit applies as a ridge of 0.1·n per row (ALS-WR; ours is
  0.1 per row). The size of the ridge does not change the work of an exact solve.
- implicit ``implicit.cpu.als.AlternatingLeastSquares`` (float32, its default), with
  ``use_cg=True`` (its default: 3 conjugate-gradient steps per row, warm-started; not an exact
  solve) and ``use_cg=False`` (exact Cholesky), ``regularization=0.1``, ``alpha=1``. It solves
  the implicit-feedback objective (Hu, Koren, Volinsky 2008: preference 1 with confidence = the
  rating on rated pairs, preference 0 with weight 1 on every unrated pair): a different problem
  at a similar cost per row, not a replacement.

Threads: every engine uses all usable cores. Ours: one worker per core, BLAS held to one
thread (the library does it). LensKit: ``LK_NUM_THREADS`` = cores, ``LK_NUM_BACKEND_THREADS=1``
(its documented variables, set explicitly to its own defaults). implicit: ``num_threads=0``
(all cores) with ``OPENBLAS_NUM_THREADS=1``, as its warning asks.

Timing, per engine: a warm-up fit of 1 iteration (thread pools, kernel build or load, first
touch), then fits of I₁ and I₂ iterations (1M: 2 and 7, 100K: 5 and 25; ``--quick`` 1 and 4,
5 and 15; ``--iterations`` sets both), each a fresh model from its own random start. Printed:
- s/iteration: (t(I₂) − t(I₁))/(I₂ − I₁), the marginal wall seconds per iteration (the
  per-fit set-up cancels: LensKit's bias model and matrices, implicit's transpose, our plans);
- CPU s/iteration: the same difference of the child's ``time.process_time()`` (all threads);
- x ours: both divided by ours float64 on the default engine, same shape (above 1 = slower);
- whole fit s/iteration: t(I₂)/I₂, set-up included.
Each is the median of 3 repeats (``--quick``: 1; the I₁/I₂ order alternates). The machine is
shared: read the ratios and the CPU column, not the wall seconds across runs.
"""

from __future__ import annotations

# Only the standard library at module level: this file also runs as the peers' child under
# --peer-python, which may lack numpy (then the row says "not installed").
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULT = "BENCH_PEERS_RESULT "  # prefix of the child's one result line (libraries may print)
INSTALL = {
    "lenskit": "pip install torch==2.13.0 lenskit",
    "implicit": "pip install implicit",
}
# (engine, family, dtype, label); family = the package a row needs.
ENGINES = [
    ("ours", "ours", "float64", "ours (default engine)"),
    ("ours", "ours", "float32", "ours (default engine)"),
    ("ours-numpy", "ours", "float64", "ours, ALS_CORE_ENGINE=numpy"),
    ("lenskit", "lenskit", "float32", "LensKit BiasedMFScorer"),
    ("implicit-cg", "implicit", "float32", "implicit, use_cg=True (CG)"),
    ("implicit-cholesky", "implicit", "float32", "implicit, use_cg=False (exact)"),
]
# Per shape: k, and (I₁, I₂) for the full and the quick run.
SETTINGS = {
    "MovieLens-100K": {"k": 20, "iterations": (5, 25), "quick": (5, 15)},
    "MovieLens-1M": {"k": 50, "iterations": (2, 7), "quick": (1, 4)},
}
LAM = 0.1
LEGEND = [
    "",
    "s/iteration: marginal wall seconds per iteration, (t(I2) - t(I1))/(I2 - I1), median over",
    "  repeats; CPU s/iteration: the same for the child's process CPU time (all its threads).",
    "x ours: divided by ours float64 (default engine), same shape; above 1 = slower than ours.",
    "whole fit s/iteration: t(I2)/I2, per-fit set-up included (LensKit's bias model and",
    "  matrices, implicit's transpose, our row plans).",
    "Ours: every iteration also computes the history (objective terms, train RMSE).",
    "LensKit: explicit biased MF; ridge 0.1*n per row (ALS-WR; ours is 0.1), biases fitted once",
    "  before the epochs.",
    "implicit solves the IMPLICIT-feedback objective (every unrated pair counts as a 0 of",
    "  weight 1, rated pairs as a 1 of weight = rating): not the same problem as ours;",
    "  use_cg=True is 3 warm-started CG steps per row, not an exact solve.",
]


# --------------------------------------------------------------------------------- children
def _load(path: str):
    import numpy as np

    data = np.load(path)
    return data["rows"], data["cols"], data["vals"], tuple(int(n) for n in data["shape"])


def measure(fit, n1: int, n2: int, repeats: int) -> dict:
    """Warm up, then median marginal wall and CPU seconds per iteration, and whole-fit ones."""
    fit(1, 0)
    wall, cpu, whole = [], [], []
    for repeat in range(repeats):
        seconds = {}
        for n in (n1, n2) if repeat % 2 == 0 else (n2, n1):
            w0, c0 = time.perf_counter(), time.process_time()
            fit(n, repeat)
            seconds[n] = (time.perf_counter() - w0, time.process_time() - c0)
        wall.append((seconds[n2][0] - seconds[n1][0]) / (n2 - n1))
        cpu.append((seconds[n2][1] - seconds[n1][1]) / (n2 - n1))
        whole.append(seconds[n2][0] / n2)
    return {
        "wall": statistics.median(wall),
        "cpu": statistics.median(cpu),
        "whole": statistics.median(whole),
    }


def child_ours(path: str, dtype: str, k: int, n1: int, n2: int, repeats: int) -> dict:
    sys.path.insert(0, str(ROOT))
    import numpy as np

    import als_core as ac
    from als_core import _kernel, _solve

    rows, cols, vals, shape = _load(path)
    ratings = ac.Ratings.from_codes(rows, cols, vals, shape=shape)

    def fit(n: int, seed: int) -> None:
        ac.ALS(k=k, lam=LAM, iterations=n, dtype=np.dtype(dtype).type, seed=seed).fit(ratings)

    result = measure(fit, n1, n2, repeats)
    result["threads"] = f"{_solve.usable_cores()} workers, BLAS 1"
    result["engine"] = _kernel.describe()
    return result


def child_lenskit(path: str, k: int, n1: int, n2: int, repeats: int) -> dict:
    import numpy as np
    import pandas as pd
    from lenskit.als import BiasedMFConfig, BiasedMFScorer
    from lenskit.data import from_interactions_df
    from lenskit.parallel import get_parallel_config
    from lenskit.training import TrainingOptions

    rows, cols, vals, shape = _load(path)
    frame = pd.DataFrame({"user_id": rows, "item_id": cols, "rating": vals})
    data = from_interactions_df(
        frame,
        user_col="user_id",
        item_col="item_id",
        rating_col="rating",
        users=np.arange(shape[0]),
        items=np.arange(shape[1]),
    )

    def fit(n: int, seed: int) -> None:
        config = BiasedMFConfig(embedding_size=k, epochs=n, regularization=LAM)
        BiasedMFScorer(config).train(data, TrainingOptions(rng=seed))

    result = measure(fit, n1, n2, repeats)
    parallel = get_parallel_config()
    result["threads"] = f"{parallel.threads} Rayon, {parallel.backend_threads} backend"
    return result


def child_implicit(path: str, use_cg: bool, k: int, n1: int, n2: int, repeats: int) -> dict:
    import numpy as np
    import scipy.sparse as sp
    from implicit.cpu.als import AlternatingLeastSquares

    rows, cols, vals, shape = _load(path)
    user_items = sp.csr_matrix((vals.astype(np.float32), (rows, cols)), shape=shape)

    def fit(n: int, seed: int) -> None:
        model = AlternatingLeastSquares(
            factors=k,
            regularization=LAM,
            iterations=n,
            use_cg=use_cg,
            calculate_training_loss=False,
            num_threads=0,
            random_state=seed,
        )
        model.fit(user_items, show_progress=False)

    result = measure(fit, n1, n2, repeats)
    result["threads"] = f"num_threads=0 ({os.cpu_count()}), OPENBLAS 1"
    return result


def child_probe() -> dict:
    """Versions of what the peer interpreter has (None: not importable)."""
    from importlib import metadata

    found = {"python": sys.version.split()[0]}
    for name in ("lenskit", "implicit", "numpy", "scipy", "torch"):
        try:
            __import__(name)
            found[name] = metadata.version(name)
        except Exception as exc:  # ImportError, or a broken install that fails on import
            found[name] = None
            found[f"{name}_error"] = f"{type(exc).__name__}: {exc}"
    return found


def run_child(child: dict) -> dict:
    engine = child["engine"]
    if engine == "probe":
        return child_probe()
    common = (child["path"], child["k"], child["n1"], child["n2"], child["repeats"])
    if engine == "ours" or engine == "ours-numpy":
        return child_ours(child["path"], child["dtype"], *common[1:])
    if engine == "lenskit":
        return child_lenskit(*common)
    return child_implicit(child["path"], engine == "implicit-cg", *common[1:])


# --------------------------------------------------------------------------------- parent
def spawn(python: str, child: dict, env: dict[str, str]) -> dict:
    """Run this script as a child; its result, or {"error": ...} if it failed."""
    try:
        proc = subprocess.run(
            [python, __file__, "--child", json.dumps(child)],
            capture_output=True,
            text=True,
            env=env,
            timeout=3600,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT):
            return json.loads(line[len(RESULT) :])
    tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
    print(f"child {child['engine']} failed:\n{proc.stderr}", file=sys.stderr)
    return {"error": tail}


def child_env(engine: str, cores: int) -> dict[str, str]:
    env = dict(os.environ)
    if engine.startswith("ours"):
        env["PYTHONPATH"] = str(ROOT)
        if engine == "ours-numpy":
            env["ALS_CORE_ENGINE"] = "numpy"
        else:
            env.pop("ALS_CORE_ENGINE", None)
        return env
    env.pop("PYTHONPATH", None)  # the peers see their own venv only
    env.pop("ALS_CORE_ENGINE", None)
    if engine == "lenskit":
        env["LK_NUM_THREADS"] = str(cores)
        env["LK_NUM_BACKEND_THREADS"] = "1"
    else:
        env["OPENBLAS_NUM_THREADS"] = "1"
    return env


def make_data(folder: Path, shapes: list) -> dict[str, str]:
    """Generate each shape once (bench_speed's generator) and save it; name -> .npz path."""
    import numpy as np

    sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
    from bench_speed import movielens_like

    paths = {}
    for shape in shapes:
        start = time.perf_counter()
        ratings = movielens_like(shape)
        rows, cols, vals = ratings.coo()
        path = folder / f"{shape.name}.npz"
        np.savez(path, rows=rows, cols=cols, vals=vals, shape=np.array(ratings.matrix.shape))
        paths[shape.name] = str(path)
        print(
            f"{shape.name}: {ratings.n_users:,} users x {ratings.n_items:,} items, "
            f"{ratings.nnz:,} ratings (made in {time.perf_counter() - start:.1f} s), "
            f"k = {SETTINGS[shape.name]['k']}"
        )
    return paths


def format_rows(rows: list[dict]) -> list[str]:
    lines = [
        "| engine | shape | k | dtype | s/iteration | CPU s/iteration | x ours (wall) "
        "| x ours (CPU) | whole fit s/iteration | threads |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        head = f"| {row['label']} | {row['shape']} | {row['k']} | {row['dtype']} |"
        result = row["result"]
        if "missing" in result or "error" in result:
            text = result.get("missing") or f"failed: {result['error']}"
            lines.append(f"{head} {text} | | | | | |")
            continue
        base = row["base"]
        ratio_wall = f"{result['wall'] / base['wall']:.2f}" if base else ""
        ratio_cpu = f"{result['cpu'] / base['cpu']:.2f}" if base else ""
        lines.append(
            f"{head} {result['wall']:.4f} | {result['cpu']:.4f} | {ratio_wall} | {ratio_cpu} "
            f"| {result['whole']:.4f} | {result['threads']} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--peer-python",
        default=sys.executable,
        help="interpreter with lenskit and implicit installed (default: this one)",
    )
    parser.add_argument("--quick", action="store_true", help="1 repeat, fewer iterations")
    parser.add_argument("--repeats", type=int, help="repeats per engine (default 3, quick 1)")
    parser.add_argument(
        "--iterations",
        type=int,
        nargs=2,
        metavar=("I1", "I2"),
        help="iterations of the two timed fits, for every shape (default per shape)",
    )
    parser.add_argument("--shape", choices=["100k", "1m", "all"], default="all")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(RESULT + json.dumps(run_child(json.loads(args.child))), flush=True)
        return

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_speed import ML_1M, ML_100K

    shapes = {"100k": [ML_100K], "1m": [ML_1M], "all": [ML_1M, ML_100K]}[args.shape]
    repeats = args.repeats or (1 if args.quick else 3)
    cores = len(os.sched_getaffinity(0))
    load_before = os.getloadavg()[0]
    print(f"{time.ctime()}, {cores} usable cores, load average (1 min) {load_before:.1f}")

    peer = spawn(args.peer_python, {"engine": "probe"}, child_env("implicit", cores))
    ours = spawn(sys.executable, {"engine": "probe"}, child_env("ours", cores))
    print(f"ours: Python {ours.get('python')}, numpy {ours.get('numpy')} ({sys.executable})")
    print(
        f"peers: Python {peer.get('python')}, lenskit {peer.get('lenskit')}, implicit "
        f"{peer.get('implicit')}, numpy {peer.get('numpy')}, torch {peer.get('torch')} "
        f"({args.peer_python})"
    )
    if "error" in peer:
        print(f"  peer interpreter failed: {peer['error']}")
    for name in ("lenskit", "implicit"):
        if peer.get(f"{name}_error"):
            print(f"  {name}: {peer[f'{name}_error']}")

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-peers-") as folder:
        paths = make_data(Path(folder), shapes)
        for shape in shapes:
            setting = SETTINGS[shape.name]
            n1, n2 = args.iterations or setting["quick" if args.quick else "iterations"]
            if not 1 <= n1 < n2:
                parser.error("--iterations needs 1 <= I1 < I2")
            base = None
            for engine, family, dtype, label in ENGINES:
                python = sys.executable if family == "ours" else args.peer_python
                if family != "ours" and not peer.get(family):
                    result = {
                        "missing": f"not installed in {python}: {INSTALL[family]} into a venv, "
                        "then --peer-python VENV/bin/python"
                    }
                else:
                    child = {
                        "engine": engine,
                        "path": paths[shape.name],
                        "dtype": dtype,
                        "k": setting["k"],
                        "n1": n1,
                        "n2": n2,
                        "repeats": repeats,
                    }
                    result = spawn(python, child, child_env(engine, cores))
                if engine == "ours" and dtype == "float64" and "wall" in result:
                    base = result
                if "engine" in result and engine == "ours" and dtype == "float64":
                    print(f"  ours' engine: {result['engine']}")
                rows.append(
                    {
                        "label": label,
                        "shape": shape.name.removeprefix("MovieLens-"),
                        "k": setting["k"],
                        "dtype": dtype,
                        "result": result,
                        "base": base,
                    }
                )
                print(f"  done: {shape.name} {label} {dtype}", file=sys.stderr)
            print(f"{shape.name}: timed fits of {n1} and {n2} iterations, {repeats} repeat(s)")

    print()
    print("\n".join(format_rows(rows)))
    for line in LEGEND:
        print(line)
    print(
        f"load average (1 min) at start {load_before:.1f}, at end {os.getloadavg()[0]:.1f} on "
        f"{cores} cores"
    )


if __name__ == "__main__":
    main()
