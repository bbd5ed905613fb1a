"""numpy engine vs Apache Spark MLlib (local mode) on MovieLens-1M-shaped synthetic data.

    PYTHONPATH=. python benchmarks/bench_spark.py [--k 50] [--iterations 10] [--master local[2]]

Data: 6,040 users × 3,706 items, 1,000,000 ratings, popularity skew 1 (a few items get most
ratings, as in MovieLens), true rank 10, whole stars; generated once and shared by all runs.
Settings: k, weighted λ = 0.05 (Spark's regParam), no biases.

Each engine runs in its own child process, so its peak memory is its own: the parent samples the
resident memory (RSS) of the child's whole process tree every 50 ms, which for Spark includes the
JVM that pyspark starts (Spark's memory lives there, not in Python).

Seconds per iteration (wall clock, and CPU seconds of the child's process tree, which a busy
machine distorts less):
- numpy: from the fit's history (each half-step is timed), averaged over the iterations.
- Spark reports nothing between iterations, so it is fitted with I₁ and I₂ iterations after a
  warm-up fit (JIT, data transfer caches); (t₂ − t₁)/(I₂ − I₁) is the marginal cost of one
  iteration, t₂/I₂ the cost per iteration including the per-fit overhead (sending the ratings to
  Spark, building its blocks, bringing the factors back). Session start-up is reported apart.

Linux only (/proc). Run by hand: it takes a few minutes and uses both cores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import als_core as ac  # noqa: E402

SHAPE = (6040, 3706)
N_RATINGS = 1_000_000


# --------------------------------------------------------------------------------- memory
def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
        except OSError:
            continue
        # The command name may contain spaces and parentheses: fields start after the last ')'.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def _descendants(pid: int) -> list[int]:
    children = _children_map()
    found, stack = [], [pid]
    while stack:
        p = stack.pop()
        found.append(p)
        stack.extend(children.get(p, []))
    return found


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by ``pid`` and its live descendants (the JVM)."""
    ticks = 0
    for p in _descendants(pid):
        try:
            with open(f"/proc/{p}/stat", "rb") as f:
                fields = f.read().decode(errors="replace").rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants, in bytes (0 if it is gone)."""
    total = 0
    for p in _descendants(pid):
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            pass
    return total


def run_child(args: list[str]) -> tuple[dict, int]:
    """Run this script as a child with ``args``; return its JSON result and peak tree RSS."""
    proc = subprocess.Popen(
        [sys.executable, __file__, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_bytes(proc.pid))
            time.sleep(0.05)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    out, err = proc.communicate()
    done.set()
    watcher.join()
    if proc.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{err}")
    return json.loads(out.strip().splitlines()[-1]), peak


# --------------------------------------------------------------------------------- children
def load(path: str) -> ac.Ratings:
    data = np.load(path)
    return ac.Ratings.from_codes(data["rows"], data["cols"], data["vals"], shape=SHAPE)


def child_numpy(path: str, k: int, lam: float, iterations: int, dtype: str) -> dict:
    ratings = load(path)
    model = ac.ALS(
        k=k, lam=lam, iterations=iterations, regularization="weighted", dtype=np.dtype(dtype).type
    )
    start, cpu = time.perf_counter(), tree_cpu_seconds(os.getpid())
    model.fit(ratings)
    total = time.perf_counter() - start
    cpu = tree_cpu_seconds(os.getpid()) - cpu
    per_iteration = model.history_.groupby("iteration")["seconds"].sum()
    return {
        "seconds_per_iteration": float(per_iteration.mean()),
        "cpu_seconds_per_iteration": cpu / iterations,
        "fit_seconds": total,
        "train_rmse": float(model.history_["train_rmse"].iloc[-1]),
    }


def child_spark(path: str, k: int, lam: float, iterations: int, master: str) -> dict:
    from als_core.spark_engine import SparkALS, spark_session

    ratings = load(path)
    low = max(1, iterations // 2)
    start = time.perf_counter()
    with spark_session(master) as spark:
        startup = time.perf_counter() - start
        settings = {"k": k, "lam": lam, "regularization": "weighted", "spark": spark}
        SparkALS(iterations=1, **settings).fit(ratings)  # warm-up: JIT, first job
        t0, c0 = time.perf_counter(), tree_cpu_seconds(os.getpid())
        SparkALS(iterations=low, **settings).fit(ratings)
        t_low, c_low = time.perf_counter() - t0, tree_cpu_seconds(os.getpid()) - c0
        t0, c0 = time.perf_counter(), tree_cpu_seconds(os.getpid())
        model = SparkALS(iterations=iterations, **settings).fit(ratings)
        t_high, c_high = time.perf_counter() - t0, tree_cpu_seconds(os.getpid()) - c0
        version = spark.version
    return {
        "seconds_per_iteration": (t_high - t_low) / (iterations - low),
        "cpu_seconds_per_iteration": (c_high - c_low) / (iterations - low),
        "fit_seconds": t_high,
        "seconds_per_iteration_with_overhead": t_high / iterations,
        "session_seconds": startup,
        "train_rmse": float(model.history_["train_rmse"].iloc[-1]),
        "spark_version": version,
    }


# --------------------------------------------------------------------------------- main
def make_data(path: Path) -> ac.Ratings:
    density = N_RATINGS / (SHAPE[0] * SHAPE[1])
    data = ac.synthetic(
        n_users=SHAPE[0],
        n_items=SHAPE[1],
        rank=10,
        density=density,
        noise=0.8,
        rounding=1.0,
        popularity_skew=1.0,
        seed=0,
    )
    rows, cols, vals = data.ratings.coo()
    np.savez(path, rows=rows, cols=cols, vals=vals)
    return data.ratings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--lam", type=float, default=0.05)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, path, extra = args.child[0], args.child[1], args.child[2]
        if kind == "numpy":
            result = child_numpy(path, args.k, args.lam, args.iterations, extra)
        else:
            result = child_spark(path, args.k, args.lam, args.iterations, extra)
        print(json.dumps(result))
        return

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-spark-") as tmp:
        path = Path(tmp) / "ratings.npz"
        ratings = make_data(path)
        counts = np.sort(ratings.item_counts())[::-1]
        print(
            f"data: {ratings.n_users:,} users × {ratings.n_items:,} items, {ratings.nnz:,} "
            f"ratings; top 10% of items hold {counts[: len(counts) // 10].sum() / ratings.nnz:.0%}"
            f" of the ratings; k = {args.k}, weighted λ = {args.lam}, {args.iterations} iterations"
        )
        common = ["--k", str(args.k), "--lam", str(args.lam), "--iterations", str(args.iterations)]
        runs = [
            ("numpy float64", ["numpy", str(path), "float64"]),
            ("numpy float32", ["numpy", str(path), "float32"]),
            (f"spark {args.master}", ["spark", str(path), args.master]),
        ]
        rows = []
        for name, child in runs:
            result, peak = run_child([*common, "--child", *child])
            rows.append((name, result, peak))
            print(f"  done: {name}", file=sys.stderr)

    print()
    print(
        "| engine | s / iteration | CPU s / iteration | fit, all iterations (s) | peak memory "
        "| train RMSE |"
    )
    print("|---|---|---|---|---|---|")
    for name, r, peak in rows:
        extra = ""
        if "session_seconds" in r:
            extra = (
                f" ({r['seconds_per_iteration_with_overhead']:.2f} with per-fit overhead; "
                f"session start {r['session_seconds']:.1f} s)"
            )
        print(
            f"| {name} | {r['seconds_per_iteration']:.3f}{extra} | "
            f"{r['cpu_seconds_per_iteration']:.3f} | {r['fit_seconds']:.2f} | "
            f"{peak / 2**20:,.0f} MiB | {r['train_rmse']:.4f} |"
        )
    spark_version = next((r["spark_version"] for _, r, _ in rows if "spark_version" in r), "?")
    print(f"\nSpark {spark_version}, Python {sys.version.split()[0]}, numpy {np.__version__}")
    # The machine is shared: say how busy it was, so the seconds can be read for what they are.
    print(
        f"load average (1 min) at start {load_before:.1f}, at end {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
