"""The one background-job runner (dashboard/jobs.py) and the works it runs: progress, a Stop
that acts within one step, the partial result kept, complete results shared between sessions
and stopped ones not, a job of new settings replacing the old one."""

from __future__ import annotations

import threading
import time

import numpy as np
from streamlit.testing.v1 import AppTest

import als_core as ac
from dashboard import data_sources, experiment_work, fitting, jobs
from dashboard.settings import DEFAULT_SETTINGS, fit_model


# --------------------------------------------------------------------------------- one job
def stepping_work(steps: int, seconds_per_step: float):
    """A work function with the experiments' contract: progress after each step, stop checked
    before each step."""

    def run(progress, should_stop):
        done = []
        progress(0, steps, "starting")
        for i in range(steps):
            if should_stop():
                return done, True
            time.sleep(seconds_per_step)
            done.append(i)
            progress(i + 1, steps, f"step {i}")
        return done, False

    return run


def test_a_job_reports_progress_and_finishes_with_its_outcome():
    job = jobs.Job(
        name="t", key=("t",), work=stepping_work(3, 0.01), slots=threading.BoundedSemaphore(1)
    ).start()
    job.wait(5)
    assert not job.running and job.error is None
    assert job.outcome.value == [0, 1, 2] and not job.outcome.stopped
    assert (job.done, job.total, job.fraction) == (3, 3, 1.0)


def test_a_stop_takes_effect_within_one_step_and_keeps_the_partial_result():
    job = jobs.Job(
        name="t", key=("t",), work=stepping_work(100, 0.05), slots=threading.BoundedSemaphore(1)
    ).start()
    time.sleep(0.3)
    job.stop()
    t0 = time.perf_counter()
    job.wait(5)
    assert time.perf_counter() - t0 < 0.5  # one step is 0.05 s
    assert job.outcome.stopped and 0 < len(job.outcome.value) < 100
    assert job.outcome.value == list(range(len(job.outcome.value)))


def test_a_job_waits_for_a_free_slot_and_can_be_stopped_while_waiting():
    slots = threading.BoundedSemaphore(1)
    slots.acquire()
    job = jobs.Job(name="t", key=("t",), work=stepping_work(1, 0.0), slots=slots).start()
    time.sleep(0.3)
    assert job.running and job.done == 0 and "waiting" in job.message
    job.stop()
    job.wait(5)
    assert not job.running and job.outcome is None and job.error is None
    slots.release()


def test_a_failing_job_keeps_its_error_for_the_page():
    def broken(progress, should_stop):
        raise ValueError("k must be at most 5")

    job = jobs.Job(name="t", key=("t",), work=broken, slots=threading.BoundedSemaphore(1)).start()
    job.wait(5)
    assert isinstance(job.error, ValueError) and job.outcome is None
    expected = "The experiment could not run: k must be at most 5"
    assert experiment_work.error_text(job.error) == expected
    assert "server log" in experiment_work.error_text(RuntimeError("internal"))


# --------------------------------------------------------------------------------- session API
def session_script():
    """A page that runs one counting job per run and shows what the runner gives back."""
    import time

    import streamlit as st

    from dashboard import jobs

    steps = st.session_state.get("steps", 3)  # read here: the job's thread never touches st

    def work(progress, should_stop):
        done = []
        for i in range(steps):
            if should_stop():
                return done, True
            time.sleep(0.02)
            done.append(i)
            progress(i + 1, steps, f"step {i}")
        return done, False

    key = ("count", steps)
    if st.session_state.get("run", True):
        jobs.start("count", key, work)
    ended = jobs.watch("count")
    outcome, current = jobs.shown("count", key)
    st.session_state["ended"] = ended
    st.session_state["shown"] = (outcome, current)


def test_watch_collects_a_complete_outcome_that_other_sessions_then_find():
    steps = 5 + int(time.time_ns() % 1000)  # a key no other test stored
    first = AppTest.from_function(session_script, default_timeout=30)
    first.session_state["steps"] = steps
    first.run()
    assert not first.exception, first.exception
    outcome, current = first.session_state["shown"]
    assert current and outcome.value == list(range(steps)) and not outcome.stopped
    assert first.session_state["ended"].outcome is outcome

    second = AppTest.from_function(session_script, default_timeout=30)
    second.session_state["steps"] = steps
    second.session_state["run"] = False  # nothing computed in this session
    second.run()
    outcome, current = second.session_state["shown"]
    assert current and outcome.value == list(range(steps))
    assert second.session_state["ended"] is None


