"""The talk page: slides that are live views of the app, the keys and clicker that walk them, and
the tools that make, save and load a talk.

A slide is shown by running its page's script inside the talk page, as a slide
(``presenter.slide``): the page's one figure is drawn on the stage, sized to the screen; the
page's controls go to the slide's "Controls" menu; everything else the page draws runs in a
hidden container (its widgets keep working, nothing else shows). On arrival the slide's view
(its link's parameters) is applied to the session; after every run the view as it is now goes
back into the slide, so a change made during the talk stays with its slide, in the talk's JSON
and (when short) in the talk page's link.

Keys: PageDown, → and Space go forward, PageUp and ← back, Home and End to the first and last
slide (``st.button(..., shortcut=...)``; presentation clickers send PageDown/PageUp). The link
names the slide (``slide=5``) and, when the talk is not the default one and its code is short,
the talk itself (``talk=...``).
"""

from __future__ import annotations

import logging
import runpy
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from . import deck, presenter, scene_url, session, shell, talk_rooms, talks
from .scenes import PAGE_CHOICES
from .text import md_escape

log = logging.getLogger("als_explorer")

ROOT = Path(__file__).resolve().parents[1]
#: Session keys (the talk page's own; "talk_slide" and "talk_code" are also its link's).
TALK_KEY = "talk_deck"
SLIDE_KEY = "talk_slide"
CODE_KEY = "talk_code"
LOADED_CODE_KEY = "talk_loaded_code"
VERSION_KEY = "talk_version"
ARRIVED_KEY = "talk_arrived"
#: The slide's view as first drawn on arrival (what a change is measured against).
BASELINE_KEY = "talk_baseline"
FIGURES_KEY = "talk_figures"
NOTICE_KEY = "talk_notice"
NOTES_KEY = "talk_w_notes"
LEAVING_KEY = "talk_leaving"
#: The offline deck being prepared: the next slide to draw, the session's data and settings
#: to come back to.
BUILD_KEY = "talk_building"
#: The speaker view: this session's room (when it gives the talk), or the room it follows.
ROOM_KEY = "talk_room"
FOLLOW_KEY = "talk_follow"
#: Where "Leave the talk" goes.
HOME_PAGE = "pages/theory.py"
#: What the stage leaves for the rest of the first screen: the page menu, the slide's title
#: row, the progress bar and a margin (checked in a browser at 1280×720 and 1920×1080).
STAGE_RESERVE_PX = 240
#: One ``st.button`` carries one shortcut: these carry the other keys. They are hidden (the
#: visible Back and Next buttons show what they do).
EXTRA_KEYS = (("Right", 1), ("Space", 1), ("Left", -1), ("Home", None), ("End", None))
TALK_CSS = """
<style>
/* The talk: the buttons that only carry keys stay out of sight (they still answer the keys);
   the part of the page a slide does not show never takes room. */
.st-key-talk_keys, .st-key-talk_offstage,
div:has(> .st-key-talk_keys), div:has(> .st-key-talk_offstage) { display: none !important; }
.st-key-talk_header h2 { font-size: 1.55rem !important; padding: 0 !important; }
.st-key-talk_header button, .st-key-talk_progress button { font-size: 0.85rem;
  padding-left: 0.3rem; padding-right: 0.3rem; }
/* The keys are in the buttons' tooltips: the room sees no key names. */
.st-key-talk_progress [aria-label^="Shortcut"] { display: none; }
/* A slide's controls are a page's widgets in columns: give them the room they have there. */
[data-testid="stPopoverBody"] { min-width: min(46rem, 92vw); }
.st-key-talk_header [data-testid="stMarkdownContainer"] p { margin: 0; }
.st-key-talk_progress [data-testid="stProgress"] > div { height: 0.35rem; }
</style>
"""


