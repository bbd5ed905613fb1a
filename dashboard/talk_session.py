"""This session's talk: which talk and which slide (and the link that carries them), a slide's
page run as that slide, and the figures the slides drew (for the offline deck).

What the Talk page (``talk_view``), its editor (``talk_editor``) and the offline deck's build
(``deck_build``) share; the session keys are the talk page's own ("talk_slide" and
"talk_code" are also its link's).
"""

from __future__ import annotations

import logging
import runpy
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st

from . import presenter, session, shell, talks

log = logging.getLogger("als_explorer")

ROOT = Path(__file__).resolve().parents[1]
#: Session keys (the talk page's own; "talk_slide" and "talk_code" are also its link's).
TALK_KEY = "talk_deck"
SLIDE_KEY = "talk_slide"
CODE_KEY = "talk_code"
LOADED_CODE_KEY = "talk_loaded_code"
VERSION_KEY = "talk_version"
ARRIVED_KEY = "talk_arrived"
FIGURES_KEY = "talk_figures"
NOTICE_KEY = "talk_notice"


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


def write_link(talk: talks.Talk) -> None:
    """The talk into its link when it is not the default and short enough (else left out)."""
    ss = st.session_state
    code = None if talk == talks.default_talk() else talks.code_for_link(talk)
    if code:
        ss[CODE_KEY] = ss[LOADED_CODE_KEY] = code
    else:
        ss.pop(CODE_KEY, None)


# ------------------------------------------------------------------------------ one slide, drawn
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
