"""ALS against gradient descent and SGD, implicit ALS solvers, and the experiment helpers' timing.

Run by hand from the repository root:

    PYTHONPATH=. python benchmarks/bench_methods.py            # everything (about a minute)
    PYTHONPATH=. python benchmarks/bench_methods.py --part methods

Parts:
- ``methods``: on synthetic data with known rank, ALS, gradient descent (Armijo line search) and
  SGD (tuned, decaying rate) on the same objective from the same start. Prints each method's
  final and best validation RMSE and the seconds it took, and checks the issue's claim: ALS
  reaches a lower validation RMSE than gradient descent in less time.
- ``implicit``: implicit ALS, exact solves vs 3 CG steps: seconds per iteration, objective, NDCG.
- ``experiments``: every helper in ``als_core.experiments`` on the movie-night sample (recovery on
  a synthetic set of the same shape), with the settings a page would use; each must take < 10 s.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import als_core as ac
from als_core import experiments as ex

LIMIT_SECONDS = 10.0


def methods_part(n_users: int, n_items: int, density: float, rank: int, budget: float) -> bool:
    truth = ac.synthetic(
        n_users=n_users, n_items=n_items, rank=rank, density=density, noise=0.3, seed=0
    )
    train, valid = ac.split(truth.ratings, fraction=0.2, seed=0)
    lam = 1.0
    print(
        f"\n== ALS vs gradient descent vs SGD: synthetic {n_users} x {n_items}, "
        f"{train.nnz:,} training ratings, true rank {rank}, sigma 0.3; k={rank}, plain lam={lam}, "
        f"no biases, same start; GD and SGD get {budget:g} s each =="
    )
    frame = ex.compare_methods(
        train,
        valid,
        k=rank,
        lam=lam,
        seconds_budget=budget,
        als_iterations=30,
        gd_iterations=10**6,
        sgd_epochs=10**6,
    )
    rows = []
    for method, group in frame.groupby("method", sort=False):
        group = group.iloc[1:]  # drop the shared start
        best = group.loc[group["validation_rmse"].idxmin()]
        rows.append(
            {
                "method": method,
                "steps": group["step"].iloc[-1],
                "seconds": group["seconds"].iloc[-1],
                "objective": group["objective"].iloc[-1],
                "final val RMSE": group["validation_rmse"].iloc[-1],
                "best val RMSE": best["validation_rmse"],
                "at seconds": best["seconds"],
            }
        )
    table = pd.DataFrame(rows)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"SGD learning rate chosen: {frame.attrs['learning_rate']}")
    als = frame[frame["method"] == "ALS"].iloc[1:]
    gd = frame[frame["method"] == "gradient descent"].iloc[1:]
    als_rmse, als_seconds = als["validation_rmse"].iloc[-1], als["seconds"].iloc[-1]
    gd_then = gd[gd["seconds"] <= als_seconds]
    gd_then_rmse = gd_then["validation_rmse"].iloc[-1] if len(gd_then) else float("nan")
    better = gd[gd["validation_rmse"] <= als_rmse]
    gd_reach = better["seconds"].iloc[0] if len(better) else None
    ok = gd_reach is None or gd_reach > als_seconds
    reach = "never" if gd_reach is None else f"only after {gd_reach:.3f} s"
    print(
        f"ALS: validation RMSE {als_rmse:.4f} after {als_seconds:.3f} s; gradient descent at "
        f"that time: {gd_then_rmse:.4f}; it got as low {reach} "
        f"-> {'PASS' if ok else 'FAIL'}: ALS lower in less time"
    )
    return ok


def implicit_part(n_users: int, n_items: int, density: float) -> None:
    truth = ac.synthetic(n_users=n_users, n_items=n_items, rank=5, density=density, seed=1)
    train, valid = ac.split(truth.ratings, fraction=0.2, seed=0)
    print(
        f"\n== implicit ALS: synthetic {n_users} x {n_items}, {train.nnz:,} training "
        "interactions (star values as strengths), lam=1, alpha=10, 10 iterations =="
    )
    rows = []
    for k in (20, 50):
        for solver in ("cholesky", "cg"):
            model = ac.ImplicitALS(
                k=k, lam=1.0, alpha=10.0, iterations=10, solver=solver, cg_steps=3
            )
            t0 = time.perf_counter()
            model.fit(train)
            seconds = time.perf_counter() - t0
            metrics = ac.ranking_metrics_from_factors(
                model.user_factors_, model.item_factors_, train, valid, n=10
            )
            rows.append(
                {
                    "k": k,
                    "solver": "exact" if solver == "cholesky" else "cg (3 steps)",
                    "s / iteration": seconds / 10,
                    "objective": model.history_["objective"].iloc[-1],
                    "ndcg@10": metrics["ndcg@10"],
                    "recall@10": metrics["recall@10"],
                }
            )
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.4f}"))


def experiments_part() -> bool:
    ratings = ac.load_sample("movie_night")
    train, valid = ac.split(ratings, fraction=0.2, seed=0)
    truth = ac.synthetic(n_users=300, n_items=120, rank=3, density=0.08, noise=0.3, seed=0)
    print(
        f"\n== experiment helpers on movie night ({ratings.n_users} x {ratings.n_items}, "
        f"{ratings.nnz:,} ratings); recovery on synthetic 300 x 120, 8%, rank 3 =="
    )
    runs = {
        "compare_methods (k=2, lam=1, biases, 2 s budget each)": lambda: ex.compare_methods(
            train, valid, k=2, lam=1.0, biases=True, seconds_budget=2.0
        ),
        "missing_vs_zero (k=2)": lambda: ex.missing_vs_zero(train, valid, k=2, lam=1.0),
        "sweep (7 k x 7 lam = 49 fits, 15 iterations)": lambda: ex.sweep(
            train,
            valid,
            ks=[1, 2, 3, 4, 6, 8, 10],
            lams=[0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0],
        ),
        "recovery (k = 1..8, 3 starts each)": lambda: ex.recovery(
            truth, ks=[1, 2, 3, 4, 5, 6, 7, 8], lam=1.0
        ),
        "baselines_table (k=2)": lambda: ex.baselines_table(train, valid, k=2, lam=1.0),
        "ranking_table (k=5, n=10)": lambda: ex.ranking_table(train, valid, k=5),
    }
    ok = True
    for name, run in runs.items():
        t0 = time.perf_counter()
        result = run()
        seconds = time.perf_counter() - t0
        ok &= seconds < LIMIT_SECONDS
        verdict = "PASS" if seconds < LIMIT_SECONDS else "FAIL"
        print(f"{name:<58} {seconds:7.2f} s  {verdict} (< {LIMIT_SECONDS:g} s)")
        if name.startswith("sweep"):
            best = result.best
            print(
                f"{'':<4}best cell k={best['k']:.0f}, lam={best['lam']:g}: "
                f"validation RMSE {best['validation_rmse']:.4f}"
            )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["all", "methods", "implicit", "experiments"])
    parser.add_argument("--budget", type=float, default=5.0, help="seconds for GD and SGD")
    args = parser.parse_args()
    part = args.part or "all"
    np.set_printoptions(precision=4)
    ok = True
    if part in ("all", "methods"):
        ok &= methods_part(2000, 1000, 0.05, 5, args.budget)
    if part in ("all", "implicit"):
        implicit_part(2000, 1000, 0.05)
    if part in ("all", "experiments"):
        ok &= experiments_part()
    print("\nall checks PASS" if ok else "\nsome checks FAILED")


if __name__ == "__main__":
    main()