# ------------------------------------------------------------------------------ the talk
def current_talk() -> talks.Talk:
    """This session's talk: the one a link carries, one made or loaded here, or the default."""
    ss = st.session_state
    code = ss.get(CODE_KEY)
    if code and code != ss.get(LOADED_CODE_KEY):
        ss[LOADED_CODE_KEY] = code
        try:
            set_talk(talks.read_talk_code(code))
        except talks.TalkError as error:
            ss[NOTICE_KEY] = ("warning", f"This link's talk could not be opened: {error}.")
    if TALK_KEY not in ss:
        ss[TALK_KEY] = talks.default_talk()
    return ss[TALK_KEY]


def set_talk(talk: talks.Talk, *, structural: bool = True) -> None:
    """Make ``talk`` this session's talk. ``structural``: slides were added, removed or moved
    (the current slide's view is applied afresh, the collected figures are dropped)."""
    ss = st.session_state
    ss[TALK_KEY] = talk
    if structural:
        ss[VERSION_KEY] = ss.get(VERSION_KEY, 0) + 1
        ss.pop(FIGURES_KEY, None)


def slide_number(talk: talks.Talk) -> int:
    """The current slide, from 1 (kept within the talk)."""
    try:
        number = int(st.session_state.get(SLIDE_KEY, 1))
    except (TypeError, ValueError):
        number = 1
    number = min(max(number, 1), max(len(talk), 1))
    st.session_state[SLIDE_KEY] = number
    return number


def go_to(number: int | None, step: int | None = None) -> None:
    """Button callback: to slide ``number``, or ``step`` slides on (None, None: the last)."""
    talk = current_talk()
    now = slide_number(talk)
    if number is None:
        number = len(talk) if step is None else now + step
    st.session_state[SLIDE_KEY] = min(max(number, 1), max(len(talk), 1))


def write_link(talk: talks.Talk) -> None:
    """The talk into its link when it is not the default and short enough (else left out)."""
    ss = st.session_state
    code = None if talk == talks.default_talk() else talks.code_for_link(talk)
    if code:
        ss[CODE_KEY] = ss[LOADED_CODE_KEY] = code
    else:
        ss.pop(CODE_KEY, None)


# ------------------------------------------------------------------------------ one slide
def arrive(talk: talks.Talk, number: int) -> None:
    """On arriving at a slide (not on every rerun, which would undo the viewer's changes):
    apply its view to the session."""
    ss = st.session_state
    marker = (ss.get(VERSION_KEY, 0), number)
    if ss.get(ARRIVED_KEY) == marker:
        return
    ss[ARRIVED_KEY] = marker
    slide = talk.slides[number - 1]
    notices = scene_url.apply_view(slide.params, slide.page)
    if notices:
        ss[NOTICE_KEY] = ("warning", " ".join(notices))
    # The editor's fields show this slide.
    ss["talk_w_title"] = slide.title
    ss["talk_w_note"] = slide.note


def keep_changes(talk: talks.Talk, number: int) -> talks.Talk:
    """The slide's view as it is now goes back into the slide: the parameters it had, and the
    page choices changed since the slide was first drawn (what the page chose by itself stays
    out, so an untouched slide stays as it was); data and settings only when the slide had its
    own (a slide of the default talk follows the session's data)."""
    ss = st.session_state
    slide = talk.slides[number - 1]
    now = scene_url.current_params(slide.page)
    choices = PAGE_CHOICES.get(slide.page, {})
    marker = ss.get(ARRIVED_KEY)
    if ss.get(BASELINE_KEY, (None, None))[0] != marker:
        ss[BASELINE_KEY] = (marker, now)
    first = ss[BASELINE_KEY][1]
    kept = {
        k: v for k, v in now.items() if k in slide.params or (k in choices and first.get(k) != v)
    }
    if slide.figure in talks.EXPERIMENT_SECTIONS:  # the figure decides the section
        kept["section"] = talks.EXPERIMENT_SECTIONS[slide.figure]
    updated = slide.with_params(kept)
    if updated == slide:
        return talk
    talk = talk.replace_slide(number - 1, updated)
    set_talk(talk, structural=False)
    return talk


