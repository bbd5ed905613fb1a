"""How fast read_ratings parses big files, per dialect (run by hand; prints a table).

    python benchmarks/bench_read.py            # 1,000,000 rows per dialect
    python benchmarks/bench_read.py --rows 200000 --repeat 1

The target (issue 3): 1,000,000 long-form rows in ≤ 2 s on the 2-core machine. For reference the
table also shows pandas.read_csv with default settings, which reads ids as numbers (so "007"
would become 7) and checks nothing; read_ratings does the checks, keeps ids as given and builds
the sparse matrix.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import als_core as ac  # noqa: E402

TARGET_SECONDS = 2.0


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
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
