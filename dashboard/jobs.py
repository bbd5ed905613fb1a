"""The one way the app runs a long computation: a background job with progress, a Stop that acts
within one step, the partial result kept, and complete results shared by every session.

Train fits, the experiments, implicit training and the MovieLens download all run here. To add a
new one, write its work as a plain function (no Streamlit: it runs in another thread)::

    def work(progress, should_stop):          # progress(done, total, message)
        for step in ...:
            if should_stop():
                return partial, True          # (value, stopped)
            ...
            progress(i, n, "what was just done")
        return value, False

and, in the page (or a helper it calls)::

    if st.button("Run"):
        jobs.start("my_job", key, work)       # key: data fingerprint + settings
    ended = jobs.watch("my_job", stop_label="Stop")   # progress and Stop while it runs
    outcome, current = jobs.shown("my_job", key)      # what to draw (stopped or complete)

Why a thread: every click reruns the page script, and Streamlit ends the running script at its
next ``st`` call, so a computation in the script thread would die with all it had done. A job
thread never touches Streamlit; the script only watches it (``watch`` redraws a progress bar
every tenth of a second, and a rerun simply ends the watching). A Stop click sets the job's stop
event in the button's ``on_click``; the work sees ``should_stop()`` after its current step and
returns what it has, marked stopped. ``start`` with other settings stops the job of the old ones
first.

Where things live:

- a job, until collected: ``st.session_state[JOBS_KEY][name]`` (this session only);
- the outcome on screen: ``st.session_state[RESULTS_KEY][name]``, so it stays when the user
  changes a setting or visits another page (partial outcomes too, marked ``stopped``);
- complete outcomes also go to a server-wide ``st.cache_data`` store keyed on (name, key),
  bounded in entries and bytes; an outcome cut short by Stop is never stored there, and a
  session only finds an entry whose key (with its data fingerprint) it already has.

A server-wide semaphore lets at most ``CONCURRENT_JOBS`` jobs compute at once: the machine has
two cores shared by every session; other jobs wait for a slot (and say so).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

log = logging.getLogger("als_explorer")

#: Jobs computing at the same time in this server process (other sessions' jobs wait).
CONCURRENT_JOBS = 2
#: How often ``watch`` redraws the progress bar (seconds); each redraw is where a rerun lands.
POLL_SECONDS = 0.1
#: Session-state keys of this session's jobs and of the outcomes it shows.
JOBS_KEY = "jobs_running"
RESULTS_KEY = "jobs_results"
WAITING = "waiting for a free slot (other sessions are computing)"

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


def counted(job: Job) -> str:
    """Progress text of a job that counts steps: "3 of 12 done · last finished: …"."""
    last = f" · last finished: {job.message}" if job.done else f" · {job.message}"
    return f"{job.done} of {job.total} done{last}"


def as_reported(job: Job) -> str:
    """Progress text of a job whose work writes the whole sentence itself."""
    return job.message


@dataclass
class Job:
    """One computation in a background thread. Only plain attributes are shared with the page
    (set by the thread, read by the script), so no lock is needed beyond the GIL."""

    name: str
    key: tuple
    work: Work
    slots: threading.Semaphore
    describe: Callable[[Job], str] = counted
    message: str = WAITING
    stop_event: threading.Event = field(default_factory=threading.Event)
    done: int = 0
    total: int = 1
    outcome: Outcome | None = None
    error: BaseException | None = None
    thread: threading.Thread | None = None

    def start(self) -> Job:
        self.thread = threading.Thread(target=self._run, name=f"job-{self.name}", daemon=True)
        self.thread.start()
        return self

    def _run(self) -> None:
        while not self.slots.acquire(timeout=0.2):
            if self.stop_event.is_set():
                self.message = "stopped before it started"
                return
        try:
            t0 = time.perf_counter()
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
            log.exception("job %r failed", self.name)
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

    @property
    def text(self) -> str:
        """What the progress bar says (and that a Stop is on its way)."""
        note = " · stopping after this step…" if self.stop_event.is_set() else ""
        return self.describe(self) + note

    def stop(self) -> None:
        self.stop_event.set()

    def wait(self, timeout: float | None = None) -> None:
        if self.thread is not None:
            self.thread.join(timeout)


# ----------------------------------------------------------------------------- server-wide store
class _NotStored(Exception):
    """Raised inside the store's loader on a miss, so the miss itself is not cached."""