def run_page(slide: talks.Slide, frame: presenter.SlideFrame) -> bool:
    """Run the slide's page script as the slide ``frame`` (off the slide: only its figure and
    controls show). A page that cannot be drawn says so on the stage (and this returns
    False)."""
    path = ROOT / talks.PAGE_FILES[slide.page]
    try:
        with presenter.slide(frame):
            runpy.run_path(str(path))
        return True
    except shell.PageNotice as notice:
        frame.stage.info(str(notice), icon=":material/info:")
    except Exception as error:
        log.exception("slide %r (page %s) failed", slide.title, slide.page)
        message = (
            f"This slide could not be drawn: {error}"
            if isinstance(error, ValueError)
            else "This slide could not be drawn; the details were written to the server log."
        )
        frame.stage.error(message)
    return False


def remember_figure(number: int, slide: talks.Slide, figure: go.Figure) -> None:
    """Keep the slide's figure as drawn, for the offline deck (with what it was drawn from)."""
    st.session_state.setdefault(FIGURES_KEY, {})[number] = (slide, context(), figure)


def context() -> tuple:
    """What a slide's figure depends on besides its view: the session's data and settings."""
    return (session.current_fingerprint(), tuple(sorted(session.current_settings().items())))


def collected_figures(talk: talks.Talk) -> list[go.Figure | None]:
    """Each slide's figure as last drawn for its current view (None: not drawn since)."""
    figures = st.session_state.get(FIGURES_KEY, {})
    out: list[go.Figure | None] = []
    for number, slide in enumerate(talk.slides, start=1):
        kept = figures.get(number)
        fresh = kept is not None and kept[0] == slide
        # A slide with its own data and settings carries them in its view; the others follow
        # the session's, so their figure must have been drawn from the session's as they are.
        if fresh and "data" not in slide.params:
            fresh = kept[1] == context()
        out.append(kept[2] if fresh else None)
    return out


# ------------------------------------------------------------------------------ the page
def main() -> None:
    """The talk page (``pages/talk.py``)."""
    ss = st.session_state
    if ss.pop(LEAVING_KEY, False):
        presenter.set_active(False)
        st.switch_page(HOME_PAGE)
    if ss.get(FOLLOW_KEY):  # a second window on the speaker's screen
        speaker_view(str(ss[FOLLOW_KEY]))
        return
    if not presenter.active():  # a talk is given in presenter mode (the page menu on top)
        presenter.set_active(True)
        st.rerun()
    st.html(TALK_CSS)
    talk = current_talk()
    if ss.get(BUILD_KEY) is not None and talk.slides:
        build_step(talk)
        return
    if not talk.slides:
        empty_talk(talk)
        return
    number = slide_number(talk)
    slide = talk.slides[number - 1]
    arrive(talk, number)
    controls, in_view, menu = header(talk, number)
    show_notice()
    stage = presenter.screen_box("talk_stage", reserve_px=STAGE_RESERVE_PX)
    frame = presenter.SlideFrame(
        figure=slide.figure, stage=stage.empty(), controls=controls, in_view=in_view
    )
    frame.stage.caption("Preparing this slide…")
    with st.container(key="talk_offstage"):
        ran = run_page(slide, frame)
    talk = keep_changes(talk, number)
    if frame.drawn is not None:
        remember_figure(number, talk.slides[number - 1], frame.drawn)
    elif ran:
        frame.stage.info(
            f"This view does not draw its figure ({talks.figure_label(slide.page, slide.figure)})"
            " right now: open the Controls, or pick another figure in Edit this talk.",
            icon=":material/info:",
        )
    if not frame.has_controls:
        controls.caption("This slide's page has no controls.")
    with menu:  # filled now: the offline deck counts this slide's figure too
        talk_menu(talk, number)
    if ss.get(NOTES_KEY):
        speaker_notes(talk, number)
    editor(talk, number)
    if ss.get(ROOM_KEY):
        talk_rooms.publish(ss[ROOM_KEY], talk, number)
    write_link(ss[TALK_KEY])


