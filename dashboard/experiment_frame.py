"""The frame every experiment of the Experiments page runs in, so the page is a table of
sections (``Section``: intro, widgets → settings, the job's work, results) and one loop.

``show_section`` draws a section's intro and widgets, then its Run button: the experiment runs as
a background job (``dashboard.jobs``) with progress and Stop, its outcome stays on screen (marked
when it belongs to earlier settings or was stopped) and, when another session already computed
the same data and settings, it is shown without a run. The widgets several sections share (k, λ,
regularisation) are here too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import streamlit as st

import als_core as ac

from . import jobs, presenter, session, slides
from .controls import EXPERIMENT_LAMBDAS, remembered, snap
from .data_sources import Dataset
from .experiment_work import SplitChoice, error_text


# ----------------------------------------------------------------------------- the frame
@dataclass
class Context:
    """What every section starts from: the session's data, the Train page's settings (the
    defaults), the split the experiments use, and the slides' pack of this section."""

    dataset: Dataset
    settings: dict
    split: SplitChoice
    k_max: int
    pack: slides.SlidePack
    params: dict = field(default_factory=dict)  # the experiment's settings, for the pack

    @property
    def ratings(self) -> ac.Ratings:
        return self.dataset.ratings


@dataclass(frozen=True)
class Section:
    """One experiment: what it shows, its widgets (→ its settings, or None when there is
    nothing to run), its computation (a job's work) and how its results are drawn."""

    name: str  # in session keys, job names and the link (``?section=``)
    title: str
    intro: str
    controls: Callable[[Context], dict | None]
    work: Callable[[Context, dict], jobs.Work]
    results: Callable[[Context, Any], None]


def show_section(section: Section, ctx: Context) -> None:
    """The same frame for every experiment: intro, widgets, Run with progress and Stop, then
    the results (this session's, or another session's for the same data and settings)."""
    # Presenter mode: the results (their main figure on the first screen) right under the
    # experiment's title; the intro, settings and Run button below them.
    first, second = st.container(), st.container()
    results_box, body = (first, second) if presenter.active() else (second, first)
    with body:
        st.markdown(section.intro)
        params = section.controls(ctx)
        if params is None:
            return
        ctx.params = params
        key = make_key(section.name, ctx.split, params)
        outcome = run_area(section.name, key, lambda: section.work(ctx, params))
    if outcome is not None and has_rows(outcome.value):
        with results_box:
            section.results(ctx, outcome.value)


def has_rows(value: Any) -> bool:
    """Whether a result has anything to draw (a table, or a result object's table/grid)."""
    for table in (value, getattr(value, "table", None), getattr(value, "grid", None)):
        if isinstance(table, pd.DataFrame):
            return not table.empty
    return value is not None


#: Presenter mode: what sits above a section's main figure (the page's folded introduction and
#: the section's title; ``RESULTS_RESERVE_PX + presenter.HEADING_PX`` with a row of widgets).
RESULTS_RESERVE_PX = presenter.SCREEN_RESERVE_PX + presenter.HEADING_PX


# ----------------------------------------------------------------------------- widgets
def setting_columns(spec: int | list[float]) -> list:
    """An experiment's settings side by side; in presenter mode folded into a closed expander
    (the Run button and the results stay in view)."""
    box = presenter.controls_box("Settings of this experiment")
    return (box or st).columns(spec)


def k_slider(name: str, k_max: int, default: int, label: str = "Rank k") -> int:
    default = int(min(max(1, default), k_max))
    key = remembered(f"exp_w_{name}_k", default, valid=lambda v: 1 <= int(v) <= k_max)
    return int(st.slider(label, 1, k_max, key=key))


def lam_slider(name: str, default: float, label: str = "λ") -> float:
    key = remembered(
        f"exp_w_{name}_lam",
        snap(default, EXPERIMENT_LAMBDAS),
        valid=lambda v: v in EXPERIMENT_LAMBDAS,
    )
    return float(
        st.select_slider(label, options=EXPERIMENT_LAMBDAS, key=key, format_func=lambda v: f"{v:g}")
    )


def regularization_radio(name: str, default: str) -> str:
    key = remembered(f"exp_w_{name}_reg", default)
    return st.radio(
        "Regularisation",
        ["plain", "weighted"],
        key=key,
        horizontal=True,
        format_func=lambda v: {"plain": "plain (article)", "weighted": "weighted (ALS-WR)"}[v],
    )


def model_controls(
    name: str,
    ctx: Context,
    cols: list,
    *,
    k_max: int | None = None,
    lam_label: str = "λ",
    regularization: bool = True,
) -> dict[str, Any]:
    """The model settings most experiments start from: rank k (``cols[0]``), λ (``cols[1]``)
    and, with ``regularization``, plain or weighted (``cols[2]``; else the Train page's),
    defaulting to the Train page's settings; with its seed. Returns k, lam, regularization,
    seed."""
    s = ctx.settings
    with cols[0]:
        k = k_slider(name, ctx.k_max if k_max is None else k_max, s["k"])
    with cols[1]:
        lam = lam_slider(name, s["lam"], label=lam_label)
    reg = s["regularization"]
    if regularization:
        with cols[2]:
            reg = regularization_radio(name, s["regularization"])
    return {"k": k, "lam": lam, "regularization": reg, "seed": int(s["seed"])}


#: Result tables name the RMSE columns so.
RMSE_COLUMNS = {"train_rmse": "train RMSE", "validation_rmse": "validation RMSE"}


def make_key(name: str, split: SplitChoice, params: dict[str, Any]) -> tuple:
    frozen = tuple(
        (k, tuple(v) if isinstance(v, (list, tuple)) else v) for k, v in sorted(params.items())
    )
    return (name, session.current_fingerprint(), split.key, frozen)


# ----------------------------------------------------------------------------- run area
def run_area(name: str, key: tuple, make_work: Callable[[], jobs.Work]) -> jobs.Outcome | None:
    """Run button, progress with Stop while running, then the outcome to show (or None)."""
    job = f"exp_{name}"
    pressed = st.button("Run", key=f"exp_{name}_run", type="primary", icon=":material/play_arrow:")
    # On a talk's slide the experiment runs by itself: the slide shows its figure.
    on_slide = presenter.current_slide() is not None and jobs.job(job) is None
    if pressed or (on_slide and not jobs.shown(job, key)[1]):
        jobs.start(job, key, make_work())
    ended = jobs.watch(job)
    if ended is not None and ended.error is not None:
        st.error(error_text(ended.error))
    outcome, current = jobs.shown(job, key)
    if outcome is None or outcome.key[1] != session.current_fingerprint():
        st.info("Press **Run** to compute this experiment on the current data.")
        return None
    notes = [f"computed in {outcome.seconds:.2f} s at {outcome.finished}"]
    if not current:
        notes.insert(0, "**shown: results for earlier settings**; press Run for the current ones")
    st.caption(" · ".join(notes))
    if outcome.stopped:
        st.warning("Stopped before the end: these are the partial results so far.")
    return outcome
