"""Iteration replay: frames over every half-step, aligned maps that do not spin, predictions of
each moment, and the slider / play controls."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import pdist
from streamlit.testing.v1 import AppTest

import als_core as ac
from dashboard import fit_states, replay_fit, replay_frames
from dashboard.settings import DEFAULT_SETTINGS
from tests.app_support import chart, chart_keys, open_app

ITERATIONS = 3


@pytest.fixture(scope="module")
def replay() -> fit_states.ReplayFit:
    ratings = ac.load_sample("movie_night")
    s = {**DEFAULT_SETTINGS, "k": 3, "iterations": ITERATIONS}  # k = 3: a real PCA
    return fit_states.fit_with_snapshots(ratings, s)


def test_frames_are_the_start_and_every_half_step(replay):
    labels = [s.label for s in replay.states]
    assert labels[0] == "random start"
    assert labels[1:3] == ["iteration 1: users solved", "iteration 1: items solved"]
    assert len(labels) == 2 * ITERATIONS + 1


def test_aligned_frames_keep_shapes_and_do_not_flip(replay):
    frames = replay_frames.aligned_projections(replay.states)
    last = replay.states[-1]
    plain_last = ac.shared_projection(last.user_factors, last.item_factors)
    np.testing.assert_allclose(frames[-1].users, plain_last.users)
    for state_, frame, after in zip(replay.states, frames, frames[1:] + [None], strict=True):
        plain = ac.shared_projection(state_.user_factors, state_.item_factors)
        points = np.vstack([frame.users, frame.items])
        # Only turned (rotation/reflection): every distance in the picture is unchanged.
        np.testing.assert_allclose(
            pdist(points), pdist(np.vstack([plain.users, plain.items])), rtol=1e-9, atol=1e-12
        )
        if after is not None:
            # Turned as far as it goes towards the next frame: aligning again changes nothing.
            target = np.vstack([after.users, after.items])
            rotation = ac.embed.procrustes_rotation(points, target)
            np.testing.assert_allclose(rotation, np.eye(2), atol=1e-9)


def test_the_model_at_a_moment_predicts_with_that_moments_factors(replay):
    model = replay.fit.model
    moment = replay.states[2]
    users, items = np.arange(5), np.arange(7)
    expected = (
        moment.user_factors[users][:, None, :] * moment.item_factors[items][None, :, :]
    ).sum(axis=2)
    expected += model.global_mean_ + moment.user_bias[users][:, None] + moment.item_bias[items]
    got = replay_frames.model_at(model, moment).predict(users[:, None], items[None, :], clip=False)
    np.testing.assert_allclose(got, expected, atol=1e-10)
    # The fitted model itself is untouched.
    np.testing.assert_array_equal(model.user_factors_, replay.states[-1].user_factors)


def open_replay(**params: str) -> AppTest:
    scene = {"page": "replay", "data": "sample:tiny", "it": str(ITERATIONS), **params}
    return open_app(params=scene)


def figure_titles(at: AppTest) -> list[str]:
    return [chart(at, key).layout.title.text or "" for key in sorted(chart_keys(at))]


def test_slider_chooses_the_moment_and_the_map_follows():
    at = open_replay(frame="3")
    slider = at.select_slider(key="replay_frame")
    assert slider.value == 3
    assert len(slider.options) == 2 * ITERATIONS + 1
    assert "Latent map: iteration 2: users solved" in figure_titles(at)
    slider.set_value(0).run()
    assert "Latent map: random start" in figure_titles(at)
    assert at.query_params["frame"] == "0"


def test_play_advances_and_pause_stops():
    at = open_replay(frame="0")
    at.button(key="replay_play").click().run()
    assert at.session_state["replay_playing"] is True
    assert at.select_slider(key="replay_frame").value == 1  # the first tick is immediate
    at.button(key="replay_play").click().run()
    assert at.session_state["replay_playing"] is False
    frame = at.select_slider(key="replay_frame").value
    at.run()
    assert at.select_slider(key="replay_frame").value == frame  # paused: stays put


def test_playing_stops_at_the_last_frame_and_play_restarts_from_the_start():
    last = 2 * ITERATIONS
    at = open_replay(frame=str(last - 1))
    at.button(key="replay_play").click().run()
    assert at.select_slider(key="replay_frame").value == last
    at.run()  # the next tick finds the end and stops the timer
    assert at.session_state["replay_playing"] is False
    assert at.select_slider(key="replay_frame").value == last
    at.button(key="replay_play").click().run()
    assert at.select_slider(key="replay_frame").value == 1


def test_the_replay_follows_the_data_as_well_as_the_settings():
    """Two sessions, the same settings, other data: each replays its own data's fit."""
    tiny = open_replay()
    movie = open_replay(data="sample:movie_night")
    for at, ratings in ((tiny, ac.load_sample("tiny")), (movie, ac.load_sample("movie_night"))):
        assert len(at.select_slider(key="replay_frame").options) == 2 * ITERATIONS + 1
        shown = chart(at, "replay_recon_chart").data[0]
        assert len(shown.x) == min(ratings.n_items, 40)  # this data's items (at most 40)


def test_the_replay_job_reports_progress_and_a_stop_keeps_the_half_steps_so_far():
    ratings = ac.load_sample("movie_night")
    settings = {**DEFAULT_SETTINGS, "k": 3, "iterations": ITERATIONS}
    messages = []
    work = replay_fit.replay_work(ratings, settings, fingerprint=ratings.fingerprint())
    replay, stopped = work(lambda done, total, text: messages.append(text), lambda: False)
    assert not stopped and replay.fit.fingerprint == ratings.fingerprint()
    last = f"iteration {ITERATIONS} of {ITERATIONS}, items solved"
    assert messages[-1] == f"Fitting again, keeping every half-step: {last}"
    partial, stopped = work(lambda *a: None, lambda: True)  # Stop during the first half-step
    assert stopped and [s.label for s in partial.states] == [
        "random start",
        "iteration 1: users solved",
    ]