def header(talk: talks.Talk, number: int) -> tuple[Any, Any, Any]:
    """Two rows above the stage: the slide's title with the slide's menus, then the progress
    bar with the counter and the Back and Next buttons. Returns (the slide's Controls menu,
    the place for a page's in-view control, the talk's menu)."""
    n = len(talk)
    slide = talk.slides[number - 1]
    with st.container(key="talk_header"):
        title_col, menus = st.columns([8, 4], vertical_alignment="center")
        title_col.markdown(f"## {md_escape(slide.title)}")
        row = menus.container(
            horizontal=True, horizontal_alignment="right", vertical_alignment="center", gap="small"
        )
        in_view = row.container(width="content")
        controls = row.popover("Controls", icon=":material/tune:", type="tertiary")
        menu = row.popover("Talk", icon=":material/slideshow:", type="tertiary")
    with st.container(key="talk_progress"):
        bar, nav = st.columns([9, 3], vertical_alignment="center")
        bar.progress(number / n)
        row = nav.container(
            horizontal=True, horizontal_alignment="right", vertical_alignment="center", gap="small"
        )
        row.button(
            "Back",
            key="talk_back",
            icon=":material/chevron_left:",
            shortcut="PageUp",
            on_click=go_to,
            args=(number - 1,),
            disabled=number <= 1,
            type="tertiary",
            help="PageUp or ← (Home: the first slide)",
        )
        row.markdown(f"**{number} / {n}**", width="content")
        row.button(
            "Next",
            key="talk_next",
            icon=":material/chevron_right:",
            icon_position="right",
            shortcut="PageDown",
            on_click=go_to,
            args=(number + 1,),
            disabled=number >= n,
            type="tertiary",
            help="PageDown, → or Space (End: the last slide)",
        )
    with st.container(key="talk_keys"):
        for key_name, step in EXTRA_KEYS:
            target = 1 if key_name == "Home" else None
            st.button(
                key_name,
                key=f"talk_key_{key_name.lower()}",
                shortcut=key_name,
                on_click=go_to,
                args=(target, step),
            )
    return controls, in_view, menu


def show_notice() -> None:
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice:
        kind, text = notice
        if kind == "toast":  # takes no room: the slide's figure stays on the screen
            st.toast(md_escape(text), icon=":material/check_circle:")
        else:
            (st.warning if kind == "warning" else st.success)(md_escape(text))  # names, a file


def talk_menu(talk: talks.Talk, number: int) -> None:
    """The talk's menu: speaker notes, the offline deck, leaving the talk."""
    st.toggle(
        "Speaker notes",
        key=NOTES_KEY,
        on_change=open_room,
        help="This slide's note and the next slide's title, below the slide (the slide "
        "itself does not move), and a speaker view to open on a second screen.",
    )
    offline_deck_button(talk)
    st.button(
        "Leave the talk",
        key="talk_leave",
        icon=":material/close_fullscreen:",
        on_click=leave,
        help="Back to the app, presenter mode off. The talk stays in this session.",
    )


def leave() -> None:
    st.session_state[LEAVING_KEY] = True


def open_room() -> None:
    """Turning the notes on gives this talk a room its speaker view can follow."""
    if st.session_state.get(NOTES_KEY) and not st.session_state.get(ROOM_KEY):
        st.session_state[ROOM_KEY] = talk_rooms.new_token()


def speaker_notes(talk: talks.Talk, number: int) -> None:
    """The current slide's note and the next slide's title, below the slide; and the link of
    the speaker view for a second screen."""
    with st.container(border=True, key="talk_notes"):
        notes_text(talk, number)
        token = st.session_state.get(ROOM_KEY)
        if token:
            st.link_button(
                "Speaker view for a second screen",
                f"talk?follow={token}",
                icon=":material/open_in_new:",
                type="tertiary",
                help="Opens a window that shows this slide's note and the next title, and "
                "follows this window as you change slides. Move it to your own screen.",
            )


def notes_text(talk: talks.Talk, number: int) -> None:
    slide = talk.slides[number - 1]
    following = (
        f"Next ({number + 1} / {len(talk)}): **{md_escape(talk.slides[number].title)}**"
        if number < len(talk)
        else "This is the last slide."
    )
    st.markdown(slide.note or "*No note for this slide.*")
    st.markdown(following)


