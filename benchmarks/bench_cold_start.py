"""Time to the first chart in headless Chromium: the app against a one-chart Streamlit app.

Run by hand from the repository root (needs playwright and Debian's Chromium):

    PYTHONPATH=. python benchmarks/bench_cold_start.py            # 5 runs of each, ~4 minutes
    PYTHONPATH=. python benchmarks/bench_cold_start.py --runs 3 --ports 8640-8649

Each run starts a fresh Streamlit server (a new process: nothing imported, nothing cached) and
waits until it answers its health check; then a new browser context opens the page and the
clock runs until the first plotly chart has drawn its SVG. Four servers per run, in turn:

- ``one-chart``: a minimal app written into the benchmark's temporary folder (one
  ``st.plotly_chart`` of a three-point line), the floor any Streamlit page pays here;
- ``app cold``: this app with ``ALS_CORE_KERNEL_DIR`` pointing to a new, empty folder, as on a
  fresh machine (the kernel compiles in the background while the first fit runs on numpy);
- ``one-chart`` again, then ``app warm``: a folder holding a verified kernel build.

Taking turns keeps the ratio meaningful on a machine whose speed drifts. It prints the
seconds of each run, the medians and each app's median over the one-chart app's; each server
is visited twice, and the second visit (modules imported, caches filled) says what is left for
the browser side. Then, to say
where the app's time goes, the same fresh-process steps without a browser: importing the
app's modules (by package, each on top of the ones before), and the first script run of each
app through Streamlit's AppTest (the server's own work for the first page: when it calls
st.plotly_chart the first time, and when it is done).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.browser_support import ROOT, free_port, launched_chromium, streamlit_server

#: Ports the servers may take, unless ``--ports`` says otherwise.
PORTS = "8620-8629"
#: The first chart has drawn: plotly's SVG layer is in the page's main area and visible (the
#: app's hidden warm-up chart in the sidebar, ``dashboard.first_view``, never counts).
CHART = '[data-testid="stMain"] .js-plotly-plot .main-svg'
ONE_CHART_APP = """
import plotly.graph_objects as go
import streamlit as st

st.title("One chart")
st.plotly_chart(go.Figure(go.Scatter(y=[1, 3, 2])))
"""
BUILD_KERNEL = """
import sys
sys.path.insert(0, {root!r})
from als_core import _kernel
_kernel.available()  # builds it, waiting
print(_kernel.describe())
"""
APPTEST_RUN = """
import sys, time
sys.path.insert(0, {root!r})
start = time.perf_counter()
import streamlit as st
from streamlit.testing.v1 import AppTest
first = []
draw = st.plotly_chart
def timed(*args, **kwargs):
    first.append(time.perf_counter())
    return draw(*args, **kwargs)
st.plotly_chart = timed  # the pages call st.plotly_chart
at = AppTest.from_file({script!r}, default_timeout=300)
imported = time.perf_counter()
at.run()
done = time.perf_counter()
assert not at.exception, at.exception
print(imported - start, first[0] - imported, done - imported)
"""
IMPORTS = """
import sys, time
sys.path.insert(0, {root!r})
import streamlit
times = {{}}
for name in {modules!r}:
    start = time.perf_counter()
    __import__(name)
    times[name] = time.perf_counter() - start
print(__import__("json").dumps(times))
"""


def first_chart_seconds(browser, url: str) -> float:
    """Seconds from opening ``url`` in a new browser context to the first drawn chart."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = context.new_page()
        start = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.wait_for_selector(CHART, state="visible", timeout=180_000)
        return time.perf_counter() - start
    finally:
        context.close()