@st.cache_data(max_entries=64, max_size="1GB", show_spinner=False)
def _store(name: str, key: tuple, _load: Callable[[], Outcome]) -> Outcome:
    # st.cache_data used as a bounded, server-wide dictionary: the name and key are hashed, the
    # loader (underscore: not hashed) either hands over a finished outcome or raises _NotStored.
    return _load()


def _miss() -> Outcome:
    raise _NotStored


def stored(name: str, key: tuple) -> Outcome | None:
    """The complete outcome of ``name`` for ``key`` if any session computed it, else None
    (never computes)."""
    try:
        return _store(name, key, _miss)
    except _NotStored:
        return None


def store(outcome: Outcome) -> None:
    """Keep a complete outcome for every session (a stopped one would mislead: not stored)."""
    if not outcome.stopped:
        _store(outcome.name, outcome.key, lambda: outcome)


@st.cache_resource
def _slots() -> threading.BoundedSemaphore:
    """Bounds concurrent jobs across all sessions (created once per server, never mutated)."""
    return threading.BoundedSemaphore(CONCURRENT_JOBS)


# ----------------------------------------------------------------------------- session API
def _jobs() -> dict[str, Job]:
    return st.session_state.setdefault(JOBS_KEY, {})


def _results() -> dict[str, Outcome]:
    return st.session_state.setdefault(RESULTS_KEY, {})


def start(
    name: str,
    key: tuple,
    work: Work,
    *,
    describe: Callable[[Job], str] = counted,
    waiting: str = WAITING,
) -> Job:
    """Start ``work`` as this session's job ``name`` for ``key``. A job already running for the
    same key goes on; one running for another key is stopped (within one step) and dropped
    first, its partial result with it. ``describe(job)`` writes the progress text; ``waiting``
    is shown until a slot is free."""
    jobs = _jobs()
    current = jobs.get(name)
    if current is not None and current.running:
        if current.key == key:
            return current
        current.stop()
        current.wait()
    job = Job(name=name, key=key, work=work, slots=_slots(), describe=describe, message=waiting)
    jobs[name] = job.start()
    return job


def job(name: str) -> Job | None:
    """This session's job ``name``, running or ended but not yet collected."""
    return _jobs().get(name)


def running(name: str) -> Job | None:
    found = job(name)
    return found if found is not None and found.running else None


def request_stop(name: str) -> None:
    """Button callback: ask the running job ``name`` to stop after its current step."""
    found = job(name)
    if found is not None:
        found.stop()


def watch(
    name: str,
    *,
    stop_label: str = "Stop",
    on_stop: Callable[..., None] | None = None,
    stop_args: tuple = (),
) -> Job | None:
    """Draw progress and a Stop button while the job ``name`` runs, then collect it.

    Returns the ended job (read its ``outcome`` and ``error``), or None when this session has
    no such job. The loop's ``st`` calls are where Streamlit ends this script on a rerun; the
    job itself goes on, and the next run watches it again. The Stop button calls
    ``on_stop(*stop_args)`` (default: ``request_stop(name)``).
    """
    found = job(name)
    if found is None:
        return None
    if found.running:
        bar = st.progress(found.fraction, text=found.text)
        button = st.empty()
        button.button(
            stop_label,
            key=f"jobs_{name}_stop",
            on_click=on_stop or request_stop,
            args=stop_args if on_stop else (name,),
        )
        while found.running:
            bar.progress(found.fraction, text=found.text)
            found.wait(POLL_SECONDS)  # back at once when it ends: a small fit takes ms
        bar.empty()
        button.empty()
    return collect(name)


def collect(name: str) -> Job | None:
    """Take this session's ended job ``name``: its outcome becomes the session's result of
    ``name`` (and, when complete, goes to the server-wide store). None while it still runs."""
    found = job(name)
    if found is None or found.running:
        return None
    _jobs().pop(name, None)
    if found.outcome is not None:
        store(found.outcome)
        _results()[name] = found.outcome
    return found


def shown(name: str, key: tuple) -> tuple[Outcome | None, bool]:
    """(outcome to show, whether it matches ``key``): this session's result for these settings,
    else a stored one, else this session's last result for other settings."""
    results = _results()
    mine = results.get(name)
    if mine is not None and mine.key == key:
        return mine, True
    cached = stored(name, key)
    if cached is not None:
        results[name] = cached
        return cached, True
    return mine, False


def forget(name: str) -> None:
    """Drop the session's result of ``name`` (e.g. after the dataset changed)."""
    _results().pop(name, None)
