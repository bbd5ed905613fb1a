"""Iteration replay: the whole fit, half-step by half-step, from the random start.

The model is fitted again with every half-step kept (same data, settings and seed as the current
model, so the replay ends on the very factors the other pages show). A slider or the Play
button walks the frames; each frame redraws the shared latent map (turned to match the next
frame, so points do not flip or spin), the reconstruction at that moment and the loss curve
with the moment marked.
"""

from __future__ import annotations

import streamlit as st

import als_core as ac
from dashboard import (
    fit_states,
    formulas,
    presenter,
    reconstruction_view,
    replay_fit,
    replay_frames,
    scene_url,
    session,
    shell,
    slides,
)
from dashboard.figures import teaching as figs
from dashboard.figures.reconstruction import reconstruction_figure

shell.require_app()  # first: a bookmarked page URL on a fresh server runs through app.py

#: Seconds between frames while playing.
FRAME_SECONDS = 0.9
#: Users and items in the reconstruction (the most active; every cell drawn).
RECON_SHOWN = 40


@st.cache_data(max_entries=6, show_spinner="Placing every frame in one map…")
def frames_for(fit_key: tuple, _replay: fit_states.ReplayFit) -> tuple[list, tuple[float, float]]:
    """The aligned map of every frame and one axis range for all (keyed on data + settings),
    anchored on the frame the model kept (the Latent page's picture)."""
    anchor = replay_frames.kept_frame(_replay.states, _replay.fit.model)
    projections = replay_frames.aligned_projections(_replay.states, anchor=anchor)
    return projections, replay_frames.common_range(projections)


@st.cache_data(max_entries=6, show_spinner=False)
def page_data(fit_key: tuple, _replay: fit_states.ReplayFit, _ratings: ac.Ratings) -> dict:
    """The fixed rows/columns of the reconstruction and the start objective."""
    fit = _replay.fit
    model = fit.model
    # One order for every frame (the final model's leading pattern), so cells stay in place.
    users, items = reconstruction_view.shown_rows_and_columns(
        _ratings, model, n_users=RECON_SHOWN, n_items=RECON_SHOWN, order="leading factor"
    )
    return {
        "users": users,
        "items": items,
        "start_objective": replay_frames.start_objective(model, fit.train, _replay.states[0]),
    }


def toggle_play(n_frames: int) -> None:
    playing = not st.session_state.get("replay_playing", False)
    st.session_state["replay_playing"] = playing
    if playing and int(st.session_state.get("replay_frame", 0)) >= n_frames - 1:
        st.session_state["replay_frame"] = 0  # play again from the start


def frame_label(j: int) -> str:
    """A frame's name; the frame the model kept says so when it is not the last."""
    label = states[j].label
    return label + " (the model keeps this one)" if j == kept and kept < n_frames - 1 else label


dataset = session.current_dataset()
ratings = dataset.ratings
replay = replay_fit.current_replay_fit()
fit, model, states = replay.fit, replay.fit.model, replay.states
history = model.history_
fit_key = fit.key
projections, axis_range = frames_for(fit_key, replay)
data = page_data(fit_key, replay, ratings)
user_names, item_names = session.labels()
n_frames = len(states)
kept_all = n_frames == len(history) + 1
kept = replay_frames.kept_frame(states, model)
axis_titles = replay_frames.replay_axis_titles(projections[kept])

if int(st.session_state.get("replay_frame", 0)) >= n_frames:
    st.session_state["replay_frame"] = n_frames - 1
if "replay_frame" not in st.session_state:
    st.session_state["replay_frame"] = 0


def introduction() -> None:
    st.caption(
        "Watch the fit happen. From small random factors, each half-step solves one side "
        "exactly with the other fixed: users move, then items move, and the map settles."
        + ("" if kept_all else " (Big data: only every other half-step was kept for the replay.)")
    )


if not presenter.active():  # presenter mode: below the figures, so they fit the screen
    introduction()
playing = bool(st.session_state.get("replay_playing", False))
with presenter.in_view():  # Play stays in view in presenter mode and on a talk's slide
    st.button(
        "Pause" if playing else "Play",
        key="replay_play",
        icon=":material/pause:" if playing else ":material/play_arrow:",
        type="primary",
        on_click=toggle_play,
        args=(n_frames,),
        help=f"Advance one half-step every {FRAME_SECONDS:g} s.",
    )