def speaker_view(token: str) -> None:
    """A second window for the speaker: the note of the slide the audience sees, the next
    title and the time, refreshed every second."""

    @st.fragment(run_every=1.0)
    def follow() -> None:
        room = talk_rooms.read(token)
        if room is None or not room.talk.slides:
            st.info(
                "Waiting for the talk: this speaker view follows the window where you turned "
                "on Speaker notes (it must be open on the same server).",
                icon=":material/hourglass_empty:",
            )
            return
        talk, number = room.talk, min(room.number, len(room.talk))
        minutes, seconds = divmod(int(time.time() - room.started), 60)
        st.markdown(f"### {number} / {len(talk)} · {md_escape(talk.slides[number - 1].title)}")
        st.caption(f"Speaker view · {minutes}:{seconds:02d} since the talk started")
        with st.container(border=True, key="talk_speaker_note"):
            notes_text(talk, number)

    follow()


def empty_talk(talk: talks.Talk) -> None:
    st.markdown(f"## {md_escape(talk.title)}")
    st.info(
        "This talk has no slides yet. Open any page, set it up, and press **Add this view to "
        "the talk**; or load a talk file, or start again from the default talk below.",
        icon=":material/slideshow:",
    )
    editor(talk, 0)
    write_link(st.session_state[TALK_KEY])


# ------------------------------------------------------------------------------ making a talk
def add_view(page_name: str) -> None:
    """Button callback: the current view of ``page_name`` becomes the talk's last slide."""
    params = scene_url.current_params(page_name)
    figure = talks.main_figure(page_name)
    section = params.get("section")
    if page_name == "experiments" and section:
        figure = next((f for f, s in talks.EXPERIMENT_SECTIONS.items() if s == section), figure)
    if figure is None:
        return
    slide = talks.Slide(
        title=talks.figure_label(page_name, figure),
        page=page_name,
        figure=figure,
        params=talks.view_params(params),
    )
    talk = current_talk()
    if len(talk) >= talks.MAX_SLIDES:
        st.toast(f"A talk has at most {talks.MAX_SLIDES} slides.", icon=":material/block:")
        return
    set_talk(talk.added(slide))
    st.toast(f"Added as slide {len(talk) + 1} of the talk.", icon=":material/slideshow:")


def add_view_button(page_name: str, where: Any = None) -> None:
    """ "Add this view to the talk", on any page that has a figure a slide can show."""
    if talks.main_figure(page_name) is None:
        return
    (where if where is not None else st.sidebar).button(
        "Add this view to the talk",
        key="talk_add_view",
        icon=":material/add_to_queue:",
        type="tertiary",
        on_click=add_view,
        args=(page_name,),
        help="A new slide at the end of the talk: this page, exactly as it is set up now "
        "(its link), with its main figure. Give the talk on the Talk page.",
    )


def edit_title() -> None:
    _edit_current(title=st.session_state.get("talk_w_title", "").strip()[: talks.MAX_TITLE])


def edit_note() -> None:
    _edit_current(note=st.session_state.get("talk_w_note", "")[: talks.MAX_NOTE])


def edit_figure() -> None:
    _edit_current(figure=st.session_state.get("talk_w_figure"))


def _edit_current(**changes: Any) -> None:
    talk = current_talk()
    number = slide_number(talk)
    if not talk.slides:
        return
    slide = talk.slides[number - 1]
    if "title" in changes and not changes["title"]:
        changes["title"] = talks.figure_label(slide.page, slide.figure)
    if "figure" in changes:
        figure = changes["figure"]
        if figure not in talks.FIGURES.get(slide.page, {}):
            return
        params = dict(slide.params)
        if figure in talks.EXPERIMENT_SECTIONS:
            params["section"] = talks.EXPERIMENT_SECTIONS[figure]
        changes["params"] = params
    set_talk(talk.replace_slide(number - 1, replace(slide, **changes)), structural=False)


def move_current(step: int) -> None:
    talk = current_talk()
    number = slide_number(talk)
    to = min(max(number - 1 + step, 0), len(talk) - 1)
    set_talk(talk.moved(number - 1, to))
    st.session_state[SLIDE_KEY] = to + 1


