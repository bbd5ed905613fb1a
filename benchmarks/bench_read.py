"""How fast read_ratings parses big files, per dialect, and how much memory a large file takes
(run by hand; prints tables).

    python benchmarks/bench_read.py            # 1,000,000 rows per dialect
    python benchmarks/bench_read.py --rows 200000 --repeat 1
    python benchmarks/bench_read.py --memory-mb 300 [--dir /tmp] [--compare OTHER_CHECKOUT]

The target (issue 3): 1,000,000 long-form rows in ≤ 2 s on the 2-core machine. For reference the
table also shows pandas.read_csv with default settings, which reads ids as numbers (so "007"
would become 7) and checks nothing; read_ratings does the checks, keeps ids as given and builds
the sparse matrix.

``--memory-mb N`` writes a MovieLens-style file of about N MB (CRLF, header, random order, a
few thousand repeated pairs) into a temporary folder, reads it in a fresh process the way the
command line does, and prints the peak resident memory against the file's size (target, issue
15: below 4x). ``--compare DIR`` runs the same read with the als_core of another checkout in the
same run (e.g. an older commit from ``git worktree add``), for a before/after table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import als_core as ac  # noqa: E402

TARGET_SECONDS = 2.0
TARGET_MEMORY_RATIO = 4.0
ROOT = Path(__file__).resolve().parents[1]
# Run in a fresh process: read the file as the command line does and report the peak RSS.
_CHILD = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
import als_core as ac
start = time.perf_counter()
ratings = ac.read_ratings(sys.argv[2], duplicates="mean", max_bytes=2**40)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "peak": peak, "nnz": ratings.nnz}))
"""


