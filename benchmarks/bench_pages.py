"""Script time and payload of every dashboard page, on movie night and on 1M synthetic ratings.

For each dataset and page, a fresh AppTest session is given the dataset, then measured:

- ``first s``: the page's first run in that session (the model comes from the server-wide cache
  after the first page; the cold fit is reported on its own line);
- ``rerun s``: the same page again with nothing changed (must not retrain);
- ``figures MB``: the plotly JSON the page sends (the budget is ~5 MB per page);
- ``all MB``: every element the page sends (figures, tables, images, widgets).

On the Train page a slider change (k + 1) is timed too: the time from the change to new charts.

Run by hand:  PYTHONPATH=. python benchmarks/bench_pages.py [--quick]
(--quick: movie night only.)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

import als_core as ac  # noqa: E402
from dashboard import data_sources  # noqa: E402

APP = str(ROOT / "app.py")
MB = 1e6


def datasets(quick: bool) -> list[data_sources.Dataset]:
    out = [data_sources.Dataset("Movie night", ac.load_sample("movie_night"), "sample:movie_night")]
    if not quick:
        start = time.perf_counter()
        truth = ac.synthetic(
            n_users=6040,
            n_items=3706,
            rank=8,
            density=1_000_000 / (6040 * 3706),
            popularity_skew=1.0,
            clusters=6,
            seed=0,
        )
        print(f"generated 1M ratings in {time.perf_counter() - start:.1f} s", flush=True)
        out.append(data_sources.Dataset("Synthetic 1M", truth.ratings, "synthetic", truth))
    return out


def page_paths() -> list[str]:
    return sorted(f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py"))


def payload(at: AppTest) -> tuple[float, float]:
    """(plotly JSON bytes, bytes of every element) the page sent, in MB."""
    figures = sum(len(e.proto.spec) for e in at.get("plotly_chart"))
    everything = 0
    stack = [at._tree]
    while stack:
        node = stack.pop()
        children = getattr(node, "children", None)
        if children:
            stack.extend(children.values())
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "ByteSize"):
            everything += proto.ByteSize()
    return figures / MB, everything / MB


def session(dataset: data_sources.Dataset, page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=900)
    at.session_state["data_dataset"] = dataset
    at.session_state["data_fingerprint"] = dataset.ratings.fingerprint()
    at.switch_page(page)
    return at


def timed_run(at: AppTest) -> float:
    start = time.perf_counter()
    at.run()
    return time.perf_counter() - start


def problems(at: AppTest) -> str:
    found = [f"exception: {e.message[:60]}" for e in at.exception]
    found += [f"error: {e.value[:60]}" for e in at.error]
    return "; ".join(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="movie night only")
    args = parser.parse_args()
    rows = []
    for dataset in datasets(args.quick):
        # The cold fit with the default settings, once per dataset (then cached for all).
        warm = session(dataset, "pages/data.py")
        cold = timed_run(warm)
        rows.append((dataset.name, "(first fit, cold cache)", cold, None, None, None, ""))
        for page in page_paths():
            at = session(dataset, page)
            first = timed_run(at)
            rerun = timed_run(at)
            figures, everything = payload(at)
            rows.append((dataset.name, page, first, rerun, figures, everything, problems(at)))
            if page == "pages/train.py":
                k = at.slider(key="train_w_k")
                k.set_value(int(k.value) + 1)
                change = timed_run(at)
                rows.append((dataset.name, "train: k + 1", change, None, None, None, problems(at)))
            print(f"  measured {dataset.name} {page}", file=sys.stderr, flush=True)
    header = f"{'dataset':<13} {'page':<28} {'first s':>8} {'rerun s':>8} {'figures MB':>10} "
    header += f"{'all MB':>7}  problems"
    print(header)
    print("-" * len(header))
    for name, page, first, rerun, figures, everything, issue in rows:
        cells = [
            f"{name:<13}",
            f"{page:<28}",
            f"{first:>8.2f}",
            f"{rerun:>8.2f}" if rerun is not None else f"{'':>8}",
            f"{figures:>10.3f}" if figures is not None else f"{'':>10}",
            f"{everything:>7.3f}" if everything is not None else f"{'':>7}",
        ]
        print(" ".join(cells) + ("  " + issue if issue else ""))


if __name__ == "__main__":
    main()