def delete_current() -> None:
    talk = current_talk()
    number = slide_number(talk)
    set_talk(talk.deleted(number - 1))
    st.session_state[SLIDE_KEY] = min(number, max(len(talk) - 1, 1))


def start_over(default: bool) -> None:
    set_talk(talks.default_talk() if default else talks.Talk(title="My talk"))
    st.session_state[SLIDE_KEY] = 1


def load_file() -> None:
    """The uploader's callback: a talk file replaces the talk, a bad one changes nothing."""
    uploaded = st.session_state.get("talk_w_upload")
    if uploaded is None:
        return
    try:
        talk = talks.read_talk(uploaded.getvalue())
    except talks.TalkError as error:
        st.session_state[NOTICE_KEY] = (
            "warning",
            f"{uploaded.name} could not be loaded: {error}. Your talk is unchanged.",
        )
        return
    set_talk(talk)
    st.session_state[SLIDE_KEY] = 1
    st.session_state[NOTICE_KEY] = (
        "success",
        f"Loaded “{talk.title}” from {uploaded.name}: {len(talk)} slides.",
    )


def editor(talk: talks.Talk, number: int) -> None:
    """Below the slide: edit the current slide, reorder and delete, save and load the talk."""
    with st.expander("Edit this talk", icon=":material/edit:", expanded=not talk.slides):
        if talk.slides:
            slide = talk.slides[number - 1]
            st.markdown(f"**Slide {number} of {len(talk)}** · page *{slide.page}*")
            st.text_input(
                "Title", key="talk_w_title", max_chars=talks.MAX_TITLE, on_change=edit_title
            )
            figures = talks.FIGURES[slide.page]
            st.session_state["talk_w_figure"] = slide.figure
            st.selectbox(
                "Figure",
                list(figures),
                key="talk_w_figure",
                format_func=figures.__getitem__,
                on_change=edit_figure,
            )
            st.text_area(
                "Speaker note", key="talk_w_note", max_chars=talks.MAX_NOTE, on_change=edit_note
            )
            row = st.container(horizontal=True, gap="small")
            row.button(
                "Move earlier",
                key="talk_move_up",
                icon=":material/arrow_upward:",
                on_click=move_current,
                args=(-1,),
                disabled=number <= 1,
            )
            row.button(
                "Move later",
                key="talk_move_down",
                icon=":material/arrow_downward:",
                on_click=move_current,
                args=(1,),
                disabled=number >= len(talk),
            )
            row.button(
                "Delete this slide",
                key="talk_delete",
                icon=":material/delete:",
                on_click=delete_current,
            )
            st.dataframe(
                [
                    {"slide": j, "title": s.title, "page": s.page}
                    for j, s in enumerate(talk.slides, start=1)
                ],
                hide_index=True,
                width="stretch",
            )
        st.caption(
            "Add slides from any page with **Add this view to the talk** (at the top of the "
            "page in presenter mode, in the sidebar otherwise)."
        )
        row = st.container(horizontal=True, gap="small")
        row.download_button(
            "Save this talk (JSON)",
            data=talks.talk_json(talk),
            file_name="als-explorer-talk.json",
            mime="application/json",
            key="talk_save",
            icon=":material/download:",
            on_click="ignore",
        )
        row.button(
            "Start from the default talk",
            key="talk_default",
            on_click=start_over,
            args=(True,),
        )
        row.button("Start an empty talk", key="talk_empty", on_click=start_over, args=(False,))
        st.file_uploader(
            "Load a talk (JSON)",
            type=["json"],
            key="talk_w_upload",
            on_change=load_file,
            max_upload_size=1,
        )
        if talk.slides and talks.code_for_link(talk) is None:
            st.caption(
                "This talk is too long to travel in the link: save it as a file to share it."
            )


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
        ss[NOTICE_KEY] = (
            "toast",
            f"The offline deck is ready: {len(talk)} slides. Download it from the Talk menu.",
        )
    st.rerun()
