"""Open a MovieLens-25M-sized saved model in the dashboard: load time, memory, every page's run.

Makes (once, then reuses) a model directory of the MovieLens 25M shape (162,541 users ×
59,047 items, k = 50) without training: planted clustered factors and biases, a random sparse
training matrix with skewed popularity (``--ratings``, 25M by default), a short made-up history,
written by ``ac.save_model``. Then measures:

- ``load_model`` time and the process's peak memory (resident set, from /proc);
- the Data page opening the directory (text input + button), as a user does it;
- each page's first run and a rerun in that session, and what it sends (plotly JSON and all
  elements, in MB; the budget is ~5 MB per page).

Run by hand:  PYTHONPATH=. python benchmarks/bench_open_model.py [--ratings 5000000] [--dir D]

Measured (2 cores shared with other work; 25M drawn with skew gives 20.5M distinct ratings):
load_model 2-9 s, peak 1.7 GB (transient: Parquet columns, int64 codes, CSR), once per server
(sessions share the model). Opening from the Data page 3-9 s; first run of Latent space 1.6 s,
Reconstruction 1.0 s, Add yourself 0.5 s, One update by hand 0.4 s, reruns 0.1-0.4 s; every
page sends < 0.6 MB. Reconstruction of the 5,000 × 5,000 most active: ~2.7 s.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

import als_core as ac  # noqa: E402
from benchmarks.bench_pages import payload  # noqa: E402  (one way to weigh a page)

APP = str(ROOT / "app.py")
MB = 1e6
N_USERS, N_ITEMS, K = 162_541, 59_047, 50
PAGES = [
    "pages/latent.py",
    "pages/reconstruction.py",
    "pages/add_yourself.py",
    "pages/update.py",
    "pages/replay.py",
    "pages/train.py",
    "pages/experiments.py",
    "pages/theory.py",
    "pages/data.py",
]


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def skewed(rng: np.random.Generator, n: int, size: int, exponent: float) -> np.ndarray:
    """Indices 0..n-1 drawn with Zipf-like weights (a few very popular), in shuffled order."""
    weights = 1.0 / np.arange(1, n + 1) ** exponent
    order = rng.permutation(n)
    return order[rng.choice(n, size=size, p=weights / weights.sum())]


def make_ratings(n_ratings: int, seed: int = 0) -> ac.Ratings:
    rng = np.random.default_rng(seed)
    users = skewed(rng, N_USERS, n_ratings, 0.6)
    items = skewed(rng, N_ITEMS, n_ratings, 0.9)
    cells = np.unique(users.astype(np.int64) * N_ITEMS + items)  # drops repeated pairs
    stars = rng.integers(1, 11, size=len(cells)) / 2.0  # 0.5 .. 5 in half stars
    return ac.Ratings.from_codes(
        cells // N_ITEMS,
        cells % N_ITEMS,
        stars,
        user_ids=np.arange(1, N_USERS + 1),
        item_ids=np.arange(1, N_ITEMS + 1) * 3,
    )


def plant(model: ac.ALS, rng: np.random.Generator, groups: int = 12) -> None:
    """Clustered factors (so the map has structure), small biases and a made-up history."""
    centres = rng.standard_normal((groups, K)) * 0.3
    for side, n in (("user", N_USERS), ("item", N_ITEMS)):
        factors = centres[rng.integers(0, groups, n)] + 0.1 * rng.standard_normal((n, K))
        counts = getattr(model, f"{side}_counts_")
        factors[counts == 0] = 0.0
        setattr(model, f"{side}_factors_", factors.astype(model.user_factors_.dtype))
        setattr(model, f"{side}_bias_", (0.3 * rng.standard_normal(n)).astype(np.float64))
    rows = []
    for it in range(1, 11):
        for side in ("users", "items"):
            rmse = 0.75 + 0.3 / it
            rows.append(
                {
                    "iteration": it,
                    "side": side,
                    "objective": 1e7 / it,
                    "data_term": 8e6 / it,
                    "regularization_term": 2e6 / it,
                    "train_rmse": rmse,
                    "validation_rmse": rmse + 0.08,
                    "seconds": 20.0,
                    "elapsed": 40.0 * it,
                }
            )
    model.history_ = pd.DataFrame(rows)
    model.n_iter_ = 10


def make_model_dir(directory: Path, n_ratings: int) -> None:
    start = time.perf_counter()
    train = make_ratings(n_ratings)
    model = ac.ALS(k=K, lam=0.05, regularization="weighted", biases=True, iterations=0, seed=0)
    model.fit(train)
    plant(model, np.random.default_rng(1))
    model.iterations = 10
    ac.save_model(model, train, directory, settings={"made_by": "bench_open_model.py"})
    print(f"made {directory} ({train.nnz:,} ratings) in {time.perf_counter() - start:.1f} s")


def problems(at: AppTest) -> str:
    found = [f"exception: {e.message[:70]}" for e in at.exception]
    found += [f"error: {e.value[:70]}" for e in at.error]
    return "; ".join(found)


def timed(at: AppTest) -> float:
    start = time.perf_counter()
    at.run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratings", type=int, default=25_000_000, help="training ratings")
    parser.add_argument("--dir", type=Path, default=None, help="model directory (made if absent)")
    args = parser.parse_args()
    directory = args.dir or Path(f"/tmp/als_ml25m_model_{args.ratings}")
    if not (directory / "manifest.json").is_file():
        make_model_dir(directory, args.ratings)
    base = peak_rss_mb()
    start = time.perf_counter()
    model = ac.load_model(directory)
    print(
        f"load_model: {time.perf_counter() - start:.1f} s, peak memory {peak_rss_mb():,.0f} MB "
        f"(before: {base:,.0f} MB); {model.train_ratings_.nnz:,} ratings"
    )
    del model

    at = AppTest.from_file(APP, default_timeout=900)
    at.switch_page("pages/data.py")
    at.run()
    at.text_input(key="data_w_model_dir").set_value(str(directory))
    at.button(key="data_open_model").click()
    opened = timed(at)
    rows = [("data: open the directory", opened, None, *payload(at), problems(at))]
    for page in PAGES:
        at.switch_page(page)
        first = timed(at)
        rerun = timed(at)
        rows.append((page, first, rerun, *payload(at), problems(at)))
        print(f"  measured {page}", file=sys.stderr, flush=True)
    print(f"peak memory after all pages: {peak_rss_mb():,.0f} MB")
    header = f"{'page':<28} {'first s':>8} {'rerun s':>8} {'figures MB':>10} {'all MB':>7}"
    header += "  problems"
    print(header)
    print("-" * len(header))
    for page, first, rerun, figures, everything, issue in rows:
        again = f"{rerun:>8.2f}" if rerun is not None else f"{'':>8}"
        line = f"{page:<28} {first:>8.2f} {again} {figures:>10.3f} {everything:>7.3f}"
        print(line + ("  " + issue if issue else ""))


if __name__ == "__main__":
    main()