def test_a_stopped_outcome_is_shown_in_its_session_but_never_stored():
    stopped = jobs.Outcome(name="t", key=("t", 1), value=[0], stopped=True, seconds=0.1)
    jobs.store(stopped)
    assert jobs.stored("t", ("t", 1)) is None
    complete = jobs.Outcome(name="t", key=("t", 2), value=[0, 1], stopped=False, seconds=0.1)
    jobs.store(complete)
    assert jobs.stored("t", ("t", 2)).value == [0, 1]
    assert jobs.stored("other", ("t", 2)) is None  # results of another job never mix in


def replacing_script():
    """Start a slow job, then the same key again (it goes on), then another key."""
    import time

    import streamlit as st

    from dashboard import jobs

    def slow(progress, should_stop):
        done = 0
        while not should_stop() and done < 500:
            time.sleep(0.01)
            done += 1
        return done, should_stop()

    first = jobs.start("slow", ("a",), slow)
    again = jobs.start("slow", ("a",), slow)
    other = jobs.start("slow", ("b",), lambda progress, should_stop: ("b", False))
    other.wait(5)
    st.session_state["jobs"] = (first, again, other)


def test_starting_other_settings_stops_the_old_job_and_the_same_settings_go_on():
    at = AppTest.from_function(replacing_script, default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    first, again, other = at.session_state["jobs"]
    assert again is first  # the same key: the running job goes on
    assert not first.running and first.outcome.stopped and first.outcome.value < 500
    assert other.outcome.value == "b" and not other.outcome.stopped


# --------------------------------------------------------------------------------- the works
def test_a_train_fit_job_reports_each_half_step_and_stops_after_the_one_in_progress():
    ratings = ac.load_sample("movie_night")
    settings = {**DEFAULT_SETTINGS, "k": 3, "iterations": 6}
    reports: list[tuple[int, int, str]] = []
    stop = threading.Event()

    def progress(done, total, message):
        reports.append((done, total, message))
        if done == 5:  # iteration 3, users solved: the Stop click lands here
            stop.set()

    work = fitting.fit_work(ratings, settings, fingerprint="f")
    fit, stopped = work(progress, stop.is_set)
    assert stopped and fit.model.stop_reason_ == "callback"
    assert [d for d, _, _ in reports] == [0, 1, 2, 3, 4, 5]
    assert all(total == 12 for _, total, _ in reports[1:])
    assert reports[5][2].startswith("Training: iteration 3 of 6, users solved, train RMSE")
    # The partial model is the library's own fit stopped at the same half-step.
    expected = fit_model(ratings, settings, callback=stop_at(3, "users"))
    np.testing.assert_array_equal(fit.model.user_factors_, expected.model.user_factors_)
    assert fit.fingerprint == "f"

    full, stopped = work(lambda *a: None, lambda: False)
    assert not stopped and full.model.n_iter_ == 6


def stop_at(iteration: int, side: str):
    def callback(event):
        if (event.iteration, event.side) == (iteration, side):
            event.stop()

    return callback


def test_the_movielens_download_stops_between_chunks_and_reports_megabytes(monkeypatch):
    sizes = []

    def fake_download(progress=None):
        for done in range(0, 5_000_001, 1_000_000):
            progress(done, 5_000_000)
            sizes.append(done)
        return ac.load_sample("tiny")

    monkeypatch.setattr(ac, "load_movielens_100k", fake_download, raising=False)
    messages = []
    dataset, stopped = data_sources.movielens_work()(
        lambda done, total, text: messages.append(text), lambda: False
    )
    assert not stopped and dataset.source == "movielens-100k"
    assert messages[0] == "Connecting to files.grouplens.org…"
    assert messages[-1] == "Downloading: 5.0 of 5.0 MB"

    sizes.clear()
    dataset, stopped = data_sources.movielens_work()(lambda *a: None, lambda: len(sizes) >= 2)
    assert stopped and dataset is None and len(sizes) == 2
