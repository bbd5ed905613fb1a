"""Long computations for the Experiments page (and implicit training on the Train page): run in a
background thread, report progress, stop within one step, keep results.

Why a thread: a Stop click reruns the page script, and Streamlit ends the running script at its
next ``st`` call, so a computation in the script thread would die with everything it had done.
Here the work runs in a ``Job`` thread that never touches Streamlit; the page only watches it
(``watch`` redraws a progress bar every tenth of a second). A Stop click sets the job's event in
its ``on_click`` callback, the experiment's ``should_stop()`` sees it after its current step, and
the rerun's ``watch`` collects the partial result, marked "stopped". Moving a slider while a job
runs does not kill the job either: the rerun watches it to the end.

Where results live:

- a job, until collected: ``st.session_state["exp_jobs"][name]`` (this session only);
- the outcome on screen: ``st.session_state["exp_results"][name]``, so it stays there when the
  user changes a setting or visits another page;
- complete outcomes also go to a server-wide ``st.cache_data`` store keyed on
  (experiment, data fingerprint, settings), bounded by ``max_entries``; an outcome cut short by
  Stop is never stored there. A page asks the store first, so nothing heavy runs on page load
  unless it is already cached.

``slots`` (a server-wide semaphore) lets at most ``CONCURRENT_JOBS`` jobs compute at once; the
machine has two cores shared by every session.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

import als_core as ac
from dashboard import state

log = logging.getLogger("als_explorer")

#: Jobs computing at the same time in this server process (other sessions' jobs wait).
CONCURRENT_JOBS = 2
#: How often ``watch`` redraws the progress bar (seconds); each redraw is where a rerun lands.
POLL_SECONDS = 0.1
#: A held-out share used when the Train page's settings hold nothing out.
FALLBACK_FRACTION = 0.2

Progress = Callable[[int, int, str], Any]
ShouldStop = Callable[[], bool]
#: work(progress, should_stop) -> (value, stopped)
Work = Callable[[Progress, ShouldStop], tuple[Any, bool]]


@dataclass(frozen=True)
class Outcome:
    """A finished (or stopped) computation with what it was run on."""

    name: str
    key: tuple
    value: Any
    stopped: bool
    seconds: float  # wall-clock time of the whole job (waiting for a slot excluded)
    finished: str = ""  # time of day, for "computed at …"


@dataclass
class Job:
    """One computation in a background thread. Only plain attributes are shared with the page
    (set by the thread, read by the script), so no lock is needed beyond the GIL."""

    name: str
    key: tuple
    work: Work
    slots: threading.Semaphore
    stop_event: threading.Event = field(default_factory=threading.Event)
    done: int = 0
    total: int = 1
    message: str = "waiting for a free slot (other sessions are computing)"
    outcome: Outcome | None = None
    error: BaseException | None = None
    thread: threading.Thread | None = None

    def start(self) -> Job:
        self.thread = threading.Thread(target=self._run, name=f"exp-{self.name}", daemon=True)
        self.thread.start()
        return self

    def _run(self) -> None:
        while not self.slots.acquire(timeout=0.2):
            if self.stop_event.is_set():
                self.message = "stopped before it started"
                return
        try:
            t0 = time.perf_counter()
            self.message = "starting"
            value, stopped = self.work(self._progress, self.stop_event.is_set)
            self.outcome = Outcome(
                name=self.name,
                key=self.key,
                value=value,
                stopped=bool(stopped),
                seconds=time.perf_counter() - t0,
                finished=time.strftime("%H:%M:%S"),
            )
        except Exception as error:  # shown by the page; the thread must not die silently
            log.exception("experiment %r failed", self.name)
            self.error = error
        finally:
            self.slots.release()

    def _progress(self, done: int, total: int, message: str) -> None:
        self.done, self.total, self.message = int(done), max(1, int(total)), str(message)

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    @property
    def fraction(self) -> float:
        return min(1.0, max(0.0, self.done / self.total))

    def stop(self) -> None:
        self.stop_event.set()

    def wait(self, timeout: float | None = None) -> None:
        if self.thread is not None:
            self.thread.join(timeout)


# ----------------------------------------------------------------------------- server-wide store
class _NotStored(Exception):
    """Raised inside the store's loader on a miss, so the miss itself is not cached."""


@st.cache_data(max_entries=48, max_size="256MB", show_spinner=False)
def _store(key: tuple, _load: Callable[[], Outcome]) -> Outcome:
    # st.cache_data used as a bounded, server-wide dictionary: the key is hashed, the loader
    # (underscore: not hashed) either hands over a finished outcome or raises _NotStored.
    return _load()


def _miss() -> Outcome:
    raise _NotStored


def stored(key: tuple) -> Outcome | None:
    """The complete outcome for ``key`` if any session computed it, else None (never computes)."""
    try:
        return _store(key, _miss)
    except _NotStored:
        return None


def store(outcome: Outcome) -> None:
    """Keep a complete outcome for every session (a stopped one would mislead: not stored)."""
    if not outcome.stopped:
        _store(outcome.key, lambda: outcome)


