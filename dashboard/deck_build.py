"""The offline deck's build: every slide's figure drawn from its view, then the download.

Walking the talk draws the slides' figures; "Prepare the offline deck" draws the missing ones
at once, one slide per run, off screen, and comes back to the session's own data, settings and
slide. ``deck`` turns the figures into the one HTML file.
"""

from __future__ import annotations

import streamlit as st

from . import deck, presenter, scene_url, session, talks
from .talk_session import (
    ARRIVED_KEY,
    NOTICE_KEY,
    collected_figures,
    current_talk,
    remember_figure,
    run_page,
    slide_number,
)
from .text import md_escape

#: The offline deck being prepared: the next slide to draw, the session's data and settings
#: to come back to.
BUILD_KEY = "talk_building"
#: The slide page's part below the stage (speaker notes, the editor), in one container. Every
#: build step ends in ``st.rerun``, and Streamlit takes away what a run did not draw only when
#: a run ends normally: the build hides it, or the last slide's editor would stay on screen
#: under the build's progress.
BELOW_STAGE_KEY = "talk_below_stage"
HIDE_BELOW_STAGE_CSS = f"<style>.st-key-{BELOW_STAGE_KEY} {{ display: none !important; }}</style>"


def offline_deck_button(talk: talks.Talk) -> None:
    """The offline deck (one HTML file): once every slide's figure is drawn (walking the talk
    draws them; "Prepare the offline deck" draws them all at once)."""
    figures = collected_figures(talk)
    missing = [j for j, fig in enumerate(figures, start=1) if fig is None]
    if missing:
        st.button(
            f"Prepare the offline deck ({len(missing)} of {len(talk)} figures to draw)",
            key="talk_build_deck",
            icon=":material/slideshow:",
            on_click=start_build,
            help="Draws every slide's figure from its view, one slide after another (with "
            "progress), then offers the download. You come back to this slide as it was.",
        )
    st.download_button(
        "Download the offline deck (HTML)",
        data=lambda: deck.deck_html(talk, figures),
        file_name="als-explorer-talk.html",
        mime="text/html",
        key="talk_offline",
        icon=":material/download:",
        on_click="ignore",
        disabled=bool(missing),
        help="The whole talk as ONE HTML file: every slide's figure (zoom and hover), its "
        "title and note, arrow keys and PageDown/PageUp. Opens with no server and no network.",
    )


# ------------------------------------------------------------------------------ the deck, at once
def start_build() -> None:
    """Button callback: prepare every missing figure, one slide per run (``build_step``)."""
    talk = current_talk()
    slide_number(talk)  # the slide to come back to stays in the session
    st.session_state[BUILD_KEY] = {
        "next": 1,
        "data": (session.current_dataset(), session.current_fingerprint()),
        "settings": session.current_settings(),
    }


def stop_build() -> None:
    build = st.session_state.get(BUILD_KEY)
    if build is not None:
        build["next"] = len(current_talk()) + 1  # the next run finishes (and restores)


def back_to_own_data(build: dict) -> None:
    """The session's data and settings as they were when the build started (a slide with its
    own data changes them while it is drawn)."""
    dataset, fingerprint = build["data"]
    if session.current_fingerprint() != fingerprint:
        session.set_dataset(dataset, fingerprint=fingerprint)
    if session.current_settings() != build["settings"]:
        session.set_settings(build["settings"])


def build_step(talk: talks.Talk) -> None:
    """One run of the deck's preparation: the progress, then the next slide whose figure is
    missing, drawn off screen from its view exactly as walking the talk draws it; then the
    next run. A slide per run keeps each page's widgets apart (two slides of one page share
    keys) and lets a Stop land between slides; the experiments compute as jobs, sharing the
    server's job slots with every other session."""
    ss = st.session_state
    build = ss[BUILD_KEY]
    figures = collected_figures(talk)
    number = next((j for j in range(build["next"], len(talk) + 1) if figures[j - 1] is None), None)
    if number is None:
        finish_build(talk, build)
        return
    slide = talk.slides[number - 1]
    st.html(HIDE_BELOW_STAGE_CSS)  # style only: takes no room on the page
    st.markdown(f"## {md_escape(talk.title)}")
    st.progress(
        (number - 1) / len(talk),
        text=f"Preparing the offline deck: slide {number} of {len(talk)}, {md_escape(slide.title)}",
    )
    st.button("Stop", key="talk_build_stop", icon=":material/stop:", on_click=stop_build)
    back_to_own_data(build)
    scene_url.apply_view(slide.params, slide.page)
    with st.container(key="talk_offstage"):
        box = st.container()
        frame = presenter.SlideFrame(
            figure=slide.figure, stage=box.empty(), controls=box, in_view=box
        )
        run_page(slide, frame)
    if frame.drawn is not None:
        remember_figure(number, slide, frame.drawn)
    build["next"] = number + 1
    st.rerun()


def finish_build(talk: talks.Talk, build: dict) -> None:
    """The deck is ready (or stopped): the session's own data and settings, the current
    slide's view applied afresh, and a note of what was drawn."""
    ss = st.session_state
    del ss[BUILD_KEY]
    back_to_own_data(build)
    ss.pop(ARRIVED_KEY, None)  # the current slide's view is applied again
    missing = [j for j, fig in enumerate(collected_figures(talk), start=1) if fig is None]
    if missing:
        listed = ", ".join(str(j) for j in missing[:8]) + ("…" if len(missing) > 8 else "")
        ss[NOTICE_KEY] = (
            "warning",
            f"The offline deck is not complete: slide {listed} drew no figure (show it to "
            "see why). Its place in the deck says so.",
        )
    else:
        # Above the slide, in the page (a toast would cover the Talk menu and the counter).
        ss[NOTICE_KEY] = (
            "success",
            f"The offline deck is ready: {len(talk)} slides. Download it from the Talk menu.",
        )
    st.rerun()