def port_range(text: str) -> range:
    """``"8640-8649"`` -> the ports 8640 to 8649."""
    low, _, high = text.partition("-")
    try:
        ports = range(int(low), int(high or low) + 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected ports like 8640-8649, got {text!r}") from None
    if not ports or ports.start < 1 or ports.stop > 65536:
        raise argparse.ArgumentTypeError(f"expected ports like 8640-8649, got {text!r}")
    return ports


def one_server(
    browser, script: Path, env: dict[str, str], log: Path, ports: range
) -> tuple[float, float]:
    """(first visit, second visit) of a fresh server: the second finds modules imported and
    caches filled, so it shows what the browser side costs."""
    with streamlit_server(log, port=free_port(ports), script=script, env=env) as url:
        return first_chart_seconds(browser, url), first_chart_seconds(browser, url)


def python(code: str, kernel_dir: Path | None = None) -> str:
    """The last line ``code`` prints in a fresh interpreter (with that kernel cache)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if kernel_dir is not None:
        env["ALS_CORE_KERNEL_DIR"] = str(kernel_dir)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    return done.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each server (default 5)")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout of the project (e.g. a git worktree of an older commit): its "
        "app is timed in the same turns, cold and warm",
    )
    parser.add_argument(
        "--ports",
        type=port_range,
        default=port_range(PORTS),
        help=f"ports the servers may take (default {PORTS})",
    )
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"{time.ctime()}; load average {load:.1f}; {args.runs} runs, each on a fresh server")
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        one_chart = tmp / "one_chart.py"
        one_chart.write_text(ONE_CHART_APP)
        warm = tmp / "warm-kernel"
        warm.mkdir(mode=0o700)
        print(f"warm kernel cache: {python(BUILD_KERNEL.format(root=str(ROOT)), warm)}")
        if args.baseline:
            (tmp / "baseline-warm").mkdir(mode=0o700)
            code = BUILD_KERNEL.format(root=str(args.baseline.resolve()))
            print(f"baseline's warm kernel cache: {python(code, tmp / 'baseline-warm')}")
        names = ("one-chart", "app cold", "app warm")
        if args.baseline:
            names += ("baseline cold", "baseline warm")
        times: dict[str, list[float]] = {n: [] for n in names}
        times.update({f"{n}, second visit": [] for n in names})
        with launched_chromium() as browser:
            for run in range(args.runs):
                cold = tmp / f"cold-kernel-{run}"
                cold.mkdir(mode=0o700)
                plan = [
                    ("one-chart", one_chart, {}),
                    ("app cold", ROOT / "app.py", {"ALS_CORE_KERNEL_DIR": str(cold)}),
                    ("one-chart", one_chart, {}),
                    ("app warm", ROOT / "app.py", {"ALS_CORE_KERNEL_DIR": str(warm)}),
                ]
                if args.baseline:
                    old = {"PYTHONPATH": str(args.baseline.resolve())}
                    base_cold = tmp / f"baseline-cold-kernel-{run}"
                    base_cold.mkdir(mode=0o700)
                    plan += [
                        ("baseline cold", args.baseline / "app.py",
                         {**old, "ALS_CORE_KERNEL_DIR": str(base_cold)}),
                        ("baseline warm", args.baseline / "app.py",
                         {**old, "ALS_CORE_KERNEL_DIR": str(tmp / "baseline-warm")}),
                    ]  # fmt: skip
                for name, script, env in plan:
                    first, second = one_server(
                        browser, script, env, tmp / f"{name}-{run}.log", args.ports
                    )
                    times[name].append(first)
                    times[f"{name}, second visit"].append(second)
                    print(
                        f"run {run + 1}: {name:<10} {first:6.2f} s (second visit {second:.2f} s)",
                        flush=True,
                    )
        print(f"\n{time.ctime()}; load average {os.getloadavg()[0]:.1f}")
        print("\n| server | visits | first chart, median (min-max) | / one-chart app |")
        print("|---|---|---|---|")
        for name, values in times.items():
            second = ", second visit" if name.endswith(", second visit") else ""
            floor = statistics.median(times["one-chart" + second])
            median = statistics.median(values)
            print(
                f"| {name} | {len(values)} | {median:.2f} s ({min(values):.2f}-{max(values):.2f})"
                f" | {median / floor:.2f} |"
            )
        breakdown(tmp, one_chart, warm)


def breakdown(tmp: Path, one_chart: Path, warm: Path) -> None:
    """Where a fresh process spends the first page's time, without a browser."""
    modules = ["plotly.graph_objects", "numpy", "scipy.sparse", "pandas", "als_core.als"]
    modules += ["dashboard.session", "dashboard.fitting", "app"]
    imports = json.loads(python(IMPORTS.format(root=str(ROOT), modules=modules)))
    print("\nImports in a fresh process after streamlit (each on top of the ones before):")
    for name, seconds in imports.items():
        print(f"  {name:<22} {seconds:.2f} s")
    for label, script, kernel_dir in (
        ("one-chart app", one_chart, None),
        ("app, empty kernel cache", ROOT / "app.py", tmp / "breakdown-cold"),
        ("app, warm kernel cache", ROOT / "app.py", warm),
    ):
        if kernel_dir is not None:
            kernel_dir.mkdir(mode=0o700, exist_ok=True)
        out = python(APPTEST_RUN.format(root=str(ROOT), script=str(script)), kernel_dir)
        load, chart, run = (float(x) for x in out.split())
        print(
            f"AppTest first run, {label}: first st.plotly_chart call after {chart:.2f} s, "
            f"script done after {run:.2f} s (streamlit and AppTest imported before: {load:.2f} s)"
        )


if __name__ == "__main__":
    main()