def _long_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_users, n_items = max(2, rows // 15), max(2, rows // 17)
    keys = rng.choice(n_users * n_items, size=rows, replace=False)
    return pd.DataFrame(
        {
            "userId": keys // n_items + 1,
            "movieId": keys % n_items + 1,
            "rating": rng.integers(1, 11, size=rows) / 2,
            "timestamp": rng.integers(800_000_000, 1_700_000_000, size=rows),
        }
    )


def _write_files(folder: Path, rows: int) -> list[tuple[str, Path, int]]:
    frame = _long_frame(rows)
    files = []

    path = folder / "ml_latest_style.csv"  # comma, CRLF, header (MovieLens latest)
    frame.to_csv(path, index=False, lineterminator="\r\n")
    files.append(("comma, CRLF, header, 4 columns", path, rows))

    path = folder / "ml_1m_style.dat"  # '::' without header (MovieLens 1M)
    text = (
        frame["userId"].astype(str)
        + "::"
        + frame["movieId"].astype(str)
        + "::"
        + frame["rating"].map("{:g}".format)
        + "::"
        + frame["timestamp"].astype(str)
    )
    path.write_text("\n".join(text) + "\n")
    files.append(("'::', no header (MovieLens 1M)", path, rows))

    path = folder / "tab_no_header.tsv"  # tab, no header (MovieLens 100K u.data)
    frame.to_csv(path, sep="\t", index=False, header=False)
    files.append(("tab, no header", path, rows))

    path = folder / "semicolon_text_ids.csv"  # text ids, decimal comma
    text_ids = pd.DataFrame(
        {
            "customer_id": "c" + frame["userId"].astype(str).str.zfill(7),
            "product_id": "p" + frame["movieId"].astype(str).str.zfill(7),
            "stars": frame["rating"].map("{:g}".format).str.replace(".", ",", regex=False),
        }
    )
    text_ids.to_csv(path, sep=";", index=False)
    files.append(("semicolon, text ids, decimal comma", path, rows))

    path = folder / "spaces.txt"  # runs of spaces (LibRec)
    frame.iloc[:, :3].to_csv(path, sep=" ", index=False, header=False)
    files.append(("spaces, no header", path, rows))

    side = max(2, int(np.sqrt(rows / 0.2)))  # a 20%-full matrix with about `rows` ratings
    rng = np.random.default_rng(1)
    dense = rng.integers(1, 6, size=(side, side)).astype(object)
    dense[rng.random((side, side)) > 0.2] = ""
    wide = pd.DataFrame(dense, columns=[f"item{j}" for j in range(side)])
    wide.insert(0, "user", [f"u{i}" for i in range(side)])
    path = folder / "wide.csv"
    wide.to_csv(path, index=False)
    files.append((f"wide {side}x{side}, 20% filled", path, int((dense != "").sum())))
    return files


def _best_of(repeat: int, fn) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def write_large_file(path: Path, megabytes: float, seed: int = 0) -> int:
    """A MovieLens-latest-style ratings file of about ``megabytes`` MB; returns its rows."""
    rng = np.random.default_rng(seed)
    target = int(megabytes * 2**20)
    written = rows = 0
    with path.open("wb") as f:
        f.write(b"userId,movieId,rating,timestamp\r\n")
        while written < target:
            n = 500_000
            chunk = pd.DataFrame(
                {
                    "u": rng.integers(1, 200_000, n),
                    "i": rng.integers(1, 60_000, n),
                    "r": rng.integers(1, 11, n) / 2,
                    "t": rng.integers(800_000_000, 1_700_000_000, n),
                }
            )
            data = chunk.to_csv(index=False, header=False, lineterminator="\r\n").encode()
            f.write(data)
            written += len(data)
            rows += n
    return rows


def measure_memory(path: Path, checkout: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(checkout), str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def memory_table(megabytes: float, folder: Path | None, compare: Path | None) -> None:
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        path = Path(tmp) / "large_ratings.csv"
        rows = write_large_file(path, megabytes)
        size = path.stat().st_size
        print(f"file: {size / 2**20:,.0f} MB, {rows:,} rows (CRLF, header, 4 columns)")
        header = (
            f"{'als_core':28s} {'file MB':>8s} {'peak RSS MB':>12s} {'ratio':>6s} "
            f"{'seconds':>8s} {'< 4x':>5s}"
        )
        print(header)
        print("-" * len(header))
        checkouts = [("this checkout", ROOT)] + ([("compared", compare)] if compare else [])
        for label, checkout in checkouts:
            result = measure_memory(path, checkout)
            ratio = result["peak"] / size
            verdict = "yes" if ratio < TARGET_MEMORY_RATIO else "NO"
            print(
                f"{label:28s} {size / 2**20:>8,.0f} {result['peak'] / 2**20:>12,.0f} "
                f"{ratio:>6.2f} {result['seconds']:>8.1f} {verdict:>5s}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory-mb", type=float, default=None)
    parser.add_argument("--dir", type=Path, default=None, help="where to write the large file")
    parser.add_argument("--compare", type=Path, default=None, help="another checkout's root")
    args = parser.parse_args(argv)
    if args.memory_mb:
        memory_table(args.memory_mb, args.dir, args.compare)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        files = _write_files(Path(tmp), args.rows)
        header = (
            f"{'file':38s} {'ratings':>10s} {'MB':>6s} {'read_ratings s':>15s} "
            f"{'ratings/s':>11s} {'pandas s':>9s} {'≤2 s per 1M':>12s}"
        )
        print(header)
        print("-" * len(header))
        for label, path, n in files:
            seconds = _best_of(args.repeat, lambda p=path: ac.read_ratings(p, duplicates="last"))
            sep = {".dat": "::", ".tsv": "\t", ".txt": r"\s+"}.get(path.suffix)
            if path.name.startswith("semicolon"):
                sep = ";"
            engine = "python" if sep == "::" else "c"
            reference = _best_of(
                1, lambda p=path, s=sep, e=engine: pd.read_csv(p, sep=s or ",", engine=e)
            )
            per_million = seconds / max(n, 1) * 1e6
            verdict = "yes" if per_million <= TARGET_SECONDS else "NO"
            print(
                f"{label:38s} {n:>10,d} {path.stat().st_size / 2**20:>6.1f} {seconds:>15.3f} "
                f"{n / seconds:>11,.0f} {reference:>9.3f} {verdict:>12s}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