on_slide = presenter.current_slide() is not None  # drawn as one slide of a talk


@st.fragment(run_every=FRAME_SECONDS if playing else None)
def stage() -> None:
    """Everything that changes from frame to frame (reruns alone while playing)."""
    if on_slide and presenter.current_slide() is None:
        # A tick of the timer on a talk's slide: the slide's figure is drawn outside this
        # fragment, so the whole talk page redraws (and moves on one frame).
        st.rerun(scope="app")
    if st.session_state.get("replay_playing"):
        frame = int(st.session_state.get("replay_frame", 0))
        if frame >= n_frames - 1:
            st.session_state["replay_playing"] = False
            st.rerun(scope="app")  # stop the timer
        st.session_state["replay_frame"] = frame + 1
    with presenter.controls("Frame"):
        frame = st.select_slider(
            "Moment of the fit",
            options=list(range(n_frames)),
            key="replay_frame",
            format_func=frame_label,
        )
    moment = states[frame]
    projection = projections[frame]
    pack = slides.SlidePack("replay")
    left, right = st.columns([1.15, 1], gap="medium")
    map_fig = figs.map_figure(
        projection.users,
        projection.items,
        user_labels=user_names,
        item_labels=item_names,
        item_groups=session.item_categories(),
        axis_titles=axis_titles,
        axis_range=axis_range,
        title=f"Latent map: {frame_label(frame)}",
        uirevision=f"replay-{fit_key[0]}",
        height=520,
    )
    # Presenter mode: both sized to the screen, below the Play button and the folded frame.
    reserve = presenter.SCREEN_RESERVE_PX + presenter.HEADING_PX
    pack.chart(
        map_fig,
        key="replay_map_chart",
        name="replay-map",
        container=left,
        main=True,
        reserve_px=reserve,
    )
    kept_state = states[kept]
    loss = figs.replay_objective_figure(
        history,
        formulas.Form.of_model(model),
        moment=(moment.iteration, moment.side) if frame > 0 else None,
        moment_label=moment.label,
        start_objective=data["start_objective"],
        # Early stopping kept an earlier iteration: mark it.
        kept=(kept_state.iteration, kept_state.side, kept_state.label)
        if kept < n_frames - 1
        else None,
    )
    pack.chart(
        loss,
        key="replay_loss_chart",
        name="replay-objective",
        container=right,
        main=True,
        reserve_px=reserve,
    )
    grid = ac.reconstruction_grid(
        replay_frames.model_at(model, moment),
        fit.train,
        fit.validation,
        data["users"],
        data["items"],
    )
    recon = reconstruction_figure(
        grid,
        user_labels=user_names,
        item_labels=item_names,
        rating_scale=ratings.rating_scale,
        order_note="sorted by the final model's leading pattern",
        uirevision=f"replay-recon-{fit_key[0]}",
        form=formulas.Form.of_model(model),
    )
    st.markdown(f"**Ratings, predictions and errors: {moment.label}**")
    pack.chart(recon, key="replay_recon_chart", name="replay-reconstruction")
    basis = "the factors themselves" if model.user_factors_.shape[1] <= 2 else "PCA"
    stopped_early = (
        f" Early stopping kept iteration {states[kept].iteration} (marked on the objective); "
        "the frames after it show the iterations the fit ran past it."
        if kept < n_frames - 1
        else ""
    )
    st.caption(
        f"Frame {frame} of {n_frames - 1}. The map is one shared 2-D basis for users and items "
        f"({basis}); the frame the model kept is drawn as the Latent space page draws it, and "
        "every other frame is turned (rotated or reflected, which changes no prediction) to "
        "match its neighbour, so the picture does not spin. Items are coloured by genre as on "
        f"every page.{stopped_early} The reconstruction shows the "
        f"{len(data['users'])} most active users × {len(data['items'])} most rated items; "
        "grey cells have no rating."
    )
    pack.pack_button(
        settings={"dataset": dataset.name, **fit.settings, **scene_url.current_params("replay")},
        key="replay_slides_pack",
    )


stage()
if presenter.active():
    introduction()
