"""The talk page: slides that are live views of the app, the keys and clicker that walk them, and
the speaker notes.

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

The talk itself and drawing a slide are ``talk_session``'s; making, saving and loading a talk
are ``talk_editor``'s; the offline deck's build is ``deck_build``'s.
"""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from . import deck_build, presenter, scene_url, talk_editor, talk_rooms, talks
from .scenes import PAGE_CHOICES
from .talk_session import (
    ARRIVED_KEY,
    NOTICE_KEY,
    SLIDE_KEY,
    TALK_KEY,
    VERSION_KEY,
    current_talk,
    remember_figure,
    run_page,
    set_talk,
    slide_number,
    write_link,
)
from .text import md_escape

#: The slide's view as first drawn on arrival (what a change is measured against).
BASELINE_KEY = "talk_baseline"
NOTES_KEY = "talk_w_notes"
LEAVING_KEY = "talk_leaving"
#: The speaker view: this session's room (when it gives the talk), or the room it follows.
ROOM_KEY = "talk_room"
FOLLOW_KEY = "talk_follow"
#: Where "Leave the talk" goes.
HOME_PAGE = "pages/theory.py"
#: What the stage leaves for the rest of the first screen: the page menu, the slide's title
#: row, the progress bar and a margin (checked in a browser at 1280×720 and 1920×1080).
STAGE_RESERVE_PX = 240
#: What a notice above the stage (one line of ``st.success`` or ``st.warning``) takes from it,
#: so that the figure still fits the screen below the notice.
NOTICE_PX = 88
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


# ------------------------------------------------------------------------------ walking the talk
def go_to(number: int | None, step: int | None = None) -> None:
    """Button callback: to slide ``number``, or ``step`` slides on (None, None: the last)."""
    talk = current_talk()
    now = slide_number(talk)
    if number is None:
        number = len(talk) if step is None else now + step
    st.session_state[SLIDE_KEY] = min(max(number, 1), max(len(talk), 1))


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
    if ss.get(deck_build.BUILD_KEY) is not None and talk.slides:
        deck_build.build_step(talk)
        return
    if not talk.slides:
        empty_talk(talk)
        return
    number = slide_number(talk)
    slide = talk.slides[number - 1]
    arrive(talk, number)
    controls, in_view, menu = header(talk, number)
    noticed = show_notice()
    stage = presenter.screen_box(
        "talk_stage", reserve_px=STAGE_RESERVE_PX + (NOTICE_PX if noticed else 0)
    )
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
    with st.container(key=deck_build.BELOW_STAGE_KEY):
        if ss.get(NOTES_KEY):
            speaker_notes(talk, number)
        talk_editor.editor(talk, number)
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


def show_notice() -> bool:
    """The session's one-off notice above the stage, if there is one (then True)."""
    notice = st.session_state.pop(NOTICE_KEY, None)
    if not notice:
        return False
    kind, text = notice
    (st.warning if kind == "warning" else st.success)(md_escape(text))  # names, a file
    return True


def talk_menu(talk: talks.Talk, number: int) -> None:
    """The talk's menu: speaker notes, the offline deck, leaving the talk."""
    st.toggle(
        "Speaker notes",
        key=NOTES_KEY,
        on_change=open_room,
        help="This slide's note and the next slide's title, below the slide (the slide "
        "itself does not move), and a speaker view to open on a second screen.",
    )
    deck_build.offline_deck_button(talk)
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
    talk_editor.editor(talk, 0)
    write_link(st.session_state[TALK_KEY])