@st.cache_resource
def _slots() -> threading.BoundedSemaphore:
    """Bounds concurrent jobs across all sessions (created once per server, never mutated)."""
    return threading.BoundedSemaphore(CONCURRENT_JOBS)


# ----------------------------------------------------------------------------- session API
def _jobs() -> dict[str, Job]:
    return st.session_state.setdefault("exp_jobs", {})


def _results() -> dict[str, Outcome]:
    return st.session_state.setdefault("exp_results", {})


def start(name: str, key: tuple, work: Work) -> Job:
    """Start ``work`` for experiment ``name``. A job already running for the same key goes on;
    one running for other settings is stopped (within one step) and dropped first."""
    jobs = _jobs()
    current = jobs.get(name)
    if current is not None and current.running:
        if current.key == key:
            return current
        current.stop()
        current.wait()
    job = Job(name=name, key=key, work=work, slots=_slots()).start()
    jobs[name] = job
    return job


def request_stop(name: str) -> None:
    """Button callback: ask the running job of ``name`` to stop after its current step."""
    job = _jobs().get(name)
    if job is not None:
        job.stop()


def running(name: str) -> Job | None:
    job = _jobs().get(name)
    return job if job is not None and job.running else None


def watch(name: str, *, stop_label: str = "Stop") -> str | None:
    """Draw progress and a Stop button while the job of ``name`` runs, then collect it.

    Returns an error message when the job failed (None otherwise). The loop's ``st`` calls are
    where Streamlit interrupts this script on a rerun; the job itself keeps going.
    """
    job = _jobs().get(name)
    if job is None:
        return None
    if job.running:
        bar = st.progress(job.fraction, text=_progress_text(job))
        stop = st.empty()
        stop.button(stop_label, key=f"exp_{name}_stop", on_click=request_stop, args=(name,))
        while job.running:
            bar.progress(job.fraction, text=_progress_text(job))
            time.sleep(POLL_SECONDS)
        bar.empty()
        stop.empty()
    return _collect(name, job)


def _progress_text(job: Job) -> str:
    note = " · stopping after this step…" if job.stop_event.is_set() else ""
    last = f" · last finished: {job.message}" if job.done else f" · {job.message}"
    return f"{job.done} of {job.total} done{last}{note}"


def _collect(name: str, job: Job) -> str | None:
    _jobs().pop(name, None)
    if job.error is not None:
        return error_text(job.error)
    if job.outcome is not None:
        store(job.outcome)
        _results()[name] = job.outcome
    return None


def error_text(error: BaseException) -> str:
    """A message for the page: the library's own words when it explains the problem."""
    if isinstance(error, (ValueError, ac.RatingsError)):
        return f"The experiment could not run: {error}"
    return (
        "The experiment failed unexpectedly (details are in the server log). Try other "
        "settings or a smaller grid."
    )


def shown(name: str, key: tuple) -> tuple[Outcome | None, bool]:
    """(outcome to show, whether it matches ``key``): this session's result for these settings,
    else a cached one, else this session's last result for other settings."""
    results = _results()
    mine = results.get(name)
    if mine is not None and mine.key == key:
        return mine, True
    cached = stored(key)
    if cached is not None:
        results[name] = cached
        return cached, True
    return mine, False


def forget(name: str) -> None:
    """Drop the session's result of ``name`` (e.g. after the dataset changed)."""
    _results().pop(name, None)


# ----------------------------------------------------------------------------- data split
@dataclass(frozen=True)
class SplitChoice:
    """How the experiments hold out ratings: the Train page's split, or a random 20% when the
    Train page holds nothing out."""

    settings: dict
    text: str

    @property
    def key(self) -> tuple:
        s = self.settings
        return (s["split"], s["fraction"], s["n_per_user"], s["seed"])


def split_choice(ratings: ac.Ratings, train_settings: dict) -> SplitChoice:
    s = state.effective_settings(train_settings, ratings)
    if s["split"] == "none":
        s = {**s, "split": "random", "fraction": FALLBACK_FRACTION}
        text = (
            f"The Train page holds nothing out, so the experiments hold out a random "
            f"{FALLBACK_FRACTION:.0%} of the ratings (seed {s['seed']})."
        )
    elif s["split"] == "random":
        text = f"Held out as on the Train page: a random {s['fraction']:.0%} (seed {s['seed']})."
    else:
        what = "latest" if s["split"] == "by_time" else "random"
        text = (
            f"Held out as on the Train page: each user's {s['n_per_user']} {what} rating(s) "
            f"(seed {s['seed']})."
        )
    return SplitChoice(settings=s, text=text)


def split_data(ratings: ac.Ratings, choice: SplitChoice) -> tuple[ac.Ratings, ac.Ratings]:
    """Train and held-out ratings in one index space; errors say what to change."""
    train, valid = state.split_ratings(ratings, choice.settings)
    if valid is None or valid.nnz == 0:
        raise ValueError(
            "this split holds out no ratings; on the Train page choose a larger share or "
            "another way to hold out"
        )
    return train, valid
